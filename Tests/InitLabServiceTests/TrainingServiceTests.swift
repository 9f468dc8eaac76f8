import Foundation
import HTTPServer
import InitCore
import InitLabContract
import Synchronization
import TestSupport
import Testing

@testable import InitLabService

/// A started service around a `HeldRealEngine`, driven through the real router in-process (the live-layer and
/// training tests). With `writeEveryProgress` (the default) every progress report is written (no write
/// interval), so a held run's stored progress is exactly the hold step.
final class HeldHarness: Sendable {
    let database: TempDatabase
    let service: ExperimentService
    let server: InitLabServer
    let engine: HeldRealEngine

    init(holdAt: Int = .max, cacheDirectory: String? = nil, writeEveryProgress: Bool = true) throws {
        database = try TempDatabase()
        let configuration = testConfiguration {
            if writeEveryProgress { $0.progressWriteInterval = .zero }
            if let cacheDirectory { $0.cacheDirectory = cacheDirectory }
        }
        let registry = DatasetRegistry(configuration: configuration, environment: [:], logger: quietLogger())
        engine = HeldRealEngine(
            real: InitCoreEngine(
                budget: configuration.budget, inputProvider: registry.inputProvider, trainingData: registry.trainingDataProvider),
            holdAt: holdAt)
        let stores = try TestStores(path: database.path)
        service = ExperimentService(
            configuration: configuration, store: stores.jobs, engine: engine, datasets: registry, logger: quietLogger())
        server = InitLabServer(service: service, sweeps: stores.sweeps, logger: quietLogger())
        try service.start()
    }

    func stop() async {
        engine.release()
        await service.shutdown()
        database.cleanup()
    }

    func submit(_ spec: String) async throws -> String {
        let response = await server.handle(.post("/v1/experiments", json: spec))
        guard response.status == 202, let id = jsonObject(response.body)["id"] as? String else {
            throw TestFailure("submit gave \(response.status): \(String(decoding: response.body, as: UTF8.self))")
        }
        return id
    }

    func job(_ id: String) async -> [String: Any] { jsonObject(await server.handle(.get("/v1/experiments/\(id)")).body) }

    func progress(_ id: String) async -> [String: Int] { (await job(id)["progress"] as? [String: Int]) ?? [:] }

    func status(_ id: String) async -> String? { await job(id)["status"] as? String }

    /// Streams in a task (cancel it to "disconnect"); frames go to the collector. A thrown error (other than the
    /// cancellation that "disconnects") lands in the collector, so a failing expectation shows it.
    func follow(_ id: String, lastEventID: Int? = nil, into collector: Collector) async throws -> Task<Void, Never> {
        let headers = lastEventID.map { [("Last-Event-ID", String($0))] } ?? []
        var visualization = VisualizationConfiguration()
        visualization.heartbeat = .milliseconds(50)
        let stream = try await service.eventStream(
            id: id, request: .get("/v1/experiments/\(id)/events", headers: headers), configuration: visualization)
        return Task {
            do { try await stream.run { collector.write($0) } } catch where !Task.isCancelled {
                collector.write(": stream error: \(error)\n")
            } catch {}
        }
    }
}

@Suite(.offCooperativePool) struct TrainingServiceTests {
    /// Depth 2, width 16, batch 16, the teacher task (no download), 30 steps.
    static func teacherSpec(extra: String = "") -> String {
        #"{"depth": 2, "width": 16, "batch": 16, "seed": 3, "init": "kaiming_normal", "activation": "relu", "train": {"dataset": "teacher", "steps": 30, "eval_every": 10, "stats_every": 10, "validation_size": 200\#(extra)}}"#
    }

