/// Philox stream tags. Weights use `stream = layer index` (1-based) exactly, so any layer's matrix can be drawn
/// again from (seed, layer) in the backward pass; other purposes live above bit 32.
enum RandomStream {
    static func weights(_ layer: Int) -> UInt64 { UInt64(layer) }
    static func bias(_ layer: Int) -> UInt64 { 1 << 32 | UInt64(layer) }
    static let input: UInt64 = 2 << 32
    static let outputGradient: UInt64 = 3 << 32
    static let targets: UInt64 = 4 << 32
    /// Training: the teacher task's matrix, its validation examples, step t's examples, epoch e's order.
    static let teacher: UInt64 = 5 << 32
    static let teacherValidation: UInt64 = 6 << 32
    static func teacherBatch(_ step: Int) -> UInt64 { 7 << 32 | UInt64(step) }
    static func shuffle(_ epoch: Int) -> UInt64 { 8 << 32 | UInt64(epoch) }
}

/// The one place the runner draws random numbers: Philox's vectorized fills, element i a function of
/// (seed, stream, i) only, so results are identical for any thread count.
enum RandomFill {
    static func uniform(_ p: Philox, _ out: UnsafeMutableBufferPointer<Float>, low: Float, high: Float, threads: Int) {
        p.fillUniform(out, low: low, high: high, offset: 0, threads: threads)
    }

    static func normal(_ p: Philox, _ out: UnsafeMutableBufferPointer<Float>, mean: Float, std: Float, threads: Int) {
        p.fillNormal(out, mean: mean, std: std, offset: 0, threads: threads)
    }

    /// mean + std·z with z ~ N(0, 1) conditioned on |z| ≤ bound (std is the untruncated normal's).
    static func truncatedNormal(_ p: Philox, _ out: UnsafeMutableBufferPointer<Float>, mean: Float, std: Float, bound: Float, threads: Int) {
        p.fillTruncatedNormal(out, mean: mean, std: std, bound: bound, offset: 0, threads: threads)
    }
}
