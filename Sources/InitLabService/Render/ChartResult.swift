import Foundation

/// The read-only view of an experiment result that the renderers draw: decoded straight from the result JSON
/// of the experiment contract (`GET /v1/experiments/{id}/result`), so that charts and CSV depend on the wire
/// format only, not on the compute core's Swift types. Every statistic the contract allows to be `null`
/// (a non-finite value) is an optional here; unknown keys are ignored so the contract can grow.
public struct ChartResult: Decodable, Sendable, Equatable {
    public var spec: Spec
    public var layers: [Layer]
    public var summary: Summary

    public init(spec: Spec, layers: [Layer], summary: Summary) {
        self.spec = spec
        self.layers = layers
        self.summary = summary
    }

    /// Decodes the contract's result JSON.
    public static func decode(_ data: Data) throws -> ChartResult {
        try JSONDecoder().decode(ChartResult.self, from: data)
    }

    /// The fields of the canonical spec a chart names in titles and legends.
    public struct Spec: Decodable, Sendable, Equatable {
        public var depth: Int
        public var width: Int
        public var batch: Int?
        public var seed: UInt64?
        public var initializer: Named
        public var activation: Named

        public init(depth: Int, width: Int, batch: Int? = nil, seed: UInt64? = nil, initializer: Named, activation: Named) {
            self.depth = depth
            self.width = width
            self.batch = batch
            self.seed = seed
            self.initializer = initializer
            self.activation = activation
        }

        enum CodingKeys: String, CodingKey {
            case depth, width, batch, seed
            case initializer = "init"
            case activation
        }
    }

    /// A scheme as the contract writes it: a bare name or `{"name": ..., params...}`.
    public struct Named: Decodable, Sendable, Equatable {
        public var name: String
        /// Numeric and string parameters, rendered as text (`"fan_out"`, `"0.1"`), sorted by key.
        public var params: [(String, String)]

        public init(name: String, params: [(String, String)] = []) {
            self.name = name
            self.params = params
        }

        public static func == (a: Named, b: Named) -> Bool {
            a.name == b.name && a.params.map(\.0) == b.params.map(\.0) && a.params.map(\.1) == b.params.map(\.1)
        }

        struct AnyKey: CodingKey {
            var stringValue: String
            var intValue: Int? { nil }
            init(stringValue: String) { self.stringValue = stringValue }
            init?(intValue: Int) { nil }
        }

        public init(from decoder: any Decoder) throws {
            if let single = try? decoder.singleValueContainer(), let name = try? single.decode(String.self) {
                self.init(name: name)
                return
            }
            let container = try decoder.container(keyedBy: AnyKey.self)
            let name = try container.decode(String.self, forKey: AnyKey(stringValue: "name"))
            var params: [(String, String)] = []
            for key in container.allKeys.sorted(by: { $0.stringValue < $1.stringValue }) where key.stringValue != "name" {
                if let number = try? container.decode(Double.self, forKey: key) {
                    params.append((key.stringValue, NumberText.short(number)))
                } else if let text = try? container.decode(String.self, forKey: key) {
                    params.append((key.stringValue, text))
                }
            }
            self.init(name: name, params: params)
        }

        /// `kaiming_normal(mode=fan_out)`-style text; parameters left at their usual defaults still show,
        /// since the canonical spec resolves them all: callers that want brevity use `name`.
        public var text: String {
            params.isEmpty ? name : "\(name)(" + params.map { "\($0.0)=\($0.1)" }.joined(separator: ", ") + ")"
        }
    }

    public struct Histogram: Decodable, Sendable, Equatable {
        public var low: Double?
        public var high: Double?
        public var counts: [Int]

        public init(low: Double?, high: Double?, counts: [Int]) {
            self.low = low
            self.high = high
            self.counts = counts
        }
    }

    /// One tensor's statistics; `nil` is a non-finite value (the contract encodes them as JSON null).
    public struct Stats: Decodable, Sendable, Equatable {
        public var count: Int?
        public var mean: Double?
        public var std: Double?
        public var min: Double?
        public var max: Double?
        public var meanAbs: Double?
        public var zeroFraction: Double?
        public var deadFraction: Double?
        public var nonfiniteFraction: Double?
        public var p1: Double?
        public var p50: Double?
        public var p99: Double?
        public var histogram: Histogram?

        public init(
            count: Int? = nil, mean: Double? = nil, std: Double? = nil, min: Double? = nil, max: Double? = nil,
            meanAbs: Double? = nil, zeroFraction: Double? = nil, deadFraction: Double? = nil,
            nonfiniteFraction: Double? = nil, p1: Double? = nil, p50: Double? = nil, p99: Double? = nil,
            histogram: Histogram? = nil
        ) {
            self.count = count
            self.mean = mean
            self.std = std
            self.min = min
            self.max = max
            self.meanAbs = meanAbs
            self.zeroFraction = zeroFraction
            self.deadFraction = deadFraction
            self.nonfiniteFraction = nonfiniteFraction
            self.p1 = p1
            self.p50 = p50
            self.p99 = p99
            self.histogram = histogram
        }

