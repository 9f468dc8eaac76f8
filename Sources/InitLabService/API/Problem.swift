import Foundation
import HTTPServer

/// A problem the service raises (RFC 9457). It carries the service's own members — field errors as JSON
/// pointers (RFC 6901) and related links — and is rendered, like every other problem, by the server's one
/// `ProblemRenderer` (`type` is `urn:initlab:problem:<code>`, see `InitLabServer`).
public struct Problem: HTTPProblem {
    public var statusCode: Int
    public var code: String
    public var title: String
    public var detail: String
    public var errors: [FieldProblem] = []
    public var extraHeaders: [(String, String)] = []
    /// Related resources by name (e.g. `fetch` for `dataset_not_cached`); omitted when empty.
    public var links: [String: String] = [:]

    public init(
        status: Int, code: String, title: String, detail: String, errors: [FieldProblem] = [],
        headers: [(String, String)] = [], links: [String: String] = [:]
    ) {
        self.statusCode = status
        self.code = code
        self.title = title
        self.detail = detail
        self.errors = errors
        self.extraHeaders = headers
        self.links = links
    }

    public var status: HTTPStatus { HTTPStatus(code: statusCode) }

    public var headers: HTTPHeaders { HTTPHeaders(extraHeaders) }

    public var extraFields: [String: JSONValue] {
        var fields: [String: JSONValue] = [:]
        if !errors.isEmpty {
            fields["errors"] = .array(errors.map { .object(["pointer": .string($0.pointer), "detail": .string($0.detail)]) })
        }
        if !links.isEmpty { fields["links"] = .object(links.mapValues { .string($0) }) }
        return fields
    }
}

extension Problem {
    static func badRequest(_ code: String, _ detail: String, errors: [FieldProblem] = []) -> Problem {
        Problem(status: 400, code: code, title: "Bad request", detail: detail, errors: errors)
    }

    static func notFound(_ detail: String) -> Problem {
        Problem(status: 404, code: "not_found", title: "Not found", detail: detail)
    }
}
