/// Gauss–Legendre quadrature on [−1, 1] by Golub–Welsch (Jacobi matrix: zero diagonal, off-diagonal
/// k/√(4k² − 1); weights 2·v₀²), used piecewise for activations with kinks, where Gauss–Hermite converges
/// slowly: E[f(μ + σz)] is integrated over z ∈ [−12, 12] split at every kink and into panels of width ≤ 0.5.
public struct GaussLegendre: Sendable {
    public let nodes: [Double]
    public let weights: [Double]

    public static let standard = GaussLegendre(count: 16)

    public init(count n: Int) {
        var d = [Double](repeating: 0, count: n)
        var e = [Double](repeating: 0, count: n)
        for k in 1..<max(1, n) { e[k - 1] = Double(k) / (4 * Double(k * k) - 1).squareRoot() }
        var z = [Double](repeating: 0, count: n)
        if n > 0 { z[0] = 1 }
        GaussHermite.implicitQL(&d, &e, &z)
        let order = (0..<n).sorted { d[$0] < d[$1] }
        nodes = order.map { d[$0] }
        weights = order.map { 2 * z[$0] * z[$0] }
    }

    /// E[f(z)] for z ~ N(0, 1), split at `breaks` (in z units).
    public func gaussianExpectation(breaks: [Double], _ f: (Double) -> Double) -> Double {
        let lo = -12.0, hi = 12.0
        let points = ([lo] + breaks.filter { $0 > lo && $0 < hi }.sorted() + [hi])
        var total = 0.0
        for s in 0..<(points.count - 1) {
            let a = points[s], b = points[s + 1]
            let panels = max(1, Int(((b - a) / 0.5).rounded(.up)))
            let width = (b - a) / Double(panels)
            for p in 0..<panels {
                let left = a + Double(p) * width, half = width / 2, mid = left + half
                for i in 0..<nodes.count {
                    let z = mid + half * nodes[i]
                    total += half * weights[i] * f(z) * Double.fExp(-z * z / 2)
                }
            }
        }
        return total * 0.39894228040143267794
    }
}

extension Activation {
    /// Points where φ or φ′ is not smooth (nil: smooth everywhere; Gauss–Hermite applies).
    var kinks: [Double]? {
        switch self {
        case .elu, .selu: return [0]
        case .generalRelu(let leak, let sub, let maxv):
            let clamp = maxv + sub >= 0 ? maxv + sub : (leak > 0 ? (maxv + sub) / leak : 0)
            return [0, clamp]
        default: return nil
        }
    }
}
