import Testing

@testable import InitLabService

/// The exposition text of `ServiceMetrics` (rendered by swift-prometheus), line by line. The library emits the
/// families in no fixed order, so lines are compared as a set; each family's `# HELP` and `# TYPE` must appear
/// exactly once, and its samples exactly as listed.
@Suite(.offCooperativePool) struct ServiceMetricsTests {
    static func lines(_ text: String) -> [String] { text.split(separator: "\n").map(String.init) }

    static func render(_ metrics: ServiceMetrics) -> String {
        metrics.render(
            jobs: [.queued: 3, .running: 1, .succeeded: 7], queueCapacity: 64, workers: 2, busyWorkers: 1,
            openConnections: 5)
    }

    @Test func gaugesAreSetFromTheScrapeTimeValues() {
        let lines = Self.lines(Self.render(ServiceMetrics()))
        let expected = [
            "# HELP initlab_jobs Jobs in the store by status.",
            "# TYPE initlab_jobs gauge",
            "initlab_jobs{status=\"queued\"} 3.0",
            "initlab_jobs{status=\"running\"} 1.0",
            "initlab_jobs{status=\"succeeded\"} 7.0",
            "initlab_jobs{status=\"failed\"} 0.0",
            "initlab_jobs{status=\"cancelled\"} 0.0",
            "# HELP initlab_queue_depth Jobs waiting for a worker.",
            "# TYPE initlab_queue_depth gauge",
            "initlab_queue_depth 3.0",
            "# HELP initlab_queue_capacity Queued jobs accepted before POST answers 503.",
            "# TYPE initlab_queue_capacity gauge",
            "initlab_queue_capacity 64.0",
            "# HELP initlab_workers Worker threads.",
            "# TYPE initlab_workers gauge",
            "initlab_workers 2.0",
            "# HELP initlab_workers_busy Workers running an experiment.",
            "# TYPE initlab_workers_busy gauge",
            "initlab_workers_busy 1.0",
            "# HELP initlab_http_open_connections Open client connections.",
            "# TYPE initlab_http_open_connections gauge",
            "initlab_http_open_connections 5.0",
            "# HELP initlab_job_run_seconds Wall time of one run attempt.",
            "# TYPE initlab_job_run_seconds histogram",
        ]
        for line in expected {
            #expect(lines.filter { $0 == line }.count == 1, "\(line)")
        }
        // No run and no request yet: empty histogram, no labelled counter families.
        #expect(lines.contains("initlab_job_run_seconds_count 0"))
        #expect(!lines.contains { $0.hasPrefix("initlab_http_requests_total") || $0.contains("initlab_job_runs_total") })
    }

    @Test func requestsAreCountedPerMethodRouteAndStatus() {
        let metrics = ServiceMetrics()
        metrics.recordRequest(method: "GET", route: "/readyz", status: 200)
        metrics.recordRequest(method: "GET", route: "/readyz", status: 200)
        metrics.recordRequest(method: "POST", route: "/v1/experiments", status: 202)
        metrics.recordRequest(method: "GET", route: "unmatched", status: 404)
        let lines = Self.lines(Self.render(metrics))
        #expect(lines.filter { $0.contains("initlab_http_requests_total") } .sorted() == [
            "# HELP initlab_http_requests_total HTTP requests by route, method and status.",
            "# TYPE initlab_http_requests_total counter",
            "initlab_http_requests_total{method=\"GET\",route=\"/readyz\",status=\"200\"} 2",
            "initlab_http_requests_total{method=\"GET\",route=\"unmatched\",status=\"404\"} 1",
            "initlab_http_requests_total{method=\"POST\",route=\"/v1/experiments\",status=\"202\"} 1",
        ])
    }

    @Test func runsFillTheHistogramAndTheOutcomeCounter() {
        let metrics = ServiceMetrics()
        metrics.recordRun(seconds: 0.3, outcome: "succeeded")
        metrics.recordRun(seconds: 7, outcome: "succeeded")
        metrics.recordRun(seconds: 4000, outcome: "time_limit")
        let lines = Self.lines(Self.render(metrics))
        let histogram = lines.filter { $0.hasPrefix("initlab_job_run_seconds") }
        #expect(histogram == [
            "initlab_job_run_seconds_bucket{le=\"0.01\"} 0",
            "initlab_job_run_seconds_bucket{le=\"0.05\"} 0",
            "initlab_job_run_seconds_bucket{le=\"0.1\"} 0",
            "initlab_job_run_seconds_bucket{le=\"0.5\"} 1",
            "initlab_job_run_seconds_bucket{le=\"1.0\"} 1",
            "initlab_job_run_seconds_bucket{le=\"5.0\"} 1",
            "initlab_job_run_seconds_bucket{le=\"10.0\"} 2",
            "initlab_job_run_seconds_bucket{le=\"30.0\"} 2",
            "initlab_job_run_seconds_bucket{le=\"60.0\"} 2",
            "initlab_job_run_seconds_bucket{le=\"300.0\"} 2",
            "initlab_job_run_seconds_bucket{le=\"900.0\"} 2",
            "initlab_job_run_seconds_bucket{le=\"3600.0\"} 2",
            "initlab_job_run_seconds_bucket{le=\"+Inf\"} 3",
            "initlab_job_run_seconds_sum 4007.3",
            "initlab_job_run_seconds_count 3",
        ])
        #expect(lines.filter { $0.contains("initlab_job_runs_total") }.sorted() == [
            "# HELP initlab_job_runs_total Finished run attempts by outcome.",
            "# TYPE initlab_job_runs_total counter",
            "initlab_job_runs_total{outcome=\"succeeded\"} 2",
            "initlab_job_runs_total{outcome=\"time_limit\"} 1",
        ])
    }

    /// Each service owns its registry: two instances in one process (as in the tests, which start many services)
    /// never see each other's counts, which the process-wide swift-metrics bootstrap could not give.
    @Test func eachServiceHasItsOwnRegistry() {
        let first = ServiceMetrics()
        let second = ServiceMetrics()
        first.recordRequest(method: "GET", route: "/healthz", status: 200)
        #expect(Self.lines(Self.render(first)).contains(
            "initlab_http_requests_total{method=\"GET\",route=\"/healthz\",status=\"200\"} 1"))
        #expect(!Self.render(second).contains("initlab_http_requests_total"))
    }
}
