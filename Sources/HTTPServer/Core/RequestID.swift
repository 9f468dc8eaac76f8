import Synchronization

/// Request identifiers for logs and the `X-Request-Id` response header.
public enum RequestID {
    /// Longest client-supplied id accepted.
    public static let maxLength = 128

    /// A new id: 16 lower-case hex digits, a random per-process prefix (32 bits) then a counter (32 bits).
    /// Unique within a process for 2³² requests and unlikely to repeat across restarts; not a secret, and
    /// cheaper than asking the kernel for randomness on every request.
    public static func generate() -> String {
        let n = UInt64(prefix) << 32 | UInt64(counter.add(1, ordering: .relaxed).newValue & 0xFFFF_FFFF)
        var out = [UInt8](repeating: 0x30, count: 16)
        var v = n
        for i in stride(from: 15, through: 0, by: -1) {
            let d = UInt8(v & 0xF)
            out[i] = d < 10 ? 0x30 + d : 0x57 + d
            v >>= 4
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static let prefix = UInt32.random(in: 0...UInt32.max)
    private static let counter = Atomic<UInt64>(0)

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
