import Foundation

/// A tick: where it sits in data units and what it reads.
struct Tick: Equatable {
    var value: Double
    var label: String
}

/// Maps data values to SVG coordinates; `nil` for a value the scale cannot place (non-positive on a log axis).
protocol AxisScale: Sendable {
    func position(_ value: Double) -> Double?
    func ticks() -> [Tick]
}

struct LinearScale: AxisScale {
    var domain: (Double, Double)
    var range: (Double, Double)

    init(domain: (Double, Double), range: (Double, Double)) {
        self.domain = domain.0 == domain.1 ? (domain.0 - 1, domain.1 + 1) : domain
        self.range = range
    }

    /// A domain rounded out to nice numbers around `values`, always including zero's side when close.
    init(niceAround values: [Double], range: (Double, Double)) {
        var low = values.min() ?? 0
        var high = values.max() ?? 1
        if low == high {
            low -= low == 0 ? 1 : abs(low) * 0.5
            high += high == 0 ? 1 : abs(high) * 0.5
        }
        let step = LinearScale.niceStep((high - low) / 5)
        self.init(domain: ((low / step).rounded(.down) * step, (high / step).rounded(.up) * step), range: range)
    }

    func position(_ value: Double) -> Double? {
        guard value.isFinite else { return nil }
        let t = (value - domain.0) / (domain.1 - domain.0)
        return range.0 + t * (range.1 - range.0)
    }

    func ticks() -> [Tick] {
        let step = LinearScale.niceStep((domain.1 - domain.0) / 6)
        guard step > 0, step.isFinite else { return [] }
        var ticks: [Tick] = []
        var value = (domain.0 / step).rounded(.up) * step
        while value <= domain.1 + step * 1e-9, ticks.count < 20 {
            let clean = abs(value) < step * 1e-9 ? 0 : value
            ticks.append(Tick(value: clean, label: NumberText.short(clean)))
            value += step
        }
        return ticks
    }

    /// 1, 2 or 5 times a power of ten, at least `raw`.
    static func niceStep(_ raw: Double) -> Double {
        guard raw > 0, raw.isFinite else { return 1 }
        let power = pow(10, (log10(raw)).rounded(.down))
        for multiple in [1.0, 2, 5, 10] where multiple * power >= raw {
            return multiple * power
        }
        return 10 * power
    }
}

/// Base-10 log scale spanning whole decades around the positive values; wide spans tick every k decades.
struct LogScale: AxisScale {
    var lowExponent: Int
    var highExponent: Int
    var range: (Double, Double)

    init(values: [Double], range: (Double, Double)) {
        let positive = values.filter { $0 > 0 && $0.isFinite }
        let low = positive.min() ?? 0.1
        let high = positive.max() ?? 10
        var lowExponent = Int(log10(low).rounded(.down))
        var highExponent = Int(log10(high).rounded(.up))
        if lowExponent == highExponent {
            lowExponent -= 1
            highExponent += 1
        }
        self.lowExponent = lowExponent
        self.highExponent = highExponent
        self.range = range
    }

    func position(_ value: Double) -> Double? {
        guard value > 0, value.isFinite else { return nil }
        let t = (log10(value) - Double(lowExponent)) / Double(highExponent - lowExponent)
        return range.0 + t * (range.1 - range.0)
    }

    func ticks() -> [Tick] {
        let span = highExponent - lowExponent
        let every = max(1, Int((Double(span) / 7).rounded(.up)))
        return stride(from: lowExponent, through: highExponent, by: every).map { exponent in
            Tick(value: pow(10, Double(exponent)), label: LogScale.label(exponent))
        }
    }

    /// `0.01`, `0.1`, `1`, `10`, `100`, `1000`, then `1e-3`, `1e4`: short and unambiguous.
    static func label(_ exponent: Int) -> String {
        switch exponent {
        case -2: "0.01"
        case -1: "0.1"
        case 0...3: String(Int(pow(10, Double(exponent))))
        default: "1e\(exponent)"
        }
    }
}
