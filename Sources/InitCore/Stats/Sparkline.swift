#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A one-line terminal chart of per-layer values: `▁▂▃▄▅▆▇█`, log-scaled so that a std that halves every
/// layer reads as a steady ramp; a non-finite value (inf/NaN, or `nil`) is `!`. Values ≤ 0 are below any log
/// scale and draw as the lowest block. Longer inputs are shown at most `maxWidth` characters wide by taking
/// every k-th value (the last value always shows), so a 10,000-layer net still fits a terminal.
public enum Sparkline {
    public static let blocks: [Character] = ["▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"]

    public static func render(_ values: [Double], maxWidth: Int = 80) -> String {
        render(values.map { Optional($0) }, maxWidth: maxWidth)
    }

    public static func render(_ values: [Double?], maxWidth: Int = 80) -> String {
        let sampled = sample(values, maxWidth: max(1, maxWidth))
        let logs = sampled.compactMap { value -> Double? in
            guard let value, value.isFinite, value > 0 else { return nil }
            return log10(value)
        }
        let low = logs.min() ?? 0
        let high = logs.max() ?? 0
        return String(sampled.map { value -> Character in
            guard let value, value.isFinite else { return "!" }
            guard value > 0 else { return blocks[0] }
            guard high > low else { return blocks[blocks.count / 2] }
            let t = (log10(value) - low) / (high - low)
            return blocks[min(blocks.count - 1, max(0, Int((t * Double(blocks.count - 1)).rounded())))]
        })
    }

    static func sample(_ values: [Double?], maxWidth: Int) -> [Double?] {
        guard values.count > maxWidth else { return values }
        let stride = (values.count + maxWidth - 1) / maxWidth
        var picked = Swift.stride(from: 0, to: values.count, by: stride).map { values[$0] }
        if (values.count - 1) % stride != 0 {
            if picked.count == maxWidth { picked.removeLast() }
            picked.append(values[values.count - 1])
        }
        return picked
    }
}
