import Foundation

/// CORS policy (Fetch standard): which origins may read responses, and what preflights may ask for.
public struct CORSConfiguration: Sendable, Hashable {
    /// Exact origins (`https://dash.example.org`), or `"*"` for any. Default: none.
    public var allowedOrigins: [String]
    /// Response headers a browser script may read. Default: Location, ETag, Retry-After.
    public var exposedHeaders: [String]
    /// Request headers a preflight may allow.
    /// Default: Content-Type, Authorization, Idempotency-Key, If-None-Match, Last-Event-ID, X-Request-Id.
    public var allowedHeaders: [String]
    /// How long a browser may cache a preflight answer, in seconds. Default: 600.
    public var maxAge: Int

    public init(
        allowedOrigins: [String] = [], exposedHeaders: [String] = ["Location", "ETag", "Retry-After"],
        allowedHeaders: [String] = [
            "Content-Type", "Authorization", "Idempotency-Key", "If-None-Match", "Last-Event-ID", "X-Request-Id",
        ],
        maxAge: Int = 600
    ) {
        self.allowedOrigins = allowedOrigins
        self.exposedHeaders = exposedHeaders
        self.allowedHeaders = allowedHeaders
        self.maxAge = maxAge
    }

    public var isEnabled: Bool { !allowedOrigins.isEmpty }

    /// The value for `Access-Control-Allow-Origin`, or nil when `origin` is not allowed.
    public func allowOriginValue(for origin: String) -> String? {
        if allowedOrigins.contains(origin) { return origin }
        if allowedOrigins.contains("*") { return "*" }
        return nil
    }
}

/// CORS on every response (give it to `Router.use`, so the router's own 404/405/OPTIONS answers get it too).
///
/// - A preflight (OPTIONS with `Origin` and `Access-Control-Request-Method`) is answered by the router with
///   `204` and `Allow`; this grants it when the origin is allowed, the requested method is in `Allow`, and
///   every requested header is allowed.
/// - An actual response from an allowed origin gets `Access-Control-Allow-Origin` and `-Expose-Headers`.
/// - `Vary: Origin` whenever CORS is on, so caches never serve one origin's answer to another.
public struct CORSMiddleware: HTTPMiddleware {
    public let configuration: CORSConfiguration

    public init(_ configuration: CORSConfiguration) {
        self.configuration = configuration
    }

    public func respond(to request: HTTPRequest, context: RouteContext, next: HTTPHandler) async throws
        -> HTTPResponse
    {
        var response = try await next(request, context)
        guard configuration.isEnabled else { return response }
        response.headers.add(name: "Vary", value: "Origin")
        let isPreflight = request.method == .OPTIONS && request.headers.contains(name: "access-control-request-method")
        if isPreflight {
            grantPreflight(request, response: &response)
        } else if let origin = request.headers["origin"], let allowOrigin = configuration.allowOriginValue(for: origin) {
            if !response.headers.contains(name: "access-control-allow-origin") {
                response.headers.add(name: "Access-Control-Allow-Origin", value: allowOrigin)
            }
            if !configuration.exposedHeaders.isEmpty {
                response.headers.add(
                    name: "Access-Control-Expose-Headers", value: configuration.exposedHeaders.joined(separator: ", "))
            }
        }
        return response
    }

    private func grantPreflight(_ request: HTTPRequest, response: inout HTTPResponse) {
        guard response.status == .noContent, let allow = response.headers["allow"],
            let origin = request.headers["origin"], let requested = request.headers["access-control-request-method"],
            let allowOrigin = configuration.allowOriginValue(for: origin)
        else { return }
        let allowed = allow.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        guard allowed.contains(requested) else { return }
        let requestedHeaders = request.headers.tokens(name: "access-control-request-headers")
        let permitted = Set(configuration.allowedHeaders.map { $0.lowercased() })
        guard requestedHeaders.allSatisfy({ permitted.contains($0) }) else { return }
        response.headers.add(name: "Access-Control-Allow-Origin", value: allowOrigin)
        response.headers.add(name: "Access-Control-Allow-Methods", value: allow)
        if !configuration.allowedHeaders.isEmpty {
            response.headers.add(
                name: "Access-Control-Allow-Headers", value: configuration.allowedHeaders.joined(separator: ", "))
        }
        response.headers.add(name: "Access-Control-Max-Age", value: String(configuration.maxAge))
    }
}
