import Synchronization

/// Maps method and path to handlers: the one routing step of a server.
///
/// Patterns are `/`-separated literal segments and `{name}` parameters, matched against the still-encoded
/// path segment by segment (so `%2F` inside a parameter cannot create a segment); parameter values are then
/// percent-decoded into `RouteContext.parameters`. A trailing slash is significant. Literal segments win over
/// parameters when both match.
///
/// Routes are registered directly (`get`, `post`, …) or through a `RouteGroup` (a path prefix with its own
/// middleware, e.g. authentication for the routes that change state). Middleware given to `use(_:)` wraps
/// every request, the router's own answers included (e.g. CORS).
///
/// Beyond the handlers it is given, the router answers:
/// - `HEAD` for every `GET` route (the server drops the body and keeps `Content-Length`);
/// - `OPTIONS` with `204` and `Allow` (for `*`: every method some route serves, RFC 9110 §9.3.7);
/// - `404` for an unknown path, `405` with `Allow` for a known path and another method.
///
/// Every error — a handler's, a middleware's or its own — is rendered by `problems`, the server's one
/// `ProblemRenderer`. Unknown methods never get here: the parser answers them `501`.
///
/// Handlers run on their connection's event loop (`HandlerWork.light`, the default) unless registered as
/// `.heavy`: see `HandlerWork`.
public final class Router: Sendable {
    fileprivate struct Route: Sendable {
        var method: HTTPMethod
        var pattern: String
        var segments: [Segment]
        /// The handler wrapped in its group's middleware.
        var responder: HTTPHandler
        var work: HandlerWork
        /// Literal segments count: more literals is more specific.
        var specificity: Int
    }

    fileprivate enum Segment: Sendable, Equatable {
        case literal(String)
        case parameter(String)
    }

    private let routes = Mutex<[Route]>([])
    private let middleware = Mutex<[any HTTPMiddleware]>([])
    /// Renders every problem this router answers (and, through the server, every protocol error).
    public let problems: ProblemRenderer

    public init(problems: ProblemRenderer = ProblemRenderer()) {
        self.problems = problems
    }

    /// Adds middleware around every request (outermost first in the order added).
    public func use(_ middleware: any HTTPMiddleware) {
        self.middleware.withLock { $0.append(middleware) }
    }

    /// Registers `handler` for `method` on `pattern` (e.g. `/v1/experiments/{id}`). A later registration of the
    /// same method and pattern replaces the earlier one.
    public func add(
        _ method: HTTPMethod, _ pattern: String, work: HandlerWork = .light, _ handler: @escaping HTTPHandler
    ) {
        add(method, pattern, middleware: [], work: work, handler)
    }

    fileprivate func add(
        _ method: HTTPMethod, _ pattern: String, middleware: [any HTTPMiddleware], work: HandlerWork,
        _ handler: @escaping HTTPHandler
    ) {
        let segments: [Segment] = Router.split(pattern).map { part in
            if part.hasPrefix("{") && part.hasSuffix("}") && part.count > 2 {
                return .parameter(String(part.dropFirst().dropLast()))
            }
            return .literal(String(part))
        }
        let route = Route(
            method: method, pattern: pattern, segments: segments,
            responder: Router.chain(middleware, around: handler), work: work,
            specificity: segments.filter { if case .literal = $0 { true } else { false } }.count)
        routes.withLock { routes in
            routes.removeAll { $0.method == method && $0.pattern == pattern }
            routes.append(route)
            routes.sort { $0.specificity > $1.specificity }
        }
    }

    public func get(_ pattern: String, work: HandlerWork = .light, _ handler: @escaping HTTPHandler) {
        add(.GET, pattern, work: work, handler)
    }
    public func post(_ pattern: String, work: HandlerWork = .light, _ handler: @escaping HTTPHandler) {
        add(.POST, pattern, work: work, handler)
    }
    public func put(_ pattern: String, _ handler: @escaping HTTPHandler) { add(.PUT, pattern, handler) }
    public func delete(_ pattern: String, _ handler: @escaping HTTPHandler) { add(.DELETE, pattern, handler) }
    public func patch(_ pattern: String, _ handler: @escaping HTTPHandler) { add(.PATCH, pattern, handler) }

