import Foundation
import HTTPServer
import TestSupport
import Testing
import InitLabContract

@testable import InitLabService

@Suite(.offCooperativePool) struct APITests {
    @Test func submitAnswers202WithLocationRetryAfterAndTheJob() async throws {
        let h = try ServiceHarness(engine: ScriptedEngine(gated: true))
        let response = await h.submit("{\"depth\": 3}")
        #expect(response.status == 202)
        let body = jsonObject(response.body)
        let id = try #require(body["id"] as? String)
        #expect(response.header("Location") == "/v1/experiments/\(id)")
        #expect(response.header("Retry-After") != nil)
        #expect(response.header("Content-Type") == "application/json")
        #expect(body["status"] as? String == "queued" || body["status"] as? String == "running")
        #expect(body["attempt"] as? Int == 1)
        #expect((body["progress"] as? [String: Any])?["layers_total"] as? Int == 3)
        #expect((body["spec"] as? [String: Any])?["layer_ms"] as? Int == 0, "the canonical spec is echoed")
        #expect(body["created_at"] is String && body["finished_at"] == nil)
        h.engine.release()
        #expect(await h.waitForStatus(id, "succeeded"))
        let done = await h.job(id)
        #expect(done["result_url"] as? String == "/v1/experiments/\(id)/result")
        #expect(done["finished_at"] is String && done["started_at"] is String)
        let result = await h.server.handle(.get("/v1/experiments/\(id)/result"))
        #expect(result.status == 200 && jsonObject(result.body)["checksum"] as? Int == 93)
        await h.stop()
    }

    @Test func etagGives304AndRetryAfterWhileNotTerminal() async throws {
        let h = try ServiceHarness(engine: ScriptedEngine(gated: true))
        let id = try await h.submitID("{\"depth\": 2}")
        let first = await h.server.handle(.get("/v1/experiments/\(id)"))
        let etag = try #require(first.header("ETag"))
        #expect(first.header("Retry-After") != nil)
        let again = await h.server.handle(.get("/v1/experiments/\(id)", headers: [("If-None-Match", etag)]))
        if again.status == 304 {
            #expect(again.body.isEmpty && again.header("ETag") == etag)
        } else {
            // A worker claimed the job between the two reads: the tag changed.
            #expect(again.status == 200 && again.header("ETag") != etag)
        }
        h.engine.release()
        #expect(await h.waitForStatus(id, "succeeded"))
        let final = await h.server.handle(.get("/v1/experiments/\(id)"))
        #expect(final.header("Retry-After") == nil && final.header("ETag") != etag)
        let cached = await h.server.handle(.get("/v1/experiments/\(id)", headers: [("If-None-Match", "W/\(final.header("ETag") ?? "")")]))
        #expect(cached.status == 304, "weak comparison")
        await h.stop()
    }

    @Test func longPollReturnsEarlyOnChangeAndTimesOutOtherwise() async throws {
        let h = try ServiceHarness(engine: ScriptedEngine(gated: true))
        let id = try await h.submitID("{\"depth\": 2}")
        #expect(await h.waitForStatus(id, "running"))
        let current = await h.server.handle(.get("/v1/experiments/\(id)"))
        let etag = try #require(current.header("ETag"))

        // Nothing changes while the gate is closed: wait=1 times out with 304.
        let clock = ContinuousClock()
        let started = clock.now
        let idle = await h.server.handle(.get("/v1/experiments/\(id)", query: [("wait", "1")], headers: [("If-None-Match", etag)]))
        #expect(idle.status == 304)
        #expect(clock.now - started >= .milliseconds(900))

        // A change (cancel) wakes a 30 s long-poll at once.
        let poll = Task { await h.server.handle(.get("/v1/experiments/\(id)", query: [("wait", "30")], headers: [("If-None-Match", etag)])) }
        #expect(await eventually { h.service.notifier.waiterCount == 1 })
        let before = clock.now
        _ = await h.server.handle(HTTPRequest.make("POST", "/v1/experiments/\(id)/cancel"))
        let woken = await poll.value
        #expect(woken.status == 200 && jsonObject(woken.body)["status"] as? String == "cancelled")
        #expect(clock.now - before < .seconds(5))
        await h.stop()
    }

