import Foundation
import HTTPServer
import InitLabContract

/// `POST /v1/sweeps`, `GET /v1/sweeps/{id}`, `GET /v1/sweeps/{id}/plot.svg`.
extension VisualizationAPI {
    /// Validates the whole sweep (structure, every combination's spec, the combination count, the total compute
    /// and the queue room) before queuing anything; then submits one experiment per combination through the
    /// experiment API (same validation, canonical spec and queue) and stores the sweep.
    func createSweep(_ request: HTTPRequest) async throws -> HTTPResponse {
        let root: JSONValue
        do {
            root = try JSONParser().parse(request.body)
        } catch {
            throw Problem.malformedJSON(error)
        }
        let plan: SweepPlan
        do {
            plan = try SweepPlan.parse(root, maxCombinations: configuration.maxSweepCombinations)
        } catch {
            throw Self.problem(error)
        }

        // Every combination must be a valid experiment; collect every distinct problem with its body pointer.
        // Each is prepared (decoded, validated) once here, and that prepared spec is what `createJob` stores.
        let combinations = plan.combinations()
        var problems: [FieldProblem] = []
        var prepared: [(SweepPlan.Combination, PreparedSpec)] = []
        var totalFLOPs = 0.0
        for combination in combinations {
            do {
                let spec = try service.engine.prepare(.object(combination.spec))
                prepared.append((combination, spec))
                totalFLOPs += spec.estimatedFLOPs
            } catch {
                for field in error.errors {
                    let mapped = FieldProblem(pointer: plan.bodyPointer(field.pointer, combination: combination), detail: field.detail)
                    if !problems.contains(mapped) { problems.append(mapped) }
                }
            }
        }
        guard problems.isEmpty else { throw Self.problem(SpecProblems(problems)) }
        if totalFLOPs > configuration.maxSweepFLOPs {
            throw Self.problem(SpecProblems([FieldProblem(
                pointer: "/vary",
                detail: "the \(combinations.count) experiments need an estimated \(NumberText.short(totalFLOPs)) FLOPs, over the sweep budget of \(NumberText.short(configuration.maxSweepFLOPs)); vary fewer values or use smaller nets")]))
        }
        let queued = try await service.store.countsByStatus()[.queued] ?? 0
        if queued + combinations.count > service.configuration.queueCapacity {
            throw Problem(
                status: 503, code: "queue_full", title: "Queue full",
                detail: "The sweep needs \(combinations.count) queue slots; \(queued) of \(service.configuration.queueCapacity) are taken. Retry later.",
                headers: [("Retry-After", "30")])
        }

        var members: [SweepRecord.Member] = []
        for (combination, spec) in prepared {
            let job: JobRecord
            do {
                switch try await service.createJob(spec, key: nil) {
                case .created(let created), .replayed(let created): job = created
                }
            } catch {
                // Lost a race for the queue after the check: report what was created so nothing is orphaned silently.
                service.logger.warning("sweep stopped early", metadata: ["created": "\(members.count)", "error": "\(error)"])
                if members.isEmpty { throw error }
                break
            }
            members.append(SweepRecord.Member(experimentID: job.id, label: combination.label, values: .object(combination.values)))
        }
        let varyObject = JSONValue.object(Dictionary(uniqueKeysWithValues: plan.vary.map { ($0.key, JSONValue.array($0.values)) }))
        let record = SweepRecord(
            id: UUID().uuidString.lowercased(), createdAt: Date(),
            request: JSONValue.object(["base": .object(plan.base), "vary": varyObject]).serialized(), members: members)
        try await sweeps.insert(record)
        let body = try await representation(record)
        return .json(201, body, headers: [("Location", "/v1/sweeps/\(record.id)"), ("Cache-Control", "no-cache")])
    }

    func sweepStatus(_ request: HTTPRequest, id: String) async throws -> HTTPResponse {
        let record = try await sweep(id)
        let body = try await representation(record)
        let tag = ContentTag.strong(body)
        if let header = request.headers["If-None-Match"], ContentTag.matches(ifNoneMatch: header, tag: tag) {
            return HTTPResponse(status: .notModified, headers: ["ETag": tag, "Cache-Control": "no-cache"])
        }
        return .json(200, body, headers: [("ETag", tag), ("Cache-Control", "no-cache")])
    }

