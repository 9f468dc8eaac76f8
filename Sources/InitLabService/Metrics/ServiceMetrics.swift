import Foundation
import Synchronization

/// Counters and histograms for `GET /metrics`, in the Prometheus text exposition format (version 0.0.4).
///
/// Job counts by status and the queue depth are read from the store at scrape time (they survive restarts);
/// everything here is process-local and starts from zero.
public final class ServiceMetrics: Sendable {
    /// Upper bounds, in seconds, of the experiment run-time histogram.
    public static let runTimeBuckets: [Double] = [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600]

    private struct RequestKey: Hashable {
        var method: String
        var route: String
        var status: Int
    }

    private struct State {
        var requests: [RequestKey: UInt64] = [:]
        var runBucketCounts = [UInt64](repeating: 0, count: ServiceMetrics.runTimeBuckets.count)
        var runCount: UInt64 = 0
        var runSum: Double = 0
        var outcomes: [String: UInt64] = [:]
    }

    private let state = Mutex(State())

    public init() {}

    /// Counts one finished HTTP request. `route` is the matched pattern (never the raw path, to bound the
    /// label set); unmatched paths count as "unmatched".
    public func recordRequest(method: String, route: String, status: Int) {
        state.withLock { $0.requests[RequestKey(method: method, route: route, status: status), default: 0] += 1 }
    }

    /// Records how long one attempt ran and how it ended.
    public func recordRun(seconds: Double, outcome: String) {
        state.withLock { state in
            for (index, bound) in Self.runTimeBuckets.enumerated() where seconds <= bound {
                state.runBucketCounts[index] += 1
            }
            state.runCount += 1
            state.runSum += seconds
            state.outcomes[outcome, default: 0] += 1
        }
    }

    /// The exposition text. `jobs` and the gauges come from the caller.
    public func render(
        jobs: [JobStatus: Int], queueCapacity: Int, workers: Int, busyWorkers: Int, openConnections: Int
    ) -> String {
        let snapshot = state.withLock { $0 }
        var out = ""
        out += "# HELP initlab_jobs Jobs in the store by status.\n# TYPE initlab_jobs gauge\n"
        for status in JobStatus.allCases {
            out += "initlab_jobs{status=\"\(status.rawValue)\"} \(jobs[status] ?? 0)\n"
        }
        out += "# HELP initlab_queue_depth Jobs waiting for a worker.\n# TYPE initlab_queue_depth gauge\n"
        out += "initlab_queue_depth \(jobs[.queued] ?? 0)\n"
        out += "# HELP initlab_queue_capacity Queued jobs accepted before POST answers 503.\n"
        out += "# TYPE initlab_queue_capacity gauge\ninitlab_queue_capacity \(queueCapacity)\n"
        out += "# HELP initlab_workers Worker threads.\n# TYPE initlab_workers gauge\ninitlab_workers \(workers)\n"
        out += "# HELP initlab_workers_busy Workers running an experiment.\n# TYPE initlab_workers_busy gauge\n"
        out += "initlab_workers_busy \(busyWorkers)\n"
        out += "# HELP initlab_job_run_seconds Wall time of one run attempt.\n"
        out += "# TYPE initlab_job_run_seconds histogram\n"
        for (index, bound) in Self.runTimeBuckets.enumerated() {
            out += "initlab_job_run_seconds_bucket{le=\"\(Self.format(bound))\"} \(snapshot.runBucketCounts[index])\n"
        }
        out += "initlab_job_run_seconds_bucket{le=\"+Inf\"} \(snapshot.runCount)\n"
        out += "initlab_job_run_seconds_sum \(Self.format(snapshot.runSum))\n"
        out += "initlab_job_run_seconds_count \(snapshot.runCount)\n"
        out += "# HELP initlab_job_runs_total Finished run attempts by outcome.\n"
        out += "# TYPE initlab_job_runs_total counter\n"
        for (outcome, count) in snapshot.outcomes.sorted(by: { $0.key < $1.key }) {
            out += "initlab_job_runs_total{outcome=\"\(outcome)\"} \(count)\n"
        }
        out += "# HELP initlab_http_requests_total HTTP requests by route, method and status.\n"
        out += "# TYPE initlab_http_requests_total counter\n"
        let requests = snapshot.requests.sorted {
            ($0.key.route, $0.key.method, $0.key.status) < ($1.key.route, $1.key.method, $1.key.status)
        }
        for (key, count) in requests {
            out +=
                "initlab_http_requests_total{method=\"\(key.method)\",route=\"\(Self.escape(key.route))\",status=\"\(key.status)\"} \(count)\n"
        }
        out += "# HELP initlab_http_open_connections Open client connections.\n"
        out += "# TYPE initlab_http_open_connections gauge\ninitlab_http_open_connections \(openConnections)\n"
        return out
    }

    private static func format(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }

    private static func escape(_ label: String) -> String {
        label.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
    }
}
