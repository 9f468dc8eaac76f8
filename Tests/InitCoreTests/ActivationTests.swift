import TestSupport
import Testing
@testable import InitCore

@Suite("Activations and Gauss–Hermite theory", .offCooperativePool)
struct ActivationTests {
    static let all: [Activation] = [
        .identity, .relu, .leakyRelu(slope: 0.1), .tanh, .sigmoid, .gelu, .selu, .elu(alpha: 1.3), .softplus(beta: 2), .silu,
        .generalRelu(leak: 0.1, sub: 0.4, maxv: 6),
    ]

    /// φ′ vs the central difference (φ(x+h) − φ(x−h))/2h in double, h = 1e-6 (truncation ~h²·φ‴ ≈ 1e-12,
    /// rounding ~1e-16/h = 1e-10), away from kinks (x = 0 and the general_relu clamp at 6.4).
    @Test(arguments: all)
    func derivativeMatchesFiniteDifferences(_ phi: Activation) {
        let h = 1e-6
        for i in -80...80 where i != 0 {
            let x = Double(i) * 0.1 + 0.003
            if abs(x - 6.4) < 0.01 { continue }
            let numeric = (phi.value(x + h) - phi.value(x - h)) / (2 * h)
            #expect(abs(phi.derivative(x) - numeric) <= 1e-7 * max(1, abs(numeric)), "\(phi) at \(x)")
        }
    }

    /// The float32 kernels agree with the double definitions.
    @Test(arguments: all)
    func floatKernelsMatchDouble(_ phi: Activation) {
        let xs: [Float] = (0..<200).map { Float($0 - 100) * 0.07 + 0.001 }
        var a = [Float](repeating: 0, count: xs.count)
        var g = [Float](repeating: 1, count: xs.count)
        xs.withUnsafeBufferPointer { x in
            a.withUnsafeMutableBufferPointer { phi.apply(x.baseAddress!, $0.baseAddress!, count: xs.count) }
            g.withUnsafeMutableBufferPointer { phi.multiplyDerivative(x.baseAddress!, $0.baseAddress!, count: xs.count) }
        }
        for (i, x) in xs.enumerated() {
            #expect(abs(Double(a[i]) - phi.value(Double(x))) <= 1e-5 * max(1, abs(phi.value(Double(x)))))
            #expect(abs(Double(g[i]) - phi.derivative(Double(x))) <= 1e-5 * max(1, abs(phi.derivative(Double(x)))))
        }
    }

    @Test func gaussHermiteMoments() {
        let gh = GaussHermite.standard
        #expect(gh.nodes.count == 96)
        #expect(abs(gh.weights.reduce(0, +) - 1) < 1e-13)
        #expect(abs(gh.expectation { $0 * $0 } - 1) < 1e-12)
        #expect(abs(gh.expectation { $0 * $0 * $0 * $0 } - 3) < 1e-11)
        #expect(abs(gh.expectation { Self.pow8($0) } - 105) < 1e-9)
        #expect(abs(gh.expectation { $0 * $0 * $0 }) < 1e-12)
    }

    static func pow8(_ x: Double) -> Double { let y = x * x; return y * y * y * y }

    /// Reference E[f(z)]: composite Simpson on [−12, 12] split at the kinks, 6,000 intervals per piece
    /// (error < 1e-10 for these f, since every piece is smooth).
    static func simpson(breaks: [Double], _ f: (Double) -> Double) -> Double {
        let points = [-12.0] + breaks.filter { abs($0) < 12 }.sorted() + [12.0]
        var total = 0.0
        for p in 0..<(points.count - 1) {
            let a = points[p] + 1e-13, b = points[p + 1] - 1e-13, n = 6000, h = (b - a) / Double(n)
            func g(_ z: Double) -> Double { f(z) * Double.fExp(-z * z / 2) }
            var s = g(a) + g(b)
            for i in 1..<n { s += (i % 2 == 1 ? 4 : 2) * g(a + Double(i) * h) }
            total += s * h / 3
        }
        return total * 0.39894228040143267794
    }

    /// Closed forms (identity, relu, leaky), 96-node Gauss–Hermite (smooth) and piecewise Gauss–Legendre (elu,
    /// selu, general_relu) against the Simpson reference: 1e-6 relative, 1e-5 for Gauss–Hermite's E[φ′²]
    /// (tanh′² = sech⁴ at variance 2.5 has complex poles near the real axis: 96 nodes give ~4e-6).
    @Test(arguments: all)
    func momentsMatchReference(_ phi: Activation) {
        for (mu, v) in [(0.0, 1.0), (0.3, 2.5), (-0.2, 0.04)] {
            let m = ActivationMoments.of(phi, mean: mu, variance: v)
            let s = v.squareRoot()
            let breaks = ((phi.kinks ?? []) + [0]).map { ($0 - mu) / s }
            let r1 = Self.simpson(breaks: breaks) { phi.value(mu + s * $0) }
            let r2 = Self.simpson(breaks: breaks) { let y = phi.value(mu + s * $0); return y * y }
            let r3 = Self.simpson(breaks: breaks) { let y = phi.derivative(mu + s * $0); return y * y }
            #expect(abs(m.mean - r1) <= 1e-6 * max(1, abs(r1)), "\(phi) mean")
            #expect(abs(m.meanSquare - r2) <= 1e-6 * max(1, abs(r2)), "\(phi) E[φ²]")
            #expect(abs(m.derivativeMeanSquare - r3) <= 1e-5 * max(1, abs(r3)), "\(phi) E[φ′²]")
        }
    }

    @Test func meanFieldClosedForms() {
        // ReLU: E[relu(√q z)²] = q/2, χ1 = σ_w²/2: He init (σ_w² = 2) is critical with a fixed point at q.
        let p = LayerParameters(fanIn: 100, fanOut: 100, weightMean: 0, weightVariance: 0.02, biasMean: 0, biasVariance: 0, skipFrom: nil)
        let s = MeanField.summary(.relu, typical: p, v1: 3)
        #expect(s.chi1 == 1 && s.regime == .critical && s.depthScale == nil && s.fixedPointQ == 3)
        // Xavier + relu: χ1 = 1/2, ordered, ξ = 1/ln 2.
        let x = MeanField.summary(.relu, typical: LayerParameters(fanIn: 100, fanOut: 100, weightMean: 0, weightVariance: 0.01, biasMean: 0, biasVariance: 0, skipFrom: nil), v1: 1)
        #expect(abs(x.chi1 - 0.5) < 1e-15 && x.regime == .ordered && abs((x.depthScale ?? 0) - 1 / log(2)) < 1e-12)
        // tanh with σ_w = 1, σ_b = 0: q → 0 and χ1 → 1 (critical, power-law decay).
        let t = MeanField.summary(.tanh, typical: LayerParameters(fanIn: 100, fanOut: 100, weightMean: 0, weightVariance: 0.01, biasMean: 0, biasVariance: 0, skipFrom: nil), v1: 1)
        #expect(t.regime == .critical && (t.fixedPointQ ?? 1) < 1e-3)
        // σ_w² = 4 with relu: chaotic, q diverges.
        let c = MeanField.summary(.relu, typical: LayerParameters(fanIn: 100, fanOut: 100, weightMean: 0, weightVariance: 0.04, biasMean: 0, biasVariance: 0, skipFrom: nil), v1: 1)
        #expect(c.regime == .chaotic && c.fixedPointQ == nil && c.chi1 == 2)
    }
}

import Foundation
