/// Fixed-range histogram counts.
public struct Histogram: Sendable, Hashable {
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

}

/// Statistics of one matrix. Moments, extremes and percentiles are over the finite values, accumulated in
/// double precision; the fractions are over all `count` values.
public struct Stats: Sendable, Hashable {
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

}

public struct ForwardStats: Sendable, Hashable {
    /// h_l = a_{l−1}·W_lᵀ + b_l (+ the block input on the last layer of a residual block).
    public var preactivation: Stats
    /// a_l = φ(h_l).
    public var activation: Stats

    public init(preactivation: Stats, activation: Stats) {
        self.preactivation = preactivation
        self.activation = activation
    }
}

public struct BackwardStats: Sendable, Hashable {
    /// ∂L/∂a_l (batch × width).
    public var activationGrad: Stats
    /// ∂L/∂W_l, (out, in).
    public var weightGrad: Stats

    public init(activationGrad: Stats, weightGrad: Stats) {
        self.activationGrad = activationGrad
        self.weightGrad = weightGrad
    }
}

/// Mean-field predictions for one layer (see `MeanField`).
public struct LayerTheory: Sendable, Hashable {
    /// Predicted second moment of the pre-activation, E[h²].
    public var q: Double
    public var predictedPreactivationStd: Double
    public var predictedActivationStd: Double
    /// Predicted std of ∂L/∂a_l; nil without a backward pass.
    public var predictedActivationGradStd: Double?

    public init(q: Double, predictedPreactivationStd: Double, predictedActivationStd: Double, predictedActivationGradStd: Double?) {
        self.q = q
        self.predictedPreactivationStd = predictedPreactivationStd
        self.predictedActivationStd = predictedActivationStd
        self.predictedActivationGradStd = predictedActivationGradStd
    }
}

/// A cnn layer's kind and shapes (results of other architectures leave `LayerResult.shape` nil).
public struct LayerShape: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable { case conv, dense }
    public var kind: Kind
    /// The pre-activation's and activation's shape: [channels, height, width] for conv, [width] for dense.
    public var output: [Int]
    /// After the layer's pooling (what the next layer reads); nil without pooling.
    public var pooled: [Int]?

    public init(kind: Kind, output: [Int], pooled: [Int]? = nil) {
        self.kind = kind
        self.output = output
        self.pooled = pooled
    }

    /// "conv 32×28×28", "conv 32×28×28 → pool 32×14×14", "dense 100".
    public var label: String {
        "\(kind.rawValue) \(Self.dimensions(output))" + (pooled.map { " → pool \(Self.dimensions($0))" } ?? "")
    }

    /// What the layer hands on, dimensions only: "32×14×14" (after pooling), "100".
    public var compact: String { Self.dimensions(pooled ?? output) }

    static func dimensions(_ d: [Int]) -> String { d.map(String.init).joined(separator: "×") }
}

/// Everything measured and predicted for one layer (1-based `index`).
public struct LayerResult: Sendable, Hashable {
    public var index: Int
    public var fanIn: Int
    public var fanOut: Int
    public var forward: ForwardStats
    /// nil when backward is false (and in forward-phase progress reports).
    public var backward: BackwardStats?
    public var theory: LayerTheory
    /// Rescalings LSUV applied to this layer; nil for other initializers.
    public var lsuvIterations: Int?
    /// A cnn layer's kind and shapes; nil for the other architectures.
    public var shape: LayerShape?
    /// A conv layer's statistics channel by channel; nil for dense layers and other architectures.
    public var channels: ChannelStats?

    public init(index: Int, fanIn: Int, fanOut: Int, forward: ForwardStats, backward: BackwardStats?, theory: LayerTheory, lsuvIterations: Int?,
                shape: LayerShape? = nil, channels: ChannelStats? = nil) {
        self.index = index
        self.fanIn = fanIn
        self.fanOut = fanOut
        self.forward = forward
        self.backward = backward
        self.theory = theory
        self.lsuvIterations = lsuvIterations
        self.shape = shape
        self.channels = channels
    }
}

/// Moments of a matrix's columns (a conv layer's channels) over all its rows (every position of every image):
/// the mean and the population std of each, in double precision, in row order (so the same bits on any thread
/// count). A column holding a non-finite value has a non-finite mean and std.
public struct ChannelMoments: Sendable, Hashable {
    public var mean: [Double]
    public var std: [Double]

    public init(mean: [Double], std: [Double]) {
        self.mean = mean
        self.std = std
    }

