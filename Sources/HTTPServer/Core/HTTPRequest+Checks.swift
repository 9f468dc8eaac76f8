/// Checks every route makes the same way, so each decision is made once.
extension HTTPRequest {
    /// The query as a dictionary, after checking that every name is one of `allowed` and none repeats
    /// (`400 unknown_parameter` / `400 duplicate_parameter`, naming the parameter and what is accepted).
    public func queryParameters(allowed: Set<String>) throws(ProblemError) -> [String: String] {
        var values: [String: String] = [:]
        for (name, value) in query {
            guard allowed.contains(name) else {
                let accepted = allowed.isEmpty ? "none" : allowed.sorted().joined(separator: ", ")
                throw ProblemError(
                    .badRequest, code: "unknown_parameter", title: "Bad request",
                    detail: "Unknown query parameter '\(name)'; accepted: \(accepted).")
            }
            guard values[name] == nil else {
                throw ProblemError(
                    .badRequest, code: "duplicate_parameter", title: "Bad request",
                    detail: "Query parameter '\(name)' given more than once.")
            }
            values[name] = value
        }
        return values
    }

    /// The value of a header field that may appear at most once (RFC 9110 §5.3: a singleton field sent twice
    /// is malformed): nil when absent, `400 duplicate_header` when repeated — never silently the first one.
    public func singletonHeader(_ name: String) throws(ProblemError) -> String? {
        let values = headers.values(name: name)
        guard values.count <= 1 else {
            throw ProblemError(
                .badRequest, code: "duplicate_header", title: "Bad request",
                detail: "The header \(name) was sent \(values.count) times; it may appear once.")
        }
        return values.first
    }
}
