import Foundation
import HTTPServer
import InitLabContract

/// Settings of the visualization routes, with documented defaults; built once by the executable.
package struct VisualizationConfiguration: Sendable {
    /// Interval of the SSE heartbeat comment on an idle stream. Default: `--sse-heartbeat`'s (15 s).
    package var heartbeat: Duration = ServiceConfiguration().sseHeartbeat
    /// The `retry:` reconnection delay sent to EventSource clients. Default: 2,000 ms.
    package var reconnectMilliseconds: Int = 2000
    /// Most experiments one sweep may create. Default: 64.
    package var maxSweepCombinations: Int = 64
    /// Total estimated floating-point operations of all a sweep's experiments. Default: 2e13 (ten full budgets).
    package var maxSweepFLOPs: Double = 2e13

    package init() {}
}

/// One Server-Sent Event frame (HTML Living Standard §9.2.6): `id:`, `event:`, one `data:` line per line.
struct SSEFrame: Equatable {
    var id: Int?
    var event: String
    var data: String
    var retry: Int?

    var text: String {
        var out = ""
        if let id { out += "id: \(id)\n" }
        out += "event: \(event)\n"
        if let retry { out += "retry: \(retry)\n" }
        for line in data.split(separator: "\n", omittingEmptySubsequences: false) { out += "data: \(line)\n" }
        return out + "\n"
    }

    static let heartbeat = ": heartbeat\n\n"
}

