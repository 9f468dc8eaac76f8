/// Strong entity tags for rendered representations (RFC 9110 §8.8.3): FNV-1a 64 over the exact bytes sent,
/// so a client's `If-None-Match` can skip re-downloading a chart that has not changed.
package enum ContentTag {
    package static func strong(_ bytes: some Sequence<UInt8>) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01b3
        }
        let hex = String(hash, radix: 16)
        return "\"" + String(repeating: "0", count: 16 - hex.count) + hex + "\""
    }

    /// Whether an `If-None-Match` header value matches `tag` (weak comparison, `*` matches anything).
    package static func matches(ifNoneMatch header: String, tag: String) -> Bool {
        let candidates = header.split(separator: ",").map { $0.trimmingSpaces() }
        let bare = tag.hasPrefix("W/") ? String(tag.dropFirst(2)) : tag
        return candidates.contains { candidate in
            candidate == "*" || candidate == bare || candidate == "W/" + bare
        }
    }
}

extension Substring {
    fileprivate func trimmingSpaces() -> String {
        String(drop(while: { $0 == " " || $0 == "\t" }).reversed().drop(while: { $0 == " " || $0 == "\t" }).reversed())
    }
}
