#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Plain SGD's step, `W ← W − rate · (G + weightDecay · W)` (PyTorch's `SGD` without momentum, in Float), with the
/// gradient G a product that `Matmul.sgdStep` computes tile by tile in registers and never stores.
public struct MatmulSGDStep: Sendable, Equatable {
    public var rate: Float
    public var weightDecay: Float

    public init(rate: Float, weightDecay: Float) {
        self.rate = rate
        self.weightDecay = weightDecay
    }

    /// The step on `count` weights from their stored gradient: the operations the kernels apply to a tile.
    @inline(__always)
    public func apply(w: UnsafeMutablePointer<Float>, g: UnsafePointer<Float>, count: Int) {
        for i in 0..<count { w[i] -= rate * (g[i] + weightDecay * w[i]) }
    }
}

/// Which operands of `C = op(A) · op(B)` are transposed. Matrices are row-major.
///
/// - `nn`: A is m×k, B is k×n (a dense layer's forward pass, `X · W`).
/// - `nt`: A is m×k, B is n×k, C = A · Bᵀ (gradient w.r.t. the layer input, `dY · Wᵀ`).
/// - `tn`: A is k×m, B is k×n, C = Aᵀ · B (gradient w.r.t. the weights, `Xᵀ · dY`).
public enum MatmulLayout: String, Sendable, CaseIterable {
    case nn, nt, tn
}

/// The matrix-multiplication engine of InitLab.
///
/// Results are bit-identical whatever `threads` is: work is split over output tiles only, never over the
/// reduction dimension, and every tile sums its k-range in the same order.
public struct Matmul: Sendable {
    /// Number of threads used for one product (≥ 1).
    public var threads: Int

    public init(threads: Int = Matmul.defaultThreads) {
        self.threads = max(1, threads)
    }

    /// All online cores.
    public static var defaultThreads: Int { Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))) }

    /// `C (+)= op(A) · op(B)` on raw row-major buffers; see `MatmulLayout` for the shapes.
    /// - Parameter accumulate: add into C instead of overwriting it.
    public func multiply(
        _ layout: MatmulLayout, m: Int, n: Int, k: Int,
        a: UnsafePointer<Float>, b: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>,
        accumulate: Bool = false
    ) {
        precondition(m >= 0 && n >= 0 && k >= 0, "matrix dimensions must be non-negative")
        GemmProblem(layout: layout, m: m, n: n, k: k, a: a, b: b, c: c, accumulate: accumulate)
            .run(threads: threads)
    }

    /// `C (+)= op(A) · op(B)` as above, with `side(i)` for i in 0..<`sideItems` run in the same parallel round as
    /// more work items, handed out first and in order: for independent work (such as another product on one
    /// thread, `Matmul(threads: 1)`, or an elementwise pass in chunks) that would otherwise take rounds of its
    /// own, while the threads that do not run a side item share the product's items. A training step's backward
    /// runs each layer's weight gradient, and the update of the layer above, beside its input gradient this way.
    /// Put the longest side item first: the items are dealt out dynamically, and the last one taken ends the
    /// round. The product's bits are `multiply`'s. When the product is not split into such items (`tn`, or more
    /// than 256 rows), the side items run first, in order, then the product.
    public func multiply(
        _ layout: MatmulLayout, m: Int, n: Int, k: Int,
        a: UnsafePointer<Float>, b: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>,
        accumulate: Bool = false, alongside sideItems: Int, _ side: (Int) -> Void
    ) {
        precondition(m >= 0 && n >= 0 && k >= 0 && sideItems >= 0, "matrix dimensions and item counts must be non-negative")
        withoutActuallyEscaping(side) { side in
            GemmProblem(layout: layout, m: m, n: n, k: k, a: a, b: b, c: c, accumulate: accumulate)
                .run(threads: threads, alongside: (sideItems, side))
        }
    }

    /// Plain SGD's step on the weights in `w` (m×n, row-major) with gradient op(A) · op(B): each tile of the
    /// gradient updates its weights from the registers (`MatmulSGDStep`) and is never stored. The same bits as
    /// `multiply` into a gradient buffer and then `step.apply` on it. k ≤ 256 (the reduction in one slice: a
    /// weight gradient's batch); the product is never split into in-place items.
    public func sgdStep(
        _ layout: MatmulLayout, m: Int, n: Int, k: Int,
        a: UnsafePointer<Float>, b: UnsafePointer<Float>, w: UnsafeMutablePointer<Float>, step: MatmulSGDStep
    ) {
        precondition(m >= 0 && n >= 0 && k >= 1 && k <= GemmBlocking.kc, "an SGD step's reduction must be 1 … 256 long")
        var problem = GemmProblem(layout: layout, m: m, n: n, k: k, a: a, b: b, c: w, accumulate: false)
        problem.sgd = step
        problem.run(threads: threads)
    }

    /// The largest reduction `sgdStep` takes.
    public static var sgdStepMaxReduction: Int { GemmBlocking.kc }

    /// Convenience on `Matrix` values: returns op(A) · op(B).
    public func multiply(_ layout: MatmulLayout, _ a: Matrix, _ b: Matrix) -> Matrix {
        let (m, k1): (Int, Int) = layout == .tn ? (a.cols, a.rows) : (a.rows, a.cols)
        let (k2, n): (Int, Int) = layout == .nt ? (b.cols, b.rows) : (b.rows, b.cols)
        precondition(k1 == k2, "inner dimensions differ: \(k1) vs \(k2)")
        var c = Matrix(rows: m, cols: n)
        a.storage.withUnsafeBufferPointer { ap in
            b.storage.withUnsafeBufferPointer { bp in
                c.storage.withUnsafeMutableBufferPointer { cp in
                    guard let ab = ap.baseAddress, let bb = bp.baseAddress, let cb = cp.baseAddress else { return }
                    multiply(layout, m: m, n: n, k: k1, a: ab, b: bb, c: cb)
                }
            }
        }
        return c
    }
}
