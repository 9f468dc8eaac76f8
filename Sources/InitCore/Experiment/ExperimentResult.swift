import Foundation

/// Fixed-range histogram counts.
public struct Histogram: Codable, Sendable, Hashable {
    /// Range of the bins: [min, max] of the finite values (bin i covers low + i·(high − low)/bins ..., the last
    /// bin includes high). A constant matrix has low == high and everything in the first bin.
    public var low: Double
    public var high: Double
    public var counts: [Int]

    public init(low: Double, high: Double, counts: [Int]) {
        self.low = low
        self.high = high
        self.counts = counts
    }

    enum CodingKeys: String, CodingKey { case low, high, counts }
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        low = try c.decodeIfPresent(Double.self, forKey: .low) ?? .nan
        high = try c.decodeIfPresent(Double.self, forKey: .high) ?? .nan
        counts = try c.decode([Int].self, forKey: .counts)
    }
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeFinite(low, forKey: .low)
        try c.encodeFinite(high, forKey: .high)
        try c.encode(counts, forKey: .counts)
    }
}

/// Statistics of one matrix. Moments, extremes and percentiles are over the finite values, accumulated in
/// double precision; the fractions are over all `count` values.
public struct Stats: Codable, Sendable, Hashable {
    public var count: Int
    public var mean: Double
    /// Population standard deviation (divides by the number of finite values, like numpy's default).
    public var std: Double
    public var min: Double
    public var max: Double
    public var meanAbs: Double
    /// Fraction exactly 0.
    public var zeroFraction: Double
    /// Fraction of units dead for the whole batch: columns (units) all ≤ 0 for forward matrices, all exactly 0
    /// for the activation gradient; rows (output units) all 0 for the weight gradient.
    public var deadFraction: Double
    /// Fraction ±inf or NaN.
    public var nonfiniteFraction: Double
    /// Percentiles with numpy's default linear interpolation between order statistics, found by selection.
    public var p1: Double
    public var p50: Double
    public var p99: Double
    public var histogram: Histogram

    public init(count: Int, mean: Double, std: Double, min: Double, max: Double, meanAbs: Double, zeroFraction: Double,
                deadFraction: Double, nonfiniteFraction: Double, p1: Double, p50: Double, p99: Double, histogram: Histogram) {
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
        case count, mean, std, min, max, meanAbs = "mean_abs", zeroFraction = "zero_fraction", deadFraction = "dead_fraction"
        case nonfiniteFraction = "nonfinite_fraction", p1, p50, p99, histogram
    }
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func d(_ k: CodingKeys) throws -> Double { try c.decodeIfPresent(Double.self, forKey: k) ?? .nan }
        count = try c.decode(Int.self, forKey: .count)
        mean = try d(.mean); std = try d(.std); min = try d(.min); max = try d(.max); meanAbs = try d(.meanAbs)
        zeroFraction = try d(.zeroFraction); deadFraction = try d(.deadFraction); nonfiniteFraction = try d(.nonfiniteFraction)
        p1 = try d(.p1); p50 = try d(.p50); p99 = try d(.p99)
        histogram = try c.decode(Histogram.self, forKey: .histogram)
    }
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(count, forKey: .count)
        for (k, v) in [(CodingKeys.mean, mean), (.std, std), (.min, min), (.max, max), (.meanAbs, meanAbs),
                       (.zeroFraction, zeroFraction), (.deadFraction, deadFraction), (.nonfiniteFraction, nonfiniteFraction),
                       (.p1, p1), (.p50, p50), (.p99, p99)] {
            try c.encodeFinite(v, forKey: k)
        }
        try c.encode(histogram, forKey: .histogram)
    }
}

public struct ForwardStats: Codable, Sendable, Hashable {
    /// h_l = a_{l−1}·W_lᵀ + b_l (+ the block input on the last layer of a residual block).
    public var preactivation: Stats
    /// a_l = φ(h_l).
    public var activation: Stats
}