    /// Every registered method and pattern (HEAD and OPTIONS, which the router adds, are not listed).
    public var registeredRoutes: [(method: HTTPMethod, pattern: String)] {
        routes.withLock { $0.map { ($0.method, $0.pattern) } }.sorted { ($0.pattern, $0.method.rawValue) < ($1.pattern, $1.method.rawValue) }
    }

    /// A group of routes under `prefix` (e.g. `/v1`), each wrapped in `middleware`.
    public func group(_ prefix: String = "", middleware: [any HTTPMiddleware] = []) -> RouteGroup {
        RouteGroup(router: self, prefix: prefix, middleware: middleware)
    }

    /// `handler` wrapped in `middleware`, the first one outermost.
    static func chain(_ middleware: [any HTTPMiddleware], around handler: @escaping HTTPHandler) -> HTTPHandler {
        middleware.reversed().reduce(handler) { next, layer in
            { @Sendable request, context in try await layer.respond(to: request, context: context, next: next) }
        }
    }

    private static func split(_ path: some StringProtocol) -> [Substring] {
        var p = Substring(path)
        if p.hasPrefix("/") { p = p.dropFirst() }
        return p.split(separator: "/", omittingEmptySubsequences: false)
    }

    private struct Match {
        var route: Route
        var parameters: [String: String]
    }

    private func matches(path: String) -> [Match] {
        let parts = Router.split(path)
        let table = routes.withLock { $0 }
        var result: [Match] = []
        for route in table where route.segments.count == parts.count {
            var parameters: [String: String] = [:]
            var ok = true
            for (segment, part) in zip(route.segments, parts) {
                switch segment {
                case .literal(let literal):
                    if literal != part { ok = false }
                case .parameter(let name):
                    if part.isEmpty { ok = false } else { parameters[name] = RequestTarget.percentDecode(part) }
                }
                if !ok { break }
            }
            if ok { result.append(Match(route: route, parameters: parameters)) }
        }
        return result
    }

    /// Routes `request` through the middleware and its handler. Never throws: every error becomes a problem
    /// response; an error that is not an `HTTPProblem` becomes a 500 and is returned in `internalError` for the
    /// server's log.
    public func respond(to request: HTTPRequest) async -> RoutedResponse {
        let label = Mutex<String?>(nil)
        let failure = Mutex<(any Error)?>(nil)
        let routing: HTTPHandler = { @Sendable [self] request, _ in
            let (response, pattern, error) = await self.route(request)
            label.withLock { $0 = pattern }
            if let error { failure.withLock { $0 = error } }
            return response
        }
        let responder = Router.chain(middleware.withLock { $0 }, around: routing)
        let response: HTTPResponse
        do {
            response = try await responder(request, RouteContext())
        } catch {
            let (problem, internalError) = Router.problem(for: error)
            if let internalError { failure.withLock { $0 = internalError } }
            response = problems.response(for: problem, instance: request.path, requestID: request.requestID)
        }
        return RoutedResponse(
            response: response, route: label.withLock { $0 }, internalError: failure.withLock { $0 })
    }

    private static func problem(for error: any Error) -> (any HTTPProblem, internalError: (any Error)?) {
        if let problem = error as? any HTTPProblem { return (problem, nil) }
        return (ProblemError.internalError, error)
    }

