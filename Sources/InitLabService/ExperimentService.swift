import Foundation
import Logging
import Synchronization

/// The experiment service: the store, the workers, the notifier and the metrics, joined behind one request
/// handler (`handle(_:)`, in API/). Built once by `initlab serve` (or a test) from a `ServiceConfiguration`.
public final class ExperimentService: Sendable {
    public let configuration: ServiceConfiguration
    let store: any JobStore
    let engine: any ExperimentEngine
    public let notifier: JobChangeNotifier
    public let metrics: ServiceMetrics
    public let workers: WorkerPool
    /// The dataset cache, the loaded datasets and their background fetches (`/v1/datasets`).
    public let datasets: DatasetRegistry
    let logger: Logger
    /// Idempotency keys whose first request is being handled right now (a second one gets 409).
    let inFlightKeys = Mutex<Set<String>>([])
    private let pruneTask = Mutex<Task<Void, Never>?>(nil)
    /// Reads the HTTP server's open-connection gauge; set once the server exists.
    private let connectionGauge = Mutex<(@Sendable () -> Int)?>(nil)
    private let storeOpen = Atomic<Bool>(false)
    /// Signs page tokens (`PageToken`): random per process, so a token outlives neither a restart nor the node
    /// that issued it (a client starts the listing again, as the 400 says).
    let pageTokenKey: [UInt8] = {
        var generator = SystemRandomNumberGenerator()
        return (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
    }()

    /// `datasets` defaults to a registry built from the configuration's cache folder and mirrors; pass the one
    /// whose `inputProvider` the engine uses so both share the loaded datasets.
    package init(
        configuration: ServiceConfiguration, store: any JobStore, engine: any ExperimentEngine,
        datasets: DatasetRegistry? = nil, logger: Logger
    ) {
        self.configuration = configuration
        self.datasets = datasets ?? DatasetRegistry(configuration: configuration, logger: logger)
        self.store = store
        self.engine = engine
        self.logger = logger
        notifier = JobChangeNotifier()
        metrics = ServiceMetrics()
        workers = WorkerPool(
            store: store, engine: engine, notifier: notifier, metrics: metrics, configuration: configuration,
            logger: logger)
    }

    /// Recovers jobs a crash left running, starts the workers and the pruning task.
    @discardableResult
    public func start() throws -> RecoveryReport {
        let report = try store.recoverInterruptedJobs(maxAttempts: configuration.maxAttempts, now: Date())
        if !report.requeued.isEmpty || !report.failed.isEmpty {
            logger.notice(
                "recovered jobs interrupted by a crash",
                metadata: ["requeued": "\(report.requeued.count)", "failed": "\(report.failed.count)"])
        }
        storeOpen.store(true, ordering: .relaxed)
        try prune()
        workers.start()
        let interval = configuration.pruneInterval
        let task = Task.detached { [weak self] in
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                guard let self, !Task.isCancelled else { return }
                do { try self.prune() } catch {
                    self.logger.error("pruning failed", metadata: ["error": "\(error)"])
                }
            }
        }
        pruneTask.withLock { $0 = task }
        return report
    }

    /// Deletes finished jobs older than the retention and idempotency keys older than theirs.
    public func prune(now: Date = Date()) throws {
        let deleted = try store.prune(
            finishedBefore: now.addingTimeInterval(-configuration.retention.seconds),
            keysBefore: now.addingTimeInterval(-configuration.idempotencyRetention.seconds))
        if deleted > 0 { logger.info("pruned finished jobs", metadata: ["count": "\(deleted)"]) }
    }

    /// Stops the pruning task and the workers (running jobs go back to the queue).
    public func shutdown() async {
        pruneTask.withLock { task in
            task?.cancel()
            task = nil
        }
        await workers.shutdown()
        storeOpen.store(false, ordering: .relaxed)
    }

    /// Lets `/metrics` report the HTTP server's open connections.
    public func setConnectionGauge(_ gauge: @escaping @Sendable () -> Int) {
        connectionGauge.withLock { $0 = gauge }
    }

    var openConnections: Int { connectionGauge.withLock { $0 }?() ?? 0 }

    var isReady: Bool { storeOpen.load(ordering: .relaxed) && workers.isRunning && store.isHealthy() }
}
