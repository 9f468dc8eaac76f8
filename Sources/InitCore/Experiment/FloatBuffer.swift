#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An owned, fixed-size, zero-initialized Float32 allocation (freed on deinit). Used by the runner for
/// activations, gradients, checkpoints and weights so that pointers can be passed to the matmul without copies.
///
/// Buffers of `mappedBytes` or more are anonymous memory maps: the kernel hands them out zeroed, page by page
/// as they are first written (by whichever thread writes them: the matmul's or the weight fill's workers, in
/// parallel), instead of being zeroed up front by one thread. (A depth-100 × 512 × 512 run keeps 200 MiB of
/// pre-activations and weights; zeroing them first took ~60 ms of one core. Transparent huge pages were
/// tried and dropped: after another process had fragmented memory, compaction made runs 40 % slower.)
final class FloatBuffer {
    let pointer: UnsafeMutablePointer<Float>
    let count: Int
    /// The mapping's length in bytes, or 0 for a heap allocation.
    private let mappedLength: Int

    static let mappedBytes = 1 << 18

    init(_ count: Int) {
        self.count = max(0, count)
        let bytes = max(1, count) * MemoryLayout<Float>.stride
        if bytes >= Self.mappedBytes, let mapped = Self.map(bytes) {
            mappedLength = bytes
            pointer = mapped.bindMemory(to: Float.self, capacity: max(1, count))
        } else {
            mappedLength = 0
            pointer = .allocate(capacity: max(1, count))
            pointer.initialize(repeating: 0, count: max(1, count))
        }
    }

    deinit {
        if mappedLength > 0 {
            munmap(UnsafeMutableRawPointer(pointer), mappedLength)
        } else {
            pointer.deallocate()
        }
    }

    /// A private anonymous read-write mapping (zero-filled), or nil when the system refuses one.
    private static func map(_ bytes: Int) -> UnsafeMutableRawPointer? {
        #if os(Linux)
        let flags = MAP_PRIVATE | MAP_ANONYMOUS
        #else
        let flags = MAP_PRIVATE | MAP_ANON
        #endif
        guard let p = mmap(nil, bytes, PROT_READ | PROT_WRITE, flags, -1, 0),
              p != UnsafeMutableRawPointer(bitPattern: -1)
        else { return nil }
        return p
    }

    var buffer: UnsafeMutableBufferPointer<Float> { UnsafeMutableBufferPointer(start: pointer, count: count) }
    func prefix(_ n: Int) -> UnsafeBufferPointer<Float> { UnsafeBufferPointer(start: pointer, count: n) }
    func mutablePrefix(_ n: Int) -> UnsafeMutableBufferPointer<Float> { UnsafeMutableBufferPointer(start: pointer, count: n) }
    func copy(from other: FloatBuffer, count n: Int) { pointer.update(from: other.pointer, count: n) }
}
