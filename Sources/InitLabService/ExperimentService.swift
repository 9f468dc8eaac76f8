import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// The experiment service: the store, the workers, the notifier and the metrics, joined behind one request
/// handler (`handle(_:)`, in API/). Built once by `initlab serve` (or a test) from a `ServiceConfiguration`.
package final class ExperimentService: Sendable {
    package let configuration: ServiceConfiguration
    let store: any JobStore
    let engine: any ExperimentEngine
    package let notifier: JobChangeNotifier
    package let metrics: ServiceMetrics
    package let workers: WorkerPool
    /// The dataset cache, the loaded datasets and their background fetches (`/v1/datasets`).
    package let datasets: DatasetRegistry
    let logger: Logger
    /// Idempotency keys whose first request is being handled right now (a second one gets 409).
    let inFlightKeys = Mutex<Set<String>>([])
    private let pruneTask = Mutex<Task<Void, Never>?>(nil)
    /// Listens for changes other nodes make (`JobStore.watchChanges`; ends at once for SQLite).
    private let watchTask = Mutex<Task<Void, Never>?>(nil)
    /// Reads the HTTP server's open-connection gauge; set once the server exists.
    private let connectionGauge = Mutex<(@Sendable () -> Int)?>(nil)
    private let storeOpen = Atomic<Bool>(false)
    /// Set when a graceful shutdown begins: `/readyz` answers 503 from then on.
    private let draining = Atomic<Bool>(false)
    /// Signs page tokens (`PageToken`): the store's shared secret `page-token`, read once, so a token works on
    /// every API node over the same store and across restarts.
    private let pageTokenKeyCache = Mutex<[UInt8]?>(nil)

    /// The page-token key (`pageTokenKeyCache`), from the store on first use.
    func pageTokenKey() async throws -> [UInt8] {
        if let key = pageTokenKeyCache.withLock({ $0 }) { return key }
        let key = try await store.sharedSecret(named: "page-token")
        pageTokenKeyCache.withLock { $0 = key }
        return key
    }

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

    /// Recovers jobs a crash left running, starts the workers and the pruning task (which prunes at once, then
    /// every `pruneInterval`). On a shared store nothing is recovered here (a running job may be another
    /// node's): the workers' lease keeper re-queues the jobs whose lease expired, at once and then periodically;
    /// and the service listens for other nodes' changes, which wake the workers and the waiting requests.
    @discardableResult
    package func start() throws -> RecoveryReport {
        let report =
            store.isShared ? RecoveryReport() : try store.recoverInterruptedJobs(maxAttempts: configuration.maxAttempts, now: Date())
        if !report.requeued.isEmpty || !report.failed.isEmpty {
            logger.notice(
                "recovered jobs interrupted by a crash",
                metadata: ["requeued": "\(report.requeued.count)", "failed": "\(report.failed.count)"])
        }
        storeOpen.store(true, ordering: .relaxed)
        workers.start()
        let interval = configuration.pruneInterval
        let task = Task.detached { [weak self] in
            while !Task.isCancelled {
                guard await self?.pruneLoggingErrors() != nil else { return }
                try? await Task.sleep(for: interval)
            }
        }
        pruneTask.withLock { $0 = task }
        if store.isShared {
            let watcher = Task.detached { [store, notifier, workers] in
                await store.watchChanges { id in
                    notifier.notify(id)
                    workers.jobChanged(id)
                    workers.wakeIdleWorker()
                }
            }
            watchTask.withLock { $0 = watcher }
        }
        return report
    }

    /// Deletes finished jobs older than the retention and idempotency keys older than theirs.
    package func prune(now: Date = Date()) async throws {
        let deleted = try await store.prune(
            finishedBefore: now.addingTimeInterval(-configuration.retention.seconds),
            keysBefore: now.addingTimeInterval(-configuration.idempotencyRetention.seconds))
        if deleted > 0 { logger.info("pruned finished jobs", metadata: ["count": "\(deleted)"]) }
    }

    private func pruneLoggingErrors() async {
        do { try await prune() } catch is CancellationError {} catch {
            logger.error("pruning failed", metadata: ["error": "\(error)"])
        }
    }

    /// The first step of a graceful shutdown: no queued job is started from now on and `/readyz` answers 503;
    /// requests in flight and running jobs go on until `shutdown`.
    package func beginShutdown() {
        draining.store(true, ordering: .relaxed)
        workers.stopStartingJobs()
    }

    /// Stops the pruning task and the workers (running jobs go back to the queue).
    package func shutdown() async {
        beginShutdown()
        pruneTask.withLock { task in
            task?.cancel()
            task = nil
        }
        watchTask.withLock { task in
            task?.cancel()
            task = nil
        }
        await workers.shutdown()
        storeOpen.store(false, ordering: .relaxed)
    }

    /// Lets `/metrics` report the HTTP server's open connections.
    package func setConnectionGauge(_ gauge: @escaping @Sendable () -> Int) {
        connectionGauge.withLock { $0 = gauge }
    }

    var openConnections: Int { connectionGauge.withLock { $0 }?() ?? 0 }

    /// Between `start` and `shutdown`.
    var isStoreOpen: Bool { storeOpen.load(ordering: .relaxed) }
    var isDraining: Bool { draining.load(ordering: .relaxed) }
}

/// `initlab worker` runs the service without the HTTP server: workers, the lease keeper, pruning and the
/// change listener, until a graceful shutdown (running jobs go back to the queue).
extension ExperimentService: Service {
    package func run() async throws {
        try start()
        try? await gracefulShutdown()
        await shutdown()
    }
}
