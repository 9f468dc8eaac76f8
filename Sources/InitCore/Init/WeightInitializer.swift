/// The distribution of one layer's weights (or biases), after fans and gains are applied.
public enum WeightDistribution: Sendable, Hashable {
    case constant(Double)
    case normal(mean: Double, std: Double)
    case uniform(low: Double, high: Double)
    /// mean + std·z, z ~ N(0, 1) redrawn while |z| > bound (std is that of the untruncated normal).
    case truncatedNormal(mean: Double, std: Double, bound: Double)
    /// gain · a Haar-random matrix with orthonormal rows (wide) or columns (tall).
    case orthogonal(gain: Double)
    /// 1 on the leading diagonal.
    case identity
    /// A conv kernel, out × (taps·in) in the core's layout (`Conv2DShape`), that is zero except at its centre
    /// tap, which holds an out × in matrix drawn from the inner distribution: Xiao et al. 2018's
    /// delta-orthogonal with `.orthogonal`, PyTorch's `dirac_` with `.identity`.
    indirect case centered(WeightDistribution, taps: Int, centerTap: Int)

    /// Std of the unit normal truncated at ±2: √(1 − 4ϕ(2)/(Φ(2) − Φ(−2))).
    public static let truncatedUnitStd2 = 0.87962566103423978

    /// Mean of one entry for a `rows × cols` (out × in) matrix.
    public func mean(rows: Int, cols: Int) -> Double {
        switch self {
        case .constant(let c): c
        case .normal(let m, _), .truncatedNormal(let m, _, _): m
        case .uniform(let lo, let hi): (lo + hi) / 2
        case .orthogonal: 0
        case .identity: Double(min(rows, cols)) / (Double(rows) * Double(cols))
        case .centered(let inner, let taps, _): inner.mean(rows: rows, cols: max(1, cols / max(1, taps))) / Double(max(1, taps))
        }
    }

    /// Variance of one entry for a `rows × cols` (out × in) matrix.
    public func variance(rows: Int, cols: Int) -> Double {
        switch self {
        case .constant: return 0
        case .normal(_, let s): return s * s
        case .uniform(let lo, let hi): return (hi - lo) * (hi - lo) / 12
        case .truncatedNormal(_, let s, let b):
            let z = truncatedUnitVariance(bound: b)
            return s * s * z
        case .orthogonal(let g): return g * g * Double(min(rows, cols)) / (Double(rows) * Double(cols))
        case .identity:
            let p = mean(rows: rows, cols: cols)
            return p - p * p
        case .centered(let inner, let taps, _):
            // A fraction 1/taps of the entries follow `inner`; the rest are 0.
            let t = Double(max(1, taps)), inC = max(1, cols / max(1, taps))
            let m = inner.mean(rows: rows, cols: inC), v = inner.variance(rows: rows, cols: inC)
            return (v + m * m) / t - (m / t) * (m / t)
        }
    }

    /// Fills `out` (rows × cols, row-major) from `philox`.
    func fill(_ out: UnsafeMutableBufferPointer<Float>, rows: Int, cols: Int, philox: Philox, threads: Int) {
        switch self {
        case .constant(let c): out.update(repeating: Float(c))
        case .normal(let m, let s): RandomFill.normal(philox, out, mean: Float(m), std: Float(s), threads: threads)
        case .uniform(let lo, let hi): RandomFill.uniform(philox, out, low: Float(lo), high: Float(hi), threads: threads)
        case .truncatedNormal(let m, let s, let b):
            RandomFill.truncatedNormal(philox, out, mean: Float(m), std: Float(s), bound: Float(b), threads: threads)
        case .orthogonal(let g): Orthogonal.fill(out, rows: rows, cols: cols, gain: g, philox: philox, threads: threads)
        case .identity:
            out.update(repeating: 0)
            for i in 0..<min(rows, cols) { out[i * cols + i] = 1 }
        case .centered(let inner, let taps, let center):
            let inC = cols / max(1, taps)
            var block = [Float](repeating: 0, count: rows * inC)
            block.withUnsafeMutableBufferPointer { inner.fill($0, rows: rows, cols: inC, philox: philox, threads: threads) }
            out.update(repeating: 0)
            for r in 0..<rows {
                for c in 0..<inC { out[r * cols + center * inC + c] = block[r * inC + c] }
            }
        }
    }
}

/// Variance of N(0,1) truncated to [−b, b].
func truncatedUnitVariance(bound b: Double) -> Double {
    let pdf = Double.fExp(-b * b / 2) * 0.39894228040143267794
    let mass = Double.fErf(b * 0.70710678118654752440)
    return 1 - 2 * b * pdf / mass
}


/// A resolved weight initializer (see `SchemeCatalog.initializers` for the formulas).
public struct WeightInitializer: Sendable, Hashable {
    public let scheme: InitScheme
    /// Depth, block size and stem layers (`ExperimentSpec.stemLayers`), for fixup.
    let depth: Int
    let blockSize: Int
    let stem: Int

    public init(_ scheme: InitScheme, depth: Int = 1, blockSize: Int = 1, stem: Int = 0) {
        self.scheme = scheme
        self.depth = depth
        self.blockSize = blockSize
        self.stem = stem
    }

