import Foundation
import HTTPServer
import Logging
import ServiceLifecycle
import Synchronization

/// The service on the network: the one assembly of routes, middleware and server that `initlab serve` runs
/// and that the tests drive, in-process through `router` or over sockets through `http`.
///
/// One request takes one path: `HTTPServer`'s connection parses it, `Router` matches it once (404, 405,
/// OPTIONS and HEAD are the router's), the global middleware (CORS) and the route's group middleware (the
/// cross-site guard and the bearer token on routes that change state) wrap the handler, and every error from
/// any of them is rendered by the router's one `ProblemRenderer`. Request metrics come from the server's
/// completion hook and the access log from the server's buffered writer (both fed by the connection's
/// per-request record), so they include the requests the router or the connection answered itself.
package final class InitLabServer: Sendable {
    package let service: ExperimentService
    package let visualization: VisualizationAPI
    package let router: Router
    package let http: HTTPServer
    /// The port `start()` bound, once started.
    private let startedPort = Mutex<Int?>(nil)

    /// Problem `type`s are `urn:initlab:problem:<code>` for every error, the HTTP layer's included.
    package static let problems = ProblemRenderer(typePrefix: "urn:initlab:problem:")

    package init(
        service: ExperimentService, sweeps: any SweepStore,
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

    /// Starts the service (recovery, workers, pruning), then listens. Returns the bound port. A second call
    /// returns the same port (`run()` calls it; `initlab serve` calls it first to print the port).
    @discardableResult
    package func start() throws -> Int {
        try startedPort.withLock { port in
            if let port { return port }
            try service.start()
            let bound = try http.start()
            port = bound
            return bound
        }
    }

    /// The shutdown sequence, in one place (SIGTERM/SIGINT through `run()`, and the tests):
    /// 1. `service.beginShutdown()`: `/readyz` answers 503 from here on and no queued job is started any more;
    /// 2. stop listening (new connections are refused), let requests in progress finish within the grace period
    ///    (5 s), then close what is left;
    /// 3. stop the workers and the pruning: running jobs stop at their next layer boundary and go back to the
    ///    queue with the same attempt (queued jobs stay queued for the next start).
    package func shutdown() async {
        service.beginShutdown()  // 1.
        await http.shutdown()  // 2.
        await service.shutdown()  // 3.
    }
}

/// `initlab serve` runs the server in a `ServiceGroup` that turns SIGTERM and SIGINT into a graceful shutdown.
extension InitLabServer: Service {
    /// Starts (if not started yet), runs until the group's graceful shutdown or cancellation, then `shutdown()`.
    package func run() async throws {
        try start()
        try? await gracefulShutdown()  // returns on graceful shutdown, throws on cancellation: shut down either way
        await shutdown()
    }
}
