import Foundation
import HTTPServer
import InitLabContract

/// A problem the service raises (RFC 9457). It carries the service's own members — field errors as JSON
/// pointers (RFC 6901) and related links — and is rendered, like every other problem, by the server's one
/// `ProblemRenderer` (`type` is `urn:initlab:problem:<code>`, see `InitLabServer`).
package struct Problem: HTTPProblem {
    package var statusCode: Int
    package var code: String
    package var title: String
    package var detail: String
    package var errors: [FieldProblem] = []
    package var extraHeaders: [(String, String)] = []
    /// Related resources by name (e.g. `fetch` for `dataset_not_cached`); omitted when empty.
    package var links: [String: String] = [:]

    package init(
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

    package var status: HTTPStatus { HTTPStatus(code: statusCode) }

    package var headers: HTTPHeaders { HTTPHeaders(extraHeaders) }

    package var extraFields: [String: ProblemValue] {
        var fields: [String: ProblemValue] = [:]
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

    /// 400 for a body that is not strict JSON (RFC 8259; no trailing commas, no duplicate keys): the detail
    /// names the byte offset, a duplicate key also comes as a field error pointing at the key.
    static func malformedJSON(_ error: JSONSyntaxError) -> Problem {
        var errors: [FieldProblem] = []
        if let duplicate = error.duplicateKey {
            errors = [FieldProblem(pointer: duplicate.objectPointer + "/" + JSONPointer.escape(duplicate.key), detail: "duplicate key")]
        }
        return badRequest("malformed_json", "The body is not valid JSON: \(error.message) at byte \(error.offset).", errors: errors)
    }

    /// 422 for JSON that is not a valid experiment spec: every field problem, with pointers.
    static func invalidSpec(_ problems: SpecProblems) -> Problem {
        let errors = problems.errors
        return Problem(
            status: 422, code: "invalid_spec", title: "Invalid experiment spec",
            detail: errors.count == 1 ? errors[0].detail : "The spec has \(errors.count) invalid fields; see errors.",
            errors: errors)
    }

    static func notFound(_ detail: String) -> Problem {
        Problem(status: 404, code: "not_found", title: "Not found", detail: detail)
    }
}

/// The database is unreachable (`StoreUnavailable`, from any store call of any handler): 503 with
/// `Retry-After`, at once rather than after a client's timeout; nothing was acknowledged, so a retry is safe
/// (with the same Idempotency-Key for a submission).
extension StoreUnavailable: HTTPProblem {
    package var status: HTTPStatus { .serviceUnavailable }
    package var code: String { "store_unavailable" }
    package var title: String { "Service unavailable" }
    package var detail: String { "The job database is not reachable right now; retry shortly." }
    package var headers: HTTPHeaders { ["Retry-After": "2"] }
}
