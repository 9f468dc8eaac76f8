import Foundation

/// The routes of "seeing it": the dashboard page and its assets, server-rendered charts and CSV export.
/// (Server-Sent Events are in `EventsRoute.swift`, sweeps in `SweepRoutes.swift`.)
enum VisualizationRoute: Equatable {
    case dashboard
    case asset(DashboardAssets.Asset)
    case plot(String)
    case csv(String)
    case events(String)
    case sweeps
    case sweep(String)
    case sweepPlot(String)

    var pattern: String {
        switch self {
        case .dashboard: "/"
        case .asset(let asset): asset.path
        case .plot: "/v1/experiments/{id}/plot.svg"
        case .csv: "/v1/experiments/{id}/result.csv"
        case .events: "/v1/experiments/{id}/events"
        case .sweeps: "/v1/sweeps"
        case .sweep: "/v1/sweeps/{id}"
        case .sweepPlot: "/v1/sweeps/{id}/plot.svg"
        }
    }

    var allowedMethods: [String] {
        switch self {
        case .sweeps: ["POST"]
        default: ["GET"]
        }
    }

    static func match(_ path: String) -> VisualizationRoute? {
        if path == "/" { return .dashboard }
        if path == "/v1/sweeps" { return .sweeps }
        if let asset = DashboardAssets.Asset.allCases.first(where: { $0.path == path }) { return .asset(asset) }
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count >= 4, parts[0].isEmpty, parts[1] == "v1", !parts[3].isEmpty else { return nil }
        let id = String(parts[3])
        switch (parts[2], parts.count, parts.count == 5 ? parts[4] : "") {
        case ("experiments", 5, "plot.svg"): return .plot(id)
        case ("experiments", 5, "result.csv"): return .csv(id)
        case ("experiments", 5, "events"): return .events(id)
        case ("sweeps", 4, _): return .sweep(id)
        case ("sweeps", 5, "plot.svg"): return .sweepPlot(id)
        default: return nil
        }
    }
}

/// The visualization front: dashboard, charts, CSV, events and sweeps, next to the experiment API.
/// A front end asks it first: `await viz.handle(r) ?? service.handle(r)`; the events route is streamed and
/// has its own entry point (`eventStream(for:)`).
public final class VisualizationAPI: Sendable {
    public let service: ExperimentService
    public let sweeps: SQLiteSweepStore
    public let configuration: VisualizationConfiguration

    public init(service: ExperimentService, sweeps: SQLiteSweepStore, configuration: VisualizationConfiguration = VisualizationConfiguration()) {
        self.service = service
        self.sweeps = sweeps
        self.configuration = configuration
    }

    /// Answers the visualization routes; `nil` for any other path.
    public func handle(_ request: APIRequest, recordMetrics: Bool = true) async -> APIResponse? {
        guard let route = VisualizationRoute.match(request.path) else { return nil }
        var response: APIResponse
        do {
            response = try await dispatch(request, route: route)
        } catch {
            response = service.errorResponse(error, for: request)
        }
        if recordMetrics { service.metrics.recordRequest(method: request.method, route: route.pattern, status: response.status) }
        return response
    }

    /// Validates an events request before any byte is streamed (see `ExperimentEventStream`).
    public func eventStream(for request: APIRequest) throws -> ExperimentEventStream {
        try service.eventStream(for: request, configuration: configuration)
    }

