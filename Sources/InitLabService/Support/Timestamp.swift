import Foundation

/// RFC 3339 timestamps in UTC with millisecond precision (`2026-11-29T11:40:00.123Z`).
///
/// Formatted by hand: `ISO8601DateFormatter` is not `Sendable`, and a shared one would need a lock.
enum Timestamp {
    static func rfc3339(_ date: Date) -> String {
        let totalMillis = Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
        var seconds = time_t(totalMillis / 1000)
        let millis = Int(totalMillis % 1000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        return String(
            format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1,
            Int(parts.tm_mday), Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec), millis)
    }
}
