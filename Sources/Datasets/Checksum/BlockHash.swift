/// What MD5 and SHA-256 share: both are Merkle–Damgård hashes over 64-byte blocks, so both buffer a partial
/// block between updates, compress whole blocks straight from the input, and count the message length.
protocol BlockHash {
    /// The partial block waiting for more input (64 bytes; the first `buffered` are valid).
    var buffer: [UInt8] { get set }
    var buffered: Int { get set }
    /// Message length so far, in bytes.
    var length: UInt64 { get set }
    /// Folds `blocks` consecutive 64-byte blocks at `pointer` into the state.
    mutating func compress(_ pointer: UnsafeRawPointer, blocks: Int)
}

extension BlockHash {
    /// Feeds `bytes`: completes the buffered block first, then compresses whole blocks in place, then keeps
    /// the tail for the next call.
    mutating func absorb(_ bytes: UnsafeRawBufferPointer) {
        guard var base = bytes.baseAddress else { return }
        var remaining = bytes.count
        length &+= UInt64(remaining)
        if buffered > 0 {
            let take = min(64 - buffered, remaining)
            for i in 0..<take { buffer[buffered + i] = base.load(fromByteOffset: i, as: UInt8.self) }
            buffered += take
            base += take
            remaining -= take
            guard buffered == 64 else { return }
            let block = buffer
            block.withUnsafeBytes { compress($0.baseAddress.unsafelyUnwrapped, blocks: 1) }
            buffered = 0
        }
        let blocks = remaining / 64
        if blocks > 0 {
            compress(base, blocks: blocks)
            base += blocks * 64
            remaining -= blocks * 64
        }
        for i in 0..<remaining { buffer[i] = base.load(fromByteOffset: i, as: UInt8.self) }
        buffered = remaining
    }
}
