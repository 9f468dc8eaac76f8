import Foundation
import Datasets
import HTTPServer
import InitLabContract
import Logging

extension ExperimentService {
    /// `/v1/experiments…` and `/v1/schemes`.
    func registerExperimentRoutes(open: RouteGroup, changing: RouteGroup) {
        changing.post("/v1/experiments") { @Sendable [self] request, _ in
            _ = try request.queryParameters(allowed: [])
            return try await submit(request)
        }
        open.get("/v1/experiments") { @Sendable [self] request, _ in
            try await list(request.queryParameters(allowed: ["status", "page_size", "page_token"]))
        }
        open.get("/v1/experiments/{id}") { @Sendable [self] request, context in
            try await getJob(request, id: context.parameters["id"] ?? "", query: request.queryParameters(allowed: ["wait"]))
        }
        open.get("/v1/experiments/{id}/result") { @Sendable [self] request, context in
            _ = try request.queryParameters(allowed: [])
            return try await result(id: context.parameters["id"] ?? "")
        }
        changing.post("/v1/experiments/{id}/cancel") { @Sendable [self] request, context in
            _ = try request.queryParameters(allowed: [])
            return try await cancel(id: context.parameters["id"] ?? "")
        }
        open.get("/v1/schemes") { @Sendable [self] request, _ in
            _ = try request.queryParameters(allowed: [])
            return .json(200, engine.schemeCatalogJSON(), headers: [("Cache-Control", "max-age=3600")])
        }
    }

    /// `/healthz`, `/readyz`, `/metrics`, `/openapi.yaml`.
    func registerOperationRoutes(_ open: RouteGroup) {
        open.get("/healthz") { @Sendable request, _ in
            _ = try request.queryParameters(allowed: [])
            return .json(200, Data("{\"status\":\"ok\"}".utf8))
        }
        open.get("/readyz") { @Sendable [self] request, _ in
            _ = try request.queryParameters(allowed: [])
            return try await readiness()
        }
        open.get("/metrics") { @Sendable [self] request, _ in
            _ = try request.queryParameters(allowed: [])
            return try await metricsResponse()
        }
        open.get("/openapi.yaml") { @Sendable request, _ in
            _ = try request.queryParameters(allowed: [])
            return HTTPResponse(
                status: .ok, headers: ["Content-Type": "application/yaml"], body: .bytes(OpenAPIDocument.bytes))
        }
    }

    private func jobNotFound(_ id: String) -> Problem {
        Problem.notFound("No experiment with id '\(id)' (unknown, or pruned after the retention period).")
    }

    /// Ids are lowercase UUIDs; anything else cannot exist.
    private func validID(_ id: String) -> Bool {
        id.count == 36 && UUID(uuidString: id) != nil && id == id.lowercased()
    }

    private func retryAfter(_ job: JobRecord) -> [(String, String)] {
        job.status.isTerminal ? [] : [("Retry-After", job.status == .queued ? "2" : "1")]
    }

    private func jobResponse(_ status: Int, _ job: JobRecord, extra: [(String, String)] = []) -> HTTPResponse {
        .json(
            status, JobRepresentation.json(job),
            headers: [("ETag", JobRepresentation.etag(job)), ("Cache-Control", "no-cache")] + retryAfter(job)
                + extra)
    }

    // MARK: - POST /v1/experiments

    /// The guard middleware has already refused non-JSON bodies and foreign origins, the server bodies over
    /// the limit (413 before reading them).
    private func submit(_ request: HTTPRequest) async throws -> HTTPResponse {
        var key: String?
        if let raw = try request.singletonHeader("Idempotency-Key") {
            guard let parsed = IdempotencyKey.parse(raw) else {
                throw Problem.badRequest(
                    "invalid_idempotency_key", "Idempotency-Key must be a UUID, bare or quoted.")
            }
            key = parsed
        }
        if let key {
            let reserved = inFlightKeys.withLock { $0.insert(key).inserted }
            guard reserved else {
                throw Problem(
                    status: 409, code: "idempotency_key_in_use", title: "Conflict",
                    detail: "A request with this Idempotency-Key is still being handled; retry shortly.",
                    headers: [("Retry-After", "1")])
            }
        }
        defer { if let key { _ = inFlightKeys.withLock { $0.remove(key) } } }
        let prepared = try prepareSpec(request.body)
        switch try await createJob(prepared, key: key) {
        case .created(let job):
            return jobResponse(202, job, extra: [("Location", "/v1/experiments/\(job.id)")])
        case .replayed(let job):
            return jobResponse(202, job, extra: [("Location", "/v1/experiments/\(job.id)"), ("Idempotent-Replayed", "true")])
        }
    }

    /// What `createJob` did: stored a new job, or found the one an idempotency key stored before (in its
    /// creation-time state, so `submit` renders the replay exactly as the first answer: same body, ETag,
    /// Cache-Control and Retry-After).
    enum Submission: Sendable {
        case created(JobRecord)
        case replayed(JobRecord)
    }

