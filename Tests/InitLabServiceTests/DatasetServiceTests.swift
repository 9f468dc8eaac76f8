import Datasets
import Foundation
import InitCore
import InitLabContract
import TestSupport
import Testing

@testable import InitLabService

/// The dataset routes and dataset experiments over loopback, with the real engine wired as `initlab serve`
/// wires it (one registry for the routes and the input provider).
@Suite(.offCooperativePool) struct DatasetServiceTests {
    final class Running: Sendable {
        let server: InitLabServer
        let client: LoopbackClient
        let database: TempDatabase
        let registry: DatasetRegistry
        let cache: String
        /// Every fetch waits here on its own thread until the test releases it (`fetchGate.signal()`).
        let fetchGate: DispatchSemaphore?

        init(mirrors: [String], gateFetches: Bool = false) throws {
            database = try TempDatabase()
            cache = try FashionFixture.emptyCache()
            let configuration = testConfiguration { [cache] in
                $0.cacheDirectory = cache
                $0.datasetMirrors = mirrors
            }
            let gate = gateFetches ? DispatchSemaphore(value: 0) : nil
            fetchGate = gate
            registry = DatasetRegistry(
                configuration: configuration, environment: [:], logger: quietLogger(), beforeFetch: { _ in gate?.wait() })
            let stores = try TestStores(path: database.path)
            let service = ExperimentService(
                configuration: configuration, store: stores.jobs,
                engine: InitCoreEngine(budget: configuration.budget, inputProvider: registry.inputProvider),
                datasets: registry, logger: quietLogger())
            server = InitLabServer(
                service: service, sweeps: stores.sweeps, logger: quietLogger())
            client = LoopbackClient(port: try server.start())
        }

        func stop() async {
            await server.shutdown()
            database.cleanup()
            try? FileManager.default.removeItem(atPath: cache)
        }

        func dataset(_ name: String) async throws -> [String: Any] {
            try await client.get("/v1/datasets/\(name)").json
        }

        func fetchState(_ name: String) async -> String? {
            ((try? await dataset(name))?["fetch"] as? [String: Any])?["state"] as? String
        }
    }

    static func experiment(_ dataset: String, batch: Int = 32) -> String {
        """
        {"depth": 3, "width": 16, "batch": \(batch), "seed": 5, "init": "kaiming_normal", "activation": "relu",
         "loss": "cross_entropy", "input": {"dataset": "\(dataset)", "split": "test", "sample_seed": 3}}
        """
    }

