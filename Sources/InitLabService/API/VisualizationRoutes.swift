import Foundation
import HTTPServer
import InitLabContract

/// The visualization front: dashboard, charts, CSV, live events and sweeps, next to the experiment API and on
/// the same router (`InitLabServer`).
package final class VisualizationAPI: Sendable {
    package let service: ExperimentService
    package let sweeps: any SweepStore
    package let configuration: VisualizationConfiguration

    package init(service: ExperimentService, sweeps: any SweepStore, configuration: VisualizationConfiguration = VisualizationConfiguration()) {
        self.service = service
        self.sweeps = sweeps
        self.configuration = configuration
    }

    /// The dashboard and its assets, `plot.svg`, `result.csv`, the event stream and the sweeps.
    func registerRoutes(open: RouteGroup, changing: RouteGroup) {
        let service = self.service
        open.get("/") { @Sendable request, _ in
            do throws(ChartQueryError) {
                try DashboardQuery.validate(request.query)
            } catch {
                let code = error.detail.hasPrefix("unknown") ? "unknown_parameter" : "invalid_parameter"
                throw Problem.badRequest(code, error.detail, errors: [FieldProblem(pointer: "?" + error.parameter, detail: error.detail)])
            }
            return service.conditional(request, body: DashboardAssets.html, contentType: "text/html; charset=utf-8", cache: "no-cache")
        }
        for asset in DashboardAssets.Asset.allCases {
            open.get(asset.path) { @Sendable request, _ in
                _ = try request.queryParameters(allowed: ["v"])
                return service.conditional(request, body: asset.content, contentType: asset.contentType, cache: "no-cache")
            }
        }
        // Decoding a stored result and rendering it are CPU work that grows with the result: off the event loops.
        open.get("/v1/experiments/{id}/plot.svg", work: .heavy) { @Sendable request, context in
            let options = try service.chartOptions(request)
            let result = try await service.chartResult(id: context.parameters["id"] ?? "")
            try ExperimentService.requireTraining(result, for: options.metric)
            let svg = SVGChart.render([SVGChart.Run(label: result.label, result: result)], options: options)
            return service.conditional(request, body: Data(svg.utf8), contentType: "image/svg+xml; charset=utf-8", cache: "max-age=86400")
        }
        open.get("/v1/experiments/{id}/result.csv", work: .heavy) { @Sendable request, context in
            let rows = try request.queryParameters(allowed: ["rows"])["rows"] ?? "layers"
            guard let kind = CSVExport.Rows(rawValue: rows) else {
                let detail = "rows=\(rows.prefix(40)) is not allowed; allowed: \(CSVExport.Rows.allCases.map(\.rawValue).joined(separator: ", "))"
                throw Problem.badRequest("invalid_parameter", detail, errors: [FieldProblem(pointer: "?rows", detail: detail)])
            }
            let id = context.parameters["id"] ?? ""
            let result = try await service.chartResult(id: id)
            if kind == .steps { try ExperimentService.requireTraining(result, for: .loss, parameter: "rows") }
            let csv = CSVExport.render(result, rows: kind)
            return service.conditional(
                request, body: Data(csv.utf8), contentType: "text/csv; charset=utf-8; header=present", cache: "max-age=86400",
                extra: [("Content-Disposition", "attachment; filename=\"experiment-\(id).csv\"")])
        }
        open.get("/v1/experiments/{id}/events") { @Sendable [self] request, context in
            let stream = try await service.eventStream(
                id: context.parameters["id"] ?? "", request: request, configuration: configuration)
            let headers: HTTPHeaders = [
                "Content-Type": "text/event-stream; charset=utf-8", "Cache-Control": "no-cache",
                "X-Accel-Buffering": "no",
            ]
            return HTTPResponse(status: .ok, headers: headers, body: .stream({ @Sendable writer in
                try await stream.run { text in try await writer.write(text) }
            }))
        }
        changing.post("/v1/sweeps") { @Sendable [self] request, _ in
            _ = try request.queryParameters(allowed: [])
            return try await createSweep(request)
        }
        open.get("/v1/sweeps/{id}") { @Sendable [self] request, context in
            _ = try request.queryParameters(allowed: [])
            return try await sweepStatus(request, id: context.parameters["id"] ?? "")
        }
        open.get("/v1/sweeps/{id}/plot.svg", work: .heavy) { @Sendable [self] request, context in
            let options = try service.chartOptions(request, allowedMetrics: [.std, .mean, .deadFraction, .loss, .accuracy])
            return try await sweepPlot(request, id: context.parameters["id"] ?? "", options: options)
        }
    }
}

