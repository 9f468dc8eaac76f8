import Datasets
import Foundation
import TestSupport
import Testing

@testable import InitLabService

/// Datasets across hosts: each node keeps its own cache folder (as on separate hosts); a dataset one node
/// fetched reaches the others through the shared store, verified against the catalog's checksums on arrival.
/// Needs `INITLAB_TEST_POSTGRES_URL` and Debian's Fashion-MNIST (the fetching node's mirror).
@Suite(.offCooperativePool, .enabled(if: PostgresTestSupport.url != nil, Comment(rawValue: PostgresTestSupport.skipReason)))
struct PostgresDatasetShareTests {
    /// A node's dataset registry over the schema, with its own empty cache and the given mirror.
    private static func node(_ schema: PostgresTestSupport.Schema, mirror: String) throws -> (DatasetRegistry, String) {
        let cache = try FashionFixture.emptyCache()
        let registry = DatasetRegistry(
            cacheDirectory: cache, mirrors: ["fashion-mnist=\(mirror)", "mnist=\(mirror)"],
            share: PostgresDatasetShare(database: try schema.open()), environment: [:], logger: quietLogger())
        return (registry, cache)
    }

    /// Node A fetches from its mirror and publishes; node B, whose mirror has nothing, then builds the same
    /// input batch from the shared copy; node C (no cache, workers elsewhere) accepts a job on it instead of
    /// answering 409, and its own fetch copies it from the store.
    @Test func aDatasetFetchedOnOneNodeReachesTheOthers() async throws {
        let schema = try PostgresTestSupport.Schema()
        let empty = try FashionFixture.emptyCache()
        let (a, cacheA) = try Self.node(schema, mirror: FashionFixture.folder)
        let (b, cacheB) = try Self.node(schema, mirror: empty)
        defer {
            for dir in [empty, cacheA, cacheB] { try? FileManager.default.removeItem(atPath: dir) }
            schema.destroy()
        }
        let spec = FashionFixture.spec
        let shared = try #require(b.inputs.shared)
        #expect(try await shared.holds(spec) == false)

        #expect(a.startFetch(spec) == .started)
        #expect(await eventually(timeout: .seconds(60)) { a.snapshot(spec).state == .ready })
        #expect(a.snapshot(spec).error == nil)
        #expect(try await shared.holds(spec), "node A published the files")

        // Node B: not in its cache, and its mirror is empty; the worker's load copies it from the store.
        #expect(!b.store.status(of: spec).cached)
        let experiment = try FashionFixture.spec(batch: 32)
        let fromShare = try #require(try b.inputs.inputBatch(for: experiment))
        let fromMirror = try #require(try a.inputs.inputBatch(for: experiment))
        #expect(fromShare.x == fromMirror.x && fromShare.labels == fromMirror.labels)
        #expect(b.store.status(of: spec, verify: true).verified == true)

        // Node C's API: a job on the dataset is accepted (a worker anywhere can get it), not a 409.
        let (c, cacheC) = try Self.node(schema, mirror: empty)
        defer { try? FileManager.default.removeItem(atPath: cacheC) }
        let service = ExperimentService(
            configuration: testConfiguration { $0.workers = 0 }, store: PostgresJobStore(database: try schema.open()),
            engine: ContractEngine(), datasets: c, logger: quietLogger())
        let server = InitLabServer(service: service, sweeps: PostgresSweepStore(database: try schema.open()), logger: quietLogger())
        try service.start()
        let body = #"{"depth": 2, "width": 16, "batch": 8, "init": "kaiming_normal", "activation": "relu", "input": {"dataset": "fashion-mnist"}, "loss": "cross_entropy"}"#
        let reply = await server.handle(.post("/v1/experiments", json: body))
        #expect(reply.status == 202, "\(String(decoding: reply.body, as: UTF8.self))")
        // A dataset nobody fetched is still a 409 naming its fetch.
        let mnist = await server.handle(.post("/v1/experiments", json: body.replacingOccurrences(of: "fashion-mnist", with: "mnist")))
        #expect(mnist.status == 409 && jsonObject(mnist.body)["code"] as? String == "dataset_not_cached")
        // Node C's own fetch (POST /v1/datasets/fashion-mnist/fetch) copies it from the store: its mirror is empty.
        #expect(c.startFetch(spec) == .started)
        #expect(await eventually(timeout: .seconds(60)) { c.snapshot(spec).state != .fetching })
        #expect(c.snapshot(spec).state == .ready && c.snapshot(spec).error == nil)
        await service.shutdown()
    }

    /// A shared copy that does not match the catalog's checksum is refused: nothing reaches the cache, and the
    /// load says why.
    @Test func aCorruptSharedCopyIsRefused() async throws {
        let schema = try PostgresTestSupport.Schema()
        let empty = try FashionFixture.emptyCache()
        let (b, cacheB) = try Self.node(schema, mirror: empty)
        defer {
            for dir in [empty, cacheB] { try? FileManager.default.removeItem(atPath: dir) }
            schema.destroy()
        }
        let spec = FashionFixture.spec
        let shared = try #require(b.inputs.shared)
        var files: [(name: String, body: Data)] = []
        for file in spec.files {
            var body = try Data(contentsOf: URL(fileURLWithPath: FashionFixture.folder).appendingPathComponent(file.name))
            if file == spec.files[0] { body[body.count / 2] ^= 0xFF }
            files.append((file.name, body))
        }
        try shared.share.publish(dataset: spec.id, files: files)
        #expect(try await shared.holds(spec))
        #expect {
            _ = try b.inputs.inputBatch(for: try FashionFixture.spec(batch: 8))
        } throws: { error in
            "\(error)".contains("copying it from the shared store failed") && "\(error)".contains("did not verify")
        }
        #expect(b.store.status(of: spec).files.allSatisfy { !$0.present }, "the first file failed, so none was stored")
    }
}
