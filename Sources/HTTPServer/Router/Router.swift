import Synchronization

/// Maps method and path to handlers.
///
/// Patterns are `/`-separated literal segments and `{name}` parameters, matched against the still-encoded
/// path segment by segment (so `%2F` inside a parameter cannot create a segment); parameter values are then
/// percent-decoded. A trailing slash is significant. Literal segments win over parameters when both match.
///
/// Beyond the handlers it is given, the router answers:
/// - `HEAD` for every `GET` route (the server drops the body and keeps `Content-Length`);
/// - `OPTIONS` with `204` and `Allow`, and CORS preflights (RFC 9110 §9.3.7; Fetch standard);
/// - `404` problem for an unknown path, `405` problem with `Allow` for a known path and another method.
/// Unknown methods never get here: the parser answers them `501`.
public final class Router: Sendable {
    private struct Route: Sendable {
        var method: HTTPMethod
        var pattern: String
        var segments: [Segment]
        var handler: HTTPHandler
        /// Literal segments count: more literals is more specific.
        var specificity: Int
    }

    private enum Segment: Sendable, Equatable {
        case literal(String)
        case parameter(String)
    }

    private let routes = Mutex<[Route]>([])

    public init() {}

    /// Registers `handler` for `method` on `pattern` (e.g. `/v1/experiments/{id}`). A later registration of the
    /// same method and pattern replaces the earlier one.
    public func add(_ method: HTTPMethod, _ pattern: String, _ handler: @escaping HTTPHandler) {
        let segments: [Segment] = Router.split(pattern).map { part in
            if part.hasPrefix("{") && part.hasSuffix("}") && part.count > 2 {
                return .parameter(String(part.dropFirst().dropLast()))
            }
            return .literal(String(part))
        }
        let route = Route(
            method: method, pattern: pattern, segments: segments, handler: handler,
            specificity: segments.filter { if case .literal = $0 { true } else { false } }.count)
        routes.withLock { routes in
            routes.removeAll { $0.method == method && $0.pattern == pattern }
            routes.append(route)
            routes.sort { $0.specificity > $1.specificity }
        }
    }

    public func get(_ pattern: String, _ handler: @escaping HTTPHandler) { add(.GET, pattern, handler) }
    public func post(_ pattern: String, _ handler: @escaping HTTPHandler) { add(.POST, pattern, handler) }
    public func put(_ pattern: String, _ handler: @escaping HTTPHandler) { add(.PUT, pattern, handler) }
    public func delete(_ pattern: String, _ handler: @escaping HTTPHandler) { add(.DELETE, pattern, handler) }
    public func patch(_ pattern: String, _ handler: @escaping HTTPHandler) { add(.PATCH, pattern, handler) }

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

    /// Routes `request` and runs its handler, turning thrown errors into problem responses, then applies CORS.
    public func respond(to request: HTTPRequest, cors: CORSConfiguration = .init()) async -> RoutedResponse {
        var routed = await route(request, cors: cors)
        let isPreflight = request.method == .OPTIONS && request.headers.contains(name: "access-control-request-method")
        if isPreflight {
            if cors.isEnabled { routed.response.headers.add(name: "Vary", value: "Origin") }
        } else {
            applyCORS(request: request, response: &routed.response, cors: cors)
        }
        return routed
    }

