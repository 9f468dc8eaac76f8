/// What a chart shows: which statistic, of which pass, on which scale. Parsed from query parameters
/// (`metric`, `pass`, `scale`), which are user input: every value is checked against its allowed list.
package struct ChartOptions: Sendable, Equatable, Hashable {
    package enum Metric: String, Sendable, CaseIterable {
        case std, mean
        case deadFraction = "dead_fraction"
        case histogram
        /// Training curves (x = step): the training loss of every step and the validation loss of every
        /// evaluation; the validation accuracy. A training run's only (`pass` does not apply).
        case loss, accuracy

        package var isTraining: Bool { self == .loss || self == .accuracy }
    }

    package enum Pass: String, Sendable, CaseIterable {
        case forward, backward
    }

    package enum Scale: String, Sendable, CaseIterable {
        case log, linear
    }

    package var metric: Metric
    package var pass: Pass
    package var scale: Scale

    /// Defaults: the lesson's picture, forward std on a log scale. `scale` defaults to `log` for `std` and to
    /// `linear` otherwise; on a log scale, values ≤ 0 (a mean can be negative, a dead fraction zero) are gaps.
    /// A histogram ignores `scale` (its colour is always log count).
    package init(metric: Metric = .std, pass: Pass = .forward, scale: Scale? = nil) {
        self.metric = metric
        self.pass = pass
        self.scale = scale ?? (metric == .std ? .log : .linear)
    }

    /// Parses `metric`, `pass` and `scale` from query parameters; any other parameter, a repeated one, or a
    /// value outside the allowed list is an error naming the parameter and its allowed values.
    /// - Parameter allowedMetrics: narrows `metric` (a sweep overlay has no single histogram).
    package static func parse(
        query: [(name: String, value: String)], allowedMetrics: [Metric] = Metric.allCases
    ) throws(ChartQueryError) -> ChartOptions {
        var seen: Set<String> = []
        var metric: Metric = .std
        var pass: Pass = .forward
        var scale: Scale?
        for (name, value) in query {
            guard seen.insert(name).inserted else {
                throw ChartQueryError(parameter: name, detail: "query parameter '\(name)' may appear once")
            }
            switch name {
            case "metric":
                guard let parsed = Metric(rawValue: value), allowedMetrics.contains(parsed) else {
                    throw .notAllowed(name, value, allowedMetrics.map(\.rawValue))
                }
                metric = parsed
            case "pass":
                guard let parsed = Pass(rawValue: value) else { throw .notAllowed(name, value, Pass.allCases.map(\.rawValue)) }
                pass = parsed
            case "scale":
                guard let parsed = Scale(rawValue: value) else { throw .notAllowed(name, value, Scale.allCases.map(\.rawValue)) }
                scale = parsed
            default:
                throw ChartQueryError(
                    parameter: name, detail: "unknown query parameter '\(name)'; allowed: metric, pass, scale")
            }
        }
        return ChartOptions(metric: metric, pass: pass, scale: scale)
    }
}

/// A rejected chart query parameter: becomes a 400 problem whose detail names the parameter and what it allows.
package struct ChartQueryError: Error, Sendable, Equatable {
    package var parameter: String
    package var detail: String

    package init(parameter: String, detail: String) {
        self.parameter = parameter
        self.detail = detail
    }

    static func notAllowed(_ name: String, _ value: String, _ allowed: [String]) -> ChartQueryError {
        let shown = value.count > 40 ? String(value.prefix(40)) + "…" : value
        return ChartQueryError(
            parameter: name, detail: "\(name)=\(shown) is not allowed; allowed: \(allowed.joined(separator: ", "))")
    }
}
