import Foundation
import HTTPServer
import Logging

/// The service on the network: an `HTTPServer` whose routes all lead to `ExperimentService.handle(_:)`.
///
/// The HTTP layer answers 404/405/OPTIONS/HEAD, CORS, framing errors and the body limit (413 before the body is
/// read); the service answers everything else. Request metrics come from the server's completion hook, so they
/// include the requests the router answered itself.
public final class InitLabServer: Sendable {
    public let service: ExperimentService
    public let http: HTTPServer

    public init(service: ExperimentService, logger: Logger) {
        self.service = service
        let configuration = service.configuration
        var httpConfiguration = HTTPServerConfiguration(
            host: configuration.host, port: configuration.port,
            cors: CORSConfiguration(allowedOrigins: configuration.corsOrigins))
        httpConfiguration.maxBodyBytes = configuration.maxBodyBytes
        httpConfiguration.shutdownGracePeriod = .seconds(5)
        let metrics = service.metrics
        httpConfiguration.onRequestCompleted = { @Sendable log in
            metrics.recordRequest(method: log.method?.rawValue ?? "other", route: log.route ?? "unmatched", status: log.status)
        }
        let router = Router()
        let handler: HTTPHandler = { @Sendable request, _ in
            let response = await service.handle(
                APIRequest(
                    method: request.method.rawValue, path: request.path, query: request.query,
                    headers: request.headers.map { ($0.name, $0.value) }, body: Data(request.body),
                    requestID: request.requestID),
                recordMetrics: false)
            return HTTPResponse(
                status: HTTPStatus(code: response.status), headers: HTTPHeaders(response.headers),
                body: .bytes([UInt8](response.body)))
        }
        for route in Route.all {
            for method in route.allowedMethods {
                if let method = HTTPMethod(rawValue: method) { router.add(method, route.pattern, handler) }
            }
        }
        http = HTTPServer(configuration: httpConfiguration, router: router, logger: logger)
        service.setConnectionGauge { [http] in http.openConnections }
    }

    /// Starts the service (recovery, workers, pruning), then listens. Returns the bound port.
    @discardableResult
    public func start() throws -> Int {
        try service.start()
        return try http.start()
    }

    /// Stops listening and lets requests finish, then stops the workers (running jobs return to the queue).
    public func shutdown() async {
        await http.shutdown()
        await service.shutdown()
    }
}
