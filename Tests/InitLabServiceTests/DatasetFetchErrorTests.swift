import Datasets
import Foundation
import TestSupport
import Testing

@testable import InitLabService

/// What `GET /v1/datasets/{name}` shows of a failed fetch: the fetcher's own words, nothing the mirror sent.
@Suite(.offCooperativePool) struct DatasetFetchErrorTests {
    /// Regression: the public error used to end in "got <digest of what the mirror sent>". It now names the file,
    /// the mirror and the pinned checksum only.
    @Test func fetchErrorQuotesNothingFromTheMirror() async throws {
        let mirror = try FashionFixture.emptyCache()
        defer { try? FileManager.default.removeItem(atPath: mirror) }
        let bogus = Array("not MNIST: an internal reply".utf8)
        let imagesName = "train-images-idx3-ubyte.gz"
        try Data(bogus).write(to: URL(fileURLWithPath: mirror).appendingPathComponent(imagesName))
        let pinned = try #require(DatasetCatalog.mnist.files.first { $0.name == imagesName }).checksum

        let s = try DatasetServiceTests.Running(mirrors: ["mnist=\(mirror)"])
        #expect(try await s.client.send("POST", "/v1/datasets/mnist/fetch").status == 202)
        #expect(await eventually(timeout: .seconds(30)) { await s.fetchState("mnist") == "failed" })
        let fetch = try #require(try await s.dataset("mnist")["fetch"] as? [String: Any])
        let error = try #require(fetch["error"] as? String)
        #expect(error.hasPrefix("\(imagesName): every mirror failed:\n  - "))
        #expect(error.hasSuffix(": checksum mismatch: expected \(pinned)"))
        #expect(!error.contains(HexDigest.md5(bogus)))
        #expect(!error.contains("got"))
        await s.stop()
    }
}
