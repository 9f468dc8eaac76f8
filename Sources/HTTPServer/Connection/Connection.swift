#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Dispatch
import Logging

/// What a connection needs from its server; shared by all connections, immutable.
struct ConnectionContext: Sendable {
    let router: Router
    let configuration: HTTPServerConfiguration
    let limits: ConnectionLimits
    let logger: Logger
    /// Called once on the connection's queue after its descriptor is closed.
    let onClose: @Sendable (Int) -> Void
}

/// Clock used by connections: monotonic nanoseconds (the state machine itself takes `now` as input).
@inline(__always)
func monotonicNow() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

/// One accepted socket, driven by Dispatch sources, executing its `ConnectionStateMachine`'s actions.
///
/// Invariant: every stored `var` is read and written only on `queue` (a serial queue private to this
/// connection); every source handler runs on `queue` and checks it with `dispatchPrecondition`. Handlers run
/// in their own `Task`s and come back to `queue` with `queue.async`, carrying only `Sendable` values. This is
/// why the class can be `@unchecked Sendable`.
final class Connection: @unchecked Sendable {
    let id: Int
    let fd: Int32
    let queue: DispatchQueue
    let remoteAddress: String
    private let context: ConnectionContext

    private var machine: ConnectionStateMachine
    private let readSource: DispatchSourceRead
    private var writeSource: DispatchSourceWrite?
    private let timer: DispatchSourceTimer
    private var readSuspended = false
    private var writeSourceActive = false
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
    private var pendingCancels = 0

    // The request being answered, for logs and metrics.
    private var requestStart: UInt64 = 0
    private var logMethod: HTTPMethod?
    private var logPath = ""
    private var logRoute: String?
    private var logStatus = 0
    private var logRequestID = ""
    private var logBytesIn = 0
    private var logBytesOut = 0
    private var logPending = false
    private var stream: (@Sendable (ResponseBodyWriter) async throws -> Void)?
    private var streamWaiter: CheckedContinuation<Void, any Error>?

    init(id: Int, fd: Int32, remoteAddress: String, context: ConnectionContext, targetQueue: DispatchQueue) {
        self.id = id
        self.fd = fd
        self.remoteAddress = remoteAddress
        self.context = context
        self.queue = DispatchQueue(label: "http.connection", target: targetQueue)
        self.machine = ConnectionStateMachine(limits: context.limits, now: monotonicNow())
        self.readSource = DispatchSource.makeReadSource(fileDescriptor: fd, queue: queue)
        self.timer = DispatchSource.makeTimerSource(queue: queue)
    }

    /// Arms the sources. Call once, from any thread.
    func start() {
        readSource.setEventHandler { @Sendable [self] in self.readable() }
        readSource.setCancelHandler { @Sendable [self] in self.sourceCancelled() }
        timer.setEventHandler { @Sendable [self] in self.timerFired() }
        timer.setCancelHandler { @Sendable [self] in self.sourceCancelled() }
        timer.schedule(deadline: .distantFuture, repeating: .never, leeway: .milliseconds(5))
        queue.async { @Sendable [self] in
            self.pendingCancels = 2
            self.timer.resume()
            self.readSource.resume()
            self.perform(self.machine.start())
        }
    }

    /// Graceful shutdown: close if idle, else finish the current request with `Connection: close`.
    func beginShutdown() {
        queue.async { @Sendable [self] in
            guard !self.closed else { return }
            self.perform(self.machine.beginShutdown(now: monotonicNow()))
        }
    }

    /// End of the grace period: close now.
    func forceClose() {
        queue.async { @Sendable [self] in self.finalClose(reset: true) }
    }

    // MARK: - Reading