        enum CodingKeys: String, CodingKey {
            case count, mean, std, min, max
            case meanAbs = "mean_abs"
            case zeroFraction = "zero_fraction"
            case deadFraction = "dead_fraction"
            case nonfiniteFraction = "nonfinite_fraction"
            case p1, p50, p99, histogram
        }

        /// The CSV columns for one tensor, in order, with the contract's key names.
        public static let columnNames = [
            "count", "mean", "std", "min", "max", "mean_abs", "zero_fraction", "dead_fraction",
            "nonfinite_fraction", "p1", "p50", "p99",
        ]

        /// The values matching `columnNames`.
        public var columnValues: [Double?] {
            [count.map(Double.init), mean, std, min, max, meanAbs, zeroFraction, deadFraction, nonfiniteFraction, p1, p50, p99]
        }
    }

    public struct Forward: Decodable, Sendable, Equatable {
        public var preactivation: Stats
        public var activation: Stats
        public init(preactivation: Stats, activation: Stats) {
            self.preactivation = preactivation
            self.activation = activation
        }
    }

    public struct Backward: Decodable, Sendable, Equatable {
        public var activationGrad: Stats
        public var weightGrad: Stats
        public init(activationGrad: Stats, weightGrad: Stats) {
            self.activationGrad = activationGrad
            self.weightGrad = weightGrad
        }
        enum CodingKeys: String, CodingKey {
            case activationGrad = "activation_grad"
            case weightGrad = "weight_grad"
        }
    }

    public struct Theory: Decodable, Sendable, Equatable {
        public var q: Double?
        public var predictedPreactivationStd: Double?
        public var predictedActivationStd: Double?
        public var predictedActivationGradStd: Double?
        public init(q: Double? = nil, predictedPreactivationStd: Double? = nil, predictedActivationStd: Double? = nil, predictedActivationGradStd: Double? = nil) {
            self.q = q
            self.predictedPreactivationStd = predictedPreactivationStd
            self.predictedActivationStd = predictedActivationStd
            self.predictedActivationGradStd = predictedActivationGradStd
        }
        enum CodingKeys: String, CodingKey {
            case q
            case predictedPreactivationStd = "predicted_preactivation_std"
            case predictedActivationStd = "predicted_activation_std"
            case predictedActivationGradStd = "predicted_activation_grad_std"
        }
    }

    public struct Layer: Decodable, Sendable, Equatable {
        public var index: Int
        public var fanIn: Int
        public var fanOut: Int
        public var forward: Forward
        public var backward: Backward?
        public var theory: Theory?
        public var lsuvIterations: Int?

        public init(index: Int, fanIn: Int, fanOut: Int, forward: Forward, backward: Backward?, theory: Theory?, lsuvIterations: Int? = nil) {
            self.index = index
            self.fanIn = fanIn
            self.fanOut = fanOut
            self.forward = forward
            self.backward = backward
            self.theory = theory
            self.lsuvIterations = lsuvIterations
        }

        enum CodingKeys: String, CodingKey {
            case index
            case fanIn = "fan_in"
            case fanOut = "fan_out"
            case forward, backward, theory
            case lsuvIterations = "lsuv_iterations"
        }
    }

    public struct Summary: Decodable, Sendable, Equatable {
        public var firstNonfiniteLayer: Int?
        public var firstVanishedLayer: Int?
        public var forwardGrowthFactor: Double?
        public var backwardGrowthFactor: Double?
        public var forwardVerdict: String?
        public var backwardVerdict: String?

        public init(firstNonfiniteLayer: Int? = nil, firstVanishedLayer: Int? = nil, forwardGrowthFactor: Double? = nil, backwardGrowthFactor: Double? = nil, forwardVerdict: String? = nil, backwardVerdict: String? = nil) {
            self.firstNonfiniteLayer = firstNonfiniteLayer
            self.firstVanishedLayer = firstVanishedLayer
            self.forwardGrowthFactor = forwardGrowthFactor
            self.backwardGrowthFactor = backwardGrowthFactor
            self.forwardVerdict = forwardVerdict
            self.backwardVerdict = backwardVerdict
        }

        enum CodingKeys: String, CodingKey {
            case firstNonfiniteLayer = "first_nonfinite_layer"
            case firstVanishedLayer = "first_vanished_layer"
            case forwardGrowthFactor = "forward_growth_factor"
            case backwardGrowthFactor = "backward_growth_factor"
            case forwardVerdict = "forward_verdict"
            case backwardVerdict = "backward_verdict"
        }
    }

    /// A short legend label: `kaiming_normal · relu`.
    public var label: String { "\(spec.initializer.name) · \(spec.activation.name)" }
}

/// Number formatting shared by the renderers: short, locale-free, round-trippable where it matters.
enum NumberText {
    /// Up to 4 significant digits, no locale: `0.5838`, `1.2e+38`, `3`.
    static func short(_ value: Double) -> String {
        guard value.isFinite else { return value.isNaN ? "NaN" : (value > 0 ? "inf" : "-inf") }
        if value == value.rounded(), abs(value) < 1e6 { return String(Int(value)) }
        let magnitude = abs(value)
        if magnitude >= 1e-3, magnitude < 1e5 {
            var text = String(format: "%.4g", value)
            if text.contains("e") { text = String(format: "%.4f", value) }
            return text
        }
        return String(format: "%.3g", value)
    }
}