public struct BackwardStats: Codable, Sendable, Hashable {
    /// ∂L/∂a_l (batch × width).
    public var activationGrad: Stats
    /// ∂L/∂W_l, (out, in).
    public var weightGrad: Stats
    enum CodingKeys: String, CodingKey { case activationGrad = "activation_grad", weightGrad = "weight_grad" }
}

/// Mean-field predictions for one layer (see `MeanField`).
public struct LayerTheory: Codable, Sendable, Hashable {
    /// Predicted second moment of the pre-activation, E[h²].
    public var q: Double
    public var predictedPreactivationStd: Double
    public var predictedActivationStd: Double
    /// Predicted std of ∂L/∂a_l; nil without a backward pass.
    public var predictedActivationGradStd: Double?

    enum CodingKeys: String, CodingKey {
        case q, predictedPreactivationStd = "predicted_preactivation_std", predictedActivationStd = "predicted_activation_std"
        case predictedActivationGradStd = "predicted_activation_grad_std"
    }
    public init(q: Double, predictedPreactivationStd: Double, predictedActivationStd: Double, predictedActivationGradStd: Double?) {
        self.q = q
        self.predictedPreactivationStd = predictedPreactivationStd
        self.predictedActivationStd = predictedActivationStd
        self.predictedActivationGradStd = predictedActivationGradStd
    }
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        q = try c.decodeIfPresent(Double.self, forKey: .q) ?? .nan
        predictedPreactivationStd = try c.decodeIfPresent(Double.self, forKey: .predictedPreactivationStd) ?? .nan
        predictedActivationStd = try c.decodeIfPresent(Double.self, forKey: .predictedActivationStd) ?? .nan
        predictedActivationGradStd = try c.decodeIfPresent(Double.self, forKey: .predictedActivationGradStd)
    }
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeFinite(q, forKey: .q)
        try c.encodeFinite(predictedPreactivationStd, forKey: .predictedPreactivationStd)
        try c.encodeFinite(predictedActivationStd, forKey: .predictedActivationStd)
        try c.encodeFinite(predictedActivationGradStd, forKey: .predictedActivationGradStd)
    }
}

/// Everything measured and predicted for one layer (1-based `index`).
public struct LayerResult: Codable, Sendable, Hashable {
    public var index: Int
    public var fanIn: Int
    public var fanOut: Int
    public var forward: ForwardStats
    /// nil when backward is false (and in forward-phase progress reports).
    public var backward: BackwardStats?
    public var theory: LayerTheory
    /// Rescalings LSUV applied to this layer; nil for other initializers.
    public var lsuvIterations: Int?

    enum CodingKeys: String, CodingKey {
        case index, fanIn = "fan_in", fanOut = "fan_out", forward, backward, theory, lsuvIterations = "lsuv_iterations"
    }
    public init(index: Int, fanIn: Int, fanOut: Int, forward: ForwardStats, backward: BackwardStats?, theory: LayerTheory, lsuvIterations: Int?) {
        self.index = index
        self.fanIn = fanIn
        self.fanOut = fanOut
        self.forward = forward
        self.backward = backward
        self.theory = theory
        self.lsuvIterations = lsuvIterations
    }
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        index = try c.decode(Int.self, forKey: .index)
        fanIn = try c.decode(Int.self, forKey: .fanIn)
        fanOut = try c.decode(Int.self, forKey: .fanOut)
        forward = try c.decode(ForwardStats.self, forKey: .forward)
        backward = try c.decodeIfPresent(BackwardStats.self, forKey: .backward)
        theory = try c.decode(LayerTheory.self, forKey: .theory)
        lsuvIterations = try c.decodeIfPresent(Int.self, forKey: .lsuvIterations)
    }
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(index, forKey: .index)
        try c.encode(fanIn, forKey: .fanIn)
        try c.encode(fanOut, forKey: .fanOut)
        try c.encode(forward, forKey: .forward)
        try c.encode(backward, forKey: .backward)  // explicit null
        try c.encode(theory, forKey: .theory)
        try c.encode(lsuvIterations, forKey: .lsuvIterations)
    }
}

