import Foundation
import Datasets
import Logging

extension ExperimentService {
    /// Handles one request: routing, 404/405, authentication, the route itself, problem rendering and metrics.
    /// Never throws: unexpected errors become a 500 problem that names only the request id.
    /// `recordMetrics: false` when the HTTP server's completion hook counts requests instead.
    public func handle(_ request: APIRequest, recordMetrics: Bool = true) async -> APIResponse {
        let route = Route.match(request.path)
        var response: APIResponse
        do {
            response = try await dispatch(request, route: route)
        } catch {
            response = errorResponse(error, for: request)
        }
        if recordMetrics {
            metrics.recordRequest(method: request.method, route: route?.pattern ?? "unmatched", status: response.status)
        }
        return response
    }

    /// The response to an error a route threw: its problem, or a 500 that names only the request id (the error
    /// itself goes to the log).
    func errorResponse(_ error: any Error, for request: APIRequest) -> APIResponse {
        if let problem = error as? Problem {
            return problem.response(instance: request.path, requestID: request.requestID)
        }
        logger.error("request failed", metadata: ["request_id": "\(request.requestID)", "error": "\(error)"])
        return Problem.internalError(requestID: request.requestID)
            .response(instance: request.path, requestID: request.requestID)
    }

    private func dispatch(_ request: APIRequest, route: Route?) async throws -> APIResponse {
        guard let route else { throw Problem.notFound("No resource at \(request.path).") }
        // HEAD is GET without the body (the HTTP layer drops it).
        let method = request.method == "HEAD" ? "GET" : request.method
        guard route.allowedMethods.contains(method) else {
            throw Problem.methodNotAllowed(request.method, allow: route.allowedMethods)
        }
        if method != "GET" { try authorize(request) }
        let query = try parseQuery(request, allowed: route.allowedQuery)
        switch route {
        case .experiments where method == "POST": return try await submit(request)
        case .experiments: return try list(query)
        case .experiment(let id): return try await getJob(request, id: id, query: query)
        case .result(let id): return try result(id: id)
        case .cancel(let id): return try cancel(id: id)
        case .schemes: return .json(200, engine.schemeCatalogJSON(), headers: [("Cache-Control", "max-age=3600")])
        case .healthz: return .json(200, Data("{\"status\":\"ok\"}".utf8))
        case .readyz: return try readiness()
        case .metrics: return try metricsResponse()
        case .openapi:
            return APIResponse(
                status: 200, headers: [("Content-Type", "application/yaml")], body: Data(OpenAPIDocument.yaml.utf8))
        case .datasets: return try listDatasets()
        case .dataset(let name): return try await getDataset(name, query: query)
        case .datasetFetch(let name): return try fetchDataset(name)
        }
    }

    // MARK: - Cross-cutting

    /// Mutating requests need the bearer token when one is configured; compared in constant time.
    func authorize(_ request: APIRequest) throws {
        guard let token = configuration.token, !token.isEmpty else { return }
        guard let header = request.header("Authorization") else { throw Problem.unauthorized(tokenGiven: false) }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer",
            ConstantTime.equal(Array(parts[1].trimmingCharacters(in: .whitespaces).utf8), Array(token.utf8))
        else { throw Problem.unauthorized(tokenGiven: true) }
    }

