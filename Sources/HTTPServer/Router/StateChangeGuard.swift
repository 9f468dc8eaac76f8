import Foundation

/// Guards the routes that change state against cross-site requests (put it on their route group).
///
/// A browser sends a "simple" POST — `text/plain`, `application/x-www-form-urlencoded` or
/// `multipart/form-data`, no custom header — to any origin without a preflight, carrying the user's network
/// position (and cookies). So a request here:
/// - with an `Origin` that is neither this server's own (`scheme://Host`) nor one the CORS policy allows is
///   refused with `403 cross_origin_forbidden`, whatever its credentials;
/// - with a body or a `Content-Type` that is not JSON (`application/json`, or `application/*+json`) is
///   refused with `415 unsupported_media_type` (`Accept-Post: application/json`) — a JSON request from a page
///   always needs a preflight, which the CORS policy decides.
/// A request with neither body nor `Content-Type` (e.g. `POST …/cancel` from curl) passes.
public struct StateChangeGuard: HTTPMiddleware {
    /// Origins allowed besides the server's own: the CORS allow-list (`*` allows any).
    public var allowedOrigins: [String]

    public init(allowedOrigins: [String]) {
        self.allowedOrigins = allowedOrigins
    }

    public func respond(to request: HTTPRequest, context: RouteContext, next: HTTPHandler) async throws
        -> HTTPResponse
    {
        if let origin = request.headers["origin"], !isPermitted(origin: origin, host: request.headers["host"]) {
            throw ProblemError(
                .forbidden, code: "cross_origin_forbidden", title: "Cross-origin request refused",
                detail: "Origin \(origin) may not change state here; allowed: this server's own origin"
                    + (allowedOrigins.isEmpty ? "" : " and \(allowedOrigins.joined(separator: ", "))") + ".")
        }
        let contentType = request.headers["content-type"]
        if contentType != nil || !request.body.isEmpty {
            guard let contentType, Self.isJSON(contentType) else {
                throw ProblemError(
                    .unsupportedMediaType, code: "unsupported_media_type", title: "Unsupported media type",
                    detail: "The body must be application/json"
                        + (contentType.map { "; got Content-Type \($0)" } ?? "; no Content-Type was given") + ".",
                    headers: ["Accept-Post": "application/json"])
            }
        }
        return try await next(request, context)
    }

    private func isPermitted(origin: String, host: String?) -> Bool {
        if allowedOrigins.contains("*") || allowedOrigins.contains(origin) { return true }
        guard let host, !host.isEmpty else { return false }
        return origin == "http://\(host)" || origin == "https://\(host)"
    }

    /// `application/json` or `application/<something>+json`, parameters ignored, case-insensitive.
    static func isJSON(_ contentType: String) -> Bool {
        let type = contentType.split(separator: ";", maxSplits: 1).first.map(String.init) ?? ""
        let media = type.trimmingCharacters(in: .whitespaces).lowercased()
        return media == "application/json" || (media.hasPrefix("application/") && media.hasSuffix("+json"))
    }
}
