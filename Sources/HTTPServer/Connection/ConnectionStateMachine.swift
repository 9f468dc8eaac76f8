/// Timing and size limits for one connection, in nanoseconds and bytes.
public struct ConnectionLimits: Sendable, Hashable {
    public var parser: HTTPParserConfiguration
    /// Whole header block, from its first byte (or from accept); trickled bytes do not extend it.
    public var headerTimeout: UInt64
    /// Whole request body, from the end of the head.
    public var bodyTimeout: UInt64
    /// Wait for the first byte of the next request on a kept-alive connection.
    public var idleTimeout: UInt64
    /// Longest time queued output may make no progress before the peer is dropped.
    public var writeTimeout: UInt64
    /// The response to this many requests carries `Connection: close`.
    public var maxRequestsPerConnection: Int
    /// A streamed body's writer waits while more than this many bytes are queued.
    public var outputHighWaterMark: Int

    public init(
        parser: HTTPParserConfiguration = .init(), headerTimeout: UInt64 = 10_000_000_000,
        bodyTimeout: UInt64 = 30_000_000_000, idleTimeout: UInt64 = 30_000_000_000,
        writeTimeout: UInt64 = 30_000_000_000, maxRequestsPerConnection: Int = 1000,
        outputHighWaterMark: Int = 256 * 1024
    ) {
        self.parser = parser
        self.headerTimeout = headerTimeout
        self.bodyTimeout = bodyTimeout
        self.idleTimeout = idleTimeout
        self.writeTimeout = writeTimeout
        self.maxRequestsPerConnection = maxRequestsPerConnection
        self.outputHighWaterMark = outputHighWaterMark
    }
}

/// An error the server answers by itself, before or instead of a handler.
public enum ServerError: Error, Sendable, Hashable {
    case parser(HTTPParserError)
    /// The header block or body did not arrive before its deadline (408).
    case requestTimeout

    public var status: HTTPStatus {
        switch self {
        case .parser(let e): e.status
        case .requestTimeout: .requestTimeout
        }
    }
}

/// The protocol logic of one connection as a pure state machine: events in, actions out, no I/O, no clock.
///
/// One request is in flight at a time (RFC 9112 §9.3.2): once a request is complete, parsing stops until its
/// response has been written out entirely, so pipelined requests are answered in order and a client cannot
/// queue unbounded work. Bytes that arrive meanwhile are buffered up to a bound (64 KiB, or one maximal head),
/// beyond which reading is suspended; reading is also suspended while output is above the high-water mark.
///
/// Deadlines, all absolute and never extended by trickled bytes:
/// - header: `headerTimeout` after accept or after the first byte of a later request → 408 and close
///   (a connection that has sent nothing is closed silently instead);
/// - body: `bodyTimeout` after the head → 408 and close;
/// - idle: `idleTimeout` after a response on a kept-alive connection → close;
/// - write: `writeTimeout` after the last progress while output is queued → abort.
public struct ConnectionStateMachine: Sendable {
    public enum CloseMode: Sendable, Hashable {
        /// Flush, half-close, drain input briefly, close: the client gets to read our last response.
        case graceful
        /// Close now (the peer is gone or will not read).
        case abort
    }

    public enum Action: Sendable, Equatable {
        case write([UInt8])
        /// Run the handler for this request; answer with `respond`.
        case dispatch(RequestHead, body: [UInt8])
        /// Render this server error as a response; answer with `respond`.
        case respondWithError(ServerError)
        /// Start running the stream body of the response just sent.
        case startStream
        /// The streaming writer may continue: output fell below the high-water mark.
        case resumeStream
        /// The peer closed its side while the current request's handler or streamed body runs: cancel that task
        /// (a long poll or an event stream the client dropped stops now). What it still answers is sent, for a
        /// client that only half-closed.
        case cancelHandler
        case suspendReading
        case resumeReading
        /// Arm the timer for this absolute time, or disarm it (nil).
        case setDeadline(UInt64?)
        case close(CloseMode)
    }

    private enum Phase: Sendable {
        /// Waiting for or reading a request head. `headDeadline` is set once its first byte arrived.
        case readingHead
        case readingBody(RequestHead, [UInt8])
        /// Handler (or error rendering) running.
        case handling(RequestHead?)
        /// Response head (and body, if in full) queued; waiting for `streamEnded` if streaming.
        case responding(streaming: Bool)
        /// Whole response queued; waiting for the output to drain.
        case finishing
        case closed
    }