    @Test func cancelQueuedAtOnceAndRunningAtNextLayer() async throws {
        let h = try ServiceHarness(engine: ScriptedEngine(gated: true))
        let running = try await h.submitID("{\"depth\": 5}")
        #expect(await h.waitForStatus(running, "running"))
        let queued = try await h.submitID("{\"depth\": 5}")
        let cancelQueued = await h.server.handle(HTTPRequest.make("POST", "/v1/experiments/\(queued)/cancel"))
        #expect(cancelQueued.status == 200 && jsonObject(cancelQueued.body)["status"] as? String == "cancelled")

        let cancelRunning = await h.server.handle(HTTPRequest.make("POST", "/v1/experiments/\(running)/cancel"))
        #expect(cancelRunning.status == 200 && jsonObject(cancelRunning.body)["status"] as? String == "cancelled")
        #expect(await eventually { h.service.workers.busyWorkers == 0 }, "the worker stops at the next boundary")
        #expect(await h.status(running) == "cancelled", "terminal states never change")
        #expect(h.engine.runs.load(ordering: .relaxed) == 1, "a cancelled queued job never runs")

        let again = await h.server.handle(HTTPRequest.make("POST", "/v1/experiments/\(running)/cancel"))
        #expect(again.status == 200 && jsonObject(again.body)["status"] as? String == "cancelled")
        let result = await h.server.handle(.get("/v1/experiments/\(running)/result"))
        #expect(result.status == 409 && jsonObject(result.body)["code"] as? String == "cancelled")
        let unknown = await h.server.handle(HTTPRequest.make("POST", "/v1/experiments/\(UUID().uuidString.lowercased())/cancel"))
        #expect(unknown.status == 404)
        await h.stop()
    }

    @Test func resultIs409UntilFinishedAnd404ForUnknown() async throws {
        let h = try ServiceHarness(engine: ScriptedEngine(gated: true))
        let id = try await h.submitID("{\"depth\": 1}")
        let early = await h.server.handle(.get("/v1/experiments/\(id)/result"))
        #expect(early.status == 409 && early.header("Content-Type") == "application/problem+json")
        #expect(jsonObject(early.body)["code"] as? String == "not_finished" && early.header("Retry-After") != nil)
        #expect(await h.server.handle(.get("/v1/experiments/\(UUID().uuidString.lowercased())/result")).status == 404)
        #expect(await h.server.handle(.get("/v1/experiments/not-a-uuid")).status == 404)
        let failing = try await h.submitID("{\"depth\": 1, \"fail\": \"boom\"}")
        h.engine.release()
        #expect(await h.waitForStatus(failing, "failed"))
        #expect(await h.job(failing)["error"] as? String == "boom")
        let failed = await h.server.handle(.get("/v1/experiments/\(failing)/result"))
        #expect(failed.status == 409 && jsonObject(failed.body)["code"] as? String == "failed")
        await h.stop()
    }

    @Test func listPagesWithOpaqueTokens() async throws {
        let h = try ServiceHarness(start: false)
        var ids: [String] = []
        for _ in 0..<5 { ids.append(try await h.submitID("{\"depth\": 1}")) }
        var seen: [String] = []
        var token: String?
        var pages = 0
        repeat {
            var query = [("page_size", "2")]
            if let token { query.append(("page_token", token)) }
            let response = await h.server.handle(.get("/v1/experiments", query: query))
            #expect(response.status == 200)
            let body = jsonObject(response.body)
            seen += ((body["experiments"] as? [[String: Any]]) ?? []).compactMap { $0["id"] as? String }
            token = body["next_page_token"] as? String
            pages += 1
        } while token != nil && pages < 10
        #expect(pages == 3 && seen == ids.reversed())
        let filtered = await h.server.handle(.get("/v1/experiments", query: [("status", "succeeded")]))
        #expect(((jsonObject(filtered.body)["experiments"] as? [Any]) ?? [1]).isEmpty)
        #expect(jsonObject(filtered.body)["next_page_token"] == nil)

        for query in [[("page_size", "0")], [("page_size", "1001")], [("status", "done")], [("page_token", "garbage!")], [("sort", "x")]] {
            let bad = await h.server.handle(.get("/v1/experiments", query: query))
            #expect(bad.status == 400, "\(query)")
            #expect(bad.header("Content-Type") == "application/problem+json")
        }
        // A token is bound to its filter.
        let paged = await h.server.handle(.get("/v1/experiments", query: [("page_size", "1")]))
        let first = try #require(jsonObject(paged.body)["next_page_token"] as? String)
        #expect(await h.server.handle(.get("/v1/experiments", query: [("page_token", first), ("status", "queued")])).status == 400)
        // Forged tokens: the unsigned form a client could write by hand, a token with one tag byte changed,
        // and a token a server over another database issued are all 400, never a page.
        #expect(await h.server.handle(.get("/v1/experiments", query: [("page_token", first)])).status == 200)
        let unsigned = Data("v1:2:-".utf8).base64EncodedString().replacingOccurrences(of: "=", with: "")
        var tampered = Array(first)
        tampered[tampered.count - 2] = tampered[tampered.count - 2] == "A" ? "B" : "A"
        let other = try ServiceHarness(start: false)
        let foreign = PageToken(beforeSequence: 2, status: nil).encoded(key: try await other.service.pageTokenKey())
        for forged in [unsigned, String(tampered), foreign] {
            let response = await h.server.handle(.get("/v1/experiments", query: [("page_token", forged)]))
            #expect(response.status == 400, "\(forged)")
            #expect(jsonObject(response.body)["code"] as? String == "invalid_page_token")
        }
        await other.stop()
        await h.stop()
    }

