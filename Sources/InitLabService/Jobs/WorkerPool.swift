import Dispatch
import Foundation
import Logging
import Synchronization

/// Runs queued jobs on dedicated threads, never on a connection queue or the cooperative pool: one experiment
/// keeps a core busy for minutes, which would starve every async task sharing that pool.
///
/// The queue itself is the store (durable across crashes); a worker claims the oldest queued job with a guarded
/// update, runs it, and writes the terminal status and the result in one transaction. Progress is written at
/// most once per `progressWriteInterval`; each finished layer goes at once to an in-memory `LiveLayerBuffer`
/// (read by the events route), and waiting streams are woken through the notifier.
///
/// Cancellation is the store's: the API only writes `cancelled`, and the worker asks the store whether its
/// attempt still runs (`JobStore.isRunning`) before it starts the run and between layers, at most once per
/// `cancelCheckInterval` (`sharedCancelCheckInterval` on PostgreSQL, where another node's notification makes the
/// next check immediate; a 10,000-layer run does not make 10,000 queries; a progress write that finds the
/// attempt gone counts as an answer too). So a cancel that lands between the claim and the start of the run is
/// never lost. The time limit and shutdown are checked at every layer boundary.
///
/// Leases: a claim holds its job for `LeaseSettings.duration`. One more dedicated thread, the lease keeper,
/// renews the lease of every running attempt each `LeaseSettings.heartbeat` (the worker thread may be deep in a
/// layer); a renewal that finds the attempt gone (re-queued after its lease expired while this process was
/// paused or cut off, or cancelled), or no successful renewal for a whole lease, revokes the run, which stops at
/// its next check and writes nothing (its writes would be refused anyway: they are fenced by the attempt). The
/// keeper is also the reaper: it re-queues the jobs of workers anywhere that stopped renewing
/// (`JobStore.requeueExpiredLeases`). It runs on every node, workers or not.
package final class WorkerPool: Sendable {
    /// One attempt running on a worker thread of this pool.
    private final class RunningAttempt: Sendable {
        let attempt: Int
        /// Set once the store says the attempt no longer runs, or its lease was not renewed for too long.
        let revoked = Atomic<Bool>(false)
        /// Set by another node's notification about this job (a cancel, most likely): check the store at the next
        /// layer boundary instead of waiting for the interval.
        let recheck = Atomic<Bool>(false)
        /// Set when the run is over and its last write begins: a renewal that finds the attempt gone is then the
        /// write's own doing, not a lost lease.
        let ending = Atomic<Bool>(false)

        init(attempt: Int) { self.attempt = attempt }
    }

    private struct State {
        var running: [String: RunningAttempt] = [:]
        var aliveWorkers = 0
        var started = false
    }

    /// Longest time between two store checks of a running attempt (10 ms: a cancelled run stops within one
    /// layer after that; a check is one indexed single-row read).
    package static let cancelCheckInterval: Duration = .milliseconds(10)
    /// The same on a shared store (PostgreSQL), where a check is a network round trip: another node's cancel
    /// arrives by notification (`jobChanged`), which makes the next boundary check at once; this interval is
    /// the fallback for a lost notification.
    package static let sharedCancelCheckInterval: Duration = .milliseconds(250)

    private let store: any JobStore
    private let engine: any ExperimentEngine
    private let notifier: JobChangeNotifier
    private let metrics: ServiceMetrics
    private let configuration: ServiceConfiguration
    private let logger: Logger
    private let state = Mutex(State())
    /// Finished layers of the running attempts, for live `layer` events.
    let liveLayers = LiveLayerBuffer()
    private let stopping = Atomic<Bool>(false)
    /// Set at the start of a graceful shutdown: no job is claimed after it (running ones go on until `shutdown`).
    private let claimsStopped = Atomic<Bool>(false)
    /// Signalled once per submission (and once per worker at shutdown); workers also re-check every second.
    private let wakeUp = DispatchSemaphore(value: 0)
    /// Workers waiting in `idleWait`, and wake-ups sent to them by `wakeIdleWorker` not yet taken.
    private let idleWorkers = Atomic<Int>(0)
    private let pendingWakes = Atomic<Int>(0)
    /// Wakes the lease keeper at shutdown.
    private let keeperWakeUp = DispatchSemaphore(value: 0)
    private let finished = DispatchGroup()

    package init(
        store: any JobStore, engine: any ExperimentEngine, notifier: JobChangeNotifier, metrics: ServiceMetrics,
        configuration: ServiceConfiguration, logger: Logger
    ) {
        self.store = store
        self.engine = engine
        self.notifier = notifier
        self.metrics = metrics
        self.configuration = configuration
        self.logger = logger
    }

    /// Starts `configuration.workers` threads. Call once.
    package func start() {
        let alreadyStarted = state.withLock { state -> Bool in
            defer { state.started = true }
            return state.started
        }
        guard !alreadyStarted else { return }
        for index in 0..<configuration.workers {
            finished.enter()
            state.withLock { $0.aliveWorkers += 1 }
            let thread = Thread { @Sendable [self] in
                self.loop()
                self.state.withLock { $0.aliveWorkers -= 1 }
                self.finished.leave()
            }
            thread.name = "initlab-worker-\(index)"
            thread.stackSize = 8 << 20
            thread.start()
        }
        finished.enter()
        let keeper = Thread { @Sendable [self] in
            self.keepLeases()
            self.finished.leave()
        }
        keeper.name = "initlab-lease-keeper"
        keeper.start()
    }

    /// Tells an idle worker that a job was queued.
    package func wake() { wakeUp.signal() }

    /// Another node changed this job (its notification): if it runs here, its worker asks the store at its next
    /// check.
    package func jobChanged(_ id: String) {
        state.withLock { $0.running[id] }?.recheck.store(true, ordering: .relaxed)
    }

    /// Tells one idle worker, if any is waiting and none was told already, that some job changed (another
    /// node's notification, most of them progress): coalesced, so a burst of notifications makes at most one
    /// claim attempt per idle worker, not one per notification.
    package func wakeIdleWorker() {
        guard pendingWakes.load(ordering: .relaxed) < idleWorkers.load(ordering: .relaxed) else { return }
        pendingWakes.add(1, ordering: .relaxed)
        wakeUp.signal()
    }

    /// An idle worker's wait: until woken, or a second (the polling that covers missed notifications).
    private func idleWait() {
        idleWorkers.add(1, ordering: .relaxed)
        if wakeUp.wait(timeout: .now() + 1) == .success, pendingWakes.load(ordering: .relaxed) > 0 {
            pendingWakes.subtract(1, ordering: .relaxed)
        }
        idleWorkers.subtract(1, ordering: .relaxed)
    }

    /// The first step of a graceful shutdown: from now on no worker claims a job (what is queued stays queued
    /// for the next start); runs in progress go on until `shutdown`.
    package func stopStartingJobs() {
        claimsStopped.store(true, ordering: .sequentiallyConsistent)
    }

    /// True once started and while every worker thread is alive and taking jobs.
    package var isRunning: Bool {
        let snapshot = state.withLock { ($0.started, $0.aliveWorkers) }
        return snapshot.0 && snapshot.1 == configuration.workers && !stopping.load(ordering: .relaxed)
            && !claimsStopped.load(ordering: .relaxed)
    }

    package var busyWorkers: Int { state.withLock { $0.running.count } }

    /// The lease keeper's loop: reap at once (a restart finds the jobs a dead worker left), then every heartbeat
    /// interval renew the running attempts' leases and reap again.
    private func keepLeases() {
        let lease = configuration.lease
        let clock = ContinuousClock()
        var lastRenewed: [String: ContinuousClock.Instant] = [:]
        while !stopping.load(ordering: .relaxed) {
            reapExpiredLeases()
            _ = keeperWakeUp.wait(timeout: .now() + lease.heartbeat.seconds)
            if stopping.load(ordering: .relaxed) { break }
            let running = state.withLock { $0.running }
            lastRenewed = lastRenewed.filter { running[$0.key] != nil }
            for (id, run) in running {
                let renewedAt = lastRenewed[id] ?? clock.now
                do {
                    if try store.heartbeat(id: id, attempt: run.attempt, now: Date()) {
                        lastRenewed[id] = clock.now
                        continue
                    }
                    if run.ending.load(ordering: .relaxed) { continue }
                    logger.warning(
                        "job's lease was lost (re-queued elsewhere or cancelled); stopping its run",
                        metadata: ["job": "\(id)", "attempt": "\(run.attempt)"])
                    run.revoked.store(true, ordering: .relaxed)
                } catch {
                    lastRenewed[id] = renewedAt
                    logger.warning("renewing a job's lease failed", metadata: ["job": "\(id)", "error": "\(error)"])
                    if clock.now - renewedAt >= lease.duration {
                        logger.error("job's lease could not be renewed for a whole lease; stopping its run", metadata: ["job": "\(id)"])
                        run.revoked.store(true, ordering: .relaxed)
                    }
                }
            }
        }
    }

    private func reapExpiredLeases() {
        do {
            let report = try store.requeueExpiredLeases(maxAttempts: configuration.maxAttempts, now: Date())
            guard !report.requeued.isEmpty || !report.failed.isEmpty else { return }
            logger.notice(
                "reaped jobs whose lease expired",
                metadata: ["requeued": "\(report.requeued)", "failed": "\(report.failed)"])
            for id in report.requeued + report.failed { notifier.notify(id) }
            for _ in report.requeued { wakeUp.signal() }
        } catch {
            logger.warning("reaping expired leases failed", metadata: ["error": "\(error)"])
        }
    }

    /// Stops the workers: no job is claimed any more, running jobs stop at their next layer boundary and go back
    /// to the queue with the same attempt (a graceful stop is not a crash).
    package func shutdown() async {
        stopStartingJobs()
        stopping.store(true, ordering: .relaxed)
        for _ in 0..<configuration.workers { wakeUp.signal() }
        keeperWakeUp.signal()
        let started = state.withLock { $0.started }
        guard started else { return }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            finished.notify(queue: .global()) { @Sendable in continuation.resume() }
        }
    }

    private func loop() {
        while !stopping.load(ordering: .relaxed) {
            if claimsStopped.load(ordering: .sequentiallyConsistent) {
                _ = wakeUp.wait(timeout: .now() + 1)
                continue
            }
            let job: JobRecord?
            do {
                job = try store.claimNext(now: Date())
            } catch {
                logger.error("claiming a job failed", metadata: ["error": "\(error)"])
                _ = wakeUp.wait(timeout: .now() + 1)
                continue
            }
            guard let job else {
                idleWait()
                continue
            }
            // A shutdown that began while this claim was committing: hand the job back unstarted.
            if claimsStopped.load(ordering: .sequentiallyConsistent) {
                do { try store.requeue(id: job.id, attempt: job.attempt) } catch {
                    logger.error("returning a job to the queue failed", metadata: ["job": "\(job.id)", "error": "\(error)"])
                }
                notifier.notify(job.id)
                continue
            }
            notifier.notify(job.id)
            execute(job)
        }
    }

    private func execute(_ job: JobRecord) {
        let id = job.id
        let attempt = job.attempt
        let run = RunningAttempt(attempt: attempt)
        state.withLock { $0.running[id] = run }
        liveLayers.begin(id: id, attempt: attempt)
        defer { state.withLock { _ = $0.running.removeValue(forKey: id) } }
        let clock = ContinuousClock()
        let start = clock.now
        let deadline = start.advanced(by: configuration.jobTimeout)
        let interval = configuration.progressWriteInterval
        let lastWrite = Mutex<ContinuousClock.Instant?>(nil)
        // `run.revoked`: set once the store says this attempt no longer runs (cancelled through the API, most
        // often), or by the lease keeper.
        let lastCheck = Mutex<ContinuousClock.Instant?>(nil)
        let checkInterval = store.isShared ? Self.sharedCancelCheckInterval : Self.cancelCheckInterval
        let stillRunning: @Sendable () -> Bool = { [store, logger, run] in
            if run.revoked.load(ordering: .relaxed) { return false }
            let now = clock.now
            let notified = run.recheck.exchange(false, ordering: .relaxed)
            let due = lastCheck.withLock { last -> Bool in
                if !notified, let last, now - last < checkInterval { return false }
                last = now
                return true
            }
            guard due else { return true }
            do {
                if try !store.isRunning(id: id, attempt: attempt) { run.revoked.store(true, ordering: .relaxed) }
            } catch {
                logger.warning("checking a job's state failed", metadata: ["job": "\(id)", "error": "\(error)"])
            }
            return !run.revoked.load(ordering: .relaxed)
        }
        let progress: @Sendable (EngineProgress) -> Void = { [store, notifier, logger, liveLayers, run] report in
            var changed = false
            if let index = report.layerIndex, let json = report.layerJSON {
                changed = liveLayers.record(id: id, attempt: attempt, index: index, json: json)
            }
            for event in report.trainingEvents where liveLayers.appendTrainingEvent(id: id, attempt: attempt, event) {
                changed = true
            }
            let now = clock.now
            let due = lastWrite.withLock { last -> Bool in
                if report.done < report.total, let last, now - last < interval { return false }
                last = now
                return true
            }
            if due {
                do {
                    if try store.updateProgress(id: id, attempt: attempt, layersDone: report.done) {
                        changed = true
                    } else if try !store.isRunning(id: id, attempt: attempt) {
                        run.revoked.store(true, ordering: .relaxed)
                    }
                } catch {
                    logger.warning("progress write failed", metadata: ["job": "\(id)", "error": "\(error)"])
                }
            }
            if changed { notifier.notify(id) }
        }
        let isCancelled: @Sendable () -> Bool = { [self] in
            stopping.load(ordering: .relaxed) || clock.now >= deadline || !stillRunning()
        }

        // Cancelled between the claim and now: never start it.
        guard stillRunning() else {
            liveLayers.end(id: id, attempt: attempt)
            notifier.notify(id)
            logger.info("job cancelled before it started", metadata: ["job": "\(id)", "attempt": "\(attempt)"])
            return
        }
        logger.info("job started", metadata: ["job": "\(id)", "attempt": "\(attempt)"])
        let outcome: Result<Data, RunFailure>
        do throws(RunFailure) {
            outcome = .success(try engine.run(canonicalSpec: job.spec, progress: progress, isCancelled: isCancelled))
        } catch {
            outcome = .failure(error)
        }
        let seconds = (clock.now - start).seconds
        run.ending.store(true, ordering: .relaxed)

        do {
            switch outcome {
            case .success(let result):
                // false: cancelled after the last layer check; the result is dropped, `cancelled` stays.
                let stored = try whileUnavailable(id) {
                    try store.finish(id: id, attempt: attempt, status: .succeeded, error: nil, result: result, now: Date())
                }
                metrics.recordRun(seconds: seconds, outcome: stored ? "succeeded" : "cancelled")
            case .failure(.cancelled) where run.revoked.load(ordering: .relaxed):
                // The API already moved the job to `cancelled`; nothing left to write.
                metrics.recordRun(seconds: seconds, outcome: "cancelled")
            case .failure(.cancelled) where stopping.load(ordering: .relaxed):
                try whileUnavailable(id) { try store.requeue(id: id, attempt: attempt) }
                metrics.recordRun(seconds: seconds, outcome: "interrupted")
            case .failure(.cancelled):
                let limit = Int(configuration.jobTimeout.seconds)
                try whileUnavailable(id) {
                    try store.finish(
                        id: id, attempt: attempt, status: .failed, error: "time limit: run exceeded \(limit) s",
                        result: nil, now: Date())
                }
                metrics.recordRun(seconds: seconds, outcome: "time_limit")
            case .failure(.failed(let message)):
                try whileUnavailable(id) {
                    try store.finish(id: id, attempt: attempt, status: .failed, error: message, result: nil, now: Date())
                }
                metrics.recordRun(seconds: seconds, outcome: "failed")
            }
        } catch {
            logger.error("recording a finished job failed", metadata: ["job": "\(id)", "error": "\(error)"])
        }
        // The stored result (or the next attempt) takes over from here.
        liveLayers.end(id: id, attempt: attempt)
        notifier.notify(id)
        logger.info("job ended", metadata: ["job": "\(id)", "seconds": "\(seconds)"])
    }

    /// Retries a run's last write while the database is unreachable (a restart, a failover), for up to one
    /// lease: the job is still in `running`, so the lease keeper goes on renewing it, and a result computed for
    /// minutes is not thrown away by a blip. After that the lease has lapsed anyway and the job runs again.
    @discardableResult
    private func whileUnavailable<T>(_ id: String, _ write: () throws -> T) throws -> T {
        let clock = ContinuousClock()
        let giveUp = clock.now.advanced(by: configuration.lease.duration)
        while true {
            do {
                return try write()
            } catch let error as StoreUnavailable where clock.now < giveUp {
                logger.warning("database unreachable; retrying the job's last write", metadata: ["job": "\(id)", "error": "\(error)"])
                Thread.sleep(forTimeInterval: 0.5)
            }
        }
    }
}
