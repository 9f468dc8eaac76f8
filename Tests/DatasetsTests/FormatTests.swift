import TestSupport
import Foundation
import Testing

@testable import Datasets

@Suite(.offCooperativePool) struct GzipTests {
    let payload: [UInt8] = (0..<200_000).map { UInt8(truncatingIfNeeded: ($0 * 7919) % 251) }

    @Test func roundTrip() throws {
        let gz = try Gzip.compress(payload)
        #expect(gz.count < payload.count)
        #expect(try Gzip.decompress(gz, name: "x.gz") == payload)
    }

    /// A file made by the system's gzip tool (the format, not just our own compressor).
    @Test func decompressesGzipToolOutput() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("initlab-gz-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("p")
        try Data(payload).write(to: file)
        let gzip = Process()
        gzip.executableURL = URL(fileURLWithPath: "/bin/sh")
        gzip.arguments = ["-c", "gzip -9 '\(file.path)'"]
        try gzip.run()
        gzip.waitUntilExit()
        #expect(gzip.terminationStatus == 0)
        let gz = try [UInt8](Data(contentsOf: dir.appendingPathComponent("p.gz")))
        #expect(try Gzip.decompress(gz, name: "p.gz") == payload)
    }

    @Test func multiMemberConcatenates() throws {
        let a = Array(payload[..<70_000]), b = Array(payload[70_000...])
        let gz = try Gzip.compress(a) + Gzip.compress(b, level: 1)
        #expect(try Gzip.decompress(gz, name: "multi.gz") == payload)
    }

    @Test func truncatedStreamIsAnError() throws {
        let gz = try Gzip.compress(payload)
        for cut in [gz.count - 1, gz.count - 8, gz.count / 2, 12] {
            #expect(throws: GzipError.truncated(name: "t.gz", consumed: cut)) {
                try Gzip.decompress(Array(gz[..<cut]), name: "t.gz")
            }
        }
        #expect(throws: GzipError.truncated(name: "e.gz", consumed: 0)) { try Gzip.decompress([], name: "e.gz") }
    }

    @Test func corruptStreamIsAnError() throws {
        var gz = try Gzip.compress(payload)
        gz[gz.count - 6] ^= 0xff  // inside the CRC-32 trailer
        #expect {
            try Gzip.decompress(gz, name: "c.gz")
        } throws: { error in
            guard case GzipError.corrupt(let name, let reason) = error else { return false }
            return name == "c.gz" && reason.contains("check")
        }
        var header = try Gzip.compress(payload)
        header[0] = 0x42  // not a gzip magic
        #expect {
            try Gzip.decompress(header, name: "h.gz")
        } throws: { error in
            if case GzipError.corrupt("h.gz", _) = error { return true }
            return false
        }
    }

    @Test func trailingGarbageIsAnError() throws {
        let gz = try Gzip.compress(payload)
        #expect(throws: GzipError.trailingGarbage(name: "g.gz", offset: gz.count)) {
            try Gzip.decompress(gz + [1, 2, 3], name: "g.gz")
        }
    }

    @Test func outputLimit() throws {
        let gz = try Gzip.compress([UInt8](repeating: 0, count: 5_000_000))
        #expect(throws: GzipError.tooLarge(name: "bomb.gz", limit: 1_000_000)) {
            try Gzip.decompress(gz, name: "bomb.gz", outputLimit: 1_000_000)
        }
    }
}

@Suite(.offCooperativePool) struct IDXTests {
    let images = IDX.encodeUBytes([UInt8](repeating: 7, count: 2 * 3 * 4), dimensions: [2, 3, 4])

    @Test func parsesHeaderAndData() throws {
        let (header, data) = try IDX.parseUBytes(images, name: "i", dimensionCount: 3)
        #expect(header.dimensions == [2, 3, 4])
        #expect(header.elementType == .ubyte)
        #expect(header.dataOffset == 16)
        #expect(data.count == 24 && data.allSatisfy { $0 == 7 })
    }

    @Test func rejectsWrongMagic() {
        var bad = images
        bad[0] = 1
        #expect(throws: IDXError.badMagic(name: "i", bytes: [1, 0, 8, 3])) {
            try IDX.parseUBytes(bad, name: "i", dimensionCount: 3)
        }
        #expect(throws: IDXError.badMagic(name: "i", bytes: [0, 0, 8, 0])) {
            try IDX.parseUBytes([0, 0, 8, 0], name: "i", dimensionCount: 3)
        }
        #expect((IDXError.badMagic(name: "train.gz", bytes: [1, 0, 8, 3])).description.contains("train.gz"))
    }

    @Test func rejectsUnknownAndUnsupportedTypes() {
        var unknown = images
        unknown[2] = 0x07
        #expect(throws: IDXError.unknownElementType(name: "i", code: 7)) {
            try IDX.parseUBytes(unknown, name: "i", dimensionCount: 3)
        }
        // A valid float IDX file of the right size parses, but is not what an image set needs.
        var floats = images
        floats[2] = 0x0D
        floats += [UInt8](repeating: 0, count: 24 * 3)
        #expect(throws: IDXError.unsupportedElementType(name: "i", type: .float)) {
            try IDX.parseUBytes(floats, name: "i", dimensionCount: 3)
        }
    }

    @Test func rejectsWrongByteCounts() {
        #expect(throws: IDXError.sizeMismatch(name: "i", expectedBytes: 24, foundBytes: 23)) {
            try IDX.parseUBytes(Array(images.dropLast()), name: "i", dimensionCount: 3)
        }
        #expect(throws: IDXError.sizeMismatch(name: "i", expectedBytes: 24, foundBytes: 25)) {
            try IDX.parseUBytes(images + [0], name: "i", dimensionCount: 3)
        }
        #expect(throws: IDXError.tooShort(name: "i", length: 10, needed: 16)) {
            try IDX.parseUBytes(Array(images[..<10]), name: "i", dimensionCount: 3)
        }
        #expect(throws: IDXError.wrongDimensionCount(name: "i", expected: 1, found: 3)) {
            try IDX.parseUBytes(images, name: "i", dimensionCount: 1)
        }
        #expect(IDXError.sizeMismatch(name: "x", expectedBytes: 2, foundBytes: 3).description.contains("trailing"))
    }
}