/// The live progress of one experiment as Server-Sent Events.
///
/// Event ids are a deterministic sequence per job, so `Last-Event-ID` resumes exactly where a client left off
/// no matter when it reconnects: `progress` events carry id = layers done (1…total; progress is written at
/// most every `progressWriteInterval`, so some ids are skipped), each `layer` event id = total + layer index,
/// and the final `done` event id = total + depth + 1 (2·total + 1 when the run did not succeed, above any
/// layer id a live stream may have sent). Layer events are sent in index order, each once: while the job runs,
/// as the worker finishes each layer (from the pool's in-memory `LiveLayerBuffer`, with the layer as last
/// reported: forward statistics, `backward` null until its backward step); once it has succeeded, the rest
/// from the stored result, so a stream opened (or resumed) after completion replays the same ids. After the
/// first `layer` event a stream's `progress` events carry no id (theirs would be lower than the layer ids
/// already sent; the status snapshot on reconnect carries the count). A `status` event without an id opens
/// every stream (a snapshot: queued/running/…); a heartbeat comment is sent after `heartbeat` of silence.
/// The stream ends after `done`; clients should close their EventSource on it (else it reconnects, gets the
/// snapshot and an immediately ended stream).
///
/// A training run (a spec with `train`) counts steps instead of layers: total = train.steps, and the status and
/// progress payloads carry `steps_done`/`steps_total`. Its evaluations and statistics snapshots stream as `eval`
/// and `snapshot` events (the objects of the result's `training.evals` and `training.snapshots`) in the order the
/// run made them (at each step boundary the snapshot first), the k-th with id total + k; then the init-time
/// layers (`layer`, id total + K + index, K the run's count of such events) from the stored result, and `done`
/// with id total + K + depth + 1 (3·total + 1 when the run did not succeed, above any id a live stream may have
/// sent: a run makes at most one snapshot and one evaluation per step).
package struct ExperimentEventStream: Sendable {
    let service: ExperimentService
    package let id: String
    package let lastEventID: Int
    let configuration: VisualizationConfiguration

    /// Writes the stream through `write` (one call per frame) until `done`; throws when the writer does
    /// (client gone).
    package func run(write: @Sendable (String) async throws -> Void) async throws {
        var sent = lastEventID
        var lastStatus: JobStatus?
        var first = true
        var unit = ProgressUnit.layers
        /// Layers done as the last `progress` event (or the opening snapshot) said.
        var progressShown = 0
        /// Time waited without a change (shared store: waits are one-second slices).
        var silence = Duration.zero
        while !Task.isCancelled {
            let generation = service.notifier.generation(of: id)
            guard let job = try await service.store.job(id: id) else {
                // Pruned while streaming: say so and end.
                try await write(SSEFrame(id: nil, event: "done", data: #"{"status":"gone"}"#).text)
                return
            }
            if first { unit = ProgressUnit(canonicalSpec: job.spec) }
            let total = job.layersTotal
            if job.status != lastStatus {
                let snapshot = #"{"status":"\#(job.status.rawValue)",\#(progressFields(unit, job.layersDone, total))}"#
                try await write(SSEFrame(id: nil, event: "status", data: snapshot, retry: first ? configuration.reconnectMilliseconds : nil).text)
                lastStatus = job.status
                if first { progressShown = lastEventID <= total ? lastEventID : job.layersDone }
                first = false
            }
            let done = job.status == .succeeded ? total : job.layersDone
            if done <= total, job.status != .queued {
                if done > sent {
                    try await write(SSEFrame(id: done, event: "progress", data: progressData(unit, done, total, job.status)).text)
                    sent = done
                    progressShown = done
                } else if sent > total, done > progressShown {
                    try await write(SSEFrame(id: nil, event: "progress", data: progressData(unit, done, total, job.status)).text)
                    progressShown = done
                }
            }
            if job.status == .running, unit == .steps {
                // Evaluations and snapshots the run made since the last one sent (ids total + k, in order).
                for item in service.workers.liveLayers.trainingEvents(of: id, after: max(sent - total, 0)) {
                    let eventID = total + item.number
                    guard eventID > sent else { continue }
                    try await write(SSEFrame(id: eventID, event: item.event.name, data: String(decoding: item.event.json, as: UTF8.self)).text)
                    sent = eventID
                }
            } else if job.status == .running {
                // Layers the worker finished since the last one sent (ids total + index, in order, no gaps).
                for layer in service.workers.liveLayers.layers(of: id, after: max(sent - total, 0)) {
                    let eventID = total + layer.index
                    guard eventID > sent, layer.index <= total else { break }
                    try await write(SSEFrame(id: eventID, event: "layer", data: String(decoding: layer.json, as: UTF8.self)).text)
                    sent = eventID
                }
            }
            if job.status.isTerminal {
                var depth = 0, trainingCount = 0
                if job.status == .succeeded, let data = try await service.store.result(id: id) {
                    let result = try JSONParser().parse(data)
                    let training = trainingEvents(in: result)
                    trainingCount = training.count
                    for (offset, event) in training.enumerated() where total + offset + 1 > sent {
                        let eventID = total + offset + 1
                        try await write(SSEFrame(id: eventID, event: event.name, data: String(decoding: event.json.serialized(), as: UTF8.self)).text)
                        sent = eventID
                    }
                    let layers = result["layers"]?.array ?? []
                    depth = layers.count
                    for (offset, layer) in layers.enumerated() where total + trainingCount + offset + 1 > sent {
                        let eventID = total + trainingCount + offset + 1
                        try await write(SSEFrame(id: eventID, event: "layer", data: String(decoding: layer.serialized(), as: UTF8.self)).text)
                        sent = eventID
                    }
                }
                let failedID = unit == .steps ? 3 * total + 1 : 2 * total + 1
                let doneID = job.status == .succeeded ? total + trainingCount + depth + 1 : failedID
                if doneID > sent {
                    var body: [String: JSONValue] = ["status": .string(job.status.rawValue)]
                    if job.status == .succeeded { body["result"] = .string("/v1/experiments/\(id)/result") }
                    if let error = job.error { body["error"] = .string(error) }
                    try await write(SSEFrame(id: doneID, event: "done", data: String(decoding: JSONValue.object(body).serialized(), as: UTF8.self)).text)
                }
                return
            }
            if service.store.isShared {
                // A change may come from another node: its notification normally wakes this wait, and a re-read
                // every second covers one that was missed; the heartbeat still follows `heartbeat` of silence.
                let slice = min(configuration.heartbeat, .seconds(1))
                await service.notifier.wait(id: id, generation: generation, timeout: slice)
                silence += slice
                if service.notifier.generation(of: id) != generation {
                    silence = .zero
                } else if silence >= configuration.heartbeat, !Task.isCancelled {
                    try await write(SSEFrame.heartbeat)
                    silence = .zero
                }
                continue
            }
            await service.notifier.wait(id: id, generation: generation, timeout: configuration.heartbeat)
            if service.notifier.generation(of: id) == generation, !Task.isCancelled {
                try await write(SSEFrame.heartbeat)
            }
        }
    }
}

private func progressData(_ unit: ProgressUnit, _ done: Int, _ total: Int, _ status: JobStatus) -> String {
    #"{\#(progressFields(unit, done, total)),"status":"\#(status.rawValue)"}"#
}

/// `"layers_done":d,"layers_total":t`, or `"steps_done":d,"steps_total":t` for a training run.
func progressFields(_ unit: ProgressUnit, _ done: Int, _ total: Int) -> String {
    #""\#(unit.rawValue)_done":\#(done),"\#(unit.rawValue)_total":\#(total)"#
}

/// A stored result's evaluations and snapshots in the order the run made them, as live events: snapshot k is
/// measured during step k (0-based) and reported at boundary k + 1, evaluation k after k steps; at one boundary
/// the snapshot comes first. Empty for an init-time result.
func trainingEvents(in result: JSONValue) -> [(name: String, json: JSONValue)] {
    guard let training = result["training"] else { return [] }
    var events: [(boundary: Int, order: Int, name: String, json: JSONValue)] = []
    for snapshot in training["snapshots"]?.array ?? [] {
        let step = Int(snapshot["step"]?.numberValue?.exactInt64 ?? 0)
        events.append((step + 1, 0, "snapshot", snapshot))
    }
    for eval in training["evals"]?.array ?? [] {
        let step = Int(eval["step"]?.numberValue?.exactInt64 ?? 0)
        events.append((step, 1, "eval", eval))
    }
    // Both lists are in step order already; a stable merge by (boundary, order).
    let ordered = events.enumerated().sorted {
        ($0.element.boundary, $0.element.order, $0.offset) < ($1.element.boundary, $1.element.order, $1.offset)
    }
    return ordered.map { ($0.element.name, $0.element.json) }
}

extension ExperimentService {
    /// Validates an events request (`GET /v1/experiments/{id}/events`, optional `Last-Event-ID`) before any
    /// byte is streamed, so errors are still ordinary problems: 404 unknown id, 400 bad `Last-Event-ID`,
    /// 400 any query parameter.
    func eventStream(
        id: String, request: HTTPRequest, configuration: VisualizationConfiguration = VisualizationConfiguration()
    ) async throws -> ExperimentEventStream {
        _ = try request.queryParameters(allowed: [])
        var last = 0
        // Present means an id: EventSource omits the header until it has received one, so an empty value is
        // as invalid as any other non-integer (the contract says integer; Schemathesis holds us to it).
        if let raw = try request.singletonHeader("Last-Event-ID")?.trimmingCharacters(in: .whitespaces) {
            guard let parsed = Int(raw), parsed >= 0 else {
                throw Problem.badRequest(
                    "invalid_last_event_id",
                    "Last-Event-ID must be an event id this stream sent (an integer ≥ 0), got '\(raw.prefix(40))'; "
                        + "omit the header to start from the first event.")
            }
            last = parsed
        }
        guard isJobID(id), try await store.job(id: id) != nil else {
            throw Problem.notFound("No experiment with id '\(id)' (unknown, or pruned after the retention period).")
        }
        return ExperimentEventStream(service: self, id: id, lastEventID: last, configuration: configuration)
    }
}
