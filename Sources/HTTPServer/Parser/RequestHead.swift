/// How the body of a request is delimited (RFC 9112 §6.3).
public enum BodyFraming: Sendable, Hashable {
    case none
    case length(Int)
    case chunked
}

/// The parsed and validated head of a request.
public struct RequestHead: Sendable, Equatable {
    public var method: HTTPMethod
    public var target: String
    public var version: HTTPVersion
    public var headers: HTTPHeaders
    public var framing: BodyFraming
    /// Whether the client asked to keep the connection open: HTTP/1.1 unless `Connection: close`,
    /// HTTP/1.0 only with `Connection: keep-alive` (RFC 9112 §9.3).
    public var keepAlive: Bool
    /// `Expect: 100-continue` on a request that has a body (RFC 9110 §10.1.1).
    public var expectContinue: Bool
}

/// What the parser reports, in order: `head`, zero or more `body` pieces, `end` — or a single `error`.
public enum HTTPParserEvent: Sendable, Equatable {
    case head(RequestHead)
    case body([UInt8])
    /// The request is complete; `trailers` holds the chunked trailer fields (empty otherwise).
    case end(trailers: HTTPHeaders)
    case error(HTTPParserError)
}
