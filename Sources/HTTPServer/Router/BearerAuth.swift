import Foundation

/// Requires `Authorization: Bearer <token>` (RFC 6750) on the routes it wraps; the token is compared in
/// constant time. Without a configured token it passes everything. A missing or wrong token is `401
/// unauthorized` with `WWW-Authenticate`; two `Authorization` fields are a `400` (never "the first wins").
public struct BearerAuth: HTTPMiddleware {
    public let token: String?
    public let realm: String

    public init(token: String?, realm: String) {
        self.token = token.flatMap { $0.isEmpty ? nil : $0 }
        self.realm = realm
    }

    public func respond(to request: HTTPRequest, context: RouteContext, next: HTTPHandler) async throws
        -> HTTPResponse
    {
        guard let token else { return try await next(request, context) }
        guard let header = try request.singletonHeader("Authorization") else { throw unauthorized(tokenGiven: false) }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer",
            ConstantTime.equal(Array(parts[1].trimmingCharacters(in: .whitespaces).utf8), Array(token.utf8))
        else { throw unauthorized(tokenGiven: true) }
        return try await next(request, context)
    }

    private func unauthorized(tokenGiven: Bool) -> ProblemError {
        ProblemError(
            .unauthorized, code: "unauthorized", title: "Unauthorized",
            detail: tokenGiven ? "The bearer token is not valid." : "This request needs an Authorization: Bearer token.",
            headers: [
                "WWW-Authenticate": tokenGiven ? "Bearer realm=\"\(realm)\", error=\"invalid_token\"" : "Bearer realm=\"\(realm)\""
            ])
    }
}

/// Comparison whose time does not depend on where the inputs differ (only on their lengths).
package enum ConstantTime {
    package static func equal(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var difference = UInt(bitPattern: a.count ^ b.count)
        for index in 0..<max(a.count, b.count) {
            let x = index < a.count ? a[index] : 0
            let y = index < b.count ? b[index] : 0
            difference |= UInt(x ^ y)
        }
        return difference == 0
    }
}