    /// A keyed spec with `-0.0` where the first had `0` (and 1.0 where it had 1) is the same spec: the replay,
    /// not a 422 `idempotency_key_reused`. Through the real spec validation (`ContractEngine`).
    @Test func signedZeroIsTheSameSpecForIdempotency() async throws {
        let h = try VizHarness()
        defer { Task { await h.stop() } }
        let key = UUID().uuidString
        let first = await h.server.handle(.post(
            "/v1/experiments", json: #"{"depth": 2, "width": 4, "batch": 2, "init": {"name": "normal", "mean": 0, "std": 1}, "activation": "relu"}"#,
            headers: [("Idempotency-Key", key)]))
        #expect(first.status == 202)
        let again = await h.server.handle(.post(
            "/v1/experiments", json: #"{"depth": 2.0, "width": 4, "batch": 2, "init": {"name": "normal", "mean": -0.0, "std": 1.0}, "activation": "relu"}"#,
            headers: [("Idempotency-Key", key)]))
        #expect(again.status == 202, "\(String(decoding: again.body, as: UTF8.self))")
        #expect(again.header("Idempotent-Replayed") == "true" && again.header("Location") == first.header("Location"))
    }

    /// RFC 8259 strictly: a trailing comma or a duplicate key is a 400 naming the byte offset or the key, before
    /// any validation (the scripted engine would accept both specs).
    @Test func lenientJSONIsA400NamingThePositionOrTheKey() async throws {
        let h = try ServiceHarness(start: false)
        let trailing = await h.submit(#"{"depth": 3, "seed": 1, }"#)
        #expect(trailing.status == 400)
        let body = jsonObject(trailing.body)
        #expect(body["code"] as? String == "malformed_json")
        #expect(body["detail"] as? String == "The body is not valid JSON: trailing comma before '}' at byte 24.")
        let duplicate = await h.submit(#"{"depth": 3, "depth": 5}"#)
        #expect(duplicate.status == 400)
        let dup = jsonObject(duplicate.body)
        #expect(dup["detail"] as? String == "The body is not valid JSON: duplicate key \"depth\" in the object at the root at byte 13.")
        #expect((dup["errors"] as? [[String: String]]) == [["pointer": "/depth", "detail": "duplicate key"]])
        #expect(try await h.service.store.countsByStatus().values.reduce(0, +) == 0, "nothing stored")
    }

    @Test func idempotentReplaysAndConflicts() async throws {
        let h = try ServiceHarness(start: false)
        let key = UUID().uuidString
        let first = await h.submit("{\"depth\": 2}", headers: [("Idempotency-Key", key)])
        #expect(first.status == 202)
        // Same key (quoted, other case), same payload with other formatting: byte-identical replay.
        let replay = await h.submit("{ \"depth\" : 2 , \"seed\": 0}", headers: [("Idempotency-Key", "\"\(key.lowercased())\"")])
        #expect(replay.status == 202 && replay.body == first.body)
        #expect(replay.header("Idempotent-Replayed") == "true" && replay.header("Location") == first.header("Location"))
        // Same key, other payload: 422.
        let other = await h.submit("{\"depth\": 3}", headers: [("Idempotency-Key", key)])
        #expect(other.status == 422 && jsonObject(other.body)["code"] as? String == "idempotency_key_reused")
        // Malformed key: 400.
        #expect(await h.submit("{\"depth\": 2}", headers: [("Idempotency-Key", "abc")]).status == 400)

        // Concurrent first requests with one key: exactly one job; the others replay it or get 409.
        let concurrentKey = UUID().uuidString
        let responses = await withTaskGroup(of: RoutedReply.self) { group in
            for _ in 0..<8 { group.addTask { await h.submit("{\"depth\": 4}", headers: [("Idempotency-Key", concurrentKey)]) } }
            return await group.reduce(into: [RoutedReply]()) { $0.append($1) }
        }
        let accepted = responses.filter { $0.status == 202 }
        #expect(!accepted.isEmpty && accepted.allSatisfy { $0.body == accepted[0].body })
        #expect(responses.allSatisfy { $0.status == 202 || $0.status == 409 })
        let list = await h.server.handle(.get("/v1/experiments"))
        #expect(((jsonObject(list.body)["experiments"] as? [Any]) ?? []).count == 2)

        // Deterministic 409: hold the key as if its first request were still in flight.
        let held = UUID().uuidString.lowercased()
        h.service.inFlightKeys.withLock { _ = $0.insert(held) }
        let busy = await h.submit("{\"depth\": 2}", headers: [("Idempotency-Key", held)])
        #expect(busy.status == 409 && jsonObject(busy.body)["code"] as? String == "idempotency_key_in_use")
        await h.stop()
    }

    @Test func queueFullIs503WithRetryAfter() async throws {
        let h = try ServiceHarness(start: false) { $0.queueCapacity = 2 }
        _ = try await h.submitID("{\"depth\": 1}")
        _ = try await h.submitID("{\"depth\": 1}")
        let full = await h.submit("{\"depth\": 1}")
        #expect(full.status == 503 && full.header("Retry-After") != nil)
        #expect(jsonObject(full.body)["code"] as? String == "queue_full")
        await h.stop()
    }

    @Test func errorsAreProblems() async throws {
        let h = try ServiceHarness(start: false) { $0.maxBodyBytes = 1024 }
        func check(_ response: RoutedReply, _ status: Int, _ code: String) {
            #expect(response.status == status)
            #expect(response.header("Content-Type") == "application/problem+json")
            let body = jsonObject(response.body)
            #expect(body["status"] as? Int == status && body["code"] as? String == code)
            #expect(body["type"] is String && body["title"] is String && body["detail"] is String && body["instance"] is String)
        }
        check(await h.submit("{\"depth\": "), 400, "malformed_json")
        check(await h.submit(""), 400, "malformed_json")
        let invalid = await h.submit("{\"depth\": 0, \"colour\": 1}")
        check(invalid, 422, "invalid_spec")
        let pointers = ((jsonObject(invalid.body)["errors"] as? [[String: Any]]) ?? []).compactMap { $0["pointer"] as? String }
        #expect(Set(pointers) == ["/depth", "/colour"])
        check(await h.server.handle(HTTPRequest.make("POST", "/v1/experiments", headers: [("Content-Type", "text/plain")], body: Data("{}".utf8))), 415, "unsupported_media_type")
        check(await h.server.handle(HTTPRequest.make("POST", "/v1/experiments", body: Data("{}".utf8))), 415, "unsupported_media_type")
        check(await h.server.handle(.get("/v2/nothing")), 404, "not_found")
        let wrongMethod = await h.server.handle(HTTPRequest.make("DELETE", "/v1/experiments"))
        check(wrongMethod, 405, "method_not_allowed")
        #expect(wrongMethod.header("Allow") == "GET, HEAD, POST, OPTIONS")
        check(await h.server.handle(.get("/healthz", query: [("x", "1")])), 400, "unknown_parameter")
        check(await h.server.handle(.get("/v1/experiments/\(UUID().uuidString.lowercased())", query: [("wait", "61")])), 400, "invalid_parameter")
        await h.stop()
    }

    @Test func bearerTokenGuardsMutatingRequests() async throws {
        let token = "0123456789abcdef-token"
        let h = try ServiceHarness(start: false) { $0.token = token }
        let missing = await h.submit("{\"depth\": 1}")
        #expect(missing.status == 401 && missing.header("WWW-Authenticate") == "Bearer realm=\"initlab\"")
        let wrong = await h.submit("{\"depth\": 1}", headers: [("Authorization", "Bearer nope")])
        #expect(wrong.status == 401 && wrong.header("WWW-Authenticate")?.contains("invalid_token") == true)
        #expect(await h.submit("{\"depth\": 1}", headers: [("Authorization", "Bearer \(token)")]).status == 202)
        #expect(await h.server.handle(.get("/v1/experiments")).status == 200, "reads need no token")
        await h.stop()
    }

    @Test func operationsEndpoints() async throws {
        let h = try ServiceHarness(start: false)
        #expect(await h.server.handle(.get("/healthz")).status == 200)
        let notReady = await h.server.handle(.get("/readyz"))
        #expect(notReady.status == 503 && notReady.header("Retry-After") != nil)
        try h.service.start()
        #expect(await h.server.handle(.get("/readyz")).status == 200)
        let id = try await h.submitID("{\"depth\": 2}")
        #expect(await h.waitForStatus(id, "succeeded"))
        let metrics = await h.server.handle(.get("/metrics"))
        let text = String(decoding: metrics.body, as: UTF8.self)
        #expect(metrics.header("Content-Type") == "text/plain; version=0.0.4; charset=utf-8")
        let lines = Set(text.split(separator: "\n").map(String.init))
        for line in [
            "initlab_jobs{status=\"succeeded\"} 1.0", "initlab_jobs{status=\"queued\"} 0.0", "initlab_queue_depth 0.0",
            "initlab_job_run_seconds_count 1", "initlab_job_runs_total{outcome=\"succeeded\"} 1",
            "initlab_http_open_connections 0.0", "# TYPE initlab_http_open_connections gauge",
        ] {
            #expect(lines.contains(line), "\(line)")
        }
        let schemes = await h.server.handle(.get("/v1/schemes"))
        #expect(schemes.status == 200)
        await h.service.shutdown()
        #expect(await h.server.handle(.get("/readyz")).status == 503)
        await h.stop()
    }

    @Test func timeLimitFailsTheJob() async throws {
        let h = try ServiceHarness { $0.jobTimeout = .milliseconds(100) }
        let id = try await h.submitID("{\"depth\": 50, \"layer_ms\": 20}")
        #expect(await h.waitForStatus(id, "failed"))
        #expect((await h.job(id)["error"] as? String)?.hasPrefix("time limit") == true)
        await h.stop()
    }

    @Test func restartRecoveryRequeuesRunningJobsAndKeepsResults() async throws {
        let database = try TempDatabase()
        defer { database.cleanup() }
        // First life: one job finishes, one is left running (simulated crash: the store is dropped, not shut down).
        let done: String
        let interrupted: String
        do {
            let stores = try TestStores(path: database.path)
            let store = stores.jobs
            let engine = ScriptedEngine()
            let first = ExperimentService(configuration: testConfiguration(), store: store, engine: engine, logger: quietLogger())
            try first.start()
            let firstServer = InitLabServer(service: first, sweeps: stores.sweeps, logger: quietLogger())
            let idResponse = await firstServer.handle(.post("/v1/experiments", json: "{\"depth\": 2}"))
            done = try #require(jsonObject(idResponse.body)["id"] as? String)
            #expect(await eventually { jsonObject(await firstServer.handle(.get("/v1/experiments/\(done)")).body)["status"] as? String == "succeeded" })
            await first.shutdown()
            let outcome = try await store.submit(
                NewJob(id: UUID().uuidString.lowercased(), spec: Data("{\"depth\":1,\"layer_ms\":0,\"seed\":0}".utf8), layersTotal: 1, createdAt: Date()),
                idempotency: nil, queueCapacity: 10)
            guard case .created(let interruptedJob) = outcome else { throw TestFailure("submit gave \(outcome)") }
            _ = try store.claimNext(now: Date())
            interrupted = interruptedJob.id
        }
        let h = try ServiceHarness(start: false, database: database)
        let report = try h.service.start()
        #expect(report.requeued == [interrupted])
        #expect(await h.waitForStatus(interrupted, "succeeded"))
        #expect(await h.job(interrupted)["attempt"] as? Int == 2)
        let result = await h.server.handle(.get("/v1/experiments/\(done)/result"))
        #expect(result.status == 200, "results survive restarts")
        await h.stop(removeDatabase: false)
    }
}
