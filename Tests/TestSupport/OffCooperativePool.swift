import Dispatch
import Foundation
import Testing

/// Runs a suite's tests on Dispatch threads instead of Swift's cooperative pool.
///
/// Swift Testing runs every test, synchronous ones included, as a task on the cooperative pool, which has one
/// thread per core (two on our machines). A test that computes for seconds without suspending holds one of those
/// threads; two such tests starve every socket test in the same process, whose servers' handler tasks then never
/// get scheduled. Suites that do long synchronous work (compute, blocking file or socket I/O) carry this trait:
/// their test bodies run under a task executor preference backed by a concurrent Dispatch queue, whose threads
/// the kernel schedules like any other, so the whole suite can run in one `swift test` process.
package struct OffCooperativePool: SuiteTrait, TestTrait, TestScoping {
    package var isRecursive: Bool { true }

    package func provideScope(
        for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void
    ) async throws {
        try await withTaskExecutorPreference(DispatchTaskExecutor.shared) { try await function() }
    }
}

extension Trait where Self == OffCooperativePool {
    /// Run this suite's (or test's) body on Dispatch threads, off the cooperative pool.
    package static var offCooperativePool: Self { OffCooperativePool() }
}

/// A task executor that runs each job on one of a set of serial Dispatch queues.
///
/// On Linux the cooperative pool is libdispatch's global concurrent queue, whose width is the number of cores, and a
/// custom concurrent queue targets that same width-limited root queue; it would not help. Serial queues target the
/// overcommitting root queue instead, which gives each busy queue a thread of its own.
final class DispatchTaskExecutor: TaskExecutor, Sendable {
    static let shared = DispatchTaskExecutor()
    private let queues = (0..<32).map { DispatchQueue(label: "initlab.tests.off-cooperative-pool.\($0)") }
    private let next = Counter()

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let queue = queues[next.increment() % queues.count]
        queue.async { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}

/// A lock-protected round-robin counter.
private final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0

    func increment() -> Int {
        lock.lock()
        defer { lock.unlock() }
        value &+= 1
        return value & Int.max
    }
}
