import TestSupport
import Foundation
import Testing

@testable import Datasets

/// End to end on the real Fashion-MNIST files of Debian's `dataset-fashion-mnist`, served over loopback HTTP:
/// download, verify content SHA-256, decompress, parse, normalize.
@Suite(.offCooperativePool) struct FashionMNISTTests {
    static let folder = DatasetCatalog.debianFashionMNISTFolder

    @Test func fetchAndLoadOverHTTP() throws {
        let spec = DatasetCatalog.fashionMNIST
        var served: [String: [UInt8]] = [:]
        for file in spec.files {
            let path = Self.folder + "/" + file.name
            let bytes = try #require(
                FileManager.default.contents(atPath: path),
                "\(path) is missing: install Debian's dataset-fashion-mnist (apt-get install dataset-fashion-mnist)")
            served[file.name] = [UInt8](bytes)
        }
        let server = try FaultServer()
        defer { server.stop() }
        for (name, bytes) in served { server.script("/fashion/" + name, [.serve(bytes)]) }
        // The images file arrives in two pieces: the connection drops and the download resumes.
        let imagesName = "train-images-idx3-ubyte.gz"
        let images = served[imagesName] ?? []
        server.script("/fashion/" + imagesName, [.drop(images, after: 10_000_000), .serve(images)])

        var policy = testPolicy
        policy.maxBytes = 64 << 20
        // The test is about the dropped connection and its one resume: the low-speed rule (1 s in testPolicy) must
        // not add a second resume when the whole suite loads the machine (it did once: bytes=19623439-).
        policy.lowSpeedTime = 30
        let store = DatasetStore(cacheDirectory: try temporaryDirectory("fashion"), policy: policy)
        defer { try? FileManager.default.removeItem(atPath: store.cacheDirectory) }
        let fetched = try store.fetch(spec, mirrors: [.remote(server.baseURL + "fashion/")])
        #expect(fetched.map(\.bytes) == spec.files.map { Int64(served[$0.name]?.count ?? -1) })
        #expect(server.requests("/fashion/" + imagesName).map(\.range) == [nil, "bytes=10000000-"])

        let data = try store.load(spec)
        #expect(data.train.count == 60_000 && data.train.rows == 28 && data.train.cols == 28)
        #expect(data.test.count == 10_000)
        #expect(data.train.pixels.count == 60_000 * 784 && data.test.pixels.count == 10_000 * 784)
        #expect(Set(data.train.labels) == Set(0...9) && Set(data.test.labels) == Set(0...9))
        // Fashion-MNIST is balanced: 6,000 training images per class.
        #expect((0...9).allSatisfy { c in data.train.labels.lazy.filter { $0 == c }.count == 6_000 })

        let s = data.stats
        #expect(abs(s.rawTrain.mean - 0.2860) < 5e-4, "raw train mean \(s.rawTrain.mean)")
        #expect(abs(s.rawTrain.std - 0.3530) < 5e-4, "raw train std \(s.rawTrain.std)")
        #expect(abs(s.normalizedTrain.mean) < 1e-6 && abs(s.normalizedTrain.std - 1) < 1e-6)
        #expect(abs(s.normalizedTest.mean) < 0.02 && abs(s.normalizedTest.std - 1) < 0.02)

        // The reported statistics are those of the floats handed out.
        var sum = 0.0, squares = 0.0
        for v in data.train.pixels {
            sum += Double(v)
            squares += Double(v) * Double(v)
        }
        let n = Double(data.train.pixels.count)
        #expect(abs(sum / n) < 1e-5)
        #expect(abs((squares / n - (sum / n) * (sum / n)).squareRoot() - 1) < 1e-5)

        let batch = data.batch(split: .train, size: 64, seed: 2024)
        #expect(batch.pixels.count == 64 * 784 && batch.labels.count == 64)
        #expect(batch == data.batch(split: .train, size: 64, seed: 2024))
        #expect(batch.labels == batch.indices.map { data.train.labels[$0] })

        #expect(store.status(of: spec).statistics == s)
    }
}
