import Foundation
import HTTPServer
import Logging

/// The service on the network: the one assembly of routes, middleware and server that `initlab serve` runs
/// and that the tests drive, in-process through `router` or over sockets through `http`.
///
/// One request takes one path: `HTTPServer`'s connection parses it, `Router` matches it once (404, 405,
/// OPTIONS and HEAD are the router's), the global middleware (CORS) and the route's group middleware (the
/// cross-site guard and the bearer token on routes that change state) wrap the handler, and every error from
/// any of them is rendered by the router's one `ProblemRenderer`. Request metrics come from the server's
/// completion hook and the access log from the server's buffered writer (both fed by the connection's
/// per-request record), so they include the requests the router or the connection answered itself.
public final class InitLabServer: Sendable {
    public let service: ExperimentService
    public let visualization: VisualizationAPI
    public let router: Router
    public let http: HTTPServer

    /// Problem `type`s are `urn:initlab:problem:<code>` for every error, the HTTP layer's included.
    public static let problems = ProblemRenderer(typePrefix: "urn:initlab:problem:")

    public init(
        service: ExperimentService, sweeps: SQLiteSweepStore,
        visualization configuration: VisualizationConfiguration = VisualizationConfiguration(), logger: Logger
    ) {
        self.service = service
        visualization = VisualizationAPI(service: service, sweeps: sweeps, configuration: configuration)
        router = InitLabServer.makeRouter(service: service, visualization: visualization)

        let settings = service.configuration
        var httpConfiguration = HTTPServerConfiguration(host: settings.host, port: settings.port)
        httpConfiguration.maxBodyBytes = settings.maxBodyBytes
        httpConfiguration.shutdownGracePeriod = .seconds(5)
        let metrics = service.metrics
        httpConfiguration.onRequestCompleted = { @Sendable log in
            metrics.recordRequest(method: log.method?.rawValue ?? "other", route: log.route ?? "unmatched", status: log.status)
        }
        http = HTTPServer(configuration: httpConfiguration, router: router, logger: logger)
        service.setConnectionGauge { [http] in http.openConnections }
    }

    /// Every route of the service, once.
    static func makeRouter(service: ExperimentService, visualization: VisualizationAPI) -> Router {
        let router = Router(problems: problems)
        let cors = CORSConfiguration(allowedOrigins: service.configuration.corsOrigins)
        router.use(CORSMiddleware(cors))
        let open = router.group()
        // Routes that change state: JSON bodies only, no foreign Origin, and the bearer token when configured.
        let changing = router.group(
            middleware: [
                StateChangeGuard(allowedOrigins: cors.allowedOrigins),
                BearerAuth(token: service.configuration.token, realm: "initlab"),
            ])
        service.registerExperimentRoutes(open: open, changing: changing)
        service.registerDatasetRoutes(open: open, changing: changing)
        service.registerOperationRoutes(open)
        visualization.registerRoutes(open: open, changing: changing)
        return router
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