    /// The one parse and validation of a POSTed spec: bytes → strict JSON (`JSONParser`; else 400 naming the
    /// byte offset or the duplicate key) → decoded and validated spec (the engine; else 422 with pointers).
    func prepareSpec(_ body: [UInt8]) throws -> PreparedSpec {
        let json: JSONValue
        do {
            json = try JSONParser().parse(body)
        } catch {
            throw Problem.malformedJSON(error)
        }
        do {
            return try engine.prepare(json)
        } catch {
            throw Problem.invalidSpec(error)
        }
    }

    /// Stores and queues one prepared spec (the POST route's and every sweep member's one way in; both prepared
    /// it with `prepareSpec` or `engine.prepare`, so it is not parsed or validated again here).
    func createJob(_ prepared: PreparedSpec, key: String?) async throws -> Submission {
        if let dataset = prepared.dataset { try await checkDatasetInput(dataset) }
        let job = NewJob(
            id: UUID().uuidString.lowercased(), spec: prepared.canonicalJSON, layersTotal: prepared.layersTotal,
            createdAt: Date())
        let idempotency = key.map { (key: $0, fingerprint: HexDigest.sha256(prepared.canonicalJSON)) }
        let outcome = try await store.submit(job, idempotency: idempotency, queueCapacity: configuration.queueCapacity)
        switch outcome {
        case .created(let created):
            workers.wake()
            notifier.notify(created.id)
            return .created(created)
        case .replayed(let original):
            return .replayed(original)
        case .keyReused:
            throw Problem(
                status: 422, code: "idempotency_key_reused", title: "Idempotency-Key reused",
                detail: "This Idempotency-Key was used with a different spec; use a new key for a new experiment.")
        case .queueFull(let queued, let capacity):
            throw Problem(
                status: 503, code: "queue_full", title: "Queue full",
                detail: "\(queued) experiments are queued (capacity \(capacity)); retry later.",
                headers: [("Retry-After", "30")])
        }
    }

    // MARK: - GET /v1/experiments

    private func list(_ query: [String: String]) async throws -> HTTPResponse {
        var status: JobStatus?
        if let raw = query["status"] {
            guard let parsed = JobStatus(rawValue: raw) else {
                throw Problem.badRequest(
                    "invalid_parameter",
                    "status must be one of \(JobStatus.allCases.map(\.rawValue).joined(separator: ", ")).")
            }
            status = parsed
        }
        var pageSize = 50
        if let raw = query["page_size"] {
            guard let parsed = Int(raw), (1...1000).contains(parsed) else {
                throw Problem.badRequest("invalid_parameter", "page_size must be an integer 1...1000.")
            }
            pageSize = parsed
        }
        var before: Int64?
        let key = try await pageTokenKey()
        if let raw = query["page_token"], !raw.isEmpty {
            guard let token = PageToken(encoded: raw, key: key), token.status == status else {
                throw Problem.badRequest(
                    "invalid_page_token",
                    "page_token is not one this server issued for these filters; start again without it.")
            }
            before = token.beforeSequence
        }
        let jobs = try await store.list(status: status, beforeSequence: before, limit: pageSize + 1)
        let page = jobs.prefix(pageSize)
        var body = Data("{\"experiments\":[".utf8)
        for (index, job) in page.enumerated() {
            if index > 0 { body.append(UInt8(ascii: ",")) }
            body.append(JobRepresentation.json(job))
        }
        body.append(UInt8(ascii: "]"))
        if jobs.count > pageSize, let last = page.last {
            let token = PageToken(beforeSequence: last.sequence, status: status).encoded(key: key)
            body.append(contentsOf: Array(",\"next_page_token\":\"\(token)\"".utf8))
        }
        body.append(UInt8(ascii: "}"))
        return .json(200, body, headers: [("Cache-Control", "no-cache")])
    }

    // MARK: - GET /v1/experiments/{id}

