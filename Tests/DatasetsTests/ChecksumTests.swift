import TestSupport
import Foundation
import Testing

@testable import Datasets

/// Known answers for `HexDigest` (swift-crypto underneath): a wrong algorithm, byte order or hex rendering fails.
@Suite(.offCooperativePool) struct ChecksumTests {
    /// RFC 1321, appendix A.5.
    static let md5Vectors: [(String, String)] = [
        ("", "d41d8cd98f00b204e9800998ecf8427e"),
        ("a", "0cc175b9c0f1b6a831c399e269772661"),
        ("abc", "900150983cd24fb0d6963f7d28e17f72"),
        ("message digest", "f96b697d7cb7938d525a2f31aaf161d0"),
        ("abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b"),
        ("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", "d174ab98d277d9f5a5611c2c9f419d9f"),
        ("12345678901234567890123456789012345678901234567890123456789012345678901234567890",
         "57edf4a22be3c955ac49da2e2107b67a"),
    ]

    /// FIPS 180-4 examples (NIST CSRC "SHA256.pdf" / SHAVS), plus the empty string.
    static let sha256Vectors: [(String, String)] = [
        ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        ("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
        ("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmno"
            + "ijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
         "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"),
    ]

    @Test func md5RFC1321Vectors() {
        for (input, expected) in Self.md5Vectors {
            #expect(HexDigest.md5(Array(input.utf8)) == expected, "MD5(\"\(input)\")")
        }
    }

    @Test func sha256FIPSVectors() {
        for (input, expected) in Self.sha256Vectors {
            #expect(HexDigest.sha256(Array(input.utf8)) == expected, "SHA256(\"\(input)\")")
            // The service fingerprints `Data` (idempotency keys): the same digest.
            #expect(HexDigest.sha256(Data(input.utf8)) == expected, "SHA256(Data \"\(input)\")")
        }
        #expect(
            HexDigest.sha256([UInt8](repeating: 0x61, count: 1_000_000))
                == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
        // Lengths around the 56-byte padding boundary.
        #expect(
            HexDigest.sha256([UInt8](repeating: 0x61, count: 56))
                == "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a")
        #expect(HexDigest.md5([UInt8](repeating: 0x61, count: 56)) == "3b0c8ac703f828b04c6c197006d17218")
    }

    @Test func hexIsLowerCaseTwoDigitsPerByte() {
        #expect(HexDigest.hex([0x00, 0x0f, 0xa0, 0xff]) == "000fa0ff")
        #expect(HexDigest.hex([UInt8]()) == "")
    }

    /// A file's MD5 is hashed chunk by chunk: every chunk size, across block boundaries and with a short last
    /// chunk, gives the known digest of the whole.
    @Test func fileMD5IsStreamedInChunks() throws {
        let path = FileManager.default.temporaryDirectory
            .appendingPathComponent("initlab-md5-\(UUID().uuidString)").path
        defer { unlink(path) }
        let data = Array("12345678901234567890123456789012345678901234567890123456789012345678901234567890".utf8)
        try Data(data).write(to: URL(fileURLWithPath: path))
        for chunk in [1, 3, 55, 63, 64, 65, 79, 80, 1 << 20] {
            #expect(try HexDigest.md5(ofFileAt: path, chunkSize: chunk) == "57edf4a22be3c955ac49da2e2107b67a",
                    "chunk \(chunk)")
        }
        var chunks: [Int] = []
        try HexDigest.forEachChunk(ofFileAt: path, chunkSize: 64) { chunks.append($0.count) }
        #expect(chunks == [64, 16])
        #expect(throws: DatasetError.self) { try HexDigest.md5(ofFileAt: path + ".missing") }
    }
}

@Suite(.offCooperativePool) struct GzipContentDigestTests {
    /// The SHA-256 of a .gz's content, hashed while inflating in chunks (multi-member, several chunks), equals
    /// the known digest of the content; a truncated file fails as gzip, not with a digest.
    @Test func contentDigestIsHashedWhileInflating() throws {
        let million = [UInt8](repeating: 0x61, count: 1_000_000)
        let gz = try Gzip.compress(Array(million[..<400_000])) + Gzip.compress(Array(million[400_000...]), level: 1)
        #expect(try HexDigest.sha256(ofGzipContent: gz, name: "a.gz")
            == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
        var pieces: [Int] = []
        try gz.withUnsafeBytes { raw in
            try Gzip.inflate(raw, name: "a.gz", chunkSize: 300_000) { pieces.append($0.count) }
        }
        #expect(pieces.reduce(0, +) == 1_000_000 && pieces.allSatisfy { $0 <= 300_000 } && pieces.count >= 4)
        #expect(throws: GzipError.self) { try HexDigest.sha256(ofGzipContent: Array(gz.dropLast(10)), name: "t.gz") }
    }
}