/// Verdicts: see `ExperimentSummary`.
public enum Verdict: String, Codable, Sendable, Hashable { case stable, exploding, vanishing }
public enum Regime: String, Codable, Sendable, Hashable { case ordered, critical, chaotic }

/// Mean-field summary at the fixed point of the q map of layers 2…depth.
public struct TheorySummary: Codable, Sendable, Hashable {
    /// χ1 = σ_w²·E[φ′(h)²] at q* (at the last q reached when the map diverges).
    public var chi1: Double
    /// ordered (χ1 < 0.99), critical (|χ1 − 1| ≤ 0.01), chaotic (χ1 > 1.01).
    public var regime: Regime
    /// ξ = 1/|ln χ1| (−1/ln χ1 in the ordered phase); nil (infinite) when |ln χ1| < 1e-12.
    public var depthScale: Double?
    /// q*, nil when the q map diverges to infinity.
    public var fixedPointQ: Double?

    enum CodingKeys: String, CodingKey { case chi1, regime, depthScale = "depth_scale", fixedPointQ = "fixed_point_q" }
    public init(chi1: Double, regime: Regime, depthScale: Double?, fixedPointQ: Double?) {
        self.chi1 = chi1
        self.regime = regime
        self.depthScale = depthScale
        self.fixedPointQ = fixedPointQ
    }
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        chi1 = try c.decodeIfPresent(Double.self, forKey: .chi1) ?? .nan
        regime = try c.decode(Regime.self, forKey: .regime)
        depthScale = try c.decodeIfPresent(Double.self, forKey: .depthScale)
        fixedPointQ = try c.decodeIfPresent(Double.self, forKey: .fixedPointQ)
    }
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeFinite(chi1, forKey: .chi1)
        try c.encode(regime, forKey: .regime)
        try c.encodeFinite(depthScale, forKey: .depthScale)
        try c.encodeFinite(fixedPointQ, forKey: .fixedPointQ)
    }
}

/// Whole-network verdicts.
///
/// Growth factors are geometric means of the per-layer std ratio, (s_last/s_first)^(1/layers), over the
/// layers before the first non-finite or vanished one: forward from the input's std to each layer's
/// activation std, backward from the output gradient's std down to layer 1's activation gradient. Verdicts
/// compare the total ratio over the network: exploding if non-finite values appear or the ratio exceeds 10,
/// vanishing if activations vanish or the ratio is below 0.1, otherwise stable.
public struct ExperimentSummary: Codable, Sendable, Hashable {
    /// First layer whose pre-activation or activation holds ±inf/NaN.
    public var firstNonfiniteLayer: Int?
    /// First layer whose activation is all zero or (with more than one value) has std < Float.leastNormalMagnitude.
    public var firstVanishedLayer: Int?
    public var forwardGrowthFactor: Double
    public var backwardGrowthFactor: Double?
    public var forwardVerdict: Verdict
    public var backwardVerdict: Verdict?
    public var theory: TheorySummary

