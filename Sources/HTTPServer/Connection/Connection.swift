#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CLinux
import Dispatch
import Logging
import Synchronization

/// What a connection needs from its server; shared by all connections, immutable.
struct ConnectionContext: Sendable {
    let router: Router
    let configuration: HTTPServerConfiguration
    let limits: ConnectionLimits
    let logger: Logger
    /// The access log, when it is on.
    let accessLog: AccessLog?
    /// Called once on the connection's event loop after its descriptor is closed.
    let onClose: @Sendable (Int) -> Void
}

/// Clock used by connections: monotonic nanoseconds (the state machine itself takes `now` as input).
@inline(__always)
func monotonicNow() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

/// One accepted socket, driven by its `EventLoop`, executing its `ConnectionStateMachine`'s actions.
///
/// Invariant: every stored `var` is read and written only on `loop`'s thread: readiness and deadlines arrive
/// there (`EventLoopClient`), and everything else comes in through `loop.execute`/`loop.run`, carrying only
/// `Sendable` values. Handlers run in their own `Task`s, which prefer `loop` as their executor, so a handler that
/// does not suspend runs on the loop's thread too, and its response is queued without a hand-off. This is why
/// the class can be `@unchecked Sendable`.
///
/// Each request's `Task` (its handler, then its streamed body) is kept while it runs and cancelled when the
/// peer closes its side or the connection closes, so a dropped long poll or event stream stops at once.
/// Each request has its own `RequestRecord`, made when it is dispatched and carried with its handler and
/// response to the completion hook and the access log: pipelined requests never share one.
final class Connection: EventLoopClient, @unchecked Sendable {
    let id: Int
    let fd: Int32
    let loop: EventLoop
    /// The connection's key in its loop (unique in the process).
    private let token = EventLoop.makeToken()
    let remoteAddress: String
    private let context: ConnectionContext

    private var machine: ConnectionStateMachine
    private var readSuspended = false
    /// Output is waiting for the socket to accept more (`EPOLLOUT` wanted).
    private var wantWrite = false
    /// The epoll interest set now registered; nil once the descriptor left the loop (closed, or hung up).
    private var interest: UInt32?
    private var timerFireAt: UInt64?

    /// Queued output not yet accepted by the kernel: `output[outputStart...]`.
    private var output: [UInt8] = []
    private var outputStart = 0

    /// `flush` is running (it loops instead of recursing); `flushRequested`: flush again when this round ends.
    private var flushing = false
    private var flushRequested = false

    private var closed = false
    private var lingering = false
    private var lingerBytes = 0

    /// The running handler's task, and the running stream body's task, of the request being answered.
    private var handlerTask: Task<Void, Never>?
    private var streamTask: Task<Void, Never>?
    /// Set when the peer closed while a task ran: an ending `CancellationError` is then the client's doing.
    private var peerAborted = false
    /// The stream body of the response just sent, and its request's record, until `startStream` runs it.
    private var stream: (@Sendable (ResponseBodyWriter) async throws -> Void)?
    private var streamRecord: RequestRecord?
    private var streamWaiter: CheckedContinuation<Void, any Error>?

    init(id: Int, fd: Int32, remoteAddress: String, context: ConnectionContext, loop: EventLoop) {
        self.id = id
        self.fd = fd
        self.remoteAddress = remoteAddress
        self.context = context
        self.loop = loop
        self.machine = ConnectionStateMachine(limits: context.limits, now: monotonicNow())
        loop.connectionCount.add(1, ordering: .relaxed)  // until `finalClose` (or a failed start)
    }

    /// Registers the socket with the loop and starts the state machine. Call once, from any thread (on the loop,
    /// e.g. right after accepting there, it runs at once).
    func start() {
        loop.run { @Sendable [self] in
            let events = Self.readInterest
            guard self.loop.register(self, fd: self.fd, token: self.token, events: events) else {
                self.context.logger.warning("epoll_ctl(ADD) failed", metadata: ["errno": "\(errno)"])
                self.closed = true
                Glibc.close(self.fd)
                self.loop.connectionCount.subtract(1, ordering: .relaxed)
                self.context.onClose(self.id)
                return
            }
            self.interest = events
            self.perform(self.machine.start())
        }
    }

