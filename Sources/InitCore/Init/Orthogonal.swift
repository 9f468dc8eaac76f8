/// Haar-random orthogonal matrices (Saxe et al. 2014), as PyTorch's `orthogonal_`.
///
/// Draws A ~ N(0, 1) of shape r × c with r ≥ c (the weight shape, or its transpose for a wide matrix), takes
/// its QR decomposition by modified Gram–Schmidt in double precision, and uses Q. MGS produces the R with a
/// positive diagonal, which is exactly "Q · sign(diag R)" of a Householder QR: the correction that makes Q
/// Haar-distributed. A wide weight (out < in) is Qᵀ, so its rows are orthonormal; a tall one has orthonormal
/// columns. Cost: 2·r·c² flops.
enum Orthogonal {
    static func fill(_ out: UnsafeMutableBufferPointer<Float>, rows: Int, cols: Int, gain: Double, philox: Philox, threads: Int) {
        let wide = rows < cols
        let r = wide ? cols : rows, c = wide ? rows : cols
        // The Gaussian draw, as the r × c matrix A (row-major), stored column by column in double.
        var a = [Float](repeating: 0, count: r * c)
        a.withUnsafeMutableBufferPointer { RandomFill.normal(philox, $0, mean: 0, std: 1, threads: threads) }
        var q = [Double](repeating: 0, count: r * c)
        for i in 0..<r { for j in 0..<c { q[j * r + i] = Double(a[i * c + j]) } }
        q.withUnsafeMutableBufferPointer { qp in
            guard let base = qp.baseAddress else { return }
            for j in 0..<c {
                let v = base + j * r
                for k in 0..<j {
                    let u = base + k * r
                    var dot = 0.0
                    for i in 0..<r { dot += u[i] * v[i] }
                    for i in 0..<r { v[i] -= dot * u[i] }
                }
                var norm = 0.0
                for i in 0..<r { norm += v[i] * v[i] }
                norm = norm.squareRoot()
                let inv = norm > 0 ? 1 / norm : 0
                for i in 0..<r { v[i] *= inv }
            }
        }
        for i in 0..<rows {
            for j in 0..<cols {
                // Column-major Q: tall W[i][j] = Q[i, j]; wide W[i][j] = Qᵀ[i, j] = Q[j, i].
                let x = wide ? q[i * r + j] : q[j * r + i]
                out[i * cols + j] = Float(gain * x)
            }
        }
    }
}
