/// Everything the server needs to know, built once (from flags and environment) and passed in.
public struct HTTPServerConfiguration: Sendable {
    /// Address to bind: an IPv4 or IPv6 literal or a host name. Default: "127.0.0.1" (loopback only).
    public var host: String = "127.0.0.1"
    /// Port to bind; 0 picks an ephemeral port (returned by `start()`). Default: 8080.
    public var port: Int = 8080
    /// Longest request line (414 beyond). Default: 8,192 bytes.
    public var maxRequestLineBytes: Int = 8 * 1024
    /// Largest header block (431 beyond). Default: 16,384 bytes.
    public var maxHeaderBytes: Int = 16 * 1024
    /// Most header fields (431 beyond). Default: 100.
    public var maxHeaderCount: Int = 100
    /// Largest request body (413 beyond; decided from Content-Length before reading it). Default: 1 MiB.
    public var maxBodyBytes: Int = 1024 * 1024
    /// Deadline for a whole header block, from accept or from the first byte of a kept-alive connection's next
    /// request; not extended by further bytes (slowloris). 408 and close. Default: 10 s.
    public var headerTimeout: Duration = .seconds(10)
    /// Deadline for a whole request body after its head. 408 and close. Default: 30 s.
    public var bodyTimeout: Duration = .seconds(30)
    /// How long a kept-alive connection may wait for its next request. Default: 30 s.
    public var idleTimeout: Duration = .seconds(30)
    /// Longest time queued response bytes may make no progress before the connection is dropped. Default: 30 s.
    public var writeTimeout: Duration = .seconds(30)
    /// Open connections at most; beyond, the server stops accepting until one closes. Default: 1,000.
    public var maxConnections: Int = 1000
    /// The response to the n-th request on a connection carries `Connection: close`. Default: 1,000.
    public var maxRequestsPerConnection: Int = 1000
    /// Time `shutdown()` lets in-flight requests finish before closing everything. Default: 10 s.
    public var shutdownGracePeriod: Duration = .seconds(10)
    /// listen(2) backlog. Default: 512.
    public var backlog: Int = 512
    /// A streamed body's writer waits while more than this many response bytes are queued. Default: 256 KiB.
    public var outputHighWaterMark: Int = 256 * 1024
    /// Called once per completed request (once its response was handed to the connection, or once its handler
    /// ended after the client left), e.g. for metrics. Runs on the connection's event loop: keep it short
    /// and non-blocking.
    public var onRequestCompleted: (@Sendable (RequestLog) -> Void)?
    /// Where the access log goes (one logfmt line per request, see `AccessLog`). It is written only while the
    /// server's logger is at `info` or a more detailed level, by a thread of its own from a bounded buffer.
    /// Default: standard error.
    public var accessLog: AccessLogDestination = .standardError
    /// How often buffered access log lines are written at the latest. Default: 100 ms.
    public var accessLogFlushInterval: Duration = .milliseconds(100)
    /// Access log entries buffered at most; beyond, entries are dropped and counted. Default: 16,384.
    public var accessLogBufferLimit: Int = 16_384

    public init(
        host: String = "127.0.0.1", port: Int = 8080,
        onRequestCompleted: (@Sendable (RequestLog) -> Void)? = nil
    ) {
        self.host = host
        self.port = port
        self.onRequestCompleted = onRequestCompleted
    }

    /// The parser limits derived from this configuration.
    public var parserConfiguration: HTTPParserConfiguration {
        HTTPParserConfiguration(
            maxRequestLineBytes: maxRequestLineBytes, maxHeaderBytes: maxHeaderBytes,
            maxHeaderCount: maxHeaderCount, maxBodyBytes: maxBodyBytes)
    }

    /// The per-connection limits derived from this configuration.
    public var connectionLimits: ConnectionLimits {
        ConnectionLimits(
            parser: parserConfiguration, headerTimeout: headerTimeout.nanoseconds,
            bodyTimeout: bodyTimeout.nanoseconds, idleTimeout: idleTimeout.nanoseconds,
            writeTimeout: writeTimeout.nanoseconds, maxRequestsPerConnection: max(1, maxRequestsPerConnection),
            outputHighWaterMark: outputHighWaterMark)
    }
}

extension Duration {
    /// Whole nanoseconds, clamped to 0...UInt64.max.
    var nanoseconds: UInt64 {
        let (seconds, attoseconds) = components
        if seconds < 0 { return 0 }
        let ns = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if ns.overflow { return UInt64.max }
        return UInt64(ns.partialValue) &+ UInt64(attoseconds / 1_000_000_000)
    }
}
