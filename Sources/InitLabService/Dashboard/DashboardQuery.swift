import Foundation

/// The dashboard's query parameters (its shareable state), checked on the server so a mistyped link gets a
/// 400 naming the parameter instead of a page that silently shows nothing.
enum DashboardQuery {
    static let allowed = ["runs", "sweep", "metric", "pass", "scale", "heatmap", "selftest", "loss", "layer", "lesson"]
    /// Most runs a link may overlay.
    static let maxRuns = 64

    static func validate(_ query: [(String, String)]) throws(ChartQueryError) {
        var seen: Set<String> = []
        for (name, value) in query {
            guard seen.insert(name).inserted else {
                throw ChartQueryError(parameter: name, detail: "query parameter '\(name)' may appear once")
            }
            switch name {
            case "runs":
                let ids = value.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
                guard !ids.isEmpty, ids.count <= maxRuns, ids.allSatisfy(isID) else {
                    throw ChartQueryError(parameter: name, detail: "runs must be 1…\(maxRuns) comma-separated experiment ids (lowercase UUIDs)")
                }
            case "sweep", "heatmap":
                guard isID(value) else {
                    throw ChartQueryError(parameter: name, detail: "\(name) must be an id (a lowercase UUID)")
                }
            case "metric":
                guard ChartOptions.Metric(rawValue: value) != nil else {
                    throw .notAllowed(name, value, ChartOptions.Metric.allCases.map(\.rawValue))
                }
            case "pass":
                guard ChartOptions.Pass(rawValue: value) != nil else { throw .notAllowed(name, value, ChartOptions.Pass.allCases.map(\.rawValue)) }
            case "scale", "loss":
                guard ChartOptions.Scale(rawValue: value) != nil else { throw .notAllowed(name, value, ChartOptions.Scale.allCases.map(\.rawValue)) }
            case "layer":
                // A training snapshot's layer: 1…depth + 1 (the classifier), depth at most 10,000.
                guard let index = Int(value), index >= 1, index <= 10_001 else {
                    throw ChartQueryError(parameter: name, detail: "layer must be an integer from 1 to 10001")
                }
            case "lesson":
                guard value == "quick" else { throw .notAllowed(name, value, ["quick"]) }
            case "selftest":
                guard value == "1" else { throw .notAllowed(name, value, ["1"]) }
            default:
                throw ChartQueryError(parameter: name, detail: "unknown query parameter '\(name)'; allowed: \(allowed.joined(separator: ", "))")
            }
        }
    }

    static func isID(_ text: String) -> Bool {
        text.count == 36 && text == text.lowercased() && UUID(uuidString: text) != nil
    }
}
