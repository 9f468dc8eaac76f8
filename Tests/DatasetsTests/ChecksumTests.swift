import Testing

@testable import Datasets

@Suite struct ChecksumTests {
    /// RFC 1321, appendix A.5.
    @Test func md5RFC1321Vectors() {
        let vectors: [(String, String)] = [
            ("", "d41d8cd98f00b204e9800998ecf8427e"),
            ("a", "0cc175b9c0f1b6a831c399e269772661"),
            ("abc", "900150983cd24fb0d6963f7d28e17f72"),
            ("message digest", "f96b697d7cb7938d525a2f31aaf161d0"),
            ("abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b"),
            ("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", "d174ab98d277d9f5a5611c2c9f419d9f"),
            ("12345678901234567890123456789012345678901234567890123456789012345678901234567890",
             "57edf4a22be3c955ac49da2e2107b67a"),
        ]
        for (input, expected) in vectors {
            #expect(MD5.hash(Array(input.utf8)) == expected, "MD5(\"\(input)\")")
        }
    }

    /// FIPS 180-4 examples (NIST CSRC "SHA256.pdf" / SHAVS), plus the empty string.
    @Test func sha256FIPSVectors() {
        #expect(SHA256.hash(Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(SHA256.hash([UInt8]()) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(
            SHA256.hash(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8))
                == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        #expect(
            SHA256.hash(Array(("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmno"
                + "ijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu").utf8))
                == "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1")
        #expect(
            SHA256.hash([UInt8](repeating: 0x61, count: 1_000_000))
                == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    /// Feeding the data in odd-sized pieces gives the same digest as one call, across block boundaries.
    @Test func streamingMatchesOneShot() {
        let data = (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        for piece in [1, 3, 55, 63, 64, 65, 200] {
            var md5 = MD5()
            var sha = SHA256()
            var i = 0
            while i < data.count {
                let slice = Array(data[i..<min(i + piece, data.count)])
                md5.update(slice)
                sha.update(slice)
                i += piece
            }
            #expect(hex(md5.finalize()) == MD5.hash(data), "piece \(piece)")
            #expect(hex(sha.finalize()) == SHA256.hash(data), "piece \(piece)")
        }
        // Lengths around the 56-byte padding boundary.
        #expect(MD5.hash([UInt8](repeating: 0x61, count: 56)) == "3b0c8ac703f828b04c6c197006d17218")
        #expect(
            SHA256.hash([UInt8](repeating: 0x61, count: 56))
                == "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a")
    }
}
