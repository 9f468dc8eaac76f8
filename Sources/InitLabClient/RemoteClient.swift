import Foundation
import InitLabContract

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// An answer of an InitLab server.
package struct RemoteResponse: Sendable {
    package var status: Int
    /// Header names in lower case.
    package var headers: [String: String]
    package var body: Data

    package init(status: Int, headers: [String: String], body: Data) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// The body through the one strict JSON parser.
    package func json() throws(RemoteError) -> JSONValue {
        do {
            return try JSONParser().parse(body)
        } catch {
            throw .unexpected(status: status, "the answer is not valid JSON: \(error)")
        }
    }
}

/// An RFC 9457 problem the server answered with.
package struct RemoteProblem: Sendable, Equatable {
    package var status: Int
    package var type: String
    package var title: String
    package var detail: String
    /// Field errors (`errors`: JSON pointer and detail), for invalid specs.
    package var fields: [FieldError]

    package struct FieldError: Sendable, Equatable {
        package var pointer: String
        package var detail: String
    }

    /// The problem in a `application/problem+json` body, or nil when the body is not one.
    package init?(status: Int, body: Data) {
        guard let value = try? JSONParser().parse(body), let object = value.object, let title = object["title"]?.string else {
            return nil
        }
        self.status = status
        type = object["type"]?.string ?? "about:blank"
        self.title = title
        detail = object["detail"]?.string ?? ""
        fields = (object["errors"]?.array ?? []).compactMap { error in
            guard let pointer = error["pointer"]?.string, let detail = error["detail"]?.string else { return nil }
            return FieldError(pointer: pointer, detail: detail)
        }
    }

    package var description: String {
        var text = "\(status) \(title)"
        if !detail.isEmpty { text += ": \(detail)" }
        for field in fields { text += "\n  \(field.pointer.isEmpty ? "(body)" : field.pointer): \(field.detail)" }
        return text
    }
}

package enum RemoteError: Error, Sendable, CustomStringConvertible {
    /// No answer: connection refused, unknown host, timeout, reset.
    case unreachable(String)
    /// The server answered with a problem.
    case problem(RemoteProblem)
    /// An answer that is neither what was asked for nor a problem.
    case unexpected(status: Int, String)

    package var description: String {
        switch self {
        case .unreachable(let reason): "server unreachable: \(reason)"
        case .problem(let problem): problem.description
        case .unexpected(let status, let reason): "unexpected answer (HTTP \(status)): \(reason)"
        }
    }
}

/// A client of the InitLab HTTP API, on Foundation's URLSession (libcurl underneath on Linux): plain requests,
/// 503s retried after their `Retry-After`, and Server-Sent Event streams that resume with `Last-Event-ID`.
package struct RemoteClient: Sendable {
    package let server: URL
    package let token: String?
    /// Most attempts of a request the server answered 503 (each after its Retry-After, at most `maxRetryDelay`).
    package var maxAttempts = 5
    package var maxRetryDelay: Double = 30

    /// `server` is the base URL (`http://host:port`); `token` is sent as a bearer token.
    package init(server: String, token: String?) throws(RemoteError) {
        var text = server
        while text.hasSuffix("/") { text.removeLast() }
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), ["http", "https"].contains(scheme), url.host != nil
        else {
            throw .unreachable("--server must be an http:// or https:// URL, got '\(server)'")
        }
        self.server = url
        self.token = token.flatMap { $0.isEmpty ? nil : $0 }
    }

    func url(_ path: String, query: [(String, String)]) throws(RemoteError) -> URL {
        guard var components = URLComponents(string: server.absoluteString + path) else {
            throw .unexpected(status: 0, "cannot build a URL from \(path)")
        }
        if !query.isEmpty { components.queryItems = query.map { URLQueryItem(name: $0.0, value: $0.1) } }
        guard let url = components.url else { throw .unexpected(status: 0, "cannot build a URL from \(path)") }
        return url
    }

    func request(
        _ method: String, _ path: String, query: [(String, String)], body: Data?, headers: [String: String], timeout: Double
    ) throws(RemoteError) -> URLRequest {
        var request = URLRequest(url: try url(path, query: query), timeoutInterval: timeout)
        request.httpMethod = method
        request.setValue("application/json", forHTTPHeaderField: "Accept")
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        if let body {
            request.httpBody = body
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        return request
    }

    /// One request. An error status (≥ 400) throws: the problem when the body is one. A 503 is retried after
    /// its Retry-After when `retry503` (the request is idempotent, or carries an Idempotency-Key).
    package func send(
        _ method: String, _ path: String, query: [(String, String)] = [], body: Data? = nil, headers: [String: String] = [:],
        timeout: Double = 30, retry503: Bool = true
    ) async throws(RemoteError) -> RemoteResponse {
        let request = try request(method, path, query: query, body: body, headers: headers, timeout: timeout)
        var attempt = 1
        while true {
            let response = try await Self.perform(request)
            if response.status < 400 { return response }
            if response.status == 503, retry503, attempt < maxAttempts {
                attempt += 1
                let delay = min(maxRetryDelay, response.headers["retry-after"].flatMap { Double($0) } ?? 1)
                try? await Task.sleep(for: .milliseconds(Int(max(0, delay) * 1000)))
                continue
            }
            if let problem = RemoteProblem(status: response.status, body: response.body) { throw .problem(problem) }
            throw .unexpected(status: response.status, String(decoding: response.body.prefix(300), as: UTF8.self))
        }
    }

    static func perform(_ request: URLRequest) async throws(RemoteError) -> RemoteResponse {
        let data: Data
        let response: URLResponse
        do {
            (data, response) = try await URLSession.shared.data(for: request)
        } catch {
            throw .unreachable(Self.reason(error))
        }
        guard let http = response as? HTTPURLResponse else { throw .unexpected(status: 0, "not an HTTP answer") }
        return RemoteResponse(status: http.statusCode, headers: Self.headers(of: http), body: data)
    }

    static func headers(of response: HTTPURLResponse) -> [String: String] {
        var headers: [String: String] = [:]
        for (name, value) in response.allHeaderFields {
            if let name = name as? String, let value = value as? String { headers[name.lowercased()] = value }
        }
        return headers
    }

    static func reason(_ error: any Error) -> String {
        if let error = error as? URLError { return "\(error.localizedDescription) (URLError \(error.code.rawValue))" }
        return "\(error)"
    }
}