    /// Submit, watch the run held at step 10 (progress in steps, the snapshot of step 0 and the evaluation after
    /// step 10 streamed live), release, and read the result: 30 training losses, 3 evaluations, 4 snapshots; the
    /// stream replays every evaluation and snapshot once, in order, then the init-time layers and `done`.
    @Test func teacherRunReportsStepsStreamsEvalsAndSnapshotsAndSucceeds() async throws {
        let h = try HeldHarness(holdAt: 10)
        defer { Task { await h.stop() } }
        let submitted = await h.server.handle(.post("/v1/experiments", json: Self.teacherSpec()))
        #expect(submitted.status == 202)
        let body = jsonObject(submitted.body)
        #expect(body["progress"] as? [String: Int] == ["steps_done": 0, "steps_total": 30])
        let echoed = try #require((body["spec"] as? [String: Any])?["train"] as? [String: Any])
        #expect(echoed["batch"] as? Int == 16 && (echoed["optimizer"] as? [String: Any])?["name"] as? String == "sgd")
        let id = try #require(body["id"] as? String)

        let collector = Collector()
        let live = try await h.follow(id, into: collector)
        #expect(await eventually { await h.progress(id) == ["steps_done": 10, "steps_total": 30] })
        #expect(await h.job(id)["status"] as? String == "running")
        #expect(await eventually { numbered(collector).filter { $0.id > 30 }.count >= 2 })
        let held = numbered(collector).filter { $0.id > 30 }
        #expect(held.map(\.id) == [31, 32] && held.map(\.event) == ["snapshot", "eval"], "\(held.map { ($0.id, $0.event) })")

        h.engine.release()
        await live.value
        let job = await h.job(id)
        #expect(job["status"] as? String == "succeeded")
        #expect(job["progress"] as? [String: Int] == ["steps_done": 30, "steps_total": 30])

        let reply = await h.server.handle(.get("/v1/experiments/\(id)/result"))
        #expect(reply.status == 200)
        let result = try JSONParser().parse(reply.body)
        let training = try #require(result["training"])
        #expect(training["steps"] == .integer(30))
        #expect(training["train_loss"]?.array?.count == 30 && training["learning_rate"]?.array?.count == 30)
        let evals = training["evals"]?.array ?? []
        #expect(evals.map { $0["step"] } == [.integer(10), .integer(20), .integer(30)])
        #expect((training["snapshots"]?.array ?? []).map { $0["step"] } == [.integer(0), .integer(10), .integer(20), .integer(29)])
        #expect(training["snapshots"]?.array?.first?["layers"]?.array?.count == 3, "two hidden layers and the classifier")
        // 30 steps from a start whose loss is above ln 10 do not reach a uniform guess (2.84 over the last 10 steps).
        #expect(training["summary"]?["verdict"]?.string == "not_learning")
        #expect(result["layers"]?.array?.count == 2)

        // The stream: evaluations and snapshots in the order the run made them (ids 31…37), the init-time layers
        // (38, 39), then done (40); ids strictly increase, and the live eval is the result's.
        let events = numbered(collector)
        let ids = events.map(\.id)
        #expect(ids == ids.sorted() && Set(ids).count == ids.count, "\(ids)")
        let after = events.filter { $0.id > 30 }
        #expect(after.map(\.id) == Array(31...40))
        #expect(after.map(\.event) == ["snapshot", "eval", "snapshot", "eval", "snapshot", "snapshot", "eval", "layer", "layer", "done"])
        let streamedEval = try JSONParser().parse(Data(after[1].data.utf8))
        #expect(streamedEval.serializedString == evals[0].serializedString)
        let statuses = parseSSE(collector.text.withLock { $0 }).filter { $0.event == "status" || $0.event == "progress" }
        #expect(!statuses.isEmpty && statuses.allSatisfy { $0.data.contains(#""steps_total":30"#) && !$0.data.contains("layers_") })

        // Resuming after the second evaluation (id 34) replays the rest, once.
        let resumed = Collector()
        try await h.follow(id, lastEventID: 34, into: resumed).value
        #expect(numbered(resumed).map(\.id) == Array(35...40))
    }

