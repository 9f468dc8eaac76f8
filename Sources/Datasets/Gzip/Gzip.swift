import CZlib

/// What went wrong while inflating a gzip file.
package enum GzipError: Error, Equatable, CustomStringConvertible {
    /// The input ended before the end of a gzip member (or was empty).
    case truncated(name: String, consumed: Int)
    /// zlib rejected the data: wrong header, bad CRC or length, invalid deflate stream.
    case corrupt(name: String, reason: String)
    /// After a complete member the input holds bytes that do not start another member.
    case trailingGarbage(name: String, offset: Int)
    /// Inflated output would exceed the cap (a decompression bomb or the wrong file).
    case tooLarge(name: String, limit: Int)
    case zlib(name: String, code: Int32)

    package var description: String {
        switch self {
        case .truncated(let name, let consumed):
            return "\(name): gzip stream is truncated (input ended after \(consumed) bytes, before the end of the member)"
        case .corrupt(let name, let reason): return "\(name): gzip data is corrupt (\(reason))"
        case .trailingGarbage(let name, let offset):
            return "\(name): unexpected bytes after the gzip member ending at offset \(offset)"
        case .tooLarge(let name, let limit): return "\(name): decompressed size exceeds the limit of \(limit) bytes"
        case .zlib(let name, let code): return "\(name): zlib error \(code)"
        }
    }
}

