#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Gaussian moments of an activation: for h ~ N(μ, v), E[φ(h)], E[φ(h)²] and E[φ′(h)²]. Closed forms for
/// identity, relu and leaky_relu; 96-node Gauss–Hermite quadrature for smooth activations; piecewise
/// Gauss–Legendre split at the kinks for elu, selu and general_relu.
public struct ActivationMoments: Sendable, Hashable {
    public var mean: Double
    public var meanSquare: Double
    public var derivativeMeanSquare: Double

    public static func of(_ phi: Activation, mean mu: Double, variance v: Double) -> ActivationMoments {
        let sigma = max(0, v).squareRoot()
        func normalCDF(_ x: Double) -> Double { 0.5 * erfc(-x / 2.0.squareRoot()) }
        // E[relu(h)], E[relu(h)²], P(h > 0) for h ~ N(m, σ²).
        func relu(_ m: Double) -> (Double, Double, Double) {
            if sigma == 0 { return m > 0 ? (m, m * m, 1) : (0, 0, 0) }
            let t = m / sigma
            let pdf = exp(-t * t / 2) * 0.39894228040143267794, cdf = normalCDF(t)
            return (m * cdf + sigma * pdf, (m * m + v) * cdf + m * sigma * pdf, cdf)
        }
        switch phi {
        case .identity:
            return ActivationMoments(mean: mu, meanSquare: mu * mu + v, derivativeMeanSquare: 1)
        case .relu, .leakyRelu:
            var a = 0.0
            if case .leakyRelu(let s) = phi { a = s }
            let (p1, p2, pp) = relu(mu), (n1, n2, _) = relu(-mu)
            return ActivationMoments(mean: p1 - a * n1, meanSquare: p2 + a * a * n2, derivativeMeanSquare: pp + a * a * (1 - pp))
        default:
            if let kinks = phi.kinks, sigma > 0 {
                let breaks = kinks.map { ($0 - mu) / sigma }
                let gl = GaussLegendre.standard
                return ActivationMoments(
                    mean: gl.gaussianExpectation(breaks: breaks) { phi.value(mu + sigma * $0) },
                    meanSquare: gl.gaussianExpectation(breaks: breaks) { let y = phi.value(mu + sigma * $0); return y * y },
                    derivativeMeanSquare: gl.gaussianExpectation(breaks: breaks) { let y = phi.derivative(mu + sigma * $0); return y * y })
            }
            let gh = GaussHermite.standard
            var m1 = 0.0, m2 = 0.0, d2 = 0.0
            for i in 0..<gh.nodes.count {
                let h = mu + sigma * gh.nodes[i], w = gh.weights[i]
                let y = phi.value(h), dy = phi.derivative(h)
                m1 += w * y
                m2 += w * y * y
                d2 += w * dy * dy
            }
            return ActivationMoments(mean: m1, meanSquare: m2, derivativeMeanSquare: d2)
        }
    }
}

/// What the theory needs to know about one layer.
public struct LayerParameters: Sendable, Hashable {
    public var fanIn: Int
    public var fanOut: Int
    /// Mean and variance of one weight entry.
    public var weightMean: Double
    public var weightVariance: Double
    public var biasMean: Double
    public var biasVariance: Double
    /// For the last layer of a residual block: the index of the layer whose activation the skip adds (0 = the
    /// input).
    public var skipFrom: Int?
    /// E[δa_l²] / E[δy_l²] where y_l is what the next layer reads: 1 without pooling, 1/k² after a k×k max pool
    /// (the gradient goes to one position of each window), 1/k⁴ after a k×k average pool (each position gets
    /// 1/k² of it).
    public var poolGradientFactor: Double

    public init(fanIn: Int, fanOut: Int, weightMean: Double, weightVariance: Double, biasMean: Double, biasVariance: Double, skipFrom: Int?,
                poolGradientFactor: Double = 1) {
        self.fanIn = fanIn
        self.fanOut = fanOut
        self.weightMean = weightMean
        self.weightVariance = weightVariance
        self.biasMean = biasMean
        self.biasVariance = biasVariance
        self.skipFrom = skipFrom
        self.poolGradientFactor = poolGradientFactor
    }

    /// σ_w² = fan_in · Var(W).
    public var sigmaW2: Double { Double(fanIn) * weightVariance }
}

