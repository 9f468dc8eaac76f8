import Foundation
import Synchronization

/// Wakes long-polling requests when a job changes, so `GET /v1/experiments/{id}?wait=N` returns within
/// milliseconds of a transition or a progress write instead of polling the database.
///
/// Each job has a generation counter; `wait(id:generation:timeout:)` returns at once if the counter already moved
/// past the generation the caller read, which closes the race between reading the job and starting to wait.
package final class JobChangeNotifier: Sendable {
    private struct Waiter {
        var generation: UInt64
        var continuation: CheckedContinuation<Void, Never>
    }

    private struct State {
        var generations: [String: UInt64] = [:]
        var waiters: [String: [UInt64: Waiter]] = [:]
        var nextToken: UInt64 = 0
        /// Tokens whose timeout or cancellation fired before they registered.
        var expired: Set<UInt64> = []
        /// Callers of `parked(atLeast:)` still waiting for that many parked requests.
        var parkObservers: [(count: Int, continuation: CheckedContinuation<Void, Never>)] = []
        var parkedCount: Int { waiters.values.reduce(0) { $0 + $1.count } }
    }

    private let state = Mutex(State())

    package init() {}

    /// The current generation of a job (0 if it never changed in this process).
    package func generation(of id: String) -> UInt64 {
        state.withLock { $0.generations[id] ?? 0 }
    }

    /// Records a change and resumes everyone waiting on the job.
    package func notify(_ id: String) {
        let woken: [CheckedContinuation<Void, Never>] = state.withLock { state in
            state.generations[id, default: 0] += 1
            let waiters = state.waiters.removeValue(forKey: id) ?? [:]
            if state.generations.count > 100_000 { state.generations.removeAll(keepingCapacity: true) }
            return waiters.values.map(\.continuation)
        }
        for continuation in woken { continuation.resume() }
    }

    /// Suspends until the job changes after `generation`, the timeout passes, or the task is cancelled.
    package func wait(id: String, generation: UInt64, timeout: Duration) async {
        let token = state.withLock { state -> UInt64 in
            state.nextToken += 1
            return state.nextToken
        }
        let timer = Task {
            guard (try? await Task.sleep(for: timeout)) != nil else { return }
            self.resume(id: id, token: token)
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state -> Bool in
                    if (state.generations[id] ?? 0) != generation || state.expired.remove(token) != nil {
                        return true
                    }
                    state.waiters[id, default: [:]][token] = Waiter(generation: generation, continuation: continuation)
                    return false
                }
                if resumeNow { continuation.resume() } else { resumeParkObservers() }
            }
        } onCancel: {
            timer.cancel()
            self.resume(id: id, token: token)
        }
        timer.cancel()
        state.withLock { _ = $0.expired.remove(token) }
    }

    private func resume(id: String, token: UInt64) {
        let waiter = state.withLock { state -> Waiter? in
            guard let waiter = state.waiters[id]?.removeValue(forKey: token) else {
                if state.expired.count > 10_000 { state.expired.removeAll() }
                state.expired.insert(token)
                return nil
            }
            if state.waiters[id]?.isEmpty == true { state.waiters[id] = nil }
            return waiter
        }
        waiter?.continuation.resume()
    }

    /// Number of requests currently waiting (for tests and metrics).
    package var waiterCount: Int {
        state.withLock { $0.parkedCount }
    }

    /// Returns once at least `count` requests are parked in `wait`: a test's signal that a long-poll is really
    /// waiting (instead of sleeping and hoping it is).
    package func parked(atLeast count: Int) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let now = state.withLock { state -> Bool in
                if state.parkedCount >= count { return true }
                state.parkObservers.append((count, continuation))
                return false
            }
            if now { continuation.resume() }
        }
    }

    private func resumeParkObservers() {
        let ready: [CheckedContinuation<Void, Never>] = state.withLock { state in
            let parked = state.parkedCount
            let (met, waiting) = (state.parkObservers.filter { $0.count <= parked }, state.parkObservers.filter { $0.count > parked })
            state.parkObservers = waiting
            return met.map(\.continuation)
        }
        for continuation in ready { continuation.resume() }
    }
}