    public let limits: ConnectionLimits
    private var parser: HTTPRequestParser
    private var phase: Phase = .readingHead
    private var headDeadline: UInt64
    private var idleDeadline: UInt64?
    private var bodyDeadline: UInt64 = 0
    private var lastWriteProgress: UInt64 = 0
    private var armedDeadline: UInt64?
    private var readingSuspended = false
    private var streamWaiting = false
    /// Bytes handed out in `.write` actions and not yet reported written.
    public private(set) var pendingOutput = 0
    public private(set) var requestCount = 0
    private var closeAfterResponse = false
    private var currentRequest: RequestHead?
    /// The method and target of the request a protocol error is being answered for, when its request line
    /// parsed (nil for a malformed request line or a timeout between requests).
    public var failedRequestLine: (method: HTTPMethod, target: String)? {
        currentRequest.map { ($0.method, $0.target) } ?? parser.failedRequestLine
    }
    private var shuttingDown = false
    private var peerClosed = false

    public init(limits: ConnectionLimits, now: UInt64) {
        self.limits = limits
        self.parser = HTTPRequestParser(configuration: limits.parser)
        self.headDeadline = now &+ limits.headerTimeout
    }

    /// The deadline to arm when the connection starts.
    public mutating func start() -> [Action] {
        var actions: [Action] = []
        updateDeadline(&actions)
        return actions
    }

    public var isClosed: Bool {
        if case .closed = phase { return true }
        return false
    }

    /// Whether the connection is between requests with nothing received (safe to close when draining).
    public var isIdle: Bool {
        if case .readingHead = phase { return parser.isIdle && pendingOutput == 0 }
        return false
    }

    /// The streaming writer should wait (output above the high-water mark).
    public var shouldPauseStream: Bool { pendingOutput > limits.outputHighWaterMark }

    // MARK: - Input

    public mutating func received(_ bytes: some Collection<UInt8>, now: UInt64) -> [Action] {
        guard !isClosed else { return [] }
        parser.append(bytes)
        var actions: [Action] = []
        process(now: now, &actions)
        // While a request is being answered its successors are only buffered, not parsed; once that buffer
        // (or the queued output) passes its bound, reading stops until the response is out.
        if !isReading && (parser.bufferedByteCount > inputBufferLimit || pendingOutput > limits.outputHighWaterMark) {
            suspendReading(&actions)
        }
        updateDeadline(&actions)
        return actions
    }

    /// Bytes of pipelined input buffered while a request is answered before reading stops.
    private var inputBufferLimit: Int { max(64 * 1024, limits.parser.maxRequestLineBytes + limits.parser.maxHeaderBytes) }

    private var isReading: Bool {
        switch phase {
        case .readingHead, .readingBody: true
        default: false
        }
    }

    /// The peer shut down its sending side (read returned 0).
    public mutating func peerClosed(now: UInt64) -> [Action] {
        guard !isClosed else { return [] }
        peerClosed = true
        var actions: [Action] = []
        suspendReading(&actions)
        switch phase {
        case .readingHead, .readingBody:
            // Nothing to answer, or a request that can no longer complete.
            close(.abort, &actions)
        case .handling(let head):
            closeAfterResponse = true
            if head != nil { actions.append(.cancelHandler) }  // nil: a server error is being answered, no task
        case .responding(streaming: true):
            closeAfterResponse = true
            actions.append(.cancelHandler)
        default:
            closeAfterResponse = true
        }
        updateDeadline(&actions)
        return actions
    }