    /// The routing step: 404, 405, OPTIONS, HEAD → GET, or the route's own (middleware-wrapped) handler, whose
    /// errors are rendered here so that global middleware sees a response.
    private func route(_ request: HTTPRequest) async -> (HTTPResponse, String?, (any Error)?) {
        if request.path == "*" {
            // OPTIONS * (RFC 9110 §9.3.7): the methods this server serves somewhere.
            let served = Set(routes.withLock { $0.map(\.method) })
            return (HTTPResponse(status: .noContent, headers: ["Allow": Router.allowHeader(served)]), nil, nil)
        }
        let found = matches(path: request.path)
        guard !found.isEmpty else {
            let problem = ProblemError.notFound(detail: "No resource at \(request.path).")
            return (problems.response(for: problem, instance: request.path, requestID: request.requestID), nil, nil)
        }
        let exact = found.first { $0.route.method == request.method }
        let chosen = exact ?? (request.method == .HEAD ? found.first { $0.route.method == .GET } : nil)
        guard let match = chosen else {
            // Built only here: on every request it cost as much as the matching itself.
            let allowHeader = Router.allowHeader(Set(found.map(\.route.method)))
            // Pick the most specific matching pattern as the label.
            let label = found.first?.route.pattern
            if request.method == .OPTIONS {
                return (HTTPResponse(status: .noContent, headers: ["Allow": allowHeader]), label, nil)
            }
            let problem = ProblemError(
                .methodNotAllowed, code: "method_not_allowed", title: "Method not allowed",
                detail: "\(request.method.rawValue) is not allowed here; allowed: \(allowHeader).",
                headers: ["Allow": allowHeader])
            return (problems.response(for: problem, instance: request.path, requestID: request.requestID), label, nil)
        }
        let context = RouteContext(parameters: match.parameters, route: match.route.pattern)
        let responder = match.route.responder
        do {
            let response: HTTPResponse
            switch match.route.work {
            case .light:
                response = try await responder(request, context)
            case .heavy:
                response = try await withTaskExecutorPreference(globalConcurrentExecutor) {
                    try await responder(request, context)
                }
            }
            return (response, match.route.pattern, nil)
        } catch {
            let (problem, internalError) = Router.problem(for: error)
            return (
                problems.response(for: problem, instance: request.path, requestID: request.requestID),
                match.route.pattern, internalError
            )
        }
    }

    /// `Allow` for a set of route methods: those, HEAD wherever GET is served, and OPTIONS.
    private static func allowHeader(_ methods: Set<HTTPMethod>) -> String {
        var allowed = methods
        if allowed.contains(.GET) { allowed.insert(.HEAD) }
        allowed.insert(.OPTIONS)
        return HTTPMethod.allCases.filter { allowed.contains($0) }.map(\.rawValue).joined(separator: ", ")
    }
}

/// Routes under one path prefix, sharing middleware. Groups nest: a subgroup adds its prefix and middleware
/// inside its parent's.
public struct RouteGroup: Sendable {
    let router: Router
    let prefix: String
    let middleware: [any HTTPMiddleware]

    /// A nested group: `prefix` is appended to this group's, `middleware` runs inside this group's.
    public func group(_ prefix: String = "", middleware: [any HTTPMiddleware] = []) -> RouteGroup {
        RouteGroup(router: router, prefix: self.prefix + prefix, middleware: self.middleware + middleware)
    }

    /// Registers `handler` for `method` on the group's prefix followed by `path` ("" for the prefix itself).
    public func add(
        _ method: HTTPMethod, _ path: String, work: HandlerWork = .light, _ handler: @escaping HTTPHandler
    ) {
        router.add(method, prefix + path, middleware: middleware, work: work, handler)
    }

    public func get(_ path: String, work: HandlerWork = .light, _ handler: @escaping HTTPHandler) {
        add(.GET, path, work: work, handler)
    }
    public func post(_ path: String, work: HandlerWork = .light, _ handler: @escaping HTTPHandler) {
        add(.POST, path, work: work, handler)
    }
    public func put(_ path: String, _ handler: @escaping HTTPHandler) { add(.PUT, path, handler) }
    public func delete(_ path: String, _ handler: @escaping HTTPHandler) { add(.DELETE, path, handler) }
    public func patch(_ path: String, _ handler: @escaping HTTPHandler) { add(.PATCH, path, handler) }
}

/// Where a route's handler runs.
public enum HandlerWork: Sendable, Hashable {
    /// On the event loop that read the request (the default): no thread hand-off, so the cheapest answer. The
    /// handler may await anything, but between awaits it holds the loop, and with it every other connection of
    /// that loop: it must not block or compute for long.
    case light
    /// On the cooperative pool (Swift's global concurrent executor): for CPU-heavy handlers (rendering a chart,
    /// decoding a large result), which would stall a loop's other connections. Costs two thread hand-offs.
    case heavy
}

/// A step around handlers: it may answer by itself (throw a problem, return a response), pass the request on
/// with `next`, and change the response it gets back. Cross-cutting work lives here: authentication, CORS,
/// cross-site request checks.
public protocol HTTPMiddleware: Sendable {
    func respond(to request: HTTPRequest, context: RouteContext, next: HTTPHandler) async throws -> HTTPResponse
}
