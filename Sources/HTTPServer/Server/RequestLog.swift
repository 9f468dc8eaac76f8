/// What the server knows about one completed request: for access logs and metrics.
public struct RequestLog: Sendable {
    /// Nil when the request line could not be parsed.
    public var method: HTTPMethod?
    /// The path as received (encoded), or "" when unknown.
    public var path: String
    /// The matched route pattern (e.g. `/v1/experiments/{id}`), nil if none matched — use it, not `path`,
    /// as a metrics label to keep cardinality bounded.
    public var route: String?
    /// The response's status; 499 (nginx's "client closed request") when the connection ended before the
    /// response was sent: the client left while its handler ran (the handler is cancelled), or the server
    /// closed the connection at the end of its shutdown grace period.
    public var status: Int
    /// From the complete request to its response being handed to the connection (for a streamed body: to its
    /// last byte queued).
    public var duration: Duration
    /// Response body bytes (after removing chunk framing).
    public var bytesSent: Int
    /// Request body bytes.
    public var bytesReceived: Int
    public var requestID: String
    public var remoteAddress: String
}