    /// The exports cover the curves: plot.svg?metric=loss draws the training loss of every step and the
    /// validation loss dashed, metric=accuracy the validation accuracy, result.csv?rows=steps has one row per
    /// step with exactly the result's numbers; an init-only experiment refuses both with a 409 naming the
    /// parameter.
    @Test func plotAndCSVCoverTheTrainingCurves() async throws {
        let h = try HeldHarness()
        defer { Task { await h.stop() } }
        let id = try await h.submit(Self.teacherSpec())
        #expect(await eventually { await h.job(id)["status"] as? String == "succeeded" })
        let result = try JSONParser().parse(await h.server.handle(.get("/v1/experiments/\(id)/result")).body)
        let trainLoss = (result["training"]?["train_loss"]?.array ?? []).map { $0.numberValue?.double }
        let evals = result["training"]?["evals"]?.array ?? []

        let loss = await h.server.handle(.get("/v1/experiments/\(id)/plot.svg", query: [("metric", "loss"), ("scale", "log")]))
        #expect(loss.status == 200)
        let doc = ParsedXML.parse(String(decoding: loss.body, as: UTF8.self))
        #expect(doc.error == nil)
        let paths = doc.all("path").filter { $0.attributes["data-kind"] != nil }
        #expect(paths.map { $0.attributes["data-kind"] } == ["measured", "validation"])
        #expect(paths.map { $0.attributes["data-series"] } == ["kaiming_normal · relu (training)", "kaiming_normal · relu (validation)"])
        // 30 steps: one move and 29 line segments; 3 evaluations.
        #expect(paths.map { ($0.attributes["d"] ?? "").filter { $0 == "L" }.count } == [29, 2])
        #expect(doc.all("text").contains { $0.text == "step" })

        let accuracy = await h.server.handle(.get("/v1/experiments/\(id)/plot.svg", query: [("metric", "accuracy")]))
        #expect(accuracy.status == 200)
        let accuracyPaths = ParsedXML.parse(String(decoding: accuracy.body, as: UTF8.self)).all("path").filter { $0.attributes["data-kind"] != nil }
        #expect(accuracyPaths.map { $0.attributes["data-series"] } == ["kaiming_normal · relu"])

        let csv = await h.server.handle(.get("/v1/experiments/\(id)/result.csv", query: [("rows", "steps")]))
        #expect(csv.status == 200)
        let rows = CSVExportTests.parse(String(decoding: csv.body, as: UTF8.self))
        #expect(rows.first == ["step", "train_loss", "learning_rate", "validation_loss", "validation_accuracy"])
        // Row k: the k-th mini-batch's loss (weights after k updates); row 30: the last evaluation only.
        #expect(rows.count == 32)
        #expect(rows.dropFirst().map { Int($0[0]) } == Array(0...30))
        #expect(rows.dropFirst().prefix(30).map { Double($0[1]) } == trainLoss)
        #expect(rows.last?[1] == "" && rows.last?[2] == "")
        let evaluated = rows.dropFirst().filter { !$0[4].isEmpty }
        #expect(evaluated.map { Int($0[0]) } == [10, 20, 30])
        #expect(evaluated.map { Double($0[4]) } == evals.map { $0["accuracy"]?.numberValue?.double })

        // An init-time experiment has no curves.
        let plain = try await h.submit(#"{"depth": 2, "width": 8, "batch": 4, "init": "kaiming_normal", "activation": "relu"}"#)
        #expect(await eventually { await h.job(plain)["status"] as? String == "succeeded" })
        let refused = await h.server.handle(.get("/v1/experiments/\(plain)/plot.svg", query: [("metric", "loss")]))
        #expect(refused.status == 409)
        #expect((jsonObject(refused.body)["errors"] as? [[String: Any]])?.first?["pointer"] as? String == "?metric")
        let refusedCSV = await h.server.handle(.get("/v1/experiments/\(plain)/result.csv", query: [("rows", "steps")]))
        #expect(refusedCSV.status == 409)
        #expect((jsonObject(refusedCSV.body)["errors"] as? [[String: Any]])?.first?["pointer"] as? String == "?rows")
        let bogus = await h.server.handle(.get("/v1/experiments/\(plain)/result.csv", query: [("rows", "columns")]))
        #expect(bogus.status == 400)
    }

    /// Sweeps run over training parameters: an init × lr grid gives one training run per combination, with
    /// the lr inside train.optimizer; the overlay draws every run's loss curves; a bad lr points into
    /// /vary/lr/<index>, and varying lr without a train block is refused.
    @Test func sweepsVaryTrainingParameters() async throws {
        let h = try HeldHarness()
        defer { Task { await h.stop() } }
        let body = #"{"base": \#(Self.teacherSpec()), "vary": {"init": ["kaiming_normal", "xavier_normal"], "lr": [0.05, 0.2]}}"#
        let created = await h.server.handle(.post("/v1/sweeps", json: body))
        #expect(created.status == 201, "\(String(decoding: created.body, as: UTF8.self))")
        let sweep = try JSONParser().parse(created.body)
        let sweepID = try #require(sweep["id"]?.string)
        let members = sweep["experiments"]?.array ?? []
        #expect(members.compactMap { $0["label"]?.string } == [
            "init=kaiming_normal, lr=0.05", "init=kaiming_normal, lr=0.2", "init=xavier_normal, lr=0.05", "init=xavier_normal, lr=0.2",
        ])
        var lrs: [Double] = []
        for member in members {
            let id = try #require(member["id"]?.string)
            #expect(await eventually { await h.job(id)["status"] as? String == "succeeded" })
            let spec = try JSONParser().parse(await h.server.handle(.get("/v1/experiments/\(id)")).body)["spec"]
            #expect(spec?["train"]?["optimizer"]?["name"]?.string == "sgd")
            lrs.append(spec?["train"]?["optimizer"]?["lr"]?.numberValue?.double ?? .nan)
        }
        #expect(lrs == [0.05, 0.2, 0.05, 0.2])
        let plot = await h.server.handle(.get("/v1/sweeps/\(sweepID)/plot.svg", query: [("metric", "loss")]))
        #expect(plot.status == 200)
        let kinds = ParsedXML.parse(String(decoding: plot.body, as: UTF8.self)).all("path").compactMap { $0.attributes["data-kind"] }
        #expect(kinds == Array(repeating: ["measured", "validation"], count: 4).flatMap { $0 })