    private func route(_ request: HTTPRequest, cors: CORSConfiguration) async -> RoutedResponse {
        if request.path == "*" {
            // OPTIONS * (RFC 9110 §9.3.7): the server's capabilities.
            return RoutedResponse(
                response: HTTPResponse(status: .noContent, headers: ["Allow": Router.allMethods]), route: nil)
        }
        let found = matches(path: request.path)
        guard !found.isEmpty else {
            return RoutedResponse(
                response: .problem(
                    ProblemError.notFound(detail: "No resource at this path."), instance: request.path,
                    requestID: request.requestID), route: nil)
        }
        var allowedSet = Set(found.map(\.route.method))
        if allowedSet.contains(.GET) { allowedSet.insert(.HEAD) }
        allowedSet.insert(.OPTIONS)
        let allowed = HTTPMethod.allCases.filter { allowedSet.contains($0) }
        let allowHeader = allowed.map(\.rawValue).joined(separator: ", ")

        let exact = found.first { $0.route.method == request.method }
        let chosen = exact ?? (request.method == .HEAD ? found.first { $0.route.method == .GET } : nil)
        guard let match = chosen else {
            // Pick the most specific matching pattern as the label.
            let label = found.first?.route.pattern
            if request.method == .OPTIONS {
                var response = HTTPResponse(status: .noContent, headers: ["Allow": allowHeader])
                preflight(request: request, allowed: allowed, response: &response, cors: cors)
                return RoutedResponse(response: response, route: label)
            }
            return RoutedResponse(
                response: .problem(
                    ProblemError.methodNotAllowed(allow: allowed), instance: request.path,
                    requestID: request.requestID), route: label)
        }
        let context = RouteContext(parameters: match.parameters, route: match.route.pattern)
        do {
            let response = try await match.route.handler(request, context)
            return RoutedResponse(response: response, route: match.route.pattern)
        } catch let problem as any HTTPProblem {
            return RoutedResponse(
                response: .problem(problem, instance: request.path, requestID: request.requestID),
                route: match.route.pattern)
        } catch {
            return RoutedResponse(
                response: .problem(ProblemError.internalError, instance: request.path, requestID: request.requestID),
                route: match.route.pattern, internalError: error)
        }
    }

    static let allMethods = HTTPMethod.allCases.map(\.rawValue).joined(separator: ", ")

    /// A CORS preflight: OPTIONS with `Origin` and `Access-Control-Request-Method`.
    private func preflight(
        request: HTTPRequest, allowed: [HTTPMethod], response: inout HTTPResponse, cors: CORSConfiguration
    ) {
        guard cors.isEnabled, let origin = request.headers["origin"],
            let requested = request.headers["access-control-request-method"],
            let allowOrigin = cors.allowOriginValue(for: origin)
        else { return }
        guard let method = HTTPMethod(rawValue: requested), allowed.contains(method) else { return }
        let requestedHeaders = request.headers.tokens(name: "access-control-request-headers")
        let permitted = Set(cors.allowedHeaders.map { $0.lowercased() })
        guard requestedHeaders.allSatisfy({ permitted.contains($0) }) else { return }
        response.headers.add(name: "Access-Control-Allow-Origin", value: allowOrigin)
        response.headers.add(name: "Access-Control-Allow-Methods", value: allowed.map(\.rawValue).joined(separator: ", "))
        if !cors.allowedHeaders.isEmpty {
            response.headers.add(name: "Access-Control-Allow-Headers", value: cors.allowedHeaders.joined(separator: ", "))
        }
        response.headers.add(name: "Access-Control-Max-Age", value: String(cors.maxAge))
    }

    /// CORS on an actual response: `Access-Control-Allow-Origin` and `-Expose-Headers` for an allowed origin,
    /// and `Vary: Origin` whenever CORS is on, so caches never serve one origin's answer to another.
    private func applyCORS(request: HTTPRequest, response: inout HTTPResponse, cors: CORSConfiguration) {
        guard cors.isEnabled else { return }
        response.headers.add(name: "Vary", value: "Origin")
        guard let origin = request.headers["origin"], let allowOrigin = cors.allowOriginValue(for: origin) else {
            return
        }
        if !response.headers.contains(name: "access-control-allow-origin") {
            response.headers.add(name: "Access-Control-Allow-Origin", value: allowOrigin)
        }
        if !cors.exposedHeaders.isEmpty {
            response.headers.add(name: "Access-Control-Expose-Headers", value: cors.exposedHeaders.joined(separator: ", "))
        }
    }
}
