import TestSupport
import Dispatch
import Foundation
import Synchronization
import Testing
@testable import InitCore

@Suite("ComputePool: the core's parallel loop", .offCooperativePool)
struct ComputePoolTests {
    /// Every iteration runs exactly once, whatever the thread count, over many back-to-back rounds (helpers
    /// reused while they poll) and after a pause longer than the helpers' polling budget (helpers parked and woken).
    @Test func everyIterationExactlyOnce() {
        let pool = ComputePool()
        for threads in [1, 2, 3, 8] {
            for iterations in [0, 1, 2, 7, 64, 1000] {
                for round in 0..<20 {
                    if round == 10 { usleepMillis(Int(ComputePool.spinNanoseconds / 1_000_000) + 5) }
                    let hits = (0..<iterations).map { _ in Counter() }
                    pool.run(iterations: iterations, threads: threads) { i in
                        hits[i].value.wrappingAdd(1, ordering: .relaxed)
                    }
                    #expect(hits.allSatisfy { $0.value.load(ordering: .relaxed) == 1 },
                            "threads \(threads), iterations \(iterations), round \(round)")
                }
            }
        }
    }

    /// Writes made by the helpers are visible to the caller when `run` returns.
    @Test func resultsAreVisibleAfterTheRound() {
        let pool = ComputePool()
        let n = 4096
        let out = UnsafeMutablePointer<Int>.allocate(capacity: n)
        defer { out.deallocate() }
        for round in 0..<50 {
            out.initialize(repeating: -1, count: n)
            let box = UncheckedBox(out)
            pool.run(iterations: 64, threads: 2) { chunk in
                for i in (chunk * 64)..<((chunk + 1) * 64) { box.value[i] = i * round }
            }
            #expect((0..<n).allSatisfy { out[$0] == $0 * round })
        }
    }

    /// Several callers at once (the service runs experiments concurrently): one owns the pool, the others
    /// run serially on their own threads; nested calls from inside a body do too. All complete.
    @Test func concurrentAndNestedCallers() {
        let pool = ComputePool()
        let totals = (0..<6).map { _ in Counter() }
        DispatchQueue.concurrentPerform(iterations: 6) { caller in
            for _ in 0..<30 {
                pool.run(iterations: 16, threads: 2) { i in
                    pool.run(iterations: 4, threads: 2) { j in
                        totals[caller].value.wrappingAdd(i * 4 + j, ordering: .relaxed)
                    }
                }
            }
        }
        let expected = 30 * (0..<64).reduce(0, +)
        #expect(totals.allSatisfy { $0.value.load(ordering: .relaxed) == expected })
    }

    /// The helpers are the pool's own threads, not Dispatch workers: on Linux those share one core-wide pool with
    /// Swift's cooperative executor, which a long computation would starve. Two iterations that wait for each
    /// other force the helper to take one, and it runs on a thread named `initlab-compute`.
    @Test func helpersAreThePoolsOwnThreads() {
        let pool = ComputePool()
        let arrived = Atomic<Int>(0)
        let names = Names()
        pool.run(iterations: 2, threads: 2) { i in
            names.record(i, currentThreadName())
            arrived.wrappingAdd(1, ordering: .relaxed)
            let deadline = DispatchTime.now().uptimeNanoseconds + 10_000_000_000
            while arrived.load(ordering: .relaxed) < 2, DispatchTime.now().uptimeNanoseconds < deadline {}
        }
        #expect(arrived.load(ordering: .relaxed) == 2)
        let helperNames = names.all.filter { $0 != currentThreadName() }
        #expect(helperNames == [ComputePool.threadName])
    }

    /// The calling thread's name as the kernel has it.
    func currentThreadName() -> String {
        let comm = (try? String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8)) ?? "?"
        return comm.trimmingCharacters(in: .newlines)
    }

    final class Names: @unchecked Sendable {
        private let lock = NSLock()
        private var names: [Int: String] = [:]
        func record(_ i: Int, _ name: String) { lock.lock(); names[i] = name; lock.unlock() }
        var all: [String] { lock.lock(); defer { lock.unlock() }; return names.keys.sorted().compactMap { names[$0] } }
    }

    final class Counter: Sendable {
        let value = Atomic<Int>(0)
    }

    func usleepMillis(_ ms: Int) {
        let deadline = DispatchTime.now() + .milliseconds(ms)
        let done = DispatchSemaphore(value: 0)
        DispatchQueue.global().asyncAfter(deadline: deadline) { done.signal() }
        done.wait()
    }
}

/// Carries a non-Sendable pointer into a round's iterations, which write disjoint memory.
struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