        let badLR = #"{"base": \#(Self.teacherSpec()), "vary": {"lr": [0.1, -1]}}"#
        let refused = await h.server.handle(.post("/v1/sweeps", json: badLR))
        #expect(refused.status == 422)
        let pointers = (jsonObject(refused.body)["errors"] as? [[String: Any]] ?? []).compactMap { $0["pointer"] as? String }
        #expect(pointers == ["/vary/lr/1"], "\(String(decoding: refused.body, as: UTF8.self))")
        let noTrain = #"{"base": {"depth": 2, "width": 8, "batch": 4, "init": "kaiming_normal", "activation": "relu"}, "vary": {"lr": [0.1]}}"#
        let refusedNoTrain = await h.server.handle(.post("/v1/sweeps", json: noTrain))
        #expect(refusedNoTrain.status == 422)
        #expect((jsonObject(refusedNoTrain.body)["errors"] as? [[String: Any]])?.first?["pointer"] as? String == "/vary/lr")
    }

    /// A bad train field is a 422 naming its pointer and the limit; nothing is stored.
    @Test(arguments: [
        (#", "optimizer": {"name": "sgd", "lr": 0}"#, "/train/optimizer/lr", "must be a finite number > 0, got 0"),
        (#", "targets": [0.5, 2]"#, "/train/targets/1", "must be a number 0 < x ≤ 1, got 2"),
        (#", "schedule": {"name": "one_cycle", "warmup_steps": 3}"#, "/train/schedule/warmup_steps",
         "unknown key; allowed keys of one_cycle: div, final_div, name, pct_start"),
    ])
    func badTrainFieldIs422(extra: String, pointer: String, detail: String) async throws {
        let h = try HeldHarness()
        defer { Task { await h.stop() } }
        let reply = await h.server.handle(.post("/v1/experiments", json: Self.teacherSpec(extra: extra)))
        #expect(reply.status == 422 && reply.header("Content-Type") == "application/problem+json")
        let problem = jsonObject(reply.body)
        #expect(problem["code"] as? String == "invalid_spec")
        #expect(problem["errors"] as? [[String: String]] == [["pointer": pointer, "detail": detail]])
        let list = jsonObject(await h.server.handle(.get("/v1/experiments")).body)
        #expect((list["experiments"] as? [Any])?.isEmpty == true)
    }

    /// Training on a dataset needs it in the cache before the submit, like a dataset input: 409 with the fetch link.
    @Test func datasetNotCachedIs409() async throws {
        let h = try HeldHarness()
        defer { Task { await h.stop() } }
        let spec = #"{"depth": 2, "width": 16, "batch": 16, "init": "kaiming_normal", "activation": "relu", "train": {"dataset": "fashion-mnist", "steps": 10}}"#
        let reply = await h.server.handle(.post("/v1/experiments", json: spec))
        #expect(reply.status == 409)
        let problem = jsonObject(reply.body)
        #expect(problem["code"] as? String == "dataset_not_cached")
        #expect((problem["links"] as? [String: String])?["fetch"] == "/v1/datasets/fashion-mnist/fetch")
    }

    /// Cancel while the run is held after step 5: it stops before step 6, and its progress stays at 5 steps.
    @Test func cancelTakesEffectBetweenSteps() async throws {
        let h = try HeldHarness(holdAt: 5)
        defer { Task { await h.stop() } }
        let id = try await h.submit(Self.teacherSpec())
        #expect(await eventually { await h.progress(id) == ["steps_done": 5, "steps_total": 30] })
        let cancel = await h.server.handle(HTTPRequest.make("POST", "/v1/experiments/\(id)/cancel"))
        #expect(cancel.status == 200)
        #expect(await eventually { h.service.workers.busyWorkers == 0 })
        let job = await h.job(id)
        #expect(job["status"] as? String == "cancelled")
        #expect(job["progress"] as? [String: Int] == ["steps_done": 5, "steps_total": 30])
        #expect(await h.server.handle(.get("/v1/experiments/\(id)/result")).status == 409)
    }

    /// Fashion-MNIST (Debian's package, through the shared test cache): the registry's training-data provider
    /// loads both splits, and a short run succeeds with a validation accuracy per evaluation.
    @Test func fashionMNISTRunThroughTheRegistry() async throws {
        let h = try HeldHarness(cacheDirectory: try FashionFixture.cacheDirectory())
        defer { Task { await h.stop() } }
        let spec = #"{"depth": 2, "width": 32, "batch": 32, "seed": 1, "init": "kaiming_normal", "activation": "relu", "train": {"dataset": "fashion-mnist", "steps": 40, "optimizer": {"name": "sgd", "lr": 0.05}, "eval_every": 20, "stats_every": 40, "validation_size": 500}}"#
        let id = try await h.submit(spec)
        let succeeded = await eventually(timeout: .seconds(60)) { await h.job(id)["status"] as? String == "succeeded" }
        let job = await h.job(id)
        #expect(succeeded, "\(job)")
        let result = try JSONParser().parse(await h.server.handle(.get("/v1/experiments/\(id)/result")).body)
        let evals = result["training"]?["evals"]?.array ?? []
        #expect(evals.map { $0["step"] } == [.integer(20), .integer(40)])
        #expect(evals.allSatisfy { ($0["accuracy"]?.numberValue?.double ?? -1) >= 0 })
        #expect(result["spec"]?["input_width"] == .integer(784))
        #expect(result["layers"]?.array?.first?["fan_in"] == .integer(784))
    }
}
