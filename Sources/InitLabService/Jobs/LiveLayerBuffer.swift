import Foundation
import Synchronization

/// The layers running jobs have finished so far, as result-shaped JSON, for the events route to stream before
/// the result is stored. In memory only: an entry is keyed by job id and attempt, created when a worker starts
/// the attempt and dropped when it ends (after the terminal status and result are stored, or the job went back
/// to the queue), so it never outlives the run; from then on the stored result is the source. Bounded: at most
/// one entry per worker, and at most `maxBytesPerJob` of layer JSON each (a layer that does not fit is not
/// kept; streams then wait for the stored result for it and everything after it).
///
/// A training run's evaluations and snapshots are kept the same way, as a list in the order the run made them
/// (within the same byte budget; once one does not fit, no later one is kept, so the list stays a prefix).
final class LiveLayerBuffer: Sendable {
    private struct Entry {
        var attempt: Int
        var layers: [Int: Data] = [:]
        var trainingEvents: [TrainingEvent] = []
        var trainingFull = false
        var bytes = 0
    }

    private let state = Mutex<[String: Entry]>([:])
    let maxBytesPerJob: Int

    init(maxBytesPerJob: Int = 16 << 20) { self.maxBytesPerJob = maxBytesPerJob }

    /// Starts an empty buffer for a job's attempt (replacing any earlier attempt's).
    func begin(id: String, attempt: Int) {
        state.withLock { $0[id] = Entry(attempt: attempt) }
    }

    /// Keeps the latest report of layer `index` (a later pass replaces an earlier one); false when nothing was
    /// kept (another attempt owns the buffer, or the layer does not fit the budget).
    @discardableResult
    func record(id: String, attempt: Int, index: Int, json: Data) -> Bool {
        state.withLock { entries in
            guard var entry = entries[id], entry.attempt == attempt, index >= 1 else { return false }
            let bytes = entry.bytes - (entry.layers[index]?.count ?? 0) + json.count
            guard bytes <= maxBytesPerJob else { return false }
            entry.layers[index] = json
            entry.bytes = bytes
            entries[id] = entry
            return true
        }
    }

    /// Appends a training run's next evaluation or snapshot; false when nothing was kept (another attempt owns
    /// the buffer, or it does not fit the budget: then no later one is kept either).
    @discardableResult
    func appendTrainingEvent(id: String, attempt: Int, _ event: TrainingEvent) -> Bool {
        state.withLock { entries in
            guard var entry = entries[id], entry.attempt == attempt, !entry.trainingFull else { return false }
            guard entry.bytes + event.json.count <= maxBytesPerJob else {
                entry.trainingFull = true
                entries[id] = entry
                return false
            }
            entry.trainingEvents.append(event)
            entry.bytes += event.json.count
            entries[id] = entry
            return true
        }
    }

    /// The buffered training events after the first `count`, numbered from count + 1.
    func trainingEvents(of id: String, after count: Int) -> [(number: Int, event: TrainingEvent)] {
        state.withLock { entries in
            guard let events = entries[id]?.trainingEvents, count < events.count else { return [] }
            return (max(count, 0)..<events.count).map { ($0 + 1, events[$0]) }
        }
    }

    /// Drops the attempt's buffer (a newer attempt's is left alone).
    func end(id: String, attempt: Int) {
        state.withLock { entries in
            if entries[id]?.attempt == attempt { entries[id] = nil }
        }
    }

    /// The buffered layers after `index`, contiguous from `index + 1` (stops at the first one not finished or
    /// not kept), so a stream sending them in order never skips an id.
    func layers(of id: String, after index: Int) -> [(index: Int, json: Data)] {
        state.withLock { entries in
            guard let entry = entries[id] else { return [] }
            var out: [(index: Int, json: Data)] = []
            var next = max(index, 0) + 1
            while let json = entry.layers[next] {
                out.append((next, json))
                next += 1
            }
            return out
        }
    }

    /// Jobs with a buffer (for tests).
    var count: Int { state.withLock { $0.count } }
}