    /// The distribution of layer `layer` (1-based) with the given fans. LSUV returns its orthonormal start.
    public func distribution(layer: Int, fanIn: Int, fanOut: Int) -> WeightDistribution {
        let s = scheme
        let fi = Double(fanIn), fo = Double(fanOut)
        switch s.name {
        case "zeros": return .constant(0)
        case "constant": return .constant(s.number("value", default: 0))
        case "normal": return .normal(mean: s.number("mean", default: 0), std: s.number("std", default: 1))
        case "uniform": return .uniform(low: s.number("low", default: -1), high: s.number("high", default: 1))
        case "scaled_normal": return .normal(mean: 0, std: s.number("factor", default: 1))
        case "xavier_uniform":
            let b = s.number("gain", default: 1) * (6 / (fi + fo)).squareRoot()
            return .uniform(low: -b, high: b)
        case "xavier_normal": return .normal(mean: 0, std: s.number("gain", default: 1) * (2 / (fi + fo)).squareRoot())
        case "kaiming_uniform", "kaiming_normal":
            let a = s.number("a", default: 0)
            let gain = calculateGain(s.string("nonlinearity", default: "leaky_relu"), a: a)
            let fan = s.string("mode", default: "fan_in") == "fan_out" ? fo : fi
            let std = gain / fan.squareRoot()
            if s.name == "kaiming_normal" { return .normal(mean: 0, std: std) }
            let b = 3.0.squareRoot() * std
            return .uniform(low: -b, high: b)
        case "lecun_uniform":
            let b = (3 / fi).squareRoot()
            return .uniform(low: -b, high: b)
        case "lecun_normal": return .normal(mean: 0, std: (1 / fi).squareRoot())
        case "truncated_normal":
            return .truncatedNormal(mean: s.number("mean", default: 0), std: s.number("std", default: 1), bound: 2)
        case "orthogonal": return .orthogonal(gain: s.number("gain", default: 1))
        // A dense layer is a 1×1 convolution: its delta-orthogonal kernel is an orthogonal matrix.
        case "delta_orthogonal": return .orthogonal(gain: s.number("gain", default: 1))
        case "identity": return .identity
        case "torch_default":
            let b = 1 / fi.squareRoot()
            return .uniform(low: -b, high: b)
        case "variance_scaling":
            let n: Double
            switch s.string("mode", default: "fan_in") {
            case "fan_out": n = fo
            case "fan_avg": n = (fi + fo) / 2
            default: n = fi
            }
            let variance = s.number("scale", default: 1) / n
            switch s.string("distribution", default: "truncated_normal") {
            case "normal": return .normal(mean: 0, std: variance.squareRoot())
            case "uniform":
                let b = (3 * variance).squareRoot()
                return .uniform(low: -b, high: b)
            default:
                return .truncatedNormal(mean: 0, std: variance.squareRoot() / WeightDistribution.truncatedUnitStd2, bound: 2)
            }
        case "lsuv": return .orthogonal(gain: 1)
        case "fixup":
            let m = max(2, blockSize)
            // The stem (a plain dense layer before the blocks) is He-initialized, as Fixup's first convolution.
            if layer <= stem { return .normal(mean: 0, std: (2 / fi).squareRoot()) }
            let positionInBlock = (layer - stem - 1) % m + 1
            if positionInBlock == m { return .constant(0) }
            let branches = Double(max(1, (depth - stem) / m))
            let scale = Double.fExp(-Double.fLog1p(branches - 1) / Double(2 * m - 2))  // L^(−1/(2m−2))
            return .normal(mean: 0, std: (2 / fi).squareRoot() * scale)
        default: return .constant(0)
        }
    }

    /// The distribution of conv layer `layer`'s kernel (out × kh·kw·in), with the receptive-field fans of PyTorch's
    /// `_calculate_fan_in_and_fan_out`. delta_orthogonal puts an orthogonal out × in matrix at the centre tap
    /// and zeros elsewhere; identity is PyTorch's `dirac_` (1 at the centre tap of channel o → o); the others
    /// are the dense formulas with fan_in = in·kh·kw and fan_out = out·kh·kw (orthogonal flattens the kernel
    /// to out × kh·kw·in, as PyTorch flattens it to out × in·kh·kw: a column permutation).
    public func convDistribution(layer: Int, shape: Conv2DShape) -> WeightDistribution {
        let taps = shape.kernelH * shape.kernelW, center = (shape.kernelH / 2) * shape.kernelW + shape.kernelW / 2
        switch scheme.name {
        case "delta_orthogonal": return .centered(.orthogonal(gain: scheme.number("gain", default: 1)), taps: taps, centerTap: center)
        case "identity": return .centered(.identity, taps: taps, centerTap: center)
        default: return distribution(layer: layer, fanIn: shape.fanIn, fanOut: shape.fanOut)
        }
    }

    /// σ_w² = fan_in · Var(W) of layer `layer`: the mean-field weight variance.
    public func sigmaW2(layer: Int, fanIn: Int, fanOut: Int) -> Double {
        Double(fanIn) * distribution(layer: layer, fanIn: fanIn, fanOut: fanOut).variance(rows: fanOut, cols: fanIn)
    }

    /// The distribution of a bias vector (bias_init schemes: zeros, constant, normal, uniform, torch_default).
    public static func biasDistribution(_ scheme: InitScheme, fanIn: Int) -> WeightDistribution {
        WeightInitializer(scheme).distribution(layer: 1, fanIn: fanIn, fanOut: 1)
    }
}
