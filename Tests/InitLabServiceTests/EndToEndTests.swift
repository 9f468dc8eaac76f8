import Foundation
import TestSupport
import Testing

@testable import InitLabService

/// The service started in-process on 127.0.0.1, port 0, with a temporary database, driven over real sockets.
@Suite(.offCooperativePool) struct EndToEndTests {
    final class Running: Sendable {
        let server: InitLabServer
        let client: LoopbackClient
        let database: TempDatabase

        init(engine: any ExperimentEngine = ScriptedEngine(), database: TempDatabase? = nil,
            _ edit: (inout ServiceConfiguration) -> Void = { _ in }) throws {
            self.database = try database ?? TempDatabase()
            let configuration = testConfiguration(edit)
            let stores = try TestStores(path: self.database.path)
            let service = ExperimentService(
                configuration: configuration, store: stores.jobs, engine: engine, logger: quietLogger())
            server = InitLabServer(service: service, sweeps: stores.sweeps, logger: quietLogger())
            client = LoopbackClient(port: try server.start())
        }

        func stop(removeDatabase: Bool = true) async {
            await server.shutdown()
            if removeDatabase { database.cleanup() }
        }

        func waitForStatus(_ id: String, _ status: String) async -> Bool {
            await eventually { (try? await self.client.get("/v1/experiments/\(id)").json["status"] as? String) == status }
        }
    }

    @Test func submitPollLongPollAndResult() async throws {
        let engine = ScriptedEngine(gated: true)
        let s = try Running(engine: engine)
        let created = try await s.client.post("/v1/experiments", json: "{\"depth\": 4, \"layer_ms\": 5}")
        #expect(created.status == 202)
        let location = try #require(created.header("Location"))
        #expect(created.header("Retry-After") != nil && created.header("ETag") != nil)

        // Held at its first layer once running: nothing changes until the gate opens.
        let id = try #require(created.json["id"] as? String)
        #expect(await s.waitForStatus(id, "running"))
        let polled = try await s.client.get(location)
        #expect(polled.status == 200)
        let etag = try #require(polled.header("ETag"))
        let notModified = try await s.client.get(location, headers: [("If-None-Match", etag)])
        // The gated engine has not moved: the tag still matches, so 304 with no body.
        #expect(notModified.status == 304)
        #expect(notModified.body.isEmpty)
        #expect(notModified.header("ETag") == etag)

        // Long-poll with the current tag; releasing the gate produces progress, which ends the wait early.
        let current = try #require(try await s.client.get(location).header("ETag"))
        let clock = ContinuousClock()
        let start = clock.now
        async let woken = s.client.get(location + "?wait=20", headers: [("If-None-Match", current)])
        await s.server.service.notifier.parked(atLeast: 1)
        engine.release()
        let changed = try await woken
        #expect(changed.status == 200 && changed.header("ETag") != current)
        #expect(clock.now - start < .seconds(10))

        #expect(await s.waitForStatus(id, "succeeded"))
        let result = try await s.client.get(location + "/result")
        #expect(result.status == 200 && result.header("Content-Type") == "application/json")
        #expect(result.json["depth"] as? Int == 4)
        await s.stop()
    }

    @Test func cancelQueuedAndRunningOverHTTP() async throws {
        let engine = ScriptedEngine(gated: true)
        let s = try Running(engine: engine)
        let running = try #require(try await s.client.post("/v1/experiments", json: "{\"depth\": 3}").json["id"] as? String)
        #expect(await s.waitForStatus(running, "running"))
        let queued = try #require(try await s.client.post("/v1/experiments", json: "{\"depth\": 3}").json["id"] as? String)
        let q = try await s.client.send("POST", "/v1/experiments/\(queued)/cancel")
        #expect(q.status == 200 && q.json["status"] as? String == "cancelled")
        let r = try await s.client.send("POST", "/v1/experiments/\(running)/cancel")
        #expect(r.status == 200 && r.json["status"] as? String == "cancelled")
        #expect(await eventually { s.server.service.workers.busyWorkers == 0 })
        #expect(try await s.client.get("/v1/experiments/\(running)").json["status"] as? String == "cancelled")
        await s.stop()
    }

