import InitCore
import InitLabContract
import Foundation

/// The read-only view of an experiment result that the renderers draw: decoded straight from the result JSON
/// of the experiment contract (`GET /v1/experiments/{id}/result`), so that charts and CSV depend on the wire
/// format only, not on the compute core's Swift types. Every statistic the contract allows to be `null`
/// (a non-finite value) is an optional here; unknown keys are ignored so the contract can grow.
package struct ChartResult: Decodable, Sendable, Equatable {
    package var spec: Spec
    package var layers: [Layer]
    package var summary: Summary
    /// A training run's curves (`training` in the result); nil for an init-time experiment.
    package var training: Training?

    package init(spec: Spec, layers: [Layer], summary: Summary, training: Training? = nil) {
        self.spec = spec
        self.layers = layers
        self.summary = summary
        self.training = training
    }

    /// What the charts and the CSV draw of a training run: the loss and learning rate of every step (step k + 1
    /// at index k; nil = non-finite) and every evaluation.
    package struct Training: Decodable, Sendable, Equatable {
        package var trainLoss: [Double?]
        package var learningRate: [Double?]
        package var evals: [Eval]

        package struct Eval: Decodable, Sendable, Equatable {
            package var step: Int
            package var loss: Double?
            package var accuracy: Double?

            package init(step: Int, loss: Double?, accuracy: Double?) {
                self.step = step
                self.loss = loss
                self.accuracy = accuracy
            }
        }

        package init(trainLoss: [Double?], learningRate: [Double?], evals: [Eval]) {
            self.trainLoss = trainLoss
            self.learningRate = learningRate
            self.evals = evals
        }

        enum CodingKeys: String, CodingKey {
            case trainLoss = "train_loss"
            case learningRate = "learning_rate"
            case evals
        }
    }

    /// Decodes the contract's result JSON.
    package static func decode(_ data: Data) throws -> ChartResult {
        try JSONDecoder().decode(ChartResult.self, from: data)
    }

    /// The fields of the canonical spec a chart names in titles and legends.
    package struct Spec: Decodable, Sendable, Equatable {
        package var depth: Int
        package var width: Int
        package var batch: Int?
        package var seed: UInt64?
        package var initializer: Named
        package var activation: Named

        package init(depth: Int, width: Int, batch: Int? = nil, seed: UInt64? = nil, initializer: Named, activation: Named) {
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
    package struct Named: Decodable, Sendable, Equatable {
        package var name: String
        /// Numeric and string parameters, rendered as text (`"fan_out"`, `"0.1"`), sorted by key.
        package var params: [(String, String)]

        package init(name: String, params: [(String, String)] = []) {
            self.name = name
            self.params = params
        }

        package static func == (a: Named, b: Named) -> Bool {
            a.name == b.name && a.params.map(\.0) == b.params.map(\.0) && a.params.map(\.1) == b.params.map(\.1)
        }

        struct AnyKey: CodingKey {
            var stringValue: String
            var intValue: Int? { nil }
            init(stringValue: String) { self.stringValue = stringValue }
            init?(intValue: Int) { nil }
        }

        package init(from decoder: any Decoder) throws {
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
        package var text: String {
            params.isEmpty ? name : "\(name)(" + params.map { "\($0.0)=\($0.1)" }.joined(separator: ", ") + ")"
        }
    }

    package struct Histogram: Decodable, Sendable, Equatable {
        package var low: Double?
        package var high: Double?
        package var counts: [Int]

        package init(low: Double?, high: Double?, counts: [Int]) {
            self.low = low
            self.high = high
            self.counts = counts
        }
    }

    /// One tensor's statistics; `nil` is a non-finite value (the contract encodes them as JSON null).
    package struct Stats: Decodable, Sendable, Equatable {
        package var count: Int?
        package var mean: Double?
        package var std: Double?
        package var min: Double?
        package var max: Double?
        package var meanAbs: Double?
        package var zeroFraction: Double?
        package var deadFraction: Double?
        package var nonfiniteFraction: Double?
        package var p1: Double?
        package var p50: Double?
        package var p99: Double?
        package var histogram: Histogram?

        package init(
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
        package static let columnNames = [
            "count", "mean", "std", "min", "max", "mean_abs", "zero_fraction", "dead_fraction",
            "nonfinite_fraction", "p1", "p50", "p99",
        ]

        /// The values matching `columnNames`.
        package var columnValues: [Double?] {
            [count.map(Double.init), mean, std, min, max, meanAbs, zeroFraction, deadFraction, nonfiniteFraction, p1, p50, p99]
        }
    }

    package struct Forward: Decodable, Sendable, Equatable {
        package var preactivation: Stats
        package var activation: Stats
        package init(preactivation: Stats, activation: Stats) {
            self.preactivation = preactivation
            self.activation = activation
        }
    }

    package struct Backward: Decodable, Sendable, Equatable {
        package var activationGrad: Stats
        package var weightGrad: Stats
        package init(activationGrad: Stats, weightGrad: Stats) {
            self.activationGrad = activationGrad
            self.weightGrad = weightGrad
        }
        enum CodingKeys: String, CodingKey {
            case activationGrad = "activation_grad"
            case weightGrad = "weight_grad"
        }
    }

    package struct Theory: Decodable, Sendable, Equatable {
        package var q: Double?
        package var predictedPreactivationStd: Double?
        package var predictedActivationStd: Double?
        package var predictedActivationGradStd: Double?
        package init(q: Double? = nil, predictedPreactivationStd: Double? = nil, predictedActivationStd: Double? = nil, predictedActivationGradStd: Double? = nil) {
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

    package struct Layer: Decodable, Sendable, Equatable {
        package var index: Int
        package var fanIn: Int
        package var fanOut: Int
        package var forward: Forward
        package var backward: Backward?
        package var theory: Theory?
        package var lsuvIterations: Int?
        /// A cnn layer's kind and shapes.
        package var shape: LayerShape?

        package init(index: Int, fanIn: Int, fanOut: Int, forward: Forward, backward: Backward?, theory: Theory?, lsuvIterations: Int? = nil,
                     shape: LayerShape? = nil) {
            self.index = index
            self.fanIn = fanIn
            self.fanOut = fanOut
            self.forward = forward
            self.backward = backward
            self.theory = theory
            self.lsuvIterations = lsuvIterations
            self.shape = shape
        }

        enum CodingKeys: String, CodingKey {
            case index
            case fanIn = "fan_in"
            case fanOut = "fan_out"
            case forward, backward, theory
            case lsuvIterations = "lsuv_iterations"
            case shape
        }
    }

    package struct Summary: Decodable, Sendable, Equatable {
        package var firstNonfiniteLayer: Int?
        package var firstVanishedLayer: Int?
        package var forwardGrowthFactor: Double?
        package var backwardGrowthFactor: Double?
        package var forwardVerdict: String?
        package var backwardVerdict: String?

        package init(firstNonfiniteLayer: Int? = nil, firstVanishedLayer: Int? = nil, forwardGrowthFactor: Double? = nil, backwardGrowthFactor: Double? = nil, forwardVerdict: String? = nil, backwardVerdict: String? = nil) {
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
    package var label: String { "\(spec.initializer.name) · \(spec.activation.name)" }
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
