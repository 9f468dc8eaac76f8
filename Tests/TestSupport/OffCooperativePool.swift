import Dispatch
import Foundation
import Testing

/// Runs a suite's tests on Dispatch threads instead of Swift's cooperative pool.
///
/// Swift Testing runs every test, synchronous ones included, as a task on the cooperative pool, which has one
/// thread per core (two on our machines). A test that computes for seconds without suspending holds one of those
/// threads; two such tests starve every socket test in the same process, whose servers' handler tasks then never
/// get scheduled. Suites that do long synchronous work (compute, blocking file or socket I/O) carry this trait:
/// their test bodies run under a task executor preference whose jobs each get a serial Dispatch queue (and so an
/// overcommitting Dispatch thread) of their own, which the kernel schedules like any other thread, and at most
/// cores + 1 of them run at once (`TestSlots`), so every target can run in one `swift test` process.
package struct OffCooperativePool: SuiteTrait, TestTrait, TestScoping {
    package var isRecursive: Bool { true }

    package func provideScope(
        for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void
    ) async throws {
        // Swift Testing calls this once per test case (a suite-level trait scopes each of its cases). A scope
        // that is not a case's, or one nested inside a scope that already holds a slot (the trait on a test and
        // on its suite), takes no slot: a holder waiting for a second slot could deadlock.
        guard testCase != nil, !TestSlots.held else {
            try await withTaskExecutorPreference(DispatchTaskExecutor.shared) { try await function() }
            return
        }
        await TestSlots.shared.acquire()
        defer { TestSlots.shared.release() }
        try await TestSlots.$held.withValue(true) {
            try await withTaskExecutorPreference(DispatchTaskExecutor.shared) { try await function() }
        }
    }
}

/// How many test cases under `.offCooperativePool` run at once, process-wide: the number of cores plus one.
///
/// Swift Testing starts every test of the process in parallel, and with every target in one process that was
/// some forty compute-bound test bodies on two cores: a socket test's server then got a fortieth of a core and
/// its client's 5 s receive timeout expired (seen in the first single-process run). A test waits for a slot
/// without holding a thread; a running one keeps its slot until it ends.
final class TestSlots: @unchecked Sendable {
    static let shared = TestSlots(count: ProcessInfo.processInfo.activeProcessorCount + 1)

    /// Whether the current task runs inside a scope that holds a slot.
    @TaskLocal static var held = false

    private let lock = NSLock()
    private var free: Int
    private var waiters: [CheckedContinuation<Void, Never>] = []

    init(count: Int) { free = count }

    func acquire() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            lock.lock()
            if free > 0 {
                free -= 1
                lock.unlock()
                continuation.resume()
            } else {
                waiters.append(continuation)
                lock.unlock()
            }
        }
    }

    func release() {
        lock.lock()
        if waiters.isEmpty {
            free += 1
            lock.unlock()
        } else {
            let next = waiters.removeFirst()
            lock.unlock()
            next.resume()
        }
    }
}

extension Trait where Self == OffCooperativePool {
    /// Run this suite's (or test's) body on Dispatch threads, off the cooperative pool.
    package static var offCooperativePool: Self { OffCooperativePool() }
}

/// A task executor that runs each job on a serial Dispatch queue of its own.
///
/// On Linux the cooperative pool is libdispatch's global concurrent queue, whose width is the number of cores, and a
/// custom concurrent queue targets that same width-limited root queue; it would not help. Serial queues target the
/// overcommitting root queue instead, which gives each busy queue a thread of its own. One queue per job, not a
/// fixed set shared round-robin: with a shared set, a job queued behind a test that computes for seconds waited
/// those seconds (a socket test's resumption behind a training test), which is what starved the socket suites
/// when every target ran in one process. A task has at most one job enqueued at a time, so nothing relies on
/// two jobs sharing a queue's order.
final class DispatchTaskExecutor: TaskExecutor, Sendable {
    static let shared = DispatchTaskExecutor()

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        DispatchQueue(label: "initlab.tests.off-cooperative-pool").async {
            job.runSynchronously(on: self.asUnownedTaskExecutor())
        }
    }
}