    @Test func listPagesIdempotencyAndQueueFull() async throws {
        let s = try Running(engine: ScriptedEngine(gated: true)) { $0.queueCapacity = 3 }
        let key = UUID().uuidString
        let first = try await s.client.post("/v1/experiments", json: "{\"depth\": 1}", headers: [("Idempotency-Key", "\"\(key)\"")])
        let replay = try await s.client.post("/v1/experiments", json: "{\"depth\":1}", headers: [("Idempotency-Key", key)])
        #expect(first.status == 202 && replay.status == 202 && replay.body == first.body)
        // A replay is the same response: every header but the request id and the replay marker, in order
        // (ETag, Cache-Control, Retry-After: 2 and Location included), even once the job has been claimed.
        func comparable(_ r: LoopbackClient.Response) -> [String] {
            r.headers.filter { !["x-request-id", "idempotent-replayed"].contains($0.0.lowercased()) }.map { "\($0.0): \($0.1)" }
        }
        #expect(comparable(replay) == comparable(first))
        #expect(first.header("Retry-After") == "2" && first.header("ETag") != nil)
        #expect(replay.header("Idempotent-Replayed") == "true" && first.header("Idempotent-Replayed") == nil)
        let mismatch = try await s.client.post("/v1/experiments", json: "{\"depth\": 2}", headers: [("Idempotency-Key", key)])
        #expect(mismatch.status == 422)
        // One job may be running (claimed), so fill until 503.
        var statuses: [Int] = []
        for _ in 0..<5 { statuses.append(try await s.client.post("/v1/experiments", json: "{\"depth\": 1}").status) }
        #expect(statuses.contains(503) && statuses.allSatisfy { $0 == 202 || $0 == 503 })
        let full = try await s.client.post("/v1/experiments", json: "{\"depth\": 1}")
        #expect(full.status == 503 && full.header("Retry-After") != nil && full.header("Content-Type") == "application/problem+json")

        let page1 = try await s.client.get("/v1/experiments?page_size=2")
        let token = try #require(page1.json["next_page_token"] as? String)
        let page2 = try await s.client.get("/v1/experiments?page_size=2&page_token=\(token)")
        #expect(page2.status == 200)
        let ids1 = ((page1.json["experiments"] as? [[String: Any]]) ?? []).compactMap { $0["id"] as? String }
        let ids2 = ((page2.json["experiments"] as? [[String: Any]]) ?? []).compactMap { $0["id"] as? String }
        #expect(ids1.count == 2 && !ids2.isEmpty && Set(ids1).isDisjoint(with: ids2))
        #expect(try await s.client.get("/v1/experiments?colour=red").status == 400)
        await s.stop()
    }

    @Test func realEngineRejectsBadSpecsWithPointers() async throws {
        let s = try Running(engine: InitCoreEngine(budget: ExperimentBudget())) { $0.maxBodyBytes = 2048 }
        let invalid = try await s.client.post(
            "/v1/experiments", json: "{\"depth\": 0, \"width\": 8, \"batch\": 4, \"init\": {\"name\": \"kaiming_normal\", \"mode\": \"sideways\"}, \"activation\": \"relu\"}")
        #expect(invalid.status == 422 && invalid.header("Content-Type") == "application/problem+json")
        let pointers = ((invalid.json["errors"] as? [[String: Any]]) ?? []).compactMap { $0["pointer"] as? String }
        #expect(pointers.contains("/depth") && pointers.contains("/init/mode"), "\(pointers)")

        let unknownKey = try await s.client.post("/v1/experiments", json: "{\"depth\": 2, \"width\": 8, \"batch\": 4, \"init\": \"xavier_normal\", \"activation\": \"tanh\", \"colour\": 1}")
        #expect(unknownKey.status == 422)
        let typeError = try await s.client.post("/v1/experiments", json: "{\"depth\": \"deep\", \"width\": 8, \"batch\": 4, \"init\": \"xavier_normal\", \"activation\": \"tanh\"}")
        #expect(typeError.status == 422)
        #expect(((typeError.json["errors"] as? [[String: Any]]) ?? []).first?["pointer"] as? String == "/depth")

        let overBudget = try await s.client.post("/v1/experiments", json: "{\"depth\": 10000, \"width\": 4096, \"batch\": 4096, \"init\": \"kaiming_normal\", \"activation\": \"relu\"}")
        #expect(overBudget.status == 422)
        let detail = ((overBudget.json["errors"] as? [[String: Any]]) ?? []).compactMap { $0["detail"] as? String }.joined()
        #expect(detail.contains("budget"), "\(detail)")

        #expect(try await s.client.post("/v1/experiments", json: "{not json").status == 400)
        let big = try await s.client.post("/v1/experiments", json: "{\"depth\": 1, \"pad\": \"\(String(repeating: "x", count: 4096))\"}")
        #expect(big.status == 413)
        let textPlain = try await s.client.send("POST", "/v1/experiments", headers: [("Content-Type", "text/plain")], body: Data("{}".utf8))
        #expect(textPlain.status == 415)
        let schemes = try await s.client.get("/v1/schemes")
        #expect(schemes.status == 200 && !((schemes.json["initializers"] as? [Any]) ?? []).isEmpty)
        await s.stop()
    }