@Suite(.offCooperativePool) struct NormalizationTests {
    @Test func statisticsAndNormalization() {
        let train: [UInt8] = [0, 255, 0, 255]  // scaled: 0, 1, 0, 1 → mean 0.5, std 0.5
        let test: [UInt8] = [255, 255]
        let result = Normalizer.normalize(train: train[...], test: test[...])
        #expect(abs(result.stats.rawTrain.mean - 0.5) < 1e-12)
        #expect(abs(result.stats.rawTrain.std - 0.5) < 1e-12)
        #expect(result.train == [-1, 1, -1, 1])
        #expect(result.test == [1, 1])
        #expect(abs(result.stats.normalizedTrain.mean) < 1e-7 && abs(result.stats.normalizedTrain.std - 1) < 1e-7)
        #expect(abs(result.stats.rawTest.mean - 1) < 1e-12 && result.stats.rawTest.std == 0)
        #expect(abs(result.stats.normalizedTest.mean - 1) < 1e-7)
    }

    /// The reported statistics agree with the ones computed directly from the normalized floats.
    @Test func reportedStatisticsMatchTheData() {
        var rng = SplitMix64(seed: 9)
        let train = (0..<10_000).map { _ in UInt8(truncatingIfNeeded: rng.next() % 200) }
        let test = (0..<1_000).map { _ in UInt8(truncatingIfNeeded: rng.next() % 256) }
        let result = Normalizer.normalize(train: train[...], test: test[...])
        let direct = result.test.reduce(0.0) { $0 + Double($1) } / Double(result.test.count)
        #expect(abs(direct - result.stats.normalizedTest.mean) < 1e-9)
        let rawMean = train.reduce(0.0) { $0 + Double($1) / 255 } / Double(train.count)
        #expect(abs(rawMean - result.stats.rawTrain.mean) < 1e-12)
    }

    /// Reference outputs from Vigna's splitmix64.c.
    @Test func splitMix64ReferenceValues() {
        var a = SplitMix64(seed: 0)
        #expect([a.next(), a.next(), a.next()] == [16_294_208_416_658_607_535, 7_960_286_522_194_355_700, 487_617_019_471_545_679])
        var b = SplitMix64(seed: 1_234_567)
        #expect([b.next(), b.next(), b.next()] == [6_457_827_717_110_365_317, 3_203_168_211_198_807_973, 9_817_491_932_198_370_423])
    }

    @Test func batchIndicesAreDeterministicDistinctAndInRange() {
        let a = BatchSampler.indices(count: 60_000, batchSize: 512, seed: 42)
        #expect(a == BatchSampler.indices(count: 60_000, batchSize: 512, seed: 42))
        #expect(a != BatchSampler.indices(count: 60_000, batchSize: 512, seed: 43))
        #expect(Set(a).count == 512 && a.allSatisfy { (0..<60_000).contains($0) })
        let all = BatchSampler.indices(count: 10, batchSize: 50, seed: 1)
        #expect(all.sorted() == Array(0..<10))
        // Pinned: the same seed names the same batch on every machine.
        #expect(BatchSampler.indices(count: 100, batchSize: 5, seed: 0) == Self.referenceIndices(count: 100, size: 5, seed: 0))
    }

    /// Independent restatement of the documented algorithm (dense Fisher–Yates).
    static func referenceIndices(count: Int, size: Int, seed: UInt64) -> [Int] {
        var rng = SplitMix64(seed: seed)
        var perm = Array(0..<count)
        for i in 0..<size {
            let bound = UInt64(count - i)
            var x = rng.next()
            while x > UInt64.max - (UInt64.max % bound + 1) % bound { x = rng.next() }
            perm.swapAt(i, i + Int(x % bound))
        }
        return Array(perm[..<size])
    }

    @Test func batchGathersPixelsAndLabels() {
        let pixels = (0..<(6 * 4)).map(Float.init)
        let set = ImageSet(count: 6, rows: 2, cols: 2, pixels: pixels, labels: [0, 1, 2, 3, 4, 5])
        let batch = set.batch(size: 3, seed: 7)
        #expect(batch.count == 3 && batch.pixels.count == 12)
        for (k, i) in batch.indices.enumerated() {
            #expect(batch.labels[k] == UInt8(i))
            #expect(Array(batch.pixels[(k * 4)..<(k * 4 + 4)]) == Array(set.image(i)))
        }
    }
}
