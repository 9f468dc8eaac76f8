import Foundation
import HTTPServer
import InitCore

/// `POST /v1/sweeps`, `GET /v1/sweeps/{id}`, `GET /v1/sweeps/{id}/plot.svg`.
extension VisualizationAPI {
    /// Validates the whole sweep (structure, every combination's spec, the combination count, the total compute
    /// and the queue room) before queuing anything; then submits one experiment per combination through the
    /// experiment API (same validation, canonical spec and queue) and stores the sweep.
    func createSweep(_ request: HTTPRequest) async throws -> HTTPResponse {
        let plan: SweepPlan
        do throws(SpecRejection) {
            plan = try SweepPlan.parse(Data(request.body), maxCombinations: configuration.maxSweepCombinations)
        } catch {
            throw Self.problem(error)
        }

        // Every combination must be a valid experiment; collect every distinct problem with its body pointer.
        let combinations = plan.combinations()
        var problems: [FieldProblem] = []
        var prepared: [(SweepPlan.Combination, Data)] = []
        var totalFLOPs = 0.0
        for combination in combinations {
            let body = JSONTree.object(combination.spec).encoded()
            do throws(SpecRejection) {
                let spec = try service.engine.prepare(body)
                prepared.append((combination, body))
                if let decoded = try? JSONDecoder().decode(ExperimentSpec.self, from: spec.canonicalJSON) {
                    totalFLOPs += decoded.estimate().flops
                }
            } catch {
                let found: [FieldProblem] =
                    switch error {
                    case .malformed(let detail): [FieldProblem(pointer: "/base", detail: detail)]
                    case .invalid(let fields): fields
                    }
                for field in found {
                    let mapped = FieldProblem(pointer: plan.bodyPointer(field.pointer, combination: combination), detail: field.detail)
                    if !problems.contains(mapped) { problems.append(mapped) }
                }
            }
        }
        guard problems.isEmpty else { throw Self.problem(.invalid(problems)) }
        if totalFLOPs > configuration.maxSweepFLOPs {
            throw Self.problem(.invalid([FieldProblem(
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
        for (combination, body) in prepared {
            let job: JobRecord
            do {
                switch try await service.createJob(body: body, key: nil) {
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
        let varyObject = JSONTree.object(Dictionary(uniqueKeysWithValues: plan.vary.map { ($0.key, JSONTree.array($0.values)) }))
        let record = SweepRecord(
            id: UUID().uuidString.lowercased(), createdAt: Date(),
            request: JSONTree.object(["base": .object(plan.base), "vary": varyObject]).encoded(), members: members)
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

    /// `{id, created_at, status, counts, base, vary, experiments: [{id, label, values, status, layers_done,
    /// layers_total, summary}], plot}`; `status` is `running` while any experiment is queued or running,
    /// else `done`.
    func representation(_ record: SweepRecord) async throws -> Data {
        var counts: [String: Int] = [:]
        var experiments: [JSONTree] = []
        for member in record.members {
            var entry: [String: JSONTree] = [
                "id": .string(member.experimentID), "label": .string(member.label), "values": member.values,
            ]
            if let job = try await service.store.job(id: member.experimentID) {
                counts[job.status.rawValue, default: 0] += 1
                entry["status"] = .string(job.status.rawValue)
                entry["layers_done"] = .number(Double(job.layersDone))
                entry["layers_total"] = .number(Double(job.layersTotal))
                if job.status == .succeeded, let data = try await service.store.result(id: member.experimentID) {
                    entry["summary"] = (try? JSONDecoder().decode(JSONTree.self, from: data))?["summary"] ?? .null
                }
                if let error = job.error { entry["error"] = .string(error) }
            } else {
                counts["pruned", default: 0] += 1
                entry["status"] = .string("pruned")
            }
            experiments.append(.object(entry))
        }
        let active = (counts["queued"] ?? 0) + (counts["running"] ?? 0)
        let requestTree = (try? JSONDecoder().decode(JSONTree.self, from: record.request)) ?? .null
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let body: [String: JSONTree] = [
            "id": .string(record.id), "created_at": .string(formatter.string(from: record.createdAt)),
            "status": .string(active > 0 ? "running" : "done"),
            "counts": .object(counts.mapValues { .number(Double($0)) }),
            "base": requestTree["base"] ?? .null, "vary": requestTree["vary"] ?? .null,
            "experiments": .array(experiments), "plot": .string("/v1/sweeps/\(record.id)/plot.svg"),
        ]
        return JSONTree.object(body).encoded()
    }

    static func problem(_ rejection: SpecRejection) -> Problem {
        switch rejection {
        case .malformed(let detail):
            return Problem.badRequest("malformed_json", "The body is not valid JSON: \(detail)")
        case .invalid(let errors):
            return Problem(
                status: 422, code: "invalid_sweep", title: "Invalid sweep",
                detail: errors.count == 1 ? errors[0].detail : "The sweep has \(errors.count) problems; see errors.",
                errors: errors)
        }
    }
}
