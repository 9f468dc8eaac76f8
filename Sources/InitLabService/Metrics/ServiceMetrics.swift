import Prometheus
import Synchronization

/// Counters, gauges and a histogram for `GET /metrics`, kept in a swift-prometheus `PrometheusCollectorRegistry`
/// and rendered by it in the Prometheus text exposition format (version 0.0.4).
///
/// The registry belongs to this instance, not to swift-metrics' process-wide `MetricsSystem`: that can be
/// bootstrapped only once per process, and tests start many services, each of which must count from zero. The
/// collectors are used through the registry's own API because it is the one that carries the `# HELP` text (the
/// swift-metrics factory path registers every metric without it); they implement swift-metrics' handler protocols.
/// Names, labels and HELP/TYPE text are today's; the library writes gauge values, bucket bounds and the sum as
/// Swift `Double`s (`3.0`, `le="1.0"`), which Prometheus reads as it read `3` and `le="1"`, and emits the
/// families in no fixed order.
///
/// Job counts by status and the queue depth are read from the store at scrape time (they survive restarts) and
/// set on their gauges just before rendering, as are the other gauges; the counters and the histogram are
/// process-local and start from zero.
package final class ServiceMetrics: Sendable {
    /// Upper bounds, in seconds, of the experiment run-time histogram.
    package static let runTimeBuckets: [Double] = [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600]

    /// Each family's name (`initlab_` + metric name + unit) and HELP text. Computed: the library's descriptor
    /// type is not `Sendable`.
    private enum Family {
        static func named(_ metric: String, unit: String = "", help: String) -> MetricNameDescriptor {
            MetricNameDescriptor(namespace: "initlab", metricName: metric, unitName: unit, helpText: help)
        }
        static var jobs: MetricNameDescriptor { named("jobs", help: "Jobs in the store by status.") }
        static var queueDepth: MetricNameDescriptor { named("queue_depth", help: "Jobs waiting for a worker.") }
        static var queueCapacity: MetricNameDescriptor {
            named("queue_capacity", help: "Queued jobs accepted before POST answers 503.")
        }
        static var workers: MetricNameDescriptor { named("workers", help: "Worker threads.") }
        static var workersBusy: MetricNameDescriptor { named("workers_busy", help: "Workers running an experiment.") }
        static var runSeconds: MetricNameDescriptor {
            named("job_run", unit: "seconds", help: "Wall time of one run attempt.")
        }
        static var runs: MetricNameDescriptor {
            named("job_runs", unit: "total", help: "Finished run attempts by outcome.")
        }
        static var requests: MetricNameDescriptor {
            named("http_requests", unit: "total", help: "HTTP requests by route, method and status.")
        }
        static var openConnections: MetricNameDescriptor {
            named("http_open_connections", help: "Open client connections.")
        }
    }

    /// This service's collectors; `render` asks it for the exposition text.
    private let registry = PrometheusCollectorRegistry()
    private let jobs: [JobStatus: Gauge]
    private let queueDepth: Gauge
    private let queueCapacity: Gauge
    private let workers: Gauge
    private let workersBusy: Gauge
    private let openConnections: Gauge
    private let runSeconds: ValueHistogram

    private struct RequestKey: Hashable {
        var method: String
        var route: String
        var status: Int
    }

    /// The request counters by label set, so that counting a request is one dictionary lookup and an atomic
    /// add (the registry would validate the name and labels again on every call).
    private let requestCounters = Mutex<[RequestKey: Counter]>([:])

    package init() {
        var jobs: [JobStatus: Gauge] = [:]
        for status in JobStatus.allCases {
            jobs[status] = registry.makeGauge(descriptor: Family.jobs, labels: [("status", status.rawValue)])
        }
        self.jobs = jobs
        queueDepth = registry.makeGauge(descriptor: Family.queueDepth)
        queueCapacity = registry.makeGauge(descriptor: Family.queueCapacity)
        workers = registry.makeGauge(descriptor: Family.workers)
        workersBusy = registry.makeGauge(descriptor: Family.workersBusy)
        runSeconds = registry.makeValueHistogram(descriptor: Family.runSeconds, buckets: Self.runTimeBuckets)
        openConnections = registry.makeGauge(descriptor: Family.openConnections)
    }

    /// Counts one finished HTTP request. `route` is the matched pattern (never the raw path, to bound the
    /// label set); unmatched paths count as "unmatched".
    package func recordRequest(method: String, route: String, status: Int) {
        let key = RequestKey(method: method, route: route, status: status)
        let counter = requestCounters.withLock { counters in
            if let counter = counters[key] { return counter }
            let counter = registry.makeCounter(
                descriptor: Family.requests, labels: [("method", method), ("route", route), ("status", String(status))])
            counters[key] = counter
            return counter
        }
        counter.increment()
    }

    /// Records how long one attempt ran and how it ended.
    package func recordRun(seconds: Double, outcome: String) {
        runSeconds.record(seconds)
        registry.makeCounter(descriptor: Family.runs, labels: [("outcome", outcome)]).increment()
    }

    /// The exposition text. `jobs` and the gauges come from the caller and are set just before rendering.
    package func render(
        jobs: [JobStatus: Int], queueCapacity: Int, workers: Int, busyWorkers: Int, openConnections: Int
    ) -> String {
        for (status, gauge) in self.jobs { gauge.set(to: Double(jobs[status] ?? 0)) }
        queueDepth.set(to: Double(jobs[.queued] ?? 0))
        self.queueCapacity.set(to: Double(queueCapacity))
        self.workers.set(to: Double(workers))
        workersBusy.set(to: Double(busyWorkers))
        self.openConnections.set(to: Double(openConnections))
        return registry.emitToString()
    }
}