    /// Two passes (the mean, then the squared deviations from it) over `rows` × `channels` values.
    public init(_ p: UnsafePointer<Float>, rows: Int, channels: Int) {
        var sum = [Double](repeating: 0, count: channels)
        for r in 0..<rows {
            let row = p + r * channels
            for c in 0..<channels { sum[c] += Double(row[c]) }
        }
        let n = Double(max(1, rows))
        let mean = sum.map { $0 / n }
        var squares = [Double](repeating: 0, count: channels)
        for r in 0..<rows {
            let row = p + r * channels
            for c in 0..<channels {
                let d = Double(row[c]) - mean[c]
                squares[c] += d * d
            }
        }
        self.init(mean: mean, std: squares.map { ($0 / n).squareRoot() })
    }
}

/// A conv layer's per-channel moments: its pre-activation and activation, and with a backward pass the gradient
/// of the activation (the same tensors as the layer's `forward` and `backward` statistics).
public struct ChannelStats: Sendable, Hashable {
    public var preactivation: ChannelMoments
    public var activation: ChannelMoments
    public var activationGrad: ChannelMoments?

    public init(preactivation: ChannelMoments, activation: ChannelMoments, activationGrad: ChannelMoments? = nil) {
        self.preactivation = preactivation
        self.activation = activation
        self.activationGrad = activationGrad
    }
}

/// Verdicts: see `ExperimentSummary`.
public enum Verdict: String, Sendable, Hashable { case stable, exploding, vanishing }
public enum Regime: String, Sendable, Hashable { case ordered, critical, chaotic }

/// Mean-field summary at the fixed point of the q map of layers 2…depth.
public struct TheorySummary: Sendable, Hashable {
    /// χ1 = σ_w²·E[φ′(h)²] at q* (at the last q reached when the map diverges).
    public var chi1: Double
    /// ordered (χ1 < 0.99), critical (|χ1 − 1| ≤ 0.01), chaotic (χ1 > 1.01).
    public var regime: Regime
    /// ξ = 1/|ln χ1| (−1/ln χ1 in the ordered phase); nil (infinite) when |ln χ1| < 1e-12.
    public var depthScale: Double?
    /// q*, nil when the q map diverges to infinity.
    public var fixedPointQ: Double?

    public init(chi1: Double, regime: Regime, depthScale: Double?, fixedPointQ: Double?) {
        self.chi1 = chi1
        self.regime = regime
        self.depthScale = depthScale
        self.fixedPointQ = fixedPointQ
    }
}

/// Whole-network verdicts.
///
/// Growth factors are geometric means of the per-layer std ratio, (s_last/s_first)^(1/layers), over the
/// layers before the first non-finite or vanished one: forward from the input's std to each layer's
/// activation std, backward from the output gradient's std down to layer 1's activation gradient. Verdicts
/// compare the total ratio over the network: exploding if non-finite values appear or the ratio exceeds 10,
/// vanishing if activations vanish or the ratio is below 0.1, otherwise stable.
public struct ExperimentSummary: Sendable, Hashable {
    /// First layer whose pre-activation or activation holds ±inf/NaN.
    public var firstNonfiniteLayer: Int?
    /// First layer whose activation is all zero or (with more than one value) has std < Float.leastNormalMagnitude.
    public var firstVanishedLayer: Int?
    public var forwardGrowthFactor: Double
    public var backwardGrowthFactor: Double?
    public var forwardVerdict: Verdict
    public var backwardVerdict: Verdict?
    public var theory: TheorySummary

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
}

/// The conventions a result was measured under, spelled out in every result.
public struct Conventions: Sendable, Hashable {
    public var weightLayout = "(out, in)"
    public var fanIn = "in_features"
    public var layerIndex = "1-based"
    public var statsDtype = "float64 accumulation over float32 values"
    public var weights: String
    /// "unit_gaussian", "mse" or "cross_entropy".
    public var gradientSource: String

    public init(weights: String, gradientSource: String) {
        self.weights = weights
        self.gradientSource = gradientSource
    }
}

/// The full, deterministic result of one run: same spec ⇒ same values, bit for bit (and so byte-identical JSON,
/// see InitLabContract's `encodedJSON()`); no timings inside.
public struct ExperimentResult: Sendable, Hashable {
    public var spec: ExperimentSpec
    public var conventions: Conventions
    public var layers: [LayerResult]
    public var summary: ExperimentSummary
    /// A training run's measurements (`spec.train`); nil for an init-time experiment.
    public var training: TrainingResult?

    public init(spec: ExperimentSpec, conventions: Conventions, layers: [LayerResult], summary: ExperimentSummary,
                training: TrainingResult? = nil) {
        self.spec = spec
        self.conventions = conventions
        self.layers = layers
        self.summary = summary
        self.training = training
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
