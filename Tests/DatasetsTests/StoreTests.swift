import TestSupport
import Foundation
import Testing

@testable import Datasets

/// A small synthetic dataset in MNIST's format: its .gz files and a spec pinned to them.
struct SyntheticDataset {
    var files: [String: [UInt8]] = [:]  // name → .gz bytes
    let spec: DatasetSpec
    let trainPixels: [UInt8]
    let trainLabels: [UInt8]

    init(train: Int = 40, test: Int = 10, contentChecksums: Bool = false, seed: UInt64 = 5) throws {
        var rng = SplitMix64(seed: seed)
        func images(_ n: Int) -> [UInt8] { (0..<(n * 784)).map { _ in UInt8(truncatingIfNeeded: rng.next() % 256) } }
        func labels(_ n: Int) -> [UInt8] { (0..<n).map { _ in UInt8(rng.next() % 10) } }
        trainPixels = images(train)
        trainLabels = labels(train)
        let raw: [(String, FileRole, [UInt8])] = [
            ("train-images-idx3-ubyte.gz", .trainImages, IDX.encodeUBytes(trainPixels, dimensions: [train, 28, 28])),
            ("train-labels-idx1-ubyte.gz", .trainLabels, IDX.encodeUBytes(trainLabels, dimensions: [train])),
            ("t10k-images-idx3-ubyte.gz", .testImages, IDX.encodeUBytes(images(test), dimensions: [test, 28, 28])),
            ("t10k-labels-idx1-ubyte.gz", .testLabels, IDX.encodeUBytes(labels(test), dimensions: [test])),
        ]
        var specFiles: [DatasetFile] = []
        for (name, role, idx) in raw {
            let gz = try Gzip.compress(idx)
            files[name] = gz
            specFiles.append(DatasetFile(
                name: name, role: role,
                checksum: contentChecksums ? .sha256OfContent(HexDigest.sha256(idx)) : .md5OfDownload(HexDigest.md5(gz))))
        }
        spec = DatasetSpec(
            id: "synthetic", title: "synthetic", files: specFiles, defaultMirrors: [],
            mirrorEnvironmentVariable: "INITLAB_SYNTHETIC_MIRROR", expectedCounts: (train, test))
    }

    func serve(on server: FaultServer, under prefix: String = "/d/") {
        for (name, bytes) in files { server.script(prefix + name, [.serve(bytes)]) }
    }

    func write(to folder: String) throws {
        for (name, bytes) in files { try Data(bytes).write(to: URL(fileURLWithPath: folder + "/" + name)) }
    }
}

func listing(_ dir: String) -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { $0 != ".lock" }.sorted()
}

@Suite(.offCooperativePool) struct StoreTests {
    @Test func fetchesVerifiesLoadsAndReusesTheCache() throws {
        let server = try FaultServer()
        defer { server.stop() }
        let data = try SyntheticDataset()
        data.serve(on: server)
        let store = DatasetStore(cacheDirectory: try temporaryDirectory("cache"), policy: testPolicy)
        #expect(store.status(of: data.spec).cached == false)

        var events: [String] = []
        let fetched = try store.fetch(data.spec, mirrors: [.remote(server.baseURL + "d")]) { event in
            if case .stored(let file, _, _, _) = event { events.append(file) }
        }
        #expect(fetched.allSatisfy { $0.source != nil && $0.attempts == 1 })
        #expect(events.count == 4)
        #expect(listing(store.directory(for: data.spec)) == data.files.keys.sorted(), "no .part left")

        let loaded = try store.load(data.spec)
        #expect(loaded.train.count == 40 && loaded.test.count == 10)
        #expect(loaded.train.labels == data.trainLabels)
        let mean = data.trainPixels.reduce(0.0) { $0 + Double($1) / 255 } / Double(data.trainPixels.count)
        #expect(abs(loaded.stats.rawTrain.mean - mean) < 1e-12)
        let first = (Double(data.trainPixels[0]) / 255 - mean) / loaded.stats.rawTrain.std
        #expect(abs(Double(loaded.train.pixels[0]) - first) < 1e-5)

        // Idempotent: a verified cache is reused without network.
        let before = server.requests("/d/train-images-idx3-ubyte.gz").count
        let again = try store.fetch(data.spec, mirrors: [.remote(server.baseURL + "d")])
        #expect(again.allSatisfy { $0.source == nil && $0.attempts == 0 })
        #expect(server.requests("/d/train-images-idx3-ubyte.gz").count == before)

        let status = store.status(of: data.spec, verify: true)
        #expect(status.cached && status.verified == true)
        #expect(status.statistics == loaded.stats)
    }