    private func parseQuery(_ request: APIRequest, allowed: Set<String>) throws -> [String: String] {
        var values: [String: String] = [:]
        for (name, value) in request.query {
            guard allowed.contains(name) else {
                let accepted = allowed.isEmpty ? "none" : allowed.sorted().joined(separator: ", ")
                throw Problem.badRequest(
                    "unknown_parameter", "Unknown query parameter '\(name)'; accepted: \(accepted).")
            }
            guard values[name] == nil else {
                throw Problem.badRequest("duplicate_parameter", "Query parameter '\(name)' given more than once.")
            }
            values[name] = value
        }
        return values
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

    private func jobResponse(_ status: Int, _ job: JobRecord, extra: [(String, String)] = []) -> APIResponse {
        .json(
            status, JobRepresentation.json(job),
            headers: [("ETag", JobRepresentation.etag(job)), ("Cache-Control", "no-cache")] + retryAfter(job)
                + extra)
    }

    // MARK: - POST /v1/experiments

    private func submit(_ request: APIRequest) async throws -> APIResponse {
        let contentType = request.header("Content-Type")?.split(separator: ";").first?
            .trimmingCharacters(in: .whitespaces).lowercased()
        guard let contentType, contentType == "application/json" || (contentType.hasPrefix("application/") && contentType.hasSuffix("+json")) else {
            throw Problem(
                status: 415, code: "unsupported_media_type", title: "Unsupported media type",
                detail: "The body must be application/json.", headers: [("Accept-Post", "application/json")])
        }
        guard request.body.count <= configuration.maxBodyBytes else {
            throw Problem(
                status: 413, code: "content_too_large", title: "Content too large",
                detail: "The body has \(request.body.count) bytes; the limit is \(configuration.maxBodyBytes).")
        }
        var key: String?
        if let raw = request.header("Idempotency-Key") {
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
        return try createJob(request, key: key)
    }

    private func createJob(_ request: APIRequest, key: String?) throws -> APIResponse {
        let prepared: PreparedSpec
        do throws(SpecRejection) {
            prepared = try engine.prepare(request.body)
        } catch {
            switch error {
            case .malformed(let detail):
                throw Problem.badRequest("malformed_json", "The body is not valid JSON: \(detail)")
            case .invalid(let errors):
                throw Problem(
                    status: 422, code: "invalid_spec", title: "Invalid experiment spec",
                    detail: errors.count == 1
                        ? errors[0].detail : "The spec has \(errors.count) invalid fields; see errors.",
                    errors: errors)
            }
        }
        try checkDatasetInput(prepared.canonicalJSON)
        let job = NewJob(
            id: UUID().uuidString.lowercased(), spec: prepared.canonicalJSON, layersTotal: prepared.layersTotal,
            createdAt: Date())
        let idempotency = key.map { (key: $0, fingerprint: SHA256.hash(prepared.canonicalJSON)) }
        let outcome = try store.submit(
            job, idempotency: idempotency, queueCapacity: configuration.queueCapacity,
            makeResponse: { created in (202, JobRepresentation.json(created)) })
        switch outcome {
        case .created(let created):
            workers.wake()
            notifier.notify(created.id)
            return jobResponse(202, created, extra: [("Location", "/v1/experiments/\(created.id)")])
        case .replay(let stored):
            return .json(
                stored.responseStatus, stored.responseBody,
                headers: [
                    ("Location", "/v1/experiments/\(stored.jobID)"), ("Idempotent-Replayed", "true"),
                    ("Retry-After", "1"),
                ])
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

    private func list(_ query: [String: String]) throws -> APIResponse {
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
        if let raw = query["page_token"], !raw.isEmpty {
            guard let token = PageToken(encoded: raw), token.status == status else {
                throw Problem.badRequest(
                    "invalid_page_token",
                    "page_token is not one this server issued for these filters; start again without it.")
            }
            before = token.beforeSequence
        }
        let jobs = try store.list(status: status, beforeSequence: before, limit: pageSize + 1)
        let page = jobs.prefix(pageSize)
        var body = Data("{\"experiments\":[".utf8)
        for (index, job) in page.enumerated() {
            if index > 0 { body.append(UInt8(ascii: ",")) }
            body.append(JobRepresentation.json(job))
        }
        body.append(UInt8(ascii: "]"))
        if jobs.count > pageSize, let last = page.last {
            let token = PageToken(beforeSequence: last.sequence, status: status).encoded
            body.append(contentsOf: Array(",\"next_page_token\":\"\(token)\"".utf8))
        }
        body.append(UInt8(ascii: "}"))
        return .json(200, body, headers: [("Cache-Control", "no-cache")])
    }

    // MARK: - GET /v1/experiments/{id}

    private func getJob(_ request: APIRequest, id: String, query: [String: String]) async throws -> APIResponse {
        var wait = 0
        if let raw = query["wait"] {
            guard let parsed = Int(raw), (0...configuration.maxWaitSeconds).contains(parsed) else {
                throw Problem.badRequest(
                    "invalid_parameter", "wait must be an integer 0...\(configuration.maxWaitSeconds) (seconds).")
            }
            wait = parsed
        }
        guard validID(id) else { throw jobNotFound(id) }
        let ifNoneMatch = request.header("If-None-Match")
        var generation = notifier.generation(of: id)
        guard var job = try store.job(id: id) else { throw jobNotFound(id) }

        // Long-poll: wait for the ETag to stop matching If-None-Match (or, without it, for any change).
        if wait > 0, !job.status.isTerminal,
            ifNoneMatch == nil || EntityTag.matches(ifNoneMatch: ifNoneMatch, etag: JobRepresentation.etag(job))
        {
            let initialVersion = job.version
            let deadline = ContinuousClock.now.advanced(by: .seconds(wait))
            while ContinuousClock.now < deadline, !Task.isCancelled {
                await notifier.wait(id: id, generation: generation, timeout: deadline - ContinuousClock.now)
                generation = notifier.generation(of: id)
                guard let current = try store.job(id: id) else { throw jobNotFound(id) }
                job = current
                if job.version != initialVersion { break }
            }
        }
        let etag = JobRepresentation.etag(job)
        if EntityTag.matches(ifNoneMatch: ifNoneMatch, etag: etag) {
            return APIResponse(
                status: 304, headers: [("ETag", etag), ("Cache-Control", "no-cache")] + retryAfter(job))
        }
        return jobResponse(200, job)
    }

    // MARK: - GET /v1/experiments/{id}/result

    private func result(id: String) throws -> APIResponse {
        guard validID(id), let job = try store.job(id: id) else { throw jobNotFound(id) }
        switch job.status {
        case .succeeded:
            guard let body = try store.result(id: id) else {
                throw StoreError.inconsistent("succeeded job \(id) has no result")
            }
            return .json(200, body, headers: [("Cache-Control", "max-age=86400, immutable")])
        case .queued, .running:
            throw Problem(
                status: 409, code: "not_finished", title: "Not finished",
                detail: "The experiment is \(job.status.rawValue) (\(job.layersDone)/\(job.layersTotal) layers); "
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

    private func cancel(id: String) throws -> APIResponse {
        guard validID(id) else { throw jobNotFound(id) }
        switch try store.cancel(id: id, now: Date()) {
        case .notFound: throw jobNotFound(id)
        case .alreadyTerminal(let job): return jobResponse(200, job)
        case .cancelled(let job, let wasRunning):
            if wasRunning { workers.cancelRunning(id) }
            notifier.notify(id)
            return jobResponse(200, job)
        }
    }

    // MARK: - Operations

    private func readiness() throws -> APIResponse {
        let storeOK = store.isHealthy()
        let workersOK = workers.isRunning
        let body = Data(
            "{\"checks\":{\"store\":\(storeOK),\"workers\":\(workersOK)},\"status\":\"\(storeOK && workersOK ? "ready" : "not ready")\"}"
                .utf8)
        guard isReady else {
            var failing: [String] = []
            if !storeOK { failing.append("store not open") }
            if !workersOK { failing.append("workers not running") }
            if failing.isEmpty { failing.append("service stopping") }
            throw Problem(
                status: 503, code: "not_ready", title: "Not ready", detail: failing.joined(separator: "; ") + ".",
                headers: [("Retry-After", "5")])
        }
        return .json(200, body, headers: [("Cache-Control", "no-store")])
    }

    private func metricsResponse() throws -> APIResponse {
        let text = metrics.render(
            jobs: try store.countsByStatus(), queueCapacity: configuration.queueCapacity,
            workers: configuration.workers, busyWorkers: workers.busyWorkers, openConnections: openConnections)
        return APIResponse(
            status: 200, headers: [("Content-Type", "text/plain; version=0.0.4; charset=utf-8")], body: Data(text.utf8))
    }
}

/// Comparison whose time does not depend on where the inputs differ (only on their lengths).
enum ConstantTime {
    static func equal(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var difference = UInt(bitPattern: a.count ^ b.count)
        for index in 0..<max(a.count, b.count) {
            let x = index < a.count ? a[index] : 0
            let y = index < b.count ? b[index] : 0
            difference |= UInt(x ^ y)
        }
        return difference == 0
    }
}