/// Mean-field predictions (Poole et al. 2016, Schoenholz et al. 2017), generalized to what InitLab runs.
///
/// Forward: each pre-activation is treated as Gaussian, h_l ~ N(μ_l, v_l), with
/// μ_l = fan_in·E[W]·E[a_{l−1}] + E[b] (+ E[x] of the block input on a residual block's last layer) and
/// v_l = σ_w²·E[a_{l−1}²] + Var(b) (+ Var(x)), σ_w² = fan_in·Var(W); q_l = E[h_l²] = v_l + μ_l². With zero-mean
/// weights and biases this is q_l = σ_w²·E_z[φ(√q_{l−1} z)²] + σ_b². Layer 1 starts from the input's measured
/// mean and mean square. Backward: E[δa_{l−1}²] = fan_out·Var(W)·E[δa_l²]·E[φ′(h_l)²]
/// (= E[δa_l²]·(n_l/n_{l−1})·σ_w²·E[φ′²]), plus E[δa_l²]·E[φ′(h_l)²] on a skip's source.
public struct MeanField: Sendable {
    public let activation: Activation
    /// E[a_l], E[a_l²] for l = 0 (the input) … layers so far.
    var means: [Double]
    var meanSquares: [Double]
    /// E[φ′(h_l)²] for l = 1 ….
    var derivativeMeanSquares: [Double] = []

    public init(activation: Activation, inputMean: Double, inputMeanSquare: Double) {
        self.activation = activation
        means = [inputMean]
        meanSquares = [inputMeanSquare]
    }

    /// Predicts the next layer.
    public mutating func step(_ p: LayerParameters) -> LayerTheory {
        let prevMean = means[means.count - 1], prevSq = meanSquares[meanSquares.count - 1]
        var mu = Double(p.fanIn) * p.weightMean * prevMean + p.biasMean
        var v = p.sigmaW2 * prevSq + p.biasVariance
        if let s = p.skipFrom, s >= 0, s < means.count {
            mu += means[s]
            v += max(0, meanSquares[s] - means[s] * means[s])
        }
        let m = ActivationMoments.of(activation, mean: mu, variance: v)
        means.append(m.mean)
        meanSquares.append(m.meanSquare)
        derivativeMeanSquares.append(m.derivativeMeanSquare)
        return LayerTheory(q: v + mu * mu, predictedPreactivationStd: v.squareRoot(),
                           predictedActivationStd: max(0, m.meanSquare - m.mean * m.mean).squareRoot(), predictedActivationGradStd: nil)
    }

    /// The mean-field map has no pooling: after a pooled layer it continues from the measured mean and mean
    /// square of the pooled output (what the next layer reads) instead of the predicted activation's.
    public mutating func observe(mean: Double, meanSquare: Double) {
        means[means.count - 1] = mean
        meanSquares[meanSquares.count - 1] = meanSquare
    }

    /// Predicted std of ∂L/∂a_l for l = 1 … layers.count, from E[δa_L²] = `outputGradMeanSquare`.
    public func backward(_ layers: [LayerParameters], outputGradMeanSquare: Double) -> [Double] {
        let n = layers.count
        guard n > 0, derivativeMeanSquares.count >= n else { return [] }
        var g = [Double](repeating: 0, count: n + 1)  // g[l] = E[δa_l²], l = 0 … n
        g[n] = outputGradMeanSquare
        for l in stride(from: n, through: 1, by: -1) {
            let p = layers[l - 1]
            g[l] *= p.poolGradientFactor
            let gh = g[l] * derivativeMeanSquares[l - 1]
            g[l - 1] += Double(p.fanOut) * p.weightVariance * gh
            if let s = p.skipFrom, s >= 0, s < l { g[s] += gh }
        }
        return (1...n).map { g[$0].squareRoot() }
    }

    /// The summary at the fixed point of the q map of a typical layer `p` (layer 2, or 1 for depth 1), started
    /// from the variance `v1`. ordered χ1 < 0.99, critical |χ1 − 1| ≤ 0.01, chaotic χ1 > 1.01.
    public static func summary(_ activation: Activation, typical p: LayerParameters, v1: Double) -> TheorySummary {
        var v = v1
        var fixed: Double? = nil
        for _ in 0..<10_000 {
            let m = ActivationMoments.of(activation, mean: p.biasMean, variance: v)
            let next = p.sigmaW2 * m.meanSquare + p.biasVariance
            if !next.isFinite || next > 1e300 { v = next; fixed = nil; break }
            if abs(next - v) <= 1e-12 * max(v, next) || next < 1e-300 {
                v = next
                fixed = next < 1e-300 ? 0 : next
                break
            }
            v = next
            fixed = v
        }
        let vEval = v.isFinite ? v : 1e300
        let chi = p.sigmaW2 * ActivationMoments.of(activation, mean: p.biasMean, variance: vEval).derivativeMeanSquare
        let regime: Regime = abs(chi - 1) <= 0.01 ? .critical : (chi < 1 ? .ordered : .chaotic)
        let lnChi = log(chi)
        let xi: Double? = abs(lnChi) < 1e-12 ? nil : (chi == 0 ? 0 : 1 / abs(lnChi))  // |ln χ1| < 1e-12: infinite
        let q = fixed.map { $0 + p.biasMean * p.biasMean }
        return TheorySummary(chi1: chi, regime: regime, depthScale: xi, fixedPointQ: q)
    }
}
