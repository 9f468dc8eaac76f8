import Foundation
import HTTPServer

extension VisualizationAPI {
    /// The patterns this API answers, with their methods (the router adds HEAD, OPTIONS, 404 and 405).
    static let routes: [(HTTPMethod, String)] = [
        (.GET, "/"), (.GET, DashboardAssets.Asset.css.path), (.GET, DashboardAssets.Asset.js.path),
        (.GET, "/v1/experiments/{id}/plot.svg"), (.GET, "/v1/experiments/{id}/result.csv"),
        (.POST, "/v1/sweeps"), (.GET, "/v1/sweeps/{id}"), (.GET, "/v1/sweeps/{id}/plot.svg"),
    ]

    /// Registers the dashboard, charts, CSV, sweeps and the SSE route on `router` (e.g. `InitLabServer`'s
    /// `http.router`). Request metrics are left to the server's completion hook.
    public func register(on router: Router) {
        let handler: HTTPHandler = { @Sendable [self] request, _ in
            let response = await handle(Self.apiRequest(request), recordMetrics: false)
                ?? APIResponse(status: 404, headers: [], body: Data())
            return HTTPResponse(
                status: HTTPStatus(code: response.status), headers: HTTPHeaders(response.headers),
                body: .bytes([UInt8](response.body)))
        }
        for (method, pattern) in Self.routes { router.add(method, pattern, handler) }
        router.add(.GET, "/v1/experiments/{id}/events") { @Sendable [self] request, _ in
            let apiRequest = Self.apiRequest(request)
            let stream: ExperimentEventStream
            do {
                stream = try eventStream(for: apiRequest)
            } catch let problem as Problem {
                let response = problem.response(instance: request.path, requestID: request.requestID)
                return HTTPResponse(
                    status: HTTPStatus(code: response.status), headers: HTTPHeaders(response.headers),
                    body: .bytes([UInt8](response.body)))
            }
            let headers: HTTPHeaders = [
                "Content-Type": "text/event-stream; charset=utf-8", "Cache-Control": "no-cache",
                "X-Accel-Buffering": "no",
            ]
            return HTTPResponse(status: .ok, headers: headers, body: .stream({ @Sendable writer in
                try await stream.run { text in try await writer.write(text) }
            }))
        }
    }

    static func apiRequest(_ request: HTTPRequest) -> APIRequest {
        APIRequest(
            method: request.method.rawValue, path: request.path, query: request.query,
            headers: request.headers.map { ($0.name, $0.value) }, body: Data(request.body), requestID: request.requestID)
    }
}