    private mutating func process(now: UInt64, _ actions: inout [Action]) {
        while true {
            switch phase {
            case .readingHead, .readingBody: break
            default: return
            }
            guard let event = parser.next() else {
                if case .readingHead = phase, idleDeadline != nil, !parser.isIdle {
                    // First byte of a kept-alive connection's next request: the header clock starts now.
                    idleDeadline = nil
                    headDeadline = now &+ limits.headerTimeout
                }
                return
            }
            switch event {
            case .head(let head):
                if idleDeadline != nil {
                    idleDeadline = nil
                    headDeadline = now &+ limits.headerTimeout
                }
                if head.expectContinue && head.version.minor >= 1 && parser.bufferedByteCount == 0 {
                    emitWrite(ResponseSerializer.continueResponse, now: now, &actions)
                }
                bodyDeadline = now &+ limits.bodyTimeout
                phase = .readingBody(head, [])
            case .body(let bytes):
                if case .readingBody(let head, var body) = phase {
                    phase = .handling(nil)  // release the old array before appending (no copy)
                    if body.isEmpty { body = bytes } else { body.append(contentsOf: bytes) }
                    phase = .readingBody(head, body)
                }
            case .end:
                guard case .readingBody(let head, let body) = phase else { return }
                requestCount += 1
                currentRequest = head
                closeAfterResponse =
                    !head.keepAlive || shuttingDown || peerClosed
                    || requestCount >= limits.maxRequestsPerConnection
                phase = .handling(head)
                // Reading goes on (into the buffer only, see `received`): suspending and resuming the read
                // source for every request would cost two system calls each; the buffer bound keeps it safe.
                if parser.bufferedByteCount > inputBufferLimit { suspendReading(&actions) }
                actions.append(.dispatch(head, body: body))
            case .error(let error):
                if case .readingBody(let head, _) = phase { currentRequest = head } else { currentRequest = nil }
                closeAfterResponse = true
                phase = .handling(nil)
                suspendReading(&actions)
                actions.append(.respondWithError(.parser(error)))
            }
        }
    }

    // MARK: - Responses

    /// Sends the head (and the full body) of the response to the current request.
    public mutating func respond(
        status: HTTPStatus, headers: HTTPHeaders, body: ResponseBodyKind, now: UInt64
    ) -> [Action] {
        guard case .handling = phase else { return [] }
        var actions: [Action] = []
        let head = currentRequest
        let isHEAD = head?.method == .HEAD
        let clientVersion = head?.version ?? .http1_1
        if shuttingDown { closeAfterResponse = true }
        var framing: ResponseFraming
        var streaming = false
        switch body {
        case _ where status.forbidsBody:
            framing = .noBody
        case .bytes(let count):
            framing = .length(count)
        case .stream:
            if clientVersion.minor == 0 {
                framing = .untilClose
                closeAfterResponse = true
            } else {
                framing = .chunked
            }
            streaming = !isHEAD
        }
        var bytes = ResponseSerializer.head(
            status: status, headers: headers, framing: framing, close: closeAfterResponse,
            clientVersion: clientVersion)
        if case .bytes = body, case .length = framing, !isHEAD, let content = pendingBody {
            bytes.append(contentsOf: content)
        }
        pendingBody = nil
        currentFraming = framing
        emitWrite(bytes, now: now, &actions)
        if streaming {
            phase = .responding(streaming: true)
            actions.append(.startStream)
        } else {
            phase = .finishing
            finishIfDrained(now: now, &actions)
        }
        updateDeadline(&actions)
        return actions
    }

    /// Body bytes for the next `respond(… body: .bytes)`, kept out of the Action enum to avoid a copy.
    private var pendingBody: [UInt8]?
    private var currentFraming: ResponseFraming = .noBody

    /// Convenience: respond with a complete body.
    public mutating func respond(status: HTTPStatus, headers: HTTPHeaders, bytes: [UInt8], now: UInt64) -> [Action] {
        pendingBody = bytes
        return respond(status: status, headers: headers, body: .bytes(count: bytes.count), now: now)
    }

    public enum ResponseBodyKind: Sendable, Equatable {
        case bytes(count: Int)
        case stream
    }

    /// One piece of a streamed body.
    public mutating func streamWrite(_ bytes: [UInt8], now: UInt64) -> [Action] {
        guard case .responding(streaming: true) = phase, !bytes.isEmpty else { return [] }
        var actions: [Action] = []
        emitWrite(currentFraming == .chunked ? ResponseSerializer.chunk(bytes) : bytes, now: now, &actions)
        if shouldPauseStream { streamWaiting = true }
        updateDeadline(&actions)
        return actions
    }

    /// The stream closure returned: finish the body.
    public mutating func streamEnded(now: UInt64) -> [Action] {
        guard case .responding(streaming: true) = phase else { return [] }
        var actions: [Action] = []
        if currentFraming == .chunked { emitWrite(ResponseSerializer.lastChunk, now: now, &actions) }
        phase = .finishing
        finishIfDrained(now: now, &actions)
        updateDeadline(&actions)
        return actions
    }

