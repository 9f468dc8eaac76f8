import Foundation
import InitCore
import InitLabContract
import Synchronization

@testable import InitLabService

/// An engine for the visualization tests: the real spec validation and canonical form (`InitCoreEngine`), and a
/// run that takes `layerDelay` per layer step and returns a contract-shaped result whose std depends on the
/// initializer the way the lesson shows: Xavier with ReLU halves the variance per layer, Kaiming holds it,
/// plain `normal` explodes to inf within ~25 layers.
final class ContractEngine: ExperimentEngine {
    let real = InitCoreEngine(budget: ExperimentBudget())
    let layerDelay: Duration
    let runs = Atomic<Int>(0)

    init(layerDelay: Duration = .milliseconds(2)) { self.layerDelay = layerDelay }

    func prepare(_ body: JSONValue) throws(SpecProblems) -> PreparedSpec { try real.prepare(body) }
    func schemeCatalogJSON() -> Data { real.schemeCatalogJSON() }

    func run(
        canonicalSpec: Data, progress: @escaping @Sendable (EngineProgress) -> Void, isCancelled: @escaping @Sendable () -> Bool
    ) throws(RunFailure) -> Data {
        runs.add(1, ordering: .relaxed)
        guard let spec = try? JSONDecoder().decode(ExperimentSpec.self, from: canonicalSpec) else { throw .failed("bad spec") }
        let total = spec.depth * (spec.backward ? 2 : 1)
        for step in 1...total {
            Thread.sleep(forTimeInterval: Double(layerDelay.components.attoseconds) / 1e18 + Double(layerDelay.components.seconds))
            progress(EngineProgress(done: step, total: total))
            if isCancelled() { throw .cancelled }
        }
        let ratio: Double =
            switch spec.initializer.name {
            case "xavier_normal", "xavier_uniform": 0.7071
            case "normal": 30
            default: 1
            }
        let forward: [Double?] = (0..<spec.depth).map { i in
            let v = 0.8 * pow(ratio, Double(i) + Double(spec.seed % 3) * 0.01)
            return v.isFinite && v < 1e38 ? v : nil
        }
        let json = VizFixture.resultJSON(
            initName: spec.initializer.name, activation: spec.activation.name, width: spec.width, forwardStd: forward,
            backwardStd: spec.backward ? forward.map { $0.map { 1 / max($0, 1e-30) * 0.8 } } : nil,
            theoryStd: (0..<spec.depth).map { 0.8 * pow(ratio, Double($0)) }, bins: min(spec.histogramBins, 64))
        return Data(json.utf8)
    }
}

/// A started service with the contract engine and the visualization API over a temporary database.
final class VizHarness: Sendable {
    let database: TempDatabase
    let service: ExperimentService
    let viz: VisualizationAPI
    let server: InitLabServer

    init(layerDelay: Duration = .milliseconds(2), visualization: VisualizationConfiguration = VisualizationConfiguration(),
         _ edit: (inout ServiceConfiguration) -> Void = { _ in }) throws {
        database = try TempDatabase()
        let configuration = testConfiguration(edit)
        let stores = try TestStores(path: database.path)
        service = ExperimentService(
            configuration: configuration, store: stores.jobs,
            engine: ContractEngine(layerDelay: layerDelay), logger: quietLogger())
        server = InitLabServer(
            service: service, sweeps: stores.sweeps, visualization: visualization,
            logger: quietLogger())
        viz = server.visualization
        try service.start()
    }

    func stop() async {
        await service.shutdown()
        database.cleanup()
    }

    /// GETs through the visualization API (which must claim the path).
    func get(_ path: String, query: [(String, String)] = [], headers: [(String, String)] = []) async -> RoutedReply {
        await server.handle(.get(path, query: query, headers: headers))
    }

    func submit(_ spec: String) async throws -> String {
        let response = await server.handle(.post("/v1/experiments", json: spec))
        guard response.status == 202, let id = jsonObject(response.body)["id"] as? String else {
            throw VizTestFailure("submit gave \(response.status): \(String(decoding: response.body, as: UTF8.self))")
        }
        return id
    }

    func waitUntilTerminal(_ id: String, timeout: Duration = .seconds(20)) async -> String? {
        var status: String?
        _ = await eventually(timeout: timeout) {
            status = jsonObject(await self.server.handle(.get("/v1/experiments/\(id)")).body)["status"] as? String
            return ["succeeded", "failed", "cancelled"].contains(status ?? "")
        }
        return status
    }
}

struct VizTestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

func spec(init name: String = "kaiming_normal", activation: String = "relu", depth: Int = 10, width: Int = 16, backward: Bool = true, seed: Int = 0) -> String {
    #"{"depth": \#(depth), "width": \#(width), "batch": 8, "seed": \#(seed), "backward": \#(backward), "histogram_bins": 10, "init": "\#(name)", "activation": "\#(activation)"}"#
}
