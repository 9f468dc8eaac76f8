import Foundation
import HTTPServer
import Logging

/// The service on the network: the one assembly of routes, middleware and server that `initlab serve` runs
/// and that the tests drive, in-process through `router` or over sockets through `http`.
///
/// One request takes one path: `HTTPServer`'s connection parses it, `Router` matches it once (404, 405,
/// OPTIONS and HEAD are the router's), the global middleware (CORS) and the route's group middleware (the
/// cross-site guard and the bearer token on routes that change state) wrap the handler, and every error from
/// any of them is rendered by the router's one `ProblemRenderer`. Request metrics and the access log come from
/// the server's completion hook, so they include the requests the router or the connection answered itself.
package final class InitLabServer: Sendable {
    package let service: ExperimentService
    package let visualization: VisualizationAPI
    package let router: Router
    package let http: HTTPServer

    /// Problem `type`s are `urn:initlab:problem:<code>` for every error, the HTTP layer's included.
    package static let problems = ProblemRenderer(typePrefix: "urn:initlab:problem:")

    package init(
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
    package func start() throws -> Int {
        try service.start()
        return try http.start()
    }

    /// The graceful shutdown (`initlab serve` on SIGTERM/SIGINT): first no queued job is started any more and
    /// `/readyz` answers 503, then the server stops listening and lets requests finish (its grace period), then
    /// the workers stop (running jobs return to the queue).
    package func shutdown() async {
        service.beginShutdown()
        await http.shutdown()
        await service.shutdown()
    }
}