    private func getJob(_ request: HTTPRequest, id: String, query: [String: String]) async throws -> HTTPResponse {
        var wait = 0
        if let raw = query["wait"] {
            guard let parsed = Int(raw), (0...configuration.maxWaitSeconds).contains(parsed) else {
                throw Problem.badRequest(
                    "invalid_parameter", "wait must be an integer 0...\(configuration.maxWaitSeconds) (seconds).")
            }
            wait = parsed
        }
        guard validID(id) else { throw jobNotFound(id) }
        let ifNoneMatch = request.headers["If-None-Match"]
        var generation = notifier.generation(of: id)
        guard var job = try await store.job(id: id) else { throw jobNotFound(id) }

        // Long-poll: wait for the ETag to stop matching If-None-Match (or, without it, for any change).
        if wait > 0, !job.status.isTerminal,
            ifNoneMatch == nil || EntityTag.matches(ifNoneMatch: ifNoneMatch, etag: JobRepresentation.etag(job))
        {
            let initialVersion = job.version
            let deadline = ContinuousClock.now.advanced(by: .seconds(wait))
            while ContinuousClock.now < deadline, !Task.isCancelled {
                // On a shared store a change may come from another node: its notification normally wakes this
                // wait, and a re-read every second covers one that was missed.
                let slice = store.isShared ? min(deadline - ContinuousClock.now, .seconds(1)) : deadline - ContinuousClock.now
                await notifier.wait(id: id, generation: generation, timeout: slice)
                generation = notifier.generation(of: id)
                guard let current = try await store.job(id: id) else { throw jobNotFound(id) }
                job = current
                if job.version != initialVersion { break }
            }
        }
        let etag = JobRepresentation.etag(job)
        if EntityTag.matches(ifNoneMatch: ifNoneMatch, etag: etag) {
            return HTTPResponse(
                status: .notModified, headers: HTTPHeaders([("ETag", etag), ("Cache-Control", "no-cache")] + retryAfter(job)))
        }
        return jobResponse(200, job)
    }

    // MARK: - GET /v1/experiments/{id}/result

    private func result(id: String) async throws -> HTTPResponse {
        guard validID(id), let job = try await store.job(id: id) else { throw jobNotFound(id) }
        switch job.status {
        case .succeeded:
            guard let body = try await store.result(id: id) else {
                throw StoreError.inconsistent("succeeded job \(id) has no result")
            }
            return .json(200, body, headers: [("Cache-Control", "max-age=86400, immutable")])
        case .queued, .running:
            throw Problem(
                status: 409, code: "not_finished", title: "Not finished",
                detail: "The experiment is \(job.status.rawValue) (\(job.layersDone)/\(job.layersTotal) \(ProgressUnit(canonicalSpec: job.spec).rawValue)); "
                    + "poll /v1/experiments/\(id) until it succeeds.",
                headers: retryAfter(job))
        case .failed:
            throw Problem(
                status: 409, code: "failed", title: "Experiment failed",
                detail: "The experiment failed and has no result: \(job.error ?? "unknown error").")
        case .cancelled:
            throw Problem(
                status: 409, code: "cancelled", title: "Experiment cancelled",
                detail: "The experiment was cancelled and has no result.")
        }
    }

    // MARK: - POST /v1/experiments/{id}/cancel

    /// The cancel is durable once the store has it; a worker running the job sees it at its next check
    /// (`WorkerPool.cancelCheckInterval`), one that has just claimed it before it starts.
    private func cancel(id: String) async throws -> HTTPResponse {
        guard validID(id) else { throw jobNotFound(id) }
        switch try await store.cancel(id: id, now: Date()) {
        case .notFound: throw jobNotFound(id)
        case .alreadyTerminal(let job): return jobResponse(200, job)
        case .cancelled(let job, _):
            notifier.notify(id)
            return jobResponse(200, job)
        }
    }

    // MARK: - Operations

    /// 200 while the store answers and the workers take jobs; 503 before `start`, once a graceful shutdown
    /// has begun (`beginShutdown`), or when either check fails.
    private func readiness() async throws -> HTTPResponse {
        let storeOK = isStoreOpen ? await store.isHealthy() : false
        let workersOK = workers.isRunning
        let stopping = isDraining
        let body = Data(
            "{\"checks\":{\"store\":\(storeOK),\"workers\":\(workersOK)},\"status\":\"\(storeOK && workersOK ? "ready" : "not ready")\"}"
                .utf8)
        guard storeOK, workersOK, !stopping else {
            var failing: [String] = []
            if stopping { failing.append("service stopping") }
            if !storeOK { failing.append(isStoreOpen ? "store not reachable" : "store not open") }
            if !workersOK && !stopping { failing.append("workers not running") }
            throw Problem(
                status: 503, code: "not_ready", title: "Not ready", detail: failing.joined(separator: "; ") + ".",
                headers: [("Retry-After", "5")])
        }
        return .json(200, body, headers: [("Cache-Control", "no-store")])
    }

    private func metricsResponse() async throws -> HTTPResponse {
        let text = metrics.render(
            jobs: try await store.countsByStatus(), queueCapacity: configuration.queueCapacity,
            workers: configuration.workers, busyWorkers: workers.busyWorkers, openConnections: openConnections)
        return HTTPResponse(
            status: .ok, headers: ["Content-Type": "text/plain; version=0.0.4; charset=utf-8"], body: .string(text))
    }
}

extension HTTPResponse {
    /// A JSON body (`application/json`) with the service's header pairs.
    static func json(_ status: Int, _ body: Data, headers: [(String, String)] = []) -> HTTPResponse {
        HTTPResponse(
            status: HTTPStatus(code: status), headers: HTTPHeaders([("Content-Type", "application/json")] + headers),
            body: .data(body))
    }
}