    /// Graceful shutdown: close if idle, else finish the current request with `Connection: close`. Returns once
    /// the connection's loop has applied it, so a response finished after this call carries `Connection: close`.
    func beginShutdown() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            loop.execute { @Sendable [self] in
                if !self.closed { self.perform(self.machine.beginShutdown(now: monotonicNow())) }
                continuation.resume()
            }
        }
    }

    /// End of the grace period: close now.
    func forceClose() {
        loop.execute { @Sendable [self] in self.finalClose(reset: true) }
    }

    // MARK: - Readiness (EventLoopClient)

    private static let readInterest = EPOLLIN.rawValue | EPOLLRDHUP.rawValue

    func handleEvents(_ events: UInt32) {
        guard !closed else { return }
        if events & EPOLLOUT.rawValue != 0 && wantWrite {
            flush()
            if closed { return }
        }
        let readable = EPOLLIN.rawValue | EPOLLRDHUP.rawValue | EPOLLHUP.rawValue | EPOLLERR.rawValue
        if events & readable != 0 && (!readSuspended || lingering) {
            self.readable()
            if closed { return }
        }
        if events & (EPOLLHUP.rawValue | EPOLLERR.rawValue) != 0 {
            // Hung up or failed: level-triggered, these would be reported on every wait. Whatever is queued fails
            // on its next send; the peer is told of (`peerClosed`) and the descriptor leaves the loop, which keeps
            // its deadlines until the close.
            if wantWrite { flush() }
            guard !closed else { return }
            loop.deregister(fd: fd, token: token, forget: false)
            interest = nil
            perform(machine.peerClosed(now: monotonicNow()))
        }
    }

    func deadlineReached(_ deadline: UInt64) {
        guard timerFireAt == deadline else { return }  // replaced by an earlier one, or already handled
        timerFired()
    }

    /// Registers the interest the connection's flags call for, when it differs from the registered one.
    private func updateInterest() {
        guard let current = interest, !closed else { return }
        var wanted: UInt32 = 0
        if !readSuspended || lingering { wanted |= Self.readInterest }
        if wantWrite { wanted |= EPOLLOUT.rawValue }
        if wanted != current {
            loop.modify(fd: fd, token: token, events: wanted)
            interest = wanted
        }
    }

    // MARK: - Reading

    private func readable() {
        assert(loop.inEventLoop)
        guard !closed else { return }
        let capacity = 64 * 1024
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: capacity) { buffer in
            let n = Glibc.read(fd, buffer.baseAddress, capacity)
            if lingering {
                // Half-closed after our last response: discard input until EOF, bounded.
                lingerBytes += max(n, 0)
                if n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR) || lingerBytes > 1 << 20 {
                    finalClose()
                }
                return
            }
            if n > 0 {
                perform(machine.received(UnsafeBufferPointer(rebasing: buffer[0..<n]), now: monotonicNow()))
            } else if n == 0 {
                perform(machine.peerClosed(now: monotonicNow()))
            } else if errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR {
                perform(machine.writeFailed())
            }
        }
    }

    // MARK: - Actions

    private func perform(_ actions: [ConnectionStateMachine.Action]) {
        assert(loop.inEventLoop)
        guard !closed else { return }
        for action in actions {
            switch action {
            case .write(let bytes):
                if output.isEmpty {
                    output = bytes
                    outputStart = 0
                } else {
                    output.append(contentsOf: bytes)
                }
            case .dispatch(let head, let body):
                dispatch(head, body: body)
            case .respondWithError(let error):
                respondWithError(error)
            case .startStream:
                startStream()
            case .resumeStream:
                if let waiter = streamWaiter {
                    streamWaiter = nil
                    waiter.resume()
                }
            case .cancelHandler:
                peerAborted = true
                handlerTask?.cancel()
                streamTask?.cancel()
            case .suspendReading:
                if !readSuspended && !lingering {
                    readSuspended = true
                    updateInterest()
                }
            case .resumeReading:
                if readSuspended {
                    readSuspended = false
                    updateInterest()
                }
            case .setDeadline(let deadline):
                if let deadline, timerFireAt.map({ deadline < $0 }) ?? true {
                    timerFireAt = deadline
                    loop.schedule(token: token, at: deadline)
                }
            case .close(let mode):
                // Raw send only: no `didWrite` round trip (and no recursion) while closing.
                _ = sendPending()
                if mode == .graceful && !closed { startLinger() } else { finalClose(reset: true) }
                return
            }
            if closed { return }
        }
        if outputStart < output.count { flush() }
    }

    /// Sends queued output until done or EAGAIN (then waits for `EPOLLOUT`), telling the state machine
    /// what was written. Not re-entrant: `perform` (run from here with the machine's answer) may queue more
    /// output and ask to flush again; that request is served by this loop rather than by a nested call, so a
    /// peer that keeps accepting a little at a time cannot grow the stack (it once overflowed it, ~6,500 frames).
    private func flush() {
        assert(loop.inEventLoop)
        guard !closed else { return }
        if flushing {
            flushRequested = true
            return
        }
        flushing = true
        defer { flushing = false }
        repeat {
            flushRequested = false
            let (written, failed, blocked) = sendPending()
            if failed {
                perform(machine.writeFailed())
                return
            }
            if written > 0 || outputStart >= output.count {
                perform(machine.didWrite(written, now: monotonicNow()))
            }
            if blocked { return }  // `EPOLLOUT` calls back when the peer has read
        } while flushRequested && !closed
    }

    /// One round of `send` calls on the queued output; manages write interest. Returns the bytes written, whether
    /// the socket failed, and whether it would block with output left.
    private func sendPending() -> (written: Int, failed: Bool, blocked: Bool) {
        assert(loop.inEventLoop)
        guard !closed else { return (0, false, false) }
        var written = 0
        var failed = false
        while outputStart < output.count {
            let n = output.withUnsafeBytes { raw in
                send(fd, raw.baseAddress.map { $0 + outputStart }, output.count - outputStart, Int32(MSG_NOSIGNAL))
            }
            if n > 0 {
                outputStart += n
                written += n
            } else if n < 0 && errno == EINTR {
                continue
            } else if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) {
                break
            } else {
                failed = true
                break
            }
        }
        if outputStart >= output.count {
            output.removeAll(keepingCapacity: output.capacity <= 64 * 1024)
            outputStart = 0
            setWriteInterest(false)
            return (written, failed, false)
        }
        if !failed {
            if outputStart > 64 * 1024 {
                output.removeSubrange(0..<outputStart)
                outputStart = 0
            }
            setWriteInterest(true)
        }
        return (written, failed, !failed)
    }

    private func setWriteInterest(_ on: Bool) {
        guard wantWrite != on else { return }
        wantWrite = on
        updateInterest()
    }

    // MARK: - Requests

    private func dispatch(_ head: RequestHead, body: [UInt8]) {
        let requestID = RequestID.from(head.headers)
        let request = HTTPRequest(
            method: head.method, target: head.target, headers: head.headers, body: body, version: head.version,
            requestID: requestID, remoteAddress: remoteAddress)
        let record = RequestRecord(method: head.method, path: request.path, requestID: requestID, bytesIn: body.count)
        let router = context.router
        peerAborted = false
        handlerTask = Task(executorPreference: loop) { @Sendable [self] in
            let routed = await router.respond(to: request)
            self.loop.run { @Sendable [self] in self.handlerFinished(routed, record: record) }
        }
    }

    private func respondWithError(_ error: ServerError) {
        // The request line, when it parsed (e.g. 413 for a declared length): its method and path go to the log
        // and the problem's `instance`; else the renderer names the generated request id.
        let line = machine.failedRequestLine
        let instance = line.map { RequestTarget.split($0.target).path }
        let record = RequestRecord(method: line?.method, path: instance ?? "", requestID: RequestID.generate(), bytesIn: 0)
        let response = context.router.problems.response(for: error, instance: instance, requestID: record.requestID)
        context.logger.debug(
            "protocol error",
            metadata: ["request_id": "\(record.requestID)", "code": "\(error.code)", "peer": "\(remoteAddress)"])
        sendResponse(response, record: record)
    }

    private func handlerFinished(_ routed: RoutedResponse, record: RequestRecord) {
        assert(loop.inEventLoop)
        handlerTask = nil
        record.route = routed.route
        let cancelledByPeer = peerAborted && routed.internalError is CancellationError
        if closed || cancelledByPeer {
            // The client left: nothing to answer it with (a handler that returned normally after the peer
            // half-closed is answered below).
            record.status = RequestRecord.clientClosed
            finish(record)
            perform(machine.abort())
            return
        }
        if let error = routed.internalError {
            context.logger.error(
                "handler failed", metadata: ["request_id": "\(record.requestID)", "error": "\(String(describing: error))"])
        }
        sendResponse(routed.response, record: record)
    }

    private func sendResponse(_ response: HTTPResponse, record: RequestRecord) {
        var headers = response.headers
        headers.replaceOrAdd(name: "X-Request-Id", value: record.requestID)
        record.status = response.status.code
        let now = monotonicNow()
        switch response.body {
        case .bytes(let bytes):
            record.bytesOut = bytes.count
            // Finished before its bytes are queued: queueing them may start the next pipelined request, whose
            // record must come after this one.
            finish(record)
            perform(machine.respond(status: response.status, headers: headers, bytes: bytes, now: now))
        case .stream(let body):
            stream = body
            streamRecord = record
            perform(machine.respond(status: response.status, headers: headers, body: .stream, now: now))
            if stream != nil {  // HEAD or no-body status: never started
                stream = nil
                streamRecord = nil
                finish(record)
            }
        }
    }

    private func startStream() {
        guard let body = stream, let record = streamRecord else { return }
        stream = nil
        streamRecord = nil
        let writer = StreamWriter(connection: self, record: record)
        streamTask = Task(executorPreference: loop) { @Sendable [self] in
            do {
                try await body(writer)
                self.loop.run { @Sendable [self] in
                    self.streamTask = nil
                    self.perform(self.machine.streamEnded(now: monotonicNow()))
                    self.finish(record)
                }
            } catch {
                self.loop.run { @Sendable [self] in
                    self.streamTask = nil
                    if self.closed || self.peerAborted { record.status = RequestRecord.clientClosed }
                    self.perform(self.machine.streamFailed())
                    self.finish(record)
                }
            }
        }
    }

    /// Called by the stream writer: queue `bytes`, then wait while above the high-water mark.
    fileprivate func streamWrite(_ bytes: [UInt8], record: RequestRecord) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            loop.run { @Sendable [self] in
                guard !self.closed else {
                    continuation.resume(throwing: ResponseBodyWriterError.connectionClosed)
                    return
                }
                record.bytesOut += bytes.count
                self.perform(self.machine.streamWrite(bytes, now: monotonicNow()))
                if self.closed {
                    continuation.resume(throwing: ResponseBodyWriterError.connectionClosed)
                } else if self.machine.shouldPauseStream {
                    self.streamWaiter = continuation
                } else {
                    continuation.resume()
                }
            }
        }
    }

    // MARK: - Logging

    /// Hands the request's record, once, to the completion hook and the access log.
    private func finish(_ record: RequestRecord) {
        assert(loop.inEventLoop)
        guard !record.finished else { return }
        record.finished = true
        let entry = RequestLog(
            method: record.method, path: record.path, route: record.route, status: record.status,
            duration: .nanoseconds(Int64(clamping: monotonicNow() &- record.start)), bytesSent: record.bytesOut,
            bytesReceived: record.bytesIn, requestID: record.requestID, remoteAddress: remoteAddress)
        context.accessLog?.append(entry)
        context.configuration.onRequestCompleted?(entry)
    }

    // MARK: - Time

    private func timerFired() {
        assert(loop.inEventLoop)
        timerFireAt = nil
        guard !closed else { return }
        if lingering {
            finalClose()
            return
        }
        // Input already in the kernel's buffer counts before the deadline does: on a loaded machine the timer and
        // the read source can become ready together, and a request that has arrived must not be dropped as a
        // silent connection because the timer's handler happened to run first. (A non-blocking read: EAGAIN
        // changes nothing.)
        if !readSuspended {
            readable()
            guard !closed else { return }
        }
        perform(machine.deadlineFired(now: monotonicNow()))
    }

    // MARK: - Closing

    /// Half-close after the last response and discard input for up to a second, so that unread request bytes
    /// do not make the kernel reset the connection before the client has read our answer.
    private func startLinger() {
        guard !closed, !lingering else { return }
        if outputStart < output.count {
            // Could not flush everything: nothing to protect, the peer is not reading.
            finalClose(reset: true)
            return
        }
        lingering = true
        shutdown(fd, Int32(SHUT_WR))
        failStreamWaiter()
        readSuspended = false
        updateInterest()
        let deadline = monotonicNow() &+ 1_000_000_000
        timerFireAt = deadline
        loop.schedule(token: token, at: deadline)
    }

    /// Takes the descriptor out of the loop and closes it. With `reset`, SO_LINGER 0 makes the close send RST and
    /// drop unsent data (a peer that stopped reading must not keep kernel buffers, or the connection, alive after
    /// we gave up on it).
    private func finalClose(reset: Bool = false) {
        assert(loop.inEventLoop)
        guard !closed else { return }
        closed = true
        if reset {
            var option = linger(l_onoff: 1, l_linger: 0)
            _ = setsockopt(fd, SOL_SOCKET, SO_LINGER, &option, socklen_t(MemoryLayout<linger>.size))
        }
        failStreamWaiter()
        loop.deregister(fd: fd, token: token, forget: true)
        interest = nil
        Glibc.close(fd)
        loop.connectionCount.subtract(1, ordering: .relaxed)
        context.onClose(id)
        output = []
        // A running handler or stream body ends now; its record is finished when its task returns.
        handlerTask?.cancel()
        streamTask?.cancel()
        if stream != nil, let record = streamRecord {
            stream = nil
            streamRecord = nil
            record.status = RequestRecord.clientClosed
            finish(record)
        }
    }

    private func failStreamWaiter() {
        if let waiter = streamWaiter {
            streamWaiter = nil
            waiter.resume(throwing: ResponseBodyWriterError.connectionClosed)
        }
    }
}

