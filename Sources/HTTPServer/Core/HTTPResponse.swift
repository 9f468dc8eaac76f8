import Foundation

/// A response produced by a handler or by the server itself.
///
/// The server adds `Content-Length` (or `Transfer-Encoding: chunked` for streams), `Date`-free framing,
/// `Connection: close` when it is closing, and `X-Request-Id`. A handler's own `Content-Length` or
/// `Transfer-Encoding` is ignored: framing is the server's job, so a handler cannot desynchronize a connection.
public struct HTTPResponse: Sendable {
    public var status: HTTPStatus
    public var headers: HTTPHeaders
    public var body: HTTPBody

    public init(status: HTTPStatus = .ok, headers: HTTPHeaders = [:], body: HTTPBody = .empty) {
        self.status = status
        self.headers = headers
        self.body = body
    }
}

/// The content of a response.
public enum HTTPBody: Sendable {
    /// A body known in full; sent with `Content-Length`.
    case bytes([UInt8])
    /// A body produced over time (e.g. Server-Sent Events), sent with chunked transfer coding on HTTP/1.1
    /// (or delimited by closing the connection on HTTP/1.0). The response ends when the closure returns; if it
    /// throws, the connection is closed without the final chunk so the client sees an incomplete response.
    /// Not run for `HEAD` requests.
    case stream(@Sendable (ResponseBodyWriter) async throws -> Void)

    public static let empty = HTTPBody.bytes([])

    /// The body of a string, UTF-8 encoded.
    public static func string(_ s: String) -> HTTPBody { .bytes(Array(s.utf8)) }

    /// The body of a `Data` value.
    public static func data(_ data: Data) -> HTTPBody { .bytes(Array(data)) }
}

/// Writes parts of a streamed response body.
public protocol ResponseBodyWriter: Sendable {
    /// Queues `bytes` as one chunk. Suspends while the connection's output is above its high-water mark
    /// (backpressure) and throws `ResponseBodyWriterError.connectionClosed` once the client is gone.
    func write(_ bytes: [UInt8]) async throws
}

extension ResponseBodyWriter {
    public func write(_ string: String) async throws { try await write(Array(string.utf8)) }
}

public enum ResponseBodyWriterError: Error, Sendable {
    case connectionClosed
}