    private func readable() {
        dispatchPrecondition(condition: .onQueue(queue))
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
        dispatchPrecondition(condition: .onQueue(queue))
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
            case .suspendReading:
                if !readSuspended && !lingering {
                    readSuspended = true
                    readSource.suspend()
                }
            case .resumeReading:
                if readSuspended {
                    readSuspended = false
                    readSource.resume()
                }
            case .setDeadline(let deadline):
                if let deadline, timerFireAt.map({ deadline < $0 }) ?? true {
                    timerFireAt = deadline
                    timer.schedule(
                        deadline: DispatchTime(uptimeNanoseconds: deadline), repeating: .never,
                        leeway: .milliseconds(5))
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

    /// Sends queued output until done or EAGAIN (then waits for the write source), telling the state machine
    /// what was written. Not re-entrant: `perform` (run from here with the machine's answer) may queue more
    /// output and ask to flush again; that request is served by this loop rather than by a nested call, so a
    /// peer that keeps accepting a little at a time cannot grow the stack (it once overflowed it, ~6,500 frames).
    private func flush() {
        dispatchPrecondition(condition: .onQueue(queue))
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
            if blocked { return }  // the write source calls back when the peer has read
        } while flushRequested && !closed
    }

    /// One round of `send` calls on the queued output; manages write interest. Returns the bytes written, whether
    /// the socket failed, and whether it would block with output left.
    private func sendPending() -> (written: Int, failed: Bool, blocked: Bool) {
        dispatchPrecondition(condition: .onQueue(queue))
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
        if on {
            if writeSource == nil {
                let source = DispatchSource.makeWriteSource(fileDescriptor: fd, queue: queue)
                source.setEventHandler { @Sendable [self] in
                    dispatchPrecondition(condition: .onQueue(self.queue))
                    self.flush()
                }
                source.setCancelHandler { @Sendable [self] in self.sourceCancelled() }
                writeSource = source
                pendingCancels += 1
                writeSourceActive = true
                source.resume()
            } else if !writeSourceActive, let source = writeSource {
                writeSourceActive = true
                source.resume()
            }
        } else if writeSourceActive, let source = writeSource {
            writeSourceActive = false
            source.suspend()
        }
    }

    // MARK: - Requests

    private func dispatch(_ head: RequestHead, body: [UInt8]) {
        let requestID = RequestID.from(head.headers)
        let request = HTTPRequest(
            method: head.method, target: head.target, headers: head.headers, body: body, version: head.version,
            requestID: requestID, remoteAddress: remoteAddress)
        beginLog(method: head.method, path: request.path, requestID: requestID, bytesIn: body.count)
        let router = context.router
        Task { @Sendable [self] in
            let routed = await router.respond(to: request)
            self.queue.async { @Sendable [self] in self.handlerFinished(routed, requestID: requestID) }
        }
    }

    private func respondWithError(_ error: ServerError) {
        // The request line, when it parsed (e.g. 413 for a declared length): its method and path go to the log
        // and the problem's `instance`; else the renderer names the generated request id.
        let line = machine.failedRequestLine
        let instance = line.map { RequestTarget.split($0.target).path }
        if !logPending {
            beginLog(method: line?.method, path: instance ?? "", requestID: RequestID.generate(), bytesIn: 0)
        }
        let response = context.router.problems.response(for: error, instance: instance, requestID: logRequestID)
        context.logger.debug(
            "protocol error", metadata: ["request_id": "\(logRequestID)", "code": "\(error.code)", "peer": "\(remoteAddress)"])
        sendResponse(response)
    }

    private func handlerFinished(_ routed: RoutedResponse, requestID: String) {
        dispatchPrecondition(condition: .onQueue(queue))
        guard !closed else {
            finishLog()
            return
        }
        logRoute = routed.route
        if let error = routed.internalError {
            context.logger.error(
                "handler failed", metadata: ["request_id": "\(requestID)", "error": "\(String(describing: error))"])
        }
        sendResponse(routed.response)
    }

    private func sendResponse(_ response: HTTPResponse) {
        var headers = response.headers
        headers.replaceOrAdd(name: "X-Request-Id", value: logRequestID)
        logStatus = response.status.code
        let now = monotonicNow()
        switch response.body {
        case .bytes(let bytes):
            logBytesOut = bytes.count
            perform(machine.respond(status: response.status, headers: headers, bytes: bytes, now: now))
            finishLog()
        case .stream(let body):
            stream = body
            perform(machine.respond(status: response.status, headers: headers, body: .stream, now: now))
            if stream != nil { stream = nil; finishLog() }  // HEAD or no-body status: never started
        }
    }

    private func startStream() {
        guard let body = stream else { return }
        stream = nil
        let writer = StreamWriter(connection: self)
        Task { @Sendable [self] in
            do {
                try await body(writer)
                self.queue.async { @Sendable [self] in
                    self.perform(self.machine.streamEnded(now: monotonicNow()))
                    self.finishLog()
                }
            } catch {
                self.queue.async { @Sendable [self] in
                    self.perform(self.machine.streamFailed())
                    self.finishLog()
                }
            }
        }
    }

    /// Called by the stream writer: queue `bytes`, then wait while above the high-water mark.
    fileprivate func streamWrite(_ bytes: [UInt8]) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            queue.async { @Sendable [self] in
                guard !self.closed else {
                    continuation.resume(throwing: ResponseBodyWriterError.connectionClosed)
                    return
                }
                self.logBytesOut += bytes.count
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

    private func beginLog(method: HTTPMethod?, path: String, requestID: String, bytesIn: Int) {
        requestStart = monotonicNow()
        logMethod = method
        logPath = path
        logRoute = nil
        logStatus = 0
        logRequestID = requestID
        logBytesIn = bytesIn
        logBytesOut = 0
        logPending = true
    }

    private func finishLog() {
        guard logPending else { return }
        logPending = false
        let duration = Duration.nanoseconds(Int64(clamping: monotonicNow() &- requestStart))
        let entry = RequestLog(
            method: logMethod, path: logPath, route: logRoute, status: logStatus, duration: duration,
            bytesSent: logBytesOut, bytesReceived: logBytesIn, requestID: logRequestID, remoteAddress: remoteAddress)
        if context.logger.logLevel <= .info {
            context.logger.info(
                "\(logMethod?.rawValue ?? "-") \(logPath.isEmpty ? "-" : logPath) \(logStatus)",
                metadata: [
                    "request_id": "\(logRequestID)", "route": "\(logRoute ?? "-")",
                    "duration_ms": "\(Double(duration.nanosecondsValue) / 1e6)", "bytes": "\(logBytesOut)",
                    "peer": "\(remoteAddress)",
                ])
        }
        context.configuration.onRequestCompleted?(entry)
    }

    // MARK: - Time

    private func timerFired() {
        dispatchPrecondition(condition: .onQueue(queue))
        timerFireAt = nil
        guard !closed else { return }
        if lingering {
            finalClose()
            return
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
        if readSuspended {
            readSuspended = false
            readSource.resume()
        }
        timerFireAt = nil
        timer.schedule(deadline: .now() + .seconds(1), repeating: .never, leeway: .milliseconds(20))
    }

    /// Cancels the sources; the descriptor is closed once both cancel handlers ran. With `reset`, SO_LINGER 0
    /// makes that close send RST and drop unsent data (a peer that stopped reading must not keep kernel
    /// buffers, or the connection, alive after we gave up on it).
    private func finalClose(reset: Bool = false) {
        dispatchPrecondition(condition: .onQueue(queue))
        guard !closed else { return }
        closed = true
        if reset {
            var option = linger(l_onoff: 1, l_linger: 0)
            _ = setsockopt(fd, SOL_SOCKET, SO_LINGER, &option, socklen_t(MemoryLayout<linger>.size))
        }
        failStreamWaiter()
        if readSuspended {
            readSuspended = false
            readSource.resume()
        }
        if let source = writeSource, !writeSourceActive {
            writeSourceActive = true
            source.resume()
        }
        readSource.cancel()
        writeSource?.cancel()
        timer.cancel()
        output = []
        if logPending { finishLog() }
    }

    private func failStreamWaiter() {
        if let waiter = streamWaiter {
            streamWaiter = nil
            waiter.resume(throwing: ResponseBodyWriterError.connectionClosed)
        }
    }

    private func sourceCancelled() {
        dispatchPrecondition(condition: .onQueue(queue))
        pendingCancels -= 1
        if pendingCancels == 0 {
            Glibc.close(fd)
            context.onClose(id)
        }
    }
}

/// The `ResponseBodyWriter` handed to a stream body: forwards to its connection's queue.
private struct StreamWriter: ResponseBodyWriter {
    let connection: Connection

    func write(_ bytes: [UInt8]) async throws {
        guard !bytes.isEmpty else { return }
        try await connection.streamWrite(bytes)
    }
}

extension Duration {
    var nanosecondsValue: Int64 {
        let (s, a) = components
        return s &* 1_000_000_000 &+ a / 1_000_000_000
    }
}
