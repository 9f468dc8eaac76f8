/// Request identifiers for logs and the `X-Request-Id` response header.
public enum RequestID {
    /// Longest client-supplied id accepted.
    public static let maxLength = 128

    /// A new random id: 16 lower-case hex digits (64 random bits).
    public static func generate() -> String {
        var rng = SystemRandomNumberGenerator()
        let value = rng.next() as UInt64
        let hex = String(value, radix: 16)
        return String(repeating: "0", count: 16 - hex.utf8.count) + hex
    }

    /// Whether a client-supplied id is safe to echo into headers and logs: 1–128 characters from
    /// `A-Z a-z 0-9 - _ . : @ + = /` (no spaces, quotes or control characters, so it cannot forge log fields).
    public static func isAcceptable(_ id: String) -> Bool {
        let utf8 = id.utf8
        guard !utf8.isEmpty, utf8.count <= maxLength else { return false }
        return utf8.allSatisfy { b in
            switch b {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"):
                true
            case UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: ":"), UInt8(ascii: "@"),
                UInt8(ascii: "+"), UInt8(ascii: "="), UInt8(ascii: "/"):
                true
            default: false
            }
        }
    }

    /// The id to use for a request carrying `headers`.
    public static func from(_ headers: HTTPHeaders) -> String {
        if let id = headers.first(name: "x-request-id"), isAcceptable(id) { return id }
        return generate()
    }
}
