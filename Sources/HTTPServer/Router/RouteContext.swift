/// What the router learned while matching: the route pattern and the decoded path parameters.
public struct RouteContext: Sendable {
    /// Percent-decoded values of the pattern's `{name}` segments.
    public var parameters: [String: String]
    /// The matched pattern, e.g. `/v1/experiments/{id}` (a bounded label for metrics).
    public var route: String

    public init(parameters: [String: String] = [:], route: String = "") {
        self.parameters = parameters
        self.route = route
    }
}

/// A request handler. Runs as a Swift concurrency task that prefers its connection's event loop (see
/// `HandlerWork`); may suspend freely, must not block.
public typealias HTTPHandler = @Sendable (HTTPRequest, RouteContext) async throws -> HTTPResponse

/// The outcome of routing one request.
public struct RoutedResponse: Sendable {
    public var response: HTTPResponse
    /// The matched pattern, nil when no route matched.
    public var route: String?
    /// The error a handler threw, when it was not an `HTTPProblem` (for the server's error log only).
    public var internalError: (any Error)?
}
