import Foundation

@testable import InitLabService

/// A started service over a temporary database, driven through the real router in-process (no sockets).
final class ServiceHarness: Sendable {
    let database: TempDatabase
    let service: ExperimentService
    let server: InitLabServer
    let engine: ScriptedEngine

    init(engine: ScriptedEngine = ScriptedEngine(), start: Bool = true, database: TempDatabase? = nil,
        _ edit: (inout ServiceConfiguration) -> Void = { _ in }) throws {
        self.database = try database ?? TempDatabase()
        self.engine = engine
        let configuration = testConfiguration(edit)
        let stores = try TestStores(path: self.database.path)
        service = ExperimentService(configuration: configuration, store: stores.jobs, engine: engine, logger: quietLogger())
        server = InitLabServer(service: service, sweeps: stores.sweeps, logger: quietLogger())
        if start { try service.start() }
    }

    func stop(removeDatabase: Bool = true) async {
        await service.shutdown()
        if removeDatabase { database.cleanup() }
    }

    func submit(_ json: String, headers: [(String, String)] = []) async -> RoutedReply {
        await server.handle(.post("/v1/experiments", json: json, headers: headers))
    }

    /// Submits and returns the new job's id (expects 202).
    func submitID(_ json: String) async throws -> String {
        let response = await submit(json)
        guard response.status == 202, let id = jsonObject(response.body)["id"] as? String else {
            throw TestFailure("submit gave \(response.status): \(String(decoding: response.body, as: UTF8.self))")
        }
        return id
    }

    func job(_ id: String) async -> [String: Any] {
        jsonObject(await server.handle(.get("/v1/experiments/\(id)")).body)
    }

    func status(_ id: String) async -> String? { await job(id)["status"] as? String }

    func waitForStatus(_ id: String, _ status: String, timeout: Duration = .seconds(10)) async -> Bool {
        await eventually(timeout: timeout) { await self.status(id) == status }
    }
}