    @Test func fallsBackToTheNextMirror() throws {
        let server = try FaultServer()
        defer { server.stop() }
        let data = try SyntheticDataset(contentChecksums: true)
        data.serve(on: server, under: "/good/")
        let store = DatasetStore(cacheDirectory: try temporaryDirectory("fallback"), policy: testPolicy)
        var failures: [MirrorFailure] = []
        let fetched = try store.fetch(
            data.spec, mirrors: [.remote(server.baseURL + "bad/"), .remote(server.baseURL + "good/")]
        ) { event in
            if case .mirrorFailed(_, let failure) = event { failures.append(failure) }
        }
        #expect(fetched.allSatisfy { $0.source?.contains("/good/") == true })
        #expect(failures.count == 4 && failures.allSatisfy { $0.reason.contains("HTTP 404") })
        #expect(server.requests("/bad/train-images-idx3-ubyte.gz").count == 1, "404 is not retried")
        #expect(listing(store.directory(for: data.spec)) == data.files.keys.sorted())
        _ = try store.load(data.spec)
    }

    /// The rule: a download whose checksum fails is deleted — no final file, no .part — and the next mirror is tried.
    @Test func checksumMismatchLeavesNothingBehind() throws {
        let server = try FaultServer()
        defer { server.stop() }
        let data = try SyntheticDataset()
        let other = try SyntheticDataset(seed: 99)
        other.serve(on: server)  // same names, other bytes
        let store = DatasetStore(cacheDirectory: try temporaryDirectory("mismatch"), policy: testPolicy)
        #expect {
            try store.fetch(data.spec, mirrors: [.remote(server.baseURL + "d/")])
        } throws: { error in
            guard case DatasetError.allMirrorsFailed(let file, let failures) = error else { return false }
            return file == "train-images-idx3-ubyte.gz" && failures.count == 1
                && failures[0].reason.contains("checksum mismatch")
        }
        #expect(listing(store.directory(for: data.spec)).isEmpty)
        #expect(store.status(of: data.spec).cached == false)
    }

    /// With content checksums, a truncated .gz fails verification (as a gzip error) and is deleted.
    @Test func truncatedGzipIsRejectedAtVerification() throws {
        let server = try FaultServer()
        defer { server.stop() }
        let data = try SyntheticDataset(contentChecksums: true)
        data.serve(on: server)
        let name = "train-labels-idx1-ubyte.gz"
        let gz = data.files[name] ?? []
        server.script("/d/" + name, [.serve(Array(gz.dropLast(5)))])
        let store = DatasetStore(cacheDirectory: try temporaryDirectory("trunc"), policy: testPolicy)
        #expect {
            try store.fetch(data.spec, mirrors: [.remote(server.baseURL + "d/")])
        } throws: { error in
            guard case DatasetError.allMirrorsFailed(name, let failures) = error else { return false }
            return failures.first?.reason.contains("truncated") == true
        }
        #expect(listing(store.directory(for: data.spec)) == ["train-images-idx3-ubyte.gz"])
    }

    /// A dropped transfer keeps its .part for the next run, which resumes it with a Range request.
    @Test func interruptedFetchResumesOnTheNextRun() throws {
        let server = try FaultServer()
        defer { server.stop() }
        let data = try SyntheticDataset(train: 200)
        data.serve(on: server)
        let name = "train-images-idx3-ubyte.gz"
        let gz = data.files[name] ?? []
        server.script("/d/" + name, [.drop(gz, after: 30_000)])
        var policy = testPolicy
        policy.maxAttempts = 1
        let cache = try temporaryDirectory("interrupt")
        let mirrors: [Mirror] = [.remote(server.baseURL + "d/")]
        #expect(throws: DatasetError.self) {
            try DatasetStore(cacheDirectory: cache, policy: policy).fetch(data.spec, mirrors: mirrors)
        }
        let store = DatasetStore(cacheDirectory: cache, policy: policy)
        #expect(store.status(of: data.spec).files.first?.partialBytes == 30_000)
        #expect(listing(store.directory(for: data.spec)) == [name + ".part", name + ".part.url"])

        server.script("/d/" + name, [.serve(gz)])
        try store.fetch(data.spec, mirrors: mirrors)
        #expect(server.requests("/d/" + name).last?.range == "bytes=30000-")
        #expect(contents(store.path(of: data.spec.files[0], in: data.spec)) == gz)
        #expect(listing(store.directory(for: data.spec)).count == 4)
        #expect(try store.load(data.spec).train.count == 200)
    }

    /// A mirror that sends nothing leaves nothing behind (no empty .part), and the error names file and URL once.
    @Test func failedFetchLeavesNoEmptyPartial() throws {
        let server = try FaultServer()
        defer { server.stop() }
        let data = try SyntheticDataset()
        let store = DatasetStore(cacheDirectory: try temporaryDirectory("empty"), policy: testPolicy)
        let url = server.baseURL + "none/train-images-idx3-ubyte.gz"
        #expect(throws: DatasetError.allMirrorsFailed(
            file: "train-images-idx3-ubyte.gz",
            failures: [MirrorFailure(
                url: url, reason: "HTTP 404 (after 1 attempt)",
                publicReason: "the server answered with an HTTP error (after 1 attempt)")])) {
            try store.fetch(data.spec, mirrors: [.remote(server.baseURL + "none/")])
        }
        #expect(listing(store.directory(for: data.spec)).isEmpty)
    }

    @Test func localFolderMirror() throws {
        let data = try SyntheticDataset()
        let folder = try temporaryDirectory("folder")
        try data.write(to: folder)
        let store = DatasetStore(cacheDirectory: try temporaryDirectory("fcache"), policy: testPolicy)
        let fetched = try store.fetch(data.spec, mirrors: [Mirror(parsing: "file://" + folder)])
        #expect(fetched.allSatisfy { $0.source?.hasPrefix("file://") == true })
        #expect(try store.load(data.spec).test.count == 10)
    }

    @Test func loadReportsBadFilesByName() throws {
        let data = try SyntheticDataset()
        let store = DatasetStore(cacheDirectory: try temporaryDirectory("bad"), policy: testPolicy)
        #expect(throws: DatasetError.notCached(dataset: "synthetic", directory: store.directory(for: data.spec),
                                               missing: data.spec.files.map(\.name))) {
            try store.load(data.spec)
        }
        let dir = store.directory(for: data.spec)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try data.write(to: dir)
        let labels = dir + "/train-labels-idx1-ubyte.gz"

        // Wrong magic.
        var idx = IDX.encodeUBytes(data.trainLabels, dimensions: [40])
        idx[2] = 0x99
        try Data(try Gzip.compress(idx)).write(to: URL(fileURLWithPath: labels))
        #expect(throws: DatasetError.idx(.unknownElementType(name: "train-labels-idx1-ubyte.gz", code: 0x99))) {
            try store.load(data.spec)
        }
        // Count disagreeing with the images.
        try Data(try Gzip.compress(IDX.encodeUBytes(Array(data.trainLabels.dropLast()), dimensions: [39])))
            .write(to: URL(fileURLWithPath: labels))
        #expect(throws: DatasetError.idx(.countMismatch(images: "train-images-idx3-ubyte.gz", imageCount: 40,
                                                        labels: "train-labels-idx1-ubyte.gz", labelCount: 39))) {
            try store.load(data.spec)
        }
        // Header count that disagrees with the bytes present.
        try Data(try Gzip.compress(IDX.encodeUBytes(data.trainLabels, dimensions: [41])))
            .write(to: URL(fileURLWithPath: labels))
        #expect(throws: DatasetError.idx(.sizeMismatch(name: "train-labels-idx1-ubyte.gz", expectedBytes: 41,
                                                       foundBytes: 40))) {
            try store.load(data.spec)
        }
        // Truncated gzip.
        let gz = try Gzip.compress(IDX.encodeUBytes(data.trainLabels, dimensions: [40]))
        try Data(gz.dropLast(3)).write(to: URL(fileURLWithPath: labels))
        #expect(throws: DatasetError.gzip(.truncated(name: "train-labels-idx1-ubyte.gz", consumed: gz.count - 3))) {
            try store.load(data.spec)
        }
        // Label outside 0..<10.
        var badLabels = data.trainLabels
        badLabels[3] = 12
        try Data(try Gzip.compress(IDX.encodeUBytes(badLabels, dimensions: [40]))).write(to: URL(fileURLWithPath: labels))
        #expect(throws: DatasetError.idx(.labelOutOfRange(name: "train-labels-idx1-ubyte.gz", index: 3, value: 12,
                                                          classes: 10))) {
            try store.load(data.spec)
        }
        // Deep verification notices a cached file that no longer matches.
        let status = store.status(of: data.spec, verify: true)
        #expect(status.cached && status.verified == false)
        #expect(status.files.first { $0.role == .trainLabels }?.checksumMatches == false)
    }

    @Test func mirrorConfiguration() {
        let spec = DatasetCatalog.mnist
        #expect(Mirror.resolve(for: spec, flags: [], environment: [:]) == spec.defaultMirrors)
        #expect(
            Mirror.resolve(for: spec, flags: [], environment: ["INITLAB_MNIST_MIRROR": "http://a/x/, /srv/mnist"])
                == [.remote("http://a/x/"), .folder("/srv/mnist")])
        #expect(
            Mirror.resolve(for: spec, flags: ["https://b/"], environment: ["INITLAB_MNIST_MIRROR": "http://a/"])
                == [.remote("https://b/")])
        #expect(Mirror(parsing: "data", currentDirectory: "/home/u") == .folder("/home/u/data"))
        #expect(Mirror(parsing: "file:///srv/my%20data") == .folder("/srv/my data"))
        #expect(Mirror.folder("/srv/my data").url(for: "a.gz") == "file:///srv/my%20data/a.gz")
        #expect(Mirror.remote("http://h/m").url(for: "a.gz") == "http://h/m/a.gz")
        #expect(DatasetStore.defaultCacheDirectory(environment: ["INITLAB_CACHE_DIR": "/c"]) == "/c")
        #expect(DatasetStore.defaultCacheDirectory(environment: [:]).hasSuffix("/.initlab-cache"))
        #expect(DatasetCatalog.spec(named: "Fashion-MNIST")?.id == "fashion-mnist")
    }
}
