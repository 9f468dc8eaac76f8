#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Gauss–Hermite quadrature for E[f(z)], z ~ N(0, 1) (probabilists' weight e^(−z²/2)/√(2π)).
///
/// Nodes and weights by Golub–Welsch: the eigenvalues of the symmetric tridiagonal Jacobi matrix of the
/// probabilists' Hermite polynomials (zero diagonal, off-diagonal √k) are the nodes, and the squared first
/// components of its normalized eigenvectors are the weights (they sum to 1). The eigenproblem is solved by
/// the implicit QL algorithm with Wilkinson shifts, tracking only the first row of the eigenvector matrix.
public struct GaussHermite: Sendable {
    public let nodes: [Double]
    public let weights: [Double]

    /// The rule used by the mean-field theory: 96 nodes (exact for polynomials of degree ≤ 191).
    public static let standard = GaussHermite(count: 96)

    public init(count n: Int) {
        var d = [Double](repeating: 0, count: n)
        var e = [Double](repeating: 0, count: n)
        for k in 1..<max(1, n) { e[k - 1] = Double(k).squareRoot() }
        var z = [Double](repeating: 0, count: n)
        if n > 0 { z[0] = 1 }
        Self.implicitQL(&d, &e, &z)
        let order = (0..<n).sorted { d[$0] < d[$1] }
        nodes = order.map { d[$0] }
        weights = order.map { z[$0] * z[$0] }
    }

    /// E[f(z)].
    @inlinable public func expectation(_ f: (Double) -> Double) -> Double {
        var s = 0.0
        for i in 0..<nodes.count { s += weights[i] * f(nodes[i]) }
        return s
    }

    /// Eigenvalues of the symmetric tridiagonal matrix (diagonal d, off-diagonal e[0..<n−1]) into d; z, the
    /// first row of the eigenvector matrix (start: e₁ᵀ), is rotated along.
    static func implicitQL(_ d: inout [Double], _ e: inout [Double], _ z: inout [Double]) {
        let n = d.count
        guard n > 1 else { return }
        for l in 0..<n {
            var iterations = 0
            while true {
                var m = l
                while m < n - 1 {
                    let dd = abs(d[m]) + abs(d[m + 1])
                    if abs(e[m]) <= Double.ulpOfOne * dd { break }
                    m += 1
                }
                if m == l { break }
                iterations += 1
                if iterations > 100 { break }
                var g = (d[l + 1] - d[l]) / (2 * e[l])
                var r = hypot(g, 1)
                g = d[m] - d[l] + e[l] / (g + (g >= 0 ? r : -r))
                var s = 1.0, c = 1.0, p = 0.0
                var i = m - 1
                var deflated = false
                while i >= l {
                    var f = s * e[i]
                    let b = c * e[i]
                    r = hypot(f, g)
                    e[i + 1] = r
                    if r == 0 {
                        d[i + 1] -= p
                        e[m] = 0
                        deflated = true
                        break
                    }
                    s = f / r
                    c = g / r
                    g = d[i + 1] - p
                    r = (d[i] - g) * s + 2 * c * b
                    p = s * r
                    d[i + 1] = g + p
                    g = c * r - b
                    f = z[i + 1]
                    z[i + 1] = s * z[i] + c * f
                    z[i] = c * z[i] - s * f
                    i -= 1
                }
                if deflated { continue }
                d[l] -= p
                e[l] = g
                e[m] = 0
            }
        }
    }
}