/// The `ResponseBodyWriter` handed to a stream body: forwards to its connection's loop.
private struct StreamWriter: ResponseBodyWriter {
    let connection: Connection
    let record: RequestRecord

    func write(_ bytes: [UInt8]) async throws {
        guard !bytes.isEmpty else { return }
        try await connection.streamWrite(bytes, record: record)
    }
}

/// What the access log and the completion hook learn about one request, collected from its dispatch to its
/// end. Made per request and carried with it (never stored as "the current request" of a connection, which
/// pipelined requests would overwrite).
///
/// Invariant: the `var`s are read and written only on the owning connection's loop (the record travels
/// through handler tasks without being touched there), hence `@unchecked Sendable`.
final class RequestRecord: @unchecked Sendable {
    /// Status recorded when the client closed the connection before its response was sent (nginx's 499).
    static let clientClosed = 499

    let start = monotonicNow()
    let method: HTTPMethod?
    let path: String
    let requestID: String
    let bytesIn: Int
    var route: String?
    var status = 0
    var bytesOut = 0
    var finished = false

    init(method: HTTPMethod?, path: String, requestID: String, bytesIn: Int) {
        self.method = method
        self.path = path
        self.requestID = requestID
        self.bytesIn = bytesIn
    }
}

extension Duration {
    var nanosecondsValue: Int64 {
        let (s, a) = components
        return s &* 1_000_000_000 &+ a / 1_000_000_000
    }
}
