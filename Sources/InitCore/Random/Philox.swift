/// Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC'11): a counter-based
/// generator. The numbers for a given (seed, stream, counter) are a pure function of those three values, so
/// any layer's weights can be drawn again on demand, in any order, on any thread, with identical results.
///
/// InitLab's convention: `stream` is the layer index (or another purpose tag, see `RandomStream`), and the
/// counter advances by one per four 32-bit outputs.
public struct Philox: Sendable, Hashable {
    public let seed: UInt64
    public let stream: UInt64

    public init(seed: UInt64, stream: UInt64) {
        self.seed = seed
        self.stream = stream
    }

    /// The four 32-bit words for block `counter`.
    @inlinable
    public func block(_ counter: UInt64) -> (UInt32, UInt32, UInt32, UInt32) {
        Philox.block(
            counter: (
                UInt32(truncatingIfNeeded: counter), UInt32(truncatingIfNeeded: counter >> 32),
                UInt32(truncatingIfNeeded: stream), UInt32(truncatingIfNeeded: stream >> 32)
            ),
            key: (UInt32(truncatingIfNeeded: seed), UInt32(truncatingIfNeeded: seed >> 32)))
    }
}