    func sweepPlot(_ request: HTTPRequest, id: String, options: ChartOptions) async throws -> HTTPResponse {
        let record = try await sweep(id)
        var runs: [SVGChart.Run] = []
        for member in record.members {
            guard let job = try await service.store.job(id: member.experimentID), job.status == .succeeded,
                let data = try await service.store.result(id: member.experimentID)
            else { continue }
            runs.append(SVGChart.Run(label: member.label, result: try ChartResult.decode(data)))
        }
        guard !runs.isEmpty else {
            throw Problem(
                status: 409, code: "not_finished", title: "Not finished",
                detail: "No experiment of this sweep has succeeded yet; poll /v1/sweeps/\(id).", headers: [("Retry-After", "2")])
        }
        if let first = runs.first { try ExperimentService.requireTraining(first.result, for: options.metric) }
        let note = runs.count == record.members.count ? nil : "\(runs.count) of \(record.members.count) finished"
        let svg = SVGChart.render(runs, options: options, note: note)
        let cache = runs.count == record.members.count ? "max-age=86400" : "no-cache"
        return service.conditional(request, body: Data(svg.utf8), contentType: "image/svg+xml; charset=utf-8", cache: cache)
    }

    private func sweep(_ id: String) async throws -> SweepRecord {
        guard service.isJobID(id), let record = try await sweeps.sweep(id: id) else {
            throw Problem.notFound("No sweep with id '\(id)'.")
        }
        return record
    }

    /// `{id, created_at, status, counts, base, vary, experiments: [{id, label, values, status, layers_done (steps_done),
    /// layers_total, summary}], plot}`; `status` is `running` while any experiment is queued or running,
    /// else `done`.
    func representation(_ record: SweepRecord) async throws -> Data {
        var counts: [String: Int] = [:]
        var experiments: [JSONValue] = []
        for member in record.members {
            var entry: [String: JSONValue] = [
                "id": .string(member.experimentID), "label": .string(member.label), "values": member.values,
            ]
            if let job = try await service.store.job(id: member.experimentID) {
                counts[job.status.rawValue, default: 0] += 1
                entry["status"] = .string(job.status.rawValue)
                let unit = ProgressUnit(canonicalSpec: job.spec).rawValue  // steps for a training run
                entry["\(unit)_done"] = .integer(job.layersDone)
                entry["\(unit)_total"] = .integer(job.layersTotal)
                if job.status == .succeeded, let data = try await service.store.result(id: member.experimentID) {
                    entry["summary"] = (try? JSONParser().parse(data))?["summary"] ?? .null
                }
                if let error = job.error { entry["error"] = .string(error) }
            } else {
                counts["pruned", default: 0] += 1
                entry["status"] = .string("pruned")
            }
            experiments.append(.object(entry))
        }
        let active = (counts["queued"] ?? 0) + (counts["running"] ?? 0)
        let requestTree = (try? JSONParser().parse(record.request)) ?? .null
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let body: [String: JSONValue] = [
            "id": .string(record.id), "created_at": .string(formatter.string(from: record.createdAt)),
            "status": .string(active > 0 ? "running" : "done"),
            "counts": .object(counts.mapValues { .integer($0) }),
            "base": requestTree["base"] ?? .null, "vary": requestTree["vary"] ?? .null,
            "experiments": .array(experiments), "plot": .string("/v1/sweeps/\(record.id)/plot.svg"),
        ]
        return JSONValue.object(body).serialized()
    }

    static func problem(_ rejection: SpecProblems) -> Problem {
        let errors = rejection.errors
        return Problem(
            status: 422, code: "invalid_sweep", title: "Invalid sweep",
            detail: errors.count == 1 ? errors[0].detail : "The sweep has \(errors.count) problems; see errors.",
            errors: errors)
    }
}
