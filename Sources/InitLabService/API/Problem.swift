import Foundation

/// An RFC 9457 problem: the one shape of every error response (`application/problem+json`).
///
/// `code` is a stable machine-readable name (also the tail of `type`); `errors` lists offending fields of a
/// request body as JSON pointers (RFC 6901). 5xx problems carry a generic detail and the request id only.
public struct Problem: Error, Sendable {
    public var status: Int
    public var code: String
    public var title: String
    public var detail: String
    public var errors: [FieldProblem] = []
    public var headers: [(String, String)] = []
    /// Related resources by name (e.g. `fetch` for `dataset_not_cached`); omitted when empty.
    public var links: [String: String] = [:]

    public init(
        status: Int, code: String, title: String, detail: String, errors: [FieldProblem] = [],
        headers: [(String, String)] = [], links: [String: String] = [:]
    ) {
        self.links = links
        self.status = status
        self.code = code
        self.title = title
        self.detail = detail
        self.errors = errors
        self.headers = headers
    }

    /// The `type` URI: a stable URN per code (no documentation host to keep alive).
    public var type: String { "urn:initlab:problem:\(code)" }

    private struct Body: Encodable {
        var type: String
        var title: String
        var status: Int
        var detail: String
        var instance: String
        var code: String
        var errors: [FieldProblem]?
        var links: [String: String]?
        var requestID: String

        enum CodingKeys: String, CodingKey {
            case type, title, status, detail, instance, code, errors, links
            case requestID = "request_id"
        }
    }

    func response(instance: String, requestID: String) -> APIResponse {
        let body = Body(
            type: type, title: title, status: status, detail: detail, instance: instance, code: code,
            errors: errors.isEmpty ? nil : errors, links: links.isEmpty ? nil : links, requestID: requestID)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = (try? encoder.encode(body)) ?? Data("{\"status\":\(status)}".utf8)
        return APIResponse(
            status: status, headers: [("Content-Type", "application/problem+json")] + headers, body: data)
    }
}

extension Problem {
    static func badRequest(_ code: String, _ detail: String, errors: [FieldProblem] = []) -> Problem {
        Problem(status: 400, code: code, title: "Bad request", detail: detail, errors: errors)
    }

    static func notFound(_ detail: String) -> Problem {
        Problem(status: 404, code: "not_found", title: "Not found", detail: detail)
    }

    static func methodNotAllowed(_ method: String, allow: [String]) -> Problem {
        Problem(
            status: 405, code: "method_not_allowed", title: "Method not allowed",
            detail: "\(method) is not allowed here; allowed: \(allow.joined(separator: ", "))",
            headers: [("Allow", allow.joined(separator: ", "))])
    }

    static func internalError(requestID: String) -> Problem {
        Problem(
            status: 500, code: "internal", title: "Internal server error",
            detail: "The server failed to handle the request; quote request id \(requestID) when reporting it.")
    }

    static func unauthorized(tokenGiven: Bool) -> Problem {
        let challenge =
            tokenGiven
            ? "Bearer realm=\"initlab\", error=\"invalid_token\"" : "Bearer realm=\"initlab\""
        return Problem(
            status: 401, code: "unauthorized", title: "Unauthorized",
            detail: tokenGiven
                ? "The bearer token is not valid." : "This request needs an Authorization: Bearer token.",
            headers: [("WWW-Authenticate", challenge)])
    }
}
