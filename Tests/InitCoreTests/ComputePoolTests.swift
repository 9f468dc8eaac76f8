import TestSupport
import Dispatch
import Synchronization
import Testing
@testable import InitCore

@Suite("ComputePool: the core's parallel loop", .offCooperativePool)
struct ComputePoolTests {
    /// Every iteration runs exactly once, whatever the thread count, over many back-to-back rounds (helpers
    /// reused while they poll) and after a pause longer than the helpers' polling budget (helpers restarted).
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
    /// fall back to `concurrentPerform`; nested calls from inside a body fall back too. All complete.
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