    private func dispatch(_ request: APIRequest, route: VisualizationRoute) async throws -> APIResponse {
        let service = self.service
        let allowed = route.allowedMethods + (route.allowedMethods.contains("GET") ? ["HEAD"] : [])
        guard allowed.contains(request.method) else {
            throw Problem.methodNotAllowed(request.method, allow: route.allowedMethods)
        }
        switch route {
        case .dashboard:
            do throws(ChartQueryError) {
                try DashboardQuery.validate(request.query)
            } catch {
                let code = error.detail.hasPrefix("unknown") ? "unknown_parameter" : "invalid_parameter"
                throw Problem.badRequest(code, error.detail, errors: [FieldProblem(pointer: "?" + error.parameter, detail: error.detail)])
            }
            return service.conditional(request, body: Data(DashboardAssets.html.utf8), contentType: "text/html; charset=utf-8", cache: "no-cache")
        case .asset(let asset):
            try service.rejectQuery(request, allowed: ["v"])
            return service.conditional(request, body: Data(asset.content.utf8), contentType: asset.contentType, cache: "no-cache")
        case .plot(let id):
            let options = try service.chartOptions(request)
            let result = try service.chartResult(id: id)
            let svg = SVGChart.render([SVGChart.Run(label: result.label, result: result)], options: options)
            return service.conditional(request, body: Data(svg.utf8), contentType: "image/svg+xml; charset=utf-8", cache: "max-age=86400")
        case .csv(let id):
            try service.rejectQuery(request, allowed: [])
            let csv = CSVExport.render(try service.chartResult(id: id))
            return service.conditional(
                request, body: Data(csv.utf8), contentType: "text/csv; charset=utf-8; header=present", cache: "max-age=86400",
                extra: [("Content-Disposition", "attachment; filename=\"experiment-\(id).csv\"")])
        case .events(let id):
            // Reached only by front ends that cannot stream; validate so the error is still precise.
            _ = try eventStream(for: request)
            throw Problem(
                status: 406, code: "stream_required", title: "Not acceptable",
                detail: "GET /v1/experiments/\(id)/events is a text/event-stream; this front end cannot stream it.")
        case .sweeps:
            try service.authorize(request)
            return try await createSweep(request)
        case .sweep(let id):
            try service.rejectQuery(request, allowed: [])
            return try sweepStatus(request, id: id)
        case .sweepPlot(let id):
            let options = try service.chartOptions(request, allowedMetrics: [.std, .mean, .deadFraction])
            return try sweepPlot(request, id: id, options: options)
        }
    }
}

extension ExperimentService {
    // MARK: Shared helpers

    func chartOptions(_ request: APIRequest, allowedMetrics: [ChartOptions.Metric] = ChartOptions.Metric.allCases) throws -> ChartOptions {
        do throws(ChartQueryError) {
            return try ChartOptions.parse(query: request.query.map { (name: $0.0, value: $0.1) }, allowedMetrics: allowedMetrics)
        } catch {
            let code = error.detail.hasPrefix("unknown") ? "unknown_parameter" : "invalid_parameter"
            throw Problem.badRequest(code, error.detail, errors: [FieldProblem(pointer: "?" + error.parameter, detail: error.detail)])
        }
    }

    func rejectQuery(_ request: APIRequest, allowed: Set<String>) throws {
        var seen: Set<String> = []
        for (name, _) in request.query {
            guard allowed.contains(name) else {
                let accepted = allowed.isEmpty ? "none" : allowed.sorted().joined(separator: ", ")
                throw Problem.badRequest("unknown_parameter", "Unknown query parameter '\(name)'; accepted: \(accepted).")
            }
            guard seen.insert(name).inserted else {
                throw Problem.badRequest("duplicate_parameter", "Query parameter '\(name)' given more than once.")
            }
        }
    }

    /// Ids are lowercase UUIDs; anything else cannot exist.
    func isJobID(_ id: String) -> Bool {
        id.count == 36 && UUID(uuidString: id) != nil && id == id.lowercased()
    }

    /// The decoded result of a succeeded experiment, or the problem the result route would answer.
    func chartResult(id: String) throws -> ChartResult {
        guard isJobID(id), let job = try store.job(id: id) else {
            throw Problem.notFound("No experiment with id '\(id)' (unknown, or pruned after the retention period).")
        }
        guard job.status == .succeeded else {
            throw Problem(
                status: 409, code: job.status.isTerminal ? job.status.rawValue : "not_finished",
                title: job.status.isTerminal ? "Experiment \(job.status.rawValue)" : "Not finished",
                detail: job.status.isTerminal
                    ? "The experiment \(job.status.rawValue) and has no result to draw."
                    : "The experiment is \(job.status.rawValue) (\(job.layersDone)/\(job.layersTotal) layers); follow /v1/experiments/\(id)/events until it is done.",
                headers: job.status.isTerminal ? [] : [("Retry-After", "1")])
        }
        guard let data = try store.result(id: id) else { throw StoreError.inconsistent("succeeded job \(id) has no result") }
        return try ChartResult.decode(data)
    }

    /// A 200 with a strong ETag, or a 304 when `If-None-Match` already names it.
    func conditional(
        _ request: APIRequest, body: Data, contentType: String, cache: String, extra: [(String, String)] = []
    ) -> APIResponse {
        let tag = ContentTag.strong(body)
        let headers = [("ETag", tag), ("Cache-Control", cache)]
        if let header = request.header("If-None-Match"), ContentTag.matches(ifNoneMatch: header, tag: tag) {
            return APIResponse(status: 304, headers: headers)
        }
        return APIResponse(status: 200, headers: [("Content-Type", contentType)] + headers + extra, body: body)
    }
}