/// gzip decompression with zlib: `inflateInit2(16 + MAX_WBITS)`, streamed in chunks, multi-member aware
/// (concatenated members inflate to the concatenation, as `gzip -d` does).
package enum Gzip {
    /// Default cap on the inflated size: 1 GiB (MNIST's largest file is 47 MB).
    package static let defaultOutputLimit = 1 << 30

    /// Inflates a whole gzip file held in memory. `name` is used in error messages.
    package static func decompress(_ input: [UInt8], name: String, outputLimit: Int = defaultOutputLimit) throws(GzipError)
        -> [UInt8]
    {
        var result: Result<[UInt8], GzipError> = .success([])
        input.withUnsafeBytes { raw in
            result = Result { () throws(GzipError) -> [UInt8] in
                try decompress(raw, name: name, outputLimit: outputLimit)
            }
        }
        return try result.get()
    }

    package static func decompress(_ input: UnsafeRawBufferPointer, name: String, outputLimit: Int = defaultOutputLimit)
        throws(GzipError) -> [UInt8]
    {
        // The gzip trailer's ISIZE (last 4 bytes, little-endian) is the size mod 2^32 of the last member: a good
        // capacity hint for a single-member file, never trusted for anything else. In a truncated or corrupt file
        // those bytes are arbitrary, so the hint is also capped at 32× the input (the array grows when needed).
        var capacityHint = 1 << 16
        if let base = input.baseAddress, input.count >= 18 {
            let isize = UInt32(littleEndian: base.loadUnaligned(fromByteOffset: input.count - 4, as: UInt32.self))
            capacityHint = min(max(Int(isize), capacityHint), outputLimit, 32 * input.count + (1 << 16))
        }
        var output: [UInt8] = []
        output.reserveCapacity(capacityHint)
        try inflate(input, name: name, outputLimit: outputLimit) { output.append(contentsOf: $0) }
        return output
    }

    /// Inflates a whole gzip file held in memory and hands the output to `body` one piece at a time (at most
    /// `chunkSize` bytes each, in order), never holding the whole output: for hashing what a file inflates to.
    /// Throws as `decompress` does; pieces already handed over before an error stay handed over.
    package static func inflate(
        _ input: UnsafeRawBufferPointer, name: String, outputLimit: Int = defaultOutputLimit, chunkSize: Int = 1 << 20,
        _ body: (UnsafeRawBufferPointer) -> Void
    ) throws(GzipError) {
        guard let inputBase = input.baseAddress, input.count > 0 else { throw .truncated(name: name, consumed: 0) }
        let window = UnsafeMutableRawBufferPointer.allocate(byteCount: max(1, chunkSize), alignment: 16)
        defer { window.deallocate() }
        var produced = 0
        var stream = z_stream()
        let mutableInput = UnsafeMutablePointer(mutating: inputBase.assumingMemoryBound(to: Bytef.self))
        let initCode = inflateInit2_(&stream, 16 + MAX_WBITS, zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        guard initCode == Z_OK else { throw .zlib(name: name, code: initCode) }
        defer { inflateEnd(&stream) }

        let chunk = 1 << 20
        var consumed = 0  // input offset of the start of the current member's unread data
        stream.next_in = mutableInput
        stream.avail_in = 0
        while true {
            // Feed input in chunks of at most 1 MiB.
            // With no input left, inflate still runs: it may have output pending, and otherwise answers
            // Z_BUF_ERROR, which then means the stream is truncated.
            if stream.avail_in == 0 {
                let left = input.count - mutableInput.distance(to: stream.next_in)
                if left > 0 { stream.avail_in = UInt32(min(left, chunk)) }
            }
            // Room for at most `outputLimit` bytes in all: a stream that still wants to write at the limit is
            // too large.
            let room = min(window.count, outputLimit - produced, Int(UInt32.max))
            if room <= 0 { throw .tooLarge(name: name, limit: outputLimit) }
            stream.next_out = window.baseAddress.unsafelyUnwrapped.assumingMemoryBound(to: Bytef.self)
            stream.avail_out = UInt32(room)
            let code = CZlib.inflate(&stream, Z_NO_FLUSH)
            let written = room - Int(stream.avail_out)
            produced += written
            if written > 0 { body(UnsafeRawBufferPointer(rebasing: window[0..<written])) }
            switch code {
            case Z_OK:
                continue
            case Z_BUF_ERROR:
                // No progress possible with room in the output: the input is exhausted mid-member.
                if stream.avail_in == 0 && mutableInput.distance(to: stream.next_in) == input.count {
                    throw .truncated(name: name, consumed: input.count)
                }
                throw .zlib(name: name, code: code)
            case Z_STREAM_END:
                let offset = mutableInput.distance(to: stream.next_in)
                consumed = offset
                if offset == input.count { return }
                // Another member must follow (magic 1f 8b); anything else is an error.
                if input.count - offset >= 2, input[offset] == 0x1f, input[offset + 1] == 0x8b {
                    let resetCode = inflateReset(&stream)
                    guard resetCode == Z_OK else { throw .zlib(name: name, code: resetCode) }
                    stream.next_in = mutableInput + offset
                    stream.avail_in = UInt32(min(input.count - offset, chunk))
                    continue
                }
                throw .trailingGarbage(name: name, offset: consumed)
            case Z_DATA_ERROR:
                let reason = stream.msg.map { String(cString: $0) } ?? "invalid data"
                throw .corrupt(name: name, reason: reason)
            case Z_MEM_ERROR:
                throw .zlib(name: name, code: code)
            default:
                throw .zlib(name: name, code: code)
            }
        }
    }

    /// Compresses with zlib into a single gzip member (used by tests and tools to make fixtures).
    package static func compress(_ input: [UInt8], level: Int32 = 6) throws(GzipError) -> [UInt8] {
        var stream = z_stream()
        let initCode = deflateInit2_(
            &stream, level, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY, zlibVersion(),
            Int32(MemoryLayout<z_stream>.size))
        guard initCode == Z_OK else { throw .zlib(name: "deflate", code: initCode) }
        defer { deflateEnd(&stream) }
        let bound = Int(deflateBound(&stream, uLong(input.count))) + 64
        var output = [UInt8](repeating: 0, count: bound)
        var code: Int32 = Z_OK
        var produced = 0
        input.withUnsafeBytes { raw in
            output.withUnsafeMutableBytes { out in
                stream.next_in = UnsafeMutablePointer(
                    mutating: raw.baseAddress?.assumingMemoryBound(to: Bytef.self))
                stream.avail_in = UInt32(raw.count)
                stream.next_out = out.baseAddress?.assumingMemoryBound(to: Bytef.self)
                stream.avail_out = UInt32(out.count)
                code = deflate(&stream, Z_FINISH)
                produced = out.count - Int(stream.avail_out)
            }
        }
        guard code == Z_STREAM_END else { throw .zlib(name: "deflate", code: code) }
        output.removeSubrange(produced...)
        return output
    }
}
