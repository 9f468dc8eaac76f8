import Crypto
import Foundation

/// The opaque `page_token` of `GET /v1/experiments`: base64url of `v1:<last sequence>:<status filter>`
/// followed by an HMAC-SHA256 tag of those bytes under the server's page-token key.
///
/// The tag makes the token unforgeable: a token this server did not issue (an edited row id, another
/// server's token, random bytes) is a 400, as the contract says, instead of a page that starts anywhere.
/// Binding the filter into the token makes a token replayed with a different `status` a 400 too. Clients must
/// treat it as opaque; the format may change.
struct PageToken: Equatable {
    var beforeSequence: Int64
    var status: JobStatus?

    /// The tag's length: 16 bytes of HMAC-SHA256 (128 bits) are far beyond guessing.
    static let tagBytes = 16

    init(beforeSequence: Int64, status: JobStatus?) {
        self.beforeSequence = beforeSequence
        self.status = status
    }

    private var payload: Data { Data("v1:\(beforeSequence):\(status?.rawValue ?? "-")".utf8) }

    func encoded(key: [UInt8]) -> String {
        let tag = HMAC<SHA256>.authenticationCode(for: payload, using: SymmetricKey(data: key))
        return Self.base64URL(payload + Data(tag).prefix(Self.tagBytes))
    }

    /// The token, when `encoded` is one that `key` signed.
    init?(encoded: String, key: [UInt8]) {
        guard encoded.count <= 200, encoded.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") })
        else { return nil }
        var base64 = encoded.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        guard let data = Data(base64Encoded: base64), data.count > Self.tagBytes else { return nil }
        let payload = data.prefix(data.count - Self.tagBytes)
        let tag = data.suffix(Self.tagBytes)
        let expected = Data(HMAC<SHA256>.authenticationCode(for: payload, using: SymmetricKey(data: key))).prefix(Self.tagBytes)
        // Constant-time: the comparison must not tell a forger how many leading bytes were right.
        var difference: UInt8 = 0
        for (a, b) in zip(tag, expected) { difference |= a ^ b }
        guard difference == 0, let raw = String(data: payload, encoding: .utf8) else { return nil }
        let parts = raw.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == "v1", let sequence = Int64(parts[1]), sequence > 0 else { return nil }
        beforeSequence = sequence
        if parts[2] == "-" {
            status = nil
        } else if let status = JobStatus(rawValue: String(parts[2])) {
            self.status = status
        } else {
            return nil
        }
    }

    private static func base64URL(_ data: Data) -> String {
        data.base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}

/// The `Idempotency-Key` header: a UUID, bare or as a quoted string (the IETF draft makes it a structured
/// field string). Normalized to lowercase so `"ABC…"` and `abc…` are one key.
enum IdempotencyKey {
    static func parse(_ value: String) -> String? {
        var text = value.trimmingCharacters(in: .whitespaces)
        if text.count >= 2, text.hasPrefix("\""), text.hasSuffix("\"") { text = String(text.dropFirst().dropLast()) }
        guard let uuid = UUID(uuidString: text) else { return nil }
        return uuid.uuidString.lowercased()
    }
}