    @Test func restartRecoveryOverHTTP() async throws {
        let database = try TempDatabase()
        defer { database.cleanup() }
        let first = try Running(engine: ScriptedEngine(), database: database)
        let done = try #require(try await first.client.post("/v1/experiments", json: "{\"depth\": 2}").json["id"] as? String)
        #expect(await first.waitForStatus(done, "succeeded"))
        await first.stop(removeDatabase: false)
        // A job that a crash left running: claim it directly, as a worker that then died would have.
        let store = try TestStores(path: database.path).jobs
        guard case .created(let stranded) = try await store.submit(
            NewJob(id: UUID().uuidString.lowercased(), spec: Data("{\"depth\":2,\"layer_ms\":0,\"seed\":0}".utf8), layersTotal: 2, createdAt: Date()),
            idempotency: nil, queueCapacity: 10)
        else { throw TestFailure("submit failed") }
        _ = try store.claimNext(now: Date())

        let second = try Running(engine: ScriptedEngine(), database: database)
        #expect(await second.waitForStatus(stranded.id, "succeeded"))
        #expect(try await second.client.get("/v1/experiments/\(stranded.id)").json["attempt"] as? Int == 2)
        #expect(try await second.client.get("/v1/experiments/\(done)/result").status == 200)
        #expect(try await second.client.get("/readyz").status == 200)
        let metrics = String(decoding: try await second.client.get("/metrics").body, as: UTF8.self)
        #expect(metrics.contains("initlab_http_requests_total{method=\"GET\",route=\"/readyz\",status=\"200\"} 1"))
        await second.stop(removeDatabase: false)
    }

    @Test func bearerTokenOverHTTP() async throws {
        let token = "e2e-token-0123456789"
        let s = try Running { $0.token = token }
        let denied = try await s.client.post("/v1/experiments", json: "{\"depth\": 1}")
        #expect(denied.status == 401 && denied.header("WWW-Authenticate")?.hasPrefix("Bearer") == true)
        let allowed = try await s.client.post("/v1/experiments", json: "{\"depth\": 1}", headers: [("Authorization", "Bearer \(token)")])
        #expect(allowed.status == 202)
        await s.stop()
    }

    /// Errors the HTTP layer answers (here 413, decided from Content-Length before the body is read) are
    /// rendered by the same renderer as the service's: the contract's members, the service's type URNs.
    @Test func httpLayerErrorsFollowTheContract() async throws {
        let s = try Running { $0.maxBodyBytes = 1024 }
        let big = try await s.client.post("/v1/experiments", json: "{\"depth\": 1, \"pad\": \"\(String(repeating: "x", count: 2000))\"}")
        #expect(big.status == 413)
        #expect(big.header("Content-Type") == "application/problem+json")
        let body = big.json
        #expect(body["type"] as? String == "urn:initlab:problem:body_too_large")
        #expect(body["status"] as? Int == 413 && body["instance"] as? String == "/v1/experiments")
        #expect(body["request_id"] as? String == big.header("X-Request-Id"))
        #expect((body["detail"] as? String)?.isEmpty == false && body["title"] is String)

        let notFound = try await s.client.get("/nope")
        #expect(notFound.json["type"] as? String == "urn:initlab:problem:not_found")
        #expect(notFound.json["request_id"] as? String == notFound.header("X-Request-Id"))

        // Metrics count what the server answered, routed or not, through the completion hook.
        let created = try await s.client.post("/v1/experiments", json: "{\"depth\": 1}")
        #expect(created.status == 202)
        let metrics = String(decoding: try await s.client.get("/metrics").body, as: UTF8.self)
        #expect(metrics.contains("initlab_http_requests_total{method=\"POST\",route=\"/v1/experiments\",status=\"202\"} 1"))
        // Answered before routing: the method is known from the head, the route is not.
        #expect(metrics.contains("initlab_http_requests_total{method=\"POST\",route=\"unmatched\",status=\"413\"} 1"))
        #expect(metrics.contains("initlab_http_requests_total{method=\"GET\",route=\"unmatched\",status=\"404\"} 1"))
        await s.stop()
    }
}
