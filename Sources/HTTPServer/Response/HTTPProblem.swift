import Foundation

/// An error that knows how it is shown to a client: thrown by a handler or a middleware, or raised by the
/// server itself (a framing error), it is rendered by the one `ProblemRenderer` as `application/problem+json`
/// (RFC 9457) with its own status. Any other error becomes a 500 problem that says nothing about its cause.
public protocol HTTPProblem: Error, Sendable {
    var status: HTTPStatus { get }
    /// Stable machine-readable code, e.g. "experiment_not_found"; also the tail of the `type` URI when the
    /// renderer has a type prefix.
    var code: String { get }
    /// Short, human-readable summary of the problem type. Default: the reason phrase.
    var title: String { get }
    /// Explanation specific to this occurrence. Default: the title.
    var detail: String { get }
    /// Further members of the problem object (e.g. `errors`, `links`).
    var extraFields: [String: ProblemValue] { get }
    /// Headers to add to the response (e.g. `Retry-After`, `Allow`).
    var headers: HTTPHeaders { get }
}

extension HTTPProblem {
    public var title: String { status.reasonPhrase }
    public var detail: String { title }
    public var extraFields: [String: ProblemValue] { [:] }
    public var headers: HTTPHeaders { [:] }
}

/// Renders every problem of a server, whoever raised it: the one place that decides the problem document.
///
/// The document always has `type`, `title`, `status` (the real status), `detail`, `instance`, `code` and
/// `request_id`, then the problem's extra members; keys are sorted, so equal problems give equal bytes.
public struct ProblemRenderer: Sendable {
    /// `type` is this prefix followed by the problem's code (e.g. `urn:initlab:problem:` gives
    /// `urn:initlab:problem:not_found`); nil gives `about:blank` (RFC 9457 §4.2.1). Default: nil.
    public var typePrefix: String?

    public init(typePrefix: String? = nil) {
        self.typePrefix = typePrefix
    }

    /// The `type` URI of `problem`.
    public func type(of problem: any HTTPProblem) -> String {
        typePrefix.map { $0 + problem.code } ?? "about:blank"
    }

    /// `instance` is the request's path, or `urn:request:<id>` when the request line never parsed.
    public func response(for problem: any HTTPProblem, instance: String?, requestID: String) -> HTTPResponse {
        var object = problem.extraFields
        object["type"] = .string(type(of: problem))
        object["title"] = .string(problem.title)
        object["status"] = .int(problem.status.code)
        object["code"] = .string(problem.code)
        object["detail"] = .string(problem.detail)
        object["instance"] = .string(instance.flatMap { $0.isEmpty ? nil : $0 } ?? "urn:request:\(requestID)")
        object["request_id"] = .string(requestID)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let body = (try? encoder.encode(object)).map { Array($0) } ?? Array(#"{"status":500}"#.utf8)
        var headers = problem.headers
        headers.replaceOrAdd(name: "Content-Type", value: "application/problem+json")
        return HTTPResponse(status: problem.status, headers: headers, body: .bytes(body))
    }
}

/// The ready-made problem: throw it from a handler.
///
///     throw ProblemError(.conflict, code: "busy", detail: "…", extra: ["retry_in": .int(3)])
///
/// Field errors (`errors: [{pointer, detail}]`) are the application's: it puts them in `extra` or throws its
/// own `HTTPProblem`.
public struct ProblemError: HTTPProblem, Hashable {
    public var status: HTTPStatus
    public var code: String
    public var title: String
    public var detail: String
    public var extra: [String: ProblemValue]
    public var headers: HTTPHeaders

    public init(
        _ status: HTTPStatus, code: String, title: String? = nil, detail: String? = nil,
        extra: [String: ProblemValue] = [:], headers: HTTPHeaders = [:]
    ) {
        self.status = status
        self.code = code
        self.title = title ?? status.reasonPhrase
        self.detail = detail ?? self.title
        self.extra = extra
        self.headers = headers
    }

    public var extraFields: [String: ProblemValue] { extra }

    public static func == (lhs: ProblemError, rhs: ProblemError) -> Bool {
        lhs.status == rhs.status && lhs.code == rhs.code && lhs.title == rhs.title
            && lhs.detail == rhs.detail && lhs.extra == rhs.extra
            && lhs.headers == rhs.headers
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(status)
        hasher.combine(code)
        hasher.combine(detail)
    }

