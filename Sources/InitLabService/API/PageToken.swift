import Foundation

/// The opaque `page_token` of `GET /v1/experiments`: base64url of `v1:<last sequence>:<status filter>`.
///
/// Binding the filter into the token makes a token replayed with a different `status` a 400 instead of a
/// silently wrong page. Clients must treat it as opaque; the format may change.
struct PageToken: Equatable {
    var beforeSequence: Int64
    var status: JobStatus?

    var encoded: String {
        let raw = "v1:\(beforeSequence):\(status?.rawValue ?? "-")"
        return Data(raw.utf8).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    init(beforeSequence: Int64, status: JobStatus?) {
        self.beforeSequence = beforeSequence
        self.status = status
    }

    init?(encoded: String) {
        guard encoded.count <= 200, encoded.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") })
        else { return nil }
        var base64 = encoded.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        guard let data = Data(base64Encoded: base64), let raw = String(data: data, encoding: .utf8) else {
            return nil
        }
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
