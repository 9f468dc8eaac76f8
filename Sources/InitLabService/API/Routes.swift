/// The API's paths. Matching is exact (no trailing slash, no percent-decoding of ids beyond the server's).
enum Route: Equatable {
    case experiments
    case experiment(String)
    case result(String)
    case cancel(String)
    case schemes
    case healthz
    case readyz
    case metrics
    case openapi
    case datasets
    case dataset(String)
    case datasetFetch(String)

    /// One representative of every route (ids are placeholders), for registering patterns.
    static let all: [Route] = [
        .experiments, .experiment(""), .result(""), .cancel(""), .schemes, .healthz, .readyz, .metrics, .openapi,
        .datasets, .dataset(""), .datasetFetch(""),
    ]

    /// The pattern reported in metrics (bounded label set).
    var pattern: String {
        switch self {
        case .experiments: "/v1/experiments"
        case .experiment: "/v1/experiments/{id}"
        case .result: "/v1/experiments/{id}/result"
        case .cancel: "/v1/experiments/{id}/cancel"
        case .schemes: "/v1/schemes"
        case .healthz: "/healthz"
        case .readyz: "/readyz"
        case .metrics: "/metrics"
        case .openapi: "/openapi.yaml"
        case .datasets: "/v1/datasets"
        case .dataset: "/v1/datasets/{name}"
        case .datasetFetch: "/v1/datasets/{name}/fetch"
        }
    }

    /// Methods the path answers; anything else is 405 with this list in `Allow`.
    var allowedMethods: [String] {
        switch self {
        case .experiments: ["GET", "POST"]
        case .cancel, .datasetFetch: ["POST"]
        default: ["GET"]
        }
    }

    /// Query parameters the route accepts; any other is a 400.
    var allowedQuery: Set<String> {
        switch self {
        case .experiments: ["status", "page_size", "page_token"]
        case .experiment: ["wait"]
        case .dataset: ["verify"]
        default: []
        }
    }

    static func match(_ path: String) -> Route? {
        switch path {
        case "/v1/experiments": return .experiments
        case "/v1/schemes": return .schemes
        case "/healthz": return .healthz
        case "/readyz": return .readyz
        case "/metrics": return .metrics
        case "/openapi.yaml": return .openapi
        case "/v1/datasets": return .datasets
        default: break
        }
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        if parts.count >= 4, parts[0].isEmpty, parts[1] == "v1", parts[2] == "datasets", !parts[3].isEmpty {
            let name = String(parts[3])
            switch parts.count {
            case 4: return .dataset(name)
            case 5 where parts[4] == "fetch": return .datasetFetch(name)
            default: return nil
            }
        }
        guard parts.count >= 4, parts[0].isEmpty, parts[1] == "v1", parts[2] == "experiments", !parts[3].isEmpty
        else { return nil }
        let id = String(parts[3])
        switch parts.count {
        case 4: return .experiment(id)
        case 5 where parts[4] == "result": return .result(id)
        case 5 where parts[4] == "cancel": return .cancel(id)
        default: return nil
        }
    }
}
