import Foundation

/// A request as the API layer sees it, independent of the HTTP server's types so the routes can be tested
/// without sockets (`ExperimentAPI.handle`) and served by any HTTP front end.
public struct APIRequest: Sendable {
    public var method: String
    public var path: String
    public var query: [(String, String)]
    /// Field names as received; lookups are case-insensitive (RFC 9110 §5.1).
    public var headers: [(String, String)]
    public var body: Data
    public var requestID: String

    public init(
        method: String, path: String, query: [(String, String)] = [], headers: [(String, String)] = [],
        body: Data = Data(), requestID: String = UUID().uuidString
    ) {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
        self.requestID = requestID
    }

    /// The first value of a header, case-insensitively.
    public func header(_ name: String) -> String? {
        headers.first { $0.0.caseInsensitiveCompare(name) == .orderedSame }?.1
    }

    /// All values of a header, case-insensitively, in order.
    public func headerValues(_ name: String) -> [String] {
        headers.filter { $0.0.caseInsensitiveCompare(name) == .orderedSame }.map(\.1)
    }
}

/// A response from the API layer.
public struct APIResponse: Sendable {
    public var status: Int
    public var headers: [(String, String)]
    public var body: Data

    public init(status: Int, headers: [(String, String)] = [], body: Data = Data()) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    public func header(_ name: String) -> String? {
        headers.first { $0.0.caseInsensitiveCompare(name) == .orderedSame }?.1
    }

    static func json(_ status: Int, _ body: Data, headers: [(String, String)] = []) -> APIResponse {
        APIResponse(status: status, headers: [("Content-Type", "application/json")] + headers, body: body)
    }
}
