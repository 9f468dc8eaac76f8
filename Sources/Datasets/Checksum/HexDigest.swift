import Crypto
import Foundation

/// MD5 and SHA-256 from swift-crypto (`Insecure.MD5`, `SHA256`), as lower-case hexadecimal. MD5 is used only to
/// compare downloads against published checksums, never for security.
package enum HexDigest {
    package static func md5<Bytes: DataProtocol>(_ bytes: Bytes) -> String { hex(Insecure.MD5.hash(data: bytes)) }

    package static func sha256<Bytes: DataProtocol>(_ bytes: Bytes) -> String { hex(SHA256.hash(data: bytes)) }

    /// The MD5 of a file, read and hashed one chunk at a time (the file is never held in memory whole).
    package static func md5(ofFileAt path: String, chunkSize: Int = 1 << 20) throws(DatasetError) -> String {
        var hasher = Insecure.MD5()
        try forEachChunk(ofFileAt: path, chunkSize: chunkSize) { hasher.update(bufferPointer: $0) }
        return hex(hasher.finalize())
    }

    /// The SHA-256 of what a gzip file held in memory inflates to, hashed one inflated chunk at a time (the
    /// inflated content is never held whole).
    package static func sha256(ofGzipContent bytes: [UInt8], name: String) throws(GzipError) -> String {
        var hasher = SHA256()
        var result: Result<Void, GzipError> = .success(())
        bytes.withUnsafeBytes { raw in
            result = Result { () throws(GzipError) in
                try Gzip.inflate(raw, name: name) { hasher.update(bufferPointer: $0) }
            }
        }
        try result.get()
        return hex(hasher.finalize())
    }

    /// Lower-case hexadecimal of bytes.
    package static func hex<Bytes: Sequence<UInt8>>(_ bytes: Bytes) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(bytes.underestimatedCount * 2)
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 15)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Calls `body` with each successive chunk of the file (at most `chunkSize` bytes; the last may be shorter).
    static func forEachChunk(
        ofFileAt path: String, chunkSize: Int, _ body: (UnsafeRawBufferPointer) -> Void
    ) throws(DatasetError) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .io(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(1, chunkSize), alignment: 16)
        defer { buffer.deallocate() }
        while true {
            let n = read(fd, buffer.baseAddress, buffer.count)
            if n < 0 {
                if errno == EINTR { continue }
                throw .io(path: path, reason: String(cString: strerror(errno)))
            }
            if n == 0 { return }
            body(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
        }
    }
}