    @Test func notCachedIs409ThenFetchThenTheExperimentRuns() async throws {
        let emptyMirror = try FashionFixture.emptyCache()
        defer { try? FileManager.default.removeItem(atPath: emptyMirror) }
        let s = try Running(mirrors: ["fashion-mnist=\(FashionFixture.folder)", "mnist=\(emptyMirror)"], gateFetches: true)

        // Both datasets listed, nothing cached.
        let list = try await s.client.get("/v1/datasets")
        #expect(list.status == 200)
        let items = try #require(list.json["datasets"] as? [[String: Any]])
        #expect(items.compactMap { $0["name"] as? String } == ["mnist", "fashion-mnist"])
        #expect(items.allSatisfy { $0["cached"] as? Bool == false && ($0["fetch"] as? [String: Any])?["state"] as? String == "idle" })

        // An experiment on a dataset that is not cached: 409 with the fetch link, no job.
        let refused = try await s.client.post("/v1/experiments", json: Self.experiment("fashion-mnist"))
        #expect(refused.status == 409)
        #expect(refused.header("Content-Type") == "application/problem+json")
        #expect(refused.json["code"] as? String == "dataset_not_cached")
        #expect((refused.json["detail"] as? String)?.contains("POST /v1/datasets/fashion-mnist/fetch") == true)
        #expect((refused.json["links"] as? [String: String])?["fetch"] == "/v1/datasets/fashion-mnist/fetch")
        #expect(refused.header("Link") == "</v1/datasets/fashion-mnist/fetch>; rel=\"fetch\"")
        let jobs = try await s.client.get("/v1/experiments").json["experiments"] as? [Any]
        #expect(jobs?.isEmpty == true)

        // Unknown dataset: 422 naming the field; batch above the split: 422 on /batch.
        let unknown = try await s.client.post("/v1/experiments", json: Self.experiment("cifar"))
        #expect(unknown.status == 422)
        let pointers = (unknown.json["errors"] as? [[String: Any]])?.compactMap { $0["pointer"] as? String }
        #expect(pointers == ["/input/dataset"])

        // Fetch: 202 + Location; asked again while it is held running: the same 202 (nothing new started);
        // released: ready with statistics.
        let started = try await s.client.send("POST", "/v1/datasets/fashion-mnist/fetch")
        #expect(started.status == 202)
        #expect(started.header("Location") == "/v1/datasets/fashion-mnist")
        #expect(await s.fetchState("fashion-mnist") == "fetching")
        let again = try await s.client.send("POST", "/v1/datasets/fashion-mnist/fetch")
        #expect(again.status == 202)
        #expect(again.header("Location") == "/v1/datasets/fashion-mnist")
        s.fetchGate?.signal()
        #expect(await eventually(timeout: .seconds(60)) { await s.fetchState("fashion-mnist") == "ready" })
        let ready = try await s.dataset("fashion-mnist")
        #expect(ready["cached"] as? Bool == true && ready["loaded"] as? Bool == true)
        #expect((ready["files"] as? [[String: Any]])?.allSatisfy { $0["present"] as? Bool == true } == true)
        let statistics = try #require(ready["statistics"] as? [String: Any])
        let rawTrain = try #require(statistics["raw_train"] as? [String: Any])
        #expect(abs((rawTrain["mean"] as? Double ?? 0) - 0.2860) < 5e-4)
        #expect(abs((rawTrain["std"] as? Double ?? 0) - 0.3530) < 5e-4)
        let done = try await s.client.send("POST", "/v1/datasets/fashion-mnist/fetch")
        #expect(done.status == 200, "already ready: nothing to start")

        // Now the experiment is accepted, runs on the dataset and equals the runner's own bytes.
        let created = try await s.client.post("/v1/experiments", json: Self.experiment("fashion-mnist"))
        #expect(created.status == 202)
        let id = try #require(created.json["id"] as? String)
        #expect(await eventually(timeout: .seconds(30)) {
            (try? await s.client.get("/v1/experiments/\(id)").json["status"] as? String) == "succeeded"
        })
        let result = try await s.client.get("/v1/experiments/\(id)/result")
        #expect(result.status == 200)
        let spec = try ExperimentSpec.decodeValidated(from: Data(Self.experiment("fashion-mnist").utf8))
        let direct = try ExperimentRunner().run(spec, input: s.registry.inputs.inputBatch(for: spec)).encodedJSON()
        #expect(Data(direct) == result.body)
        let decoded = try JSONDecoder().decode(ExperimentResult.self, from: result.body)
        #expect(decoded.layers.first?.fanIn == 784)

        // A fetch that fails on every mirror: state failed with the reason.
        let failing = try await s.client.send("POST", "/v1/datasets/mnist/fetch")
        #expect(failing.status == 202)
        s.fetchGate?.signal()
        #expect(await eventually(timeout: .seconds(30)) { await s.fetchState("mnist") == "failed" })
        let failed = try await s.dataset("mnist")
        #expect(((failed["fetch"] as? [String: Any])?["error"] as? String)?.contains("train-images-idx3-ubyte.gz") == true)
        #expect(failed["cached"] as? Bool == false)
        await s.stop()
    }

    @Test func routesRefuseWhatTheyDoNotKnow() async throws {
        let s = try Running(mirrors: [])
        #expect(try await s.client.get("/v1/datasets/cifar").status == 404)
        #expect(try await s.client.send("POST", "/v1/datasets/cifar/fetch").status == 404)
        #expect(try await s.client.get("/v1/datasets/mnist/fetch").status == 405)
        #expect(try await s.client.get("/v1/datasets/mnist?verify=maybe").status == 400)
        #expect(try await s.client.get("/v1/datasets/mnist?page=1").status == 400)
        let verified = try await s.client.get("/v1/datasets/mnist?verify=true")
        #expect(verified.status == 200 && verified.json["verified"] as? Bool == false)
        #expect(verified.json["cached"] as? Bool == false)
        let plain = try await s.dataset("mnist")
        #expect(plain["verified"] is NSNull, "not re-checked: null")
        #expect((plain["links"] as? [String: String])?["fetch"] == "/v1/datasets/mnist/fetch")
        await s.stop()
    }

    @Test func mirrorsAreAssignedByDatasetName() throws {
        let assigned = DatasetRegistry.assign(["mnist=/m", "https://example.org/all/", "fashion-mnist=/f", " "])
        #expect(assigned["mnist"] == ["/m", "https://example.org/all/"])
        #expect(assigned["fashion-mnist"] == ["https://example.org/all/", "/f"])
        let registry = DatasetRegistry(cacheDirectory: "/tmp/x", mirrors: ["mnist=/m"], environment: [:], logger: quietLogger())
        #expect(registry.mirrors(for: DatasetCatalog.mnist) == [.folder("/m")])
        #expect(registry.mirrors(for: DatasetCatalog.fashionMNIST) == DatasetCatalog.fashionMNIST.defaultMirrors)
        let fromEnvironment = DatasetRegistry(
            cacheDirectory: "/tmp/x", environment: ["INITLAB_MNIST_MIRROR": "https://mirror.example/mnist/"],
            logger: quietLogger())
        #expect(fromEnvironment.mirrors(for: DatasetCatalog.mnist) == [.remote("https://mirror.example/mnist/")])
    }

    @Test func configurationReadsCacheDirAndMirrors() throws {
        let fromEnvironment = try ConfigurationSetting.resolve(
            flags: [:], environment: ["INITLAB_CACHE_DIR": "/data/datasets", "INITLAB_DATASET_MIRRORS": "mnist=/a, /b"])
        #expect(fromEnvironment.cacheDirectory == "/data/datasets")
        #expect(fromEnvironment.datasetMirrors == ["mnist=/a", "/b"])
        let fromFlags = try ConfigurationSetting.resolve(
            flags: ["cache-dir": ["/c"], "dataset-mirror": ["fashion-mnist=/f", "https://x.example/?a=b"]],
            environment: ["INITLAB_CACHE_DIR": "/ignored"])
        #expect(fromFlags.cacheDirectory == "/c")
        #expect(fromFlags.datasetMirrors == ["fashion-mnist=/f", "https://x.example/?a=b"])
        #expect(try ConfigurationSetting.resolve(flags: [:], environment: [:]).cacheDirectory == ".initlab-cache")
        #expect(throws: ConfigurationError.self) {
            try ConfigurationSetting.resolve(flags: ["dataset-mirror": ["mnsit=/a"]], environment: [:])
        }
        #expect(throws: ConfigurationError.self) {
            try ConfigurationSetting.resolve(flags: ["dataset-mirror": ["mnist="]], environment: [:])
        }
    }
}