    enum CodingKeys: String, CodingKey {
        case firstNonfiniteLayer = "first_nonfinite_layer", firstVanishedLayer = "first_vanished_layer"
        case forwardGrowthFactor = "forward_growth_factor", backwardGrowthFactor = "backward_growth_factor"
        case forwardVerdict = "forward_verdict", backwardVerdict = "backward_verdict", theory
    }
    public init(firstNonfiniteLayer: Int?, firstVanishedLayer: Int?, forwardGrowthFactor: Double, backwardGrowthFactor: Double?,
                forwardVerdict: Verdict, backwardVerdict: Verdict?, theory: TheorySummary) {
        self.firstNonfiniteLayer = firstNonfiniteLayer
        self.firstVanishedLayer = firstVanishedLayer
        self.forwardGrowthFactor = forwardGrowthFactor
        self.backwardGrowthFactor = backwardGrowthFactor
        self.forwardVerdict = forwardVerdict
        self.backwardVerdict = backwardVerdict
        self.theory = theory
    }
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        firstNonfiniteLayer = try c.decodeIfPresent(Int.self, forKey: .firstNonfiniteLayer)
        firstVanishedLayer = try c.decodeIfPresent(Int.self, forKey: .firstVanishedLayer)
        forwardGrowthFactor = try c.decodeIfPresent(Double.self, forKey: .forwardGrowthFactor) ?? .nan
        backwardGrowthFactor = try c.decodeIfPresent(Double.self, forKey: .backwardGrowthFactor)
        forwardVerdict = try c.decode(Verdict.self, forKey: .forwardVerdict)
        backwardVerdict = try c.decodeIfPresent(Verdict.self, forKey: .backwardVerdict)
        theory = try c.decode(TheorySummary.self, forKey: .theory)
    }
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(firstNonfiniteLayer, forKey: .firstNonfiniteLayer)
        try c.encode(firstVanishedLayer, forKey: .firstVanishedLayer)
        try c.encodeFinite(forwardGrowthFactor, forKey: .forwardGrowthFactor)
        try c.encodeFinite(backwardGrowthFactor, forKey: .backwardGrowthFactor)
        try c.encode(forwardVerdict, forKey: .forwardVerdict)
        try c.encode(backwardVerdict, forKey: .backwardVerdict)
        try c.encode(theory, forKey: .theory)
    }
}

/// The conventions a result was measured under, spelled out in every result.
public struct Conventions: Codable, Sendable, Hashable {
    public var weightLayout = "(out, in)"
    public var fanIn = "in_features"
    public var layerIndex = "1-based"
    public var statsDtype = "float64 accumulation over float32 values"
    public var weights: String
    /// "unit_gaussian", "mse" or "cross_entropy".
    public var gradientSource: String

    enum CodingKeys: String, CodingKey {
        case weightLayout = "weight_layout", fanIn = "fan_in", layerIndex = "layer_index", statsDtype = "stats_dtype"
        case weights, gradientSource = "gradient_source"
    }
    public init(weights: String, gradientSource: String) {
        self.weights = weights
        self.gradientSource = gradientSource
    }
}

/// The full, deterministic result of one run: same spec ⇒ byte-identical JSON (encode with `.sortedKeys`,
/// see `encodedJSON()`); no timings inside.
public struct ExperimentResult: Codable, Sendable, Hashable {
    public var spec: ExperimentSpec
    public var conventions: Conventions
    public var layers: [LayerResult]
    public var summary: ExperimentSummary

    public init(spec: ExperimentSpec, conventions: Conventions, layers: [LayerResult], summary: ExperimentSummary) {
        self.spec = spec
        self.conventions = conventions
        self.layers = layers
        self.summary = summary
    }
}

/// Progress after every layer of each pass.
public struct ExperimentProgress: Sendable {
    /// Layers finished so far, counting both passes.
    public var layersDone: Int
    /// depth, or 2·depth with a backward pass.
    public var layersTotal: Int
    /// "forward" or "backward".
    public var phase: String
    /// The layer just finished (forward-only fields during the forward phase).
    public var layer: LayerResult?
}

/// A caller-provided input batch (dataset input): `x` is batch × input_width, already normalized; `labels`
/// are class indices for cross_entropy / mse targets.
public struct InputBatch: Sendable {
    public var x: Matrix
    public var labels: [Int]?
    public init(x: Matrix, labels: [Int]?) {
        self.x = x
        self.labels = labels
    }
}

extension KeyedEncodingContainer {
    /// Writes a finite Double, or null for ±inf/NaN/nil (JSON has no infinities).
    mutating func encodeFinite(_ x: Double?, forKey key: Key) throws {
        if let x, x.isFinite { try encode(x, forKey: key) } else { try encodeNil(forKey: key) }
    }
}

extension ExperimentResult {
    /// The canonical JSON bytes: sorted keys, non-finite numbers as null. Same spec ⇒ same bytes.
    public func encodedJSON() throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return Array(try encoder.encode(self))
    }
}