    /// The stream closure threw: the response cannot be completed, so the connection ends without the final
    /// chunk and the client can tell the body is incomplete.
    public mutating func streamFailed() -> [Action] {
        guard !isClosed else { return [] }
        var actions: [Action] = []
        close(.graceful, &actions)
        return actions
    }

    // MARK: - Output progress

    /// `n` bytes of queued output reached the kernel.
    public mutating func didWrite(_ n: Int, now: UInt64) -> [Action] {
        guard !isClosed else { return [] }
        pendingOutput -= n
        if n > 0 { lastWriteProgress = now }
        var actions: [Action] = []
        if streamWaiting && pendingOutput <= limits.outputHighWaterMark / 2 {
            streamWaiting = false
            actions.append(.resumeStream)
        }
        if case .finishing = phase { finishIfDrained(now: now, &actions) }
        updateDeadline(&actions)
        return actions
    }

    /// A send failed for good (EPIPE, ECONNRESET, …).
    public mutating func writeFailed() -> [Action] { abort() }

    /// Give the connection up now, unanswered: the client left and the cancelled handler has nothing to send.
    public mutating func abort() -> [Action] {
        guard !isClosed else { return [] }
        var actions: [Action] = []
        close(.abort, &actions)
        return actions
    }

    private mutating func finishIfDrained(now: UInt64, _ actions: inout [Action]) {
        guard pendingOutput == 0 else { return }
        if closeAfterResponse {
            close(.graceful, &actions)
            return
        }
        phase = .readingHead
        currentRequest = nil
        idleDeadline = now &+ limits.idleTimeout
        resumeReading(&actions)
        process(now: now, &actions)
    }

    // MARK: - Time and shutdown

    public mutating func deadlineFired(now: UInt64) -> [Action] {
        guard !isClosed else { return [] }
        var actions: [Action] = []
        armedDeadline = nil
        if let deadline = currentDeadline(), now >= deadline {
            if pendingOutput > 0 {
                close(.abort, &actions)
            } else {
                switch phase {
                case .readingHead:
                    if parser.isIdle {
                        close(.graceful, &actions)  // nothing sent: idle timeout, or a silent new connection
                    } else {
                        timeoutResponse(&actions)  // slowloris: part of a head arrived, not all of it
                    }
                case .readingBody(let head, _):
                    currentRequest = head
                    timeoutResponse(&actions)
                default:
                    break
                }
            }
        }
        updateDeadline(&actions)
        return actions
    }

    private mutating func timeoutResponse(_ actions: inout [Action]) {
        closeAfterResponse = true
        phase = .handling(nil)
        suspendReading(&actions)
        actions.append(.respondWithError(.requestTimeout))
    }

    /// Graceful shutdown: an idle connection closes now; one with a request in progress finishes it and
    /// closes (its response carries `Connection: close`).
    public mutating func beginShutdown(now: UInt64) -> [Action] {
        guard !isClosed else { return [] }
        shuttingDown = true
        closeAfterResponse = true
        var actions: [Action] = []
        if isIdle { close(.graceful, &actions) }
        updateDeadline(&actions)
        return actions
    }

    // MARK: - Helpers

    private mutating func emitWrite(_ bytes: [UInt8], now: UInt64, _ actions: inout [Action]) {
        guard !bytes.isEmpty else { return }
        if pendingOutput == 0 { lastWriteProgress = now }
        pendingOutput += bytes.count
        actions.append(.write(bytes))
    }

    private mutating func close(_ mode: CloseMode, _ actions: inout [Action]) {
        phase = .closed
        actions.append(.close(mode))
    }

    private mutating func suspendReading(_ actions: inout [Action]) {
        if !readingSuspended {
            readingSuspended = true
            actions.append(.suspendReading)
        }
    }

    private mutating func resumeReading(_ actions: inout [Action]) {
        if readingSuspended && !peerClosed {
            readingSuspended = false
            actions.append(.resumeReading)
        }
    }

    private func currentDeadline() -> UInt64? {
        if pendingOutput > 0 { return lastWriteProgress &+ limits.writeTimeout }
        switch phase {
        case .readingHead: return idleDeadline ?? headDeadline
        case .readingBody: return bodyDeadline
        default: return nil
        }
    }

    private mutating func updateDeadline(_ actions: inout [Action]) {
        let deadline = isClosed ? nil : currentDeadline()
        if deadline != armedDeadline {
            armedDeadline = deadline
            actions.append(.setDeadline(deadline))
        }
    }
}