extension ExperimentService {
    // MARK: Shared helpers

    func chartOptions(_ request: HTTPRequest, allowedMetrics: [ChartOptions.Metric] = ChartOptions.Metric.allCases) throws -> ChartOptions {
        do throws(ChartQueryError) {
            return try ChartOptions.parse(query: request.query.map { (name: $0.0, value: $0.1) }, allowedMetrics: allowedMetrics)
        } catch {
            let code = error.detail.hasPrefix("unknown") ? "unknown_parameter" : "invalid_parameter"
            throw Problem.badRequest(code, error.detail, errors: [FieldProblem(pointer: "?" + error.parameter, detail: error.detail)])
        }
    }

    /// A training metric (or CSV rows) asked of a result without training: a well-formed request that this
    /// experiment cannot answer, so a 409 (as for an unfinished one) naming the parameter.
    static func requireTraining(_ result: ChartResult, for metric: ChartOptions.Metric, parameter: String = "metric") throws {
        guard metric.isTraining, result.training == nil else { return }
        let value = parameter == "metric" ? metric.rawValue : "steps"
        let detail = "\(parameter)=\(value) needs a training run (a spec with train); this experiment has none"
        throw Problem(
            status: 409, code: "not_a_training_run", title: "Not a training run", detail: detail,
            errors: [FieldProblem(pointer: "?" + parameter, detail: detail)])
    }

    /// Ids are lowercase UUIDs; anything else cannot exist.
    func isJobID(_ id: String) -> Bool {
        id.count == 36 && UUID(uuidString: id) != nil && id == id.lowercased()
    }

    /// The decoded result of a succeeded experiment, or the problem the result route would answer.
    func chartResult(id: String) async throws -> ChartResult {
        guard isJobID(id), let job = try await store.job(id: id) else {
            throw Problem.notFound("No experiment with id '\(id)' (unknown, or pruned after the retention period).")
        }
        guard job.status == .succeeded else {
            throw Problem(
                status: 409, code: job.status.isTerminal ? job.status.rawValue : "not_finished",
                title: job.status.isTerminal ? "Experiment \(job.status.rawValue)" : "Not finished",
                detail: job.status.isTerminal
                    ? "The experiment \(job.status.rawValue) and has no result to draw."
                    : "The experiment is \(job.status.rawValue) (\(job.layersDone)/\(job.layersTotal) \(ProgressUnit(canonicalSpec: job.spec).rawValue)); follow /v1/experiments/\(id)/events until it is done.",
                headers: job.status.isTerminal ? [] : [("Retry-After", "1")])
        }
        guard let data = try await store.result(id: id) else { throw StoreError.inconsistent("succeeded job \(id) has no result") }
        return try ChartResult.decode(data)
    }

    /// A 200 with a strong ETag, or a 304 when `If-None-Match` already names it.
    func conditional(
        _ request: HTTPRequest, body: Data, contentType: String, cache: String, extra: [(String, String)] = []
    ) -> HTTPResponse {
        let tag = ContentTag.strong(body)
        let headers = [("ETag", tag), ("Cache-Control", cache)]
        if let header = request.headers["If-None-Match"], ContentTag.matches(ifNoneMatch: header, tag: tag) {
            return HTTPResponse(status: .notModified, headers: HTTPHeaders(headers))
        }
        return HTTPResponse(status: .ok, headers: HTTPHeaders([("Content-Type", contentType)] + headers + extra), body: .data(body))
    }
}
