/// An owned, fixed-size Float32 allocation (freed on deinit). Used by the runner for activations,
/// gradients, checkpoints and weights so that pointers can be passed to the matmul without copies.
final class FloatBuffer {
    let pointer: UnsafeMutablePointer<Float>
    let count: Int

    init(_ count: Int) {
        self.count = max(0, count)
        pointer = .allocate(capacity: max(1, count))
        pointer.initialize(repeating: 0, count: max(1, count))
    }

    deinit { pointer.deallocate() }

    var buffer: UnsafeMutableBufferPointer<Float> { UnsafeMutableBufferPointer(start: pointer, count: count) }
    func prefix(_ n: Int) -> UnsafeBufferPointer<Float> { UnsafeBufferPointer(start: pointer, count: n) }
    func mutablePrefix(_ n: Int) -> UnsafeMutableBufferPointer<Float> { UnsafeMutableBufferPointer(start: pointer, count: n) }
    func copy(from other: FloatBuffer, count n: Int) { pointer.update(from: other.pointer, count: n) }
}