    public static func badRequest(code: String = "bad_request", detail: String? = nil) -> ProblemError {
        ProblemError(.badRequest, code: code, detail: detail)
    }

    public static func notFound(code: String = "not_found", detail: String? = nil) -> ProblemError {
        ProblemError(.notFound, code: code, detail: detail)
    }

    public static func methodNotAllowed(allow: [HTTPMethod]) -> ProblemError {
        ProblemError(
            .methodNotAllowed, code: "method_not_allowed",
            detail: "Allowed methods: \(allow.map(\.rawValue).joined(separator: ", ")).",
            headers: ["Allow": allow.map(\.rawValue).joined(separator: ", ")])
    }

    public static let internalError = ProblemError(
        .internalServerError, code: "internal_error", detail: "The server failed to handle the request.")
}

extension ServerError: HTTPProblem {
    public var code: String {
        switch self {
        case .parser(let e): e.code
        case .requestTimeout: "request_timeout"
        }
    }

    public var detail: String {
        switch self {
        case .parser(let e): e.detail
        case .requestTimeout: "The request did not arrive in time."
        }
    }
}

extension HTTPResponse {
    /// `value` as JSON (`application/json`). The encoder defaults to sorted keys and no key conversion; pass
    /// your own for snake_case or dates.
    public static func json<T: Encodable>(
        _ value: T, status: HTTPStatus = .ok, headers: HTTPHeaders = [:], encoder: JSONEncoder? = nil
    ) throws -> HTTPResponse {
        let data: Data
        if let encoder {
            data = try encoder.encode(value)
        } else {
            let e = JSONEncoder()
            e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            data = try e.encode(value)
        }
        var h = headers
        if !h.contains(name: "content-type") { h.add(name: "Content-Type", value: "application/json") }
        return HTTPResponse(status: status, headers: h, body: .bytes(Array(data)))
    }

    /// Plain UTF-8 text.
    public static func text(_ text: String, status: HTTPStatus = .ok, headers: HTTPHeaders = [:]) -> HTTPResponse {
        var h = headers
        if !h.contains(name: "content-type") { h.add(name: "Content-Type", value: "text/plain; charset=utf-8") }
        return HTTPResponse(status: status, headers: h, body: .bytes(Array(text.utf8)))
    }

    /// A Server-Sent Events stream (`text/event-stream`, not cached); write `ServerSentEvent.bytes` to it.
    public static func eventStream(
        headers: HTTPHeaders = [:], _ body: @escaping @Sendable (ResponseBodyWriter) async throws -> Void
    ) -> HTTPResponse {
        var h = headers
        h.replaceOrAdd(name: "Content-Type", value: "text/event-stream")
        if !h.contains(name: "cache-control") { h.add(name: "Cache-Control", value: "no-cache") }
        return HTTPResponse(status: .ok, headers: h, body: .stream(body))
    }
}

/// One Server-Sent Event (HTML Living Standard §9.2), serialized with `bytes`.
public struct ServerSentEvent: Sendable, Hashable {
    public var id: String?
    public var event: String?
    public var data: String
    public var retry: Int?

    public init(id: String? = nil, event: String? = nil, data: String, retry: Int? = nil) {
        self.id = id
        self.event = event
        self.data = data
        self.retry = retry
    }

    /// A comment line; clients ignore it, proxies see traffic (heartbeat).
    public static let heartbeat: [UInt8] = Array(": heartbeat\n\n".utf8)

    public var bytes: [UInt8] {
        var s = ""
        if let id { s += "id: \(Self.clean(id))\n" }
        if let event { s += "event: \(Self.clean(event))\n" }
        if let retry { s += "retry: \(retry)\n" }
        for line in data.split(separator: "\n", omittingEmptySubsequences: false) {
            s += "data: \(line.replacingOccurrences(of: "\r", with: ""))\n"
        }
        s += "\n"
        return Array(s.utf8)
    }

    private static func clean(_ s: String) -> String {
        String(s.unicodeScalars.filter { $0 != "\n" && $0 != "\r" })
    }
}
