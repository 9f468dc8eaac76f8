#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Dispatch
import Foundation
import Logging
import Synchronization

/// A generic HTTP/1.1 server on non-blocking POSIX sockets driven by epoll event loops.
///
/// - One listening socket (IPv4 or IPv6, per `configuration.host`), accepted on a private serial queue until
///   `EAGAIN`; `EMFILE`, `ENFILE`, `ENOBUFS`, `ENOMEM` suspend accepting for 100 ms, `ECONNABORTED` and `EPROTO`
///   are skipped: no accept error ends the loop. At `maxConnections` open connections accepting pauses until
///   one closes (the kernel backlog holds the rest).
/// - Each connection (`Connection`, executing a pure `ConnectionStateMachine`) belongs to one of the process's
///   event loops (`EventLoop.shared`, two threads per core, round-robin), which reads, parses, writes and keeps its
///   deadlines. Handlers run as Swift tasks that prefer their connection's loop as executor: one that does not
///   suspend answers on the thread that read the request; one that does comes back to it.
/// - Parsing (`HTTPRequestParser`) and protocol decisions (`ConnectionStateMachine`) are pure value types;
///   `Router` maps requests to handlers; errors become `application/problem+json` (`HTTPProblem`).
/// - `SIGPIPE` is ignored process-wide and every send uses `MSG_NOSIGNAL`.
public final class HTTPServer: Sendable {
    public let configuration: HTTPServerConfiguration
    public let router: Router
    public let logger: Logger
    private let core: ServerCore
    private let accessLog: AccessLog?
    private let shuttingDown = Atomic<Bool>(false)

    public init(configuration: HTTPServerConfiguration = .init(), router: Router, logger: Logger) {
        self.configuration = configuration
        self.router = router
        self.logger = logger
        if logger.logLevel <= .info, let fd = configuration.accessLog.fileDescriptor {
            accessLog = AccessLog(
                fd: fd, flushInterval: configuration.accessLogFlushInterval,
                capacity: configuration.accessLogBufferLimit)
        } else {
            accessLog = nil
        }
        self.core = ServerCore(configuration: configuration, router: router, logger: logger, accessLog: accessLog)
    }

    /// Binds, listens and starts accepting. Returns the bound port (useful with `port: 0`).
    @discardableResult
    public func start() throws -> Int {
        signal(SIGPIPE, SIG_IGN)
        accessLog?.start()
        return try core.start()
    }

    /// The port bound by `start()`, or nil before.
    public var port: Int? { core.boundPort.load(ordering: .relaxed).flatMapPositive }

    /// Connections currently open.
    public var openConnections: Int { core.openCount.load(ordering: .relaxed) }

    /// True once `shutdown()` has stopped accepting and told every connection to finish (e.g. for a readiness
    /// probe that should answer 503 while draining).
    public var isShuttingDown: Bool { shuttingDown.load(ordering: .acquiring) }

    /// Graceful shutdown: stop accepting (new connects are refused), close idle connections, let requests in
    /// progress finish with `Connection: close`; after `shutdownGracePeriod`, close whatever is left. Returns once
    /// the access log's buffered lines are written.
    public func shutdown() async {
        let connections = await core.stopAccepting()
        for connection in connections { connection.beginShutdown() }
        shuttingDown.store(true, ordering: .releasing)
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: configuration.shutdownGracePeriod)
        while openConnections > 0 && clock.now < deadline {
            try? await Task.sleep(for: .milliseconds(10))
        }
        if openConnections > 0 {
            logger.warning("shutdown grace period over; closing connections", metadata: ["open": "\(openConnections)"])
            for connection in await core.snapshot() { connection.forceClose() }
            let hardDeadline = clock.now.advanced(by: .seconds(2))
            while openConnections > 0 && clock.now < hardDeadline {
                try? await Task.sleep(for: .milliseconds(10))
            }
        }
        await accessLog?.close()
        logger.info("server stopped")
    }
}

extension Int {
    fileprivate var flatMapPositive: Int? { self > 0 ? self : nil }
}

/// The listening socket and its accept loop.
///
/// Invariant: every stored `var` (the connection table included) is touched only on `acceptQueue`; `start()`
/// uses `acceptQueue.sync`, connections report their end with `acceptQueue.async`, and `shutdown()` reads the
/// table through `stopAccepting()`/`snapshot()`, which hop onto the queue. Only `openCount` is read from
/// anywhere (an `Atomic`).
final class ServerCore: @unchecked Sendable {
    private let configuration: HTTPServerConfiguration
    private let logger: Logger
    private var connections: [Int: Connection] = [:]
    let openCount = Atomic<Int>(0)
    private let acceptQueue = DispatchQueue(label: "http.accept")
    /// The event loops connections are assigned to, round-robin (set by `start`).
    private var eventLoops: [EventLoop] = []
    let boundPort = Atomic<Int>(0)
    private var context: ConnectionContext?
    private var listenFD: Int32 = -1
    private var acceptSource: DispatchSourceRead?
    private var acceptSuspended = false
    private var pausedForCapacity = false
    private var backoffScheduled = false
    private var stopped = false
    private var nextID = 0
    private let router: Router
    private let accessLog: AccessLog?

    init(configuration: HTTPServerConfiguration, router: Router, logger: Logger, accessLog: AccessLog?) {
        self.configuration = configuration
        self.logger = logger
        self.router = router
        self.accessLog = accessLog
    }

    func start() throws -> Int {
        try acceptQueue.sync {
            guard listenFD < 0, !stopped else { return boundPort.load(ordering: .relaxed) }
            eventLoops = try EventLoop.shared.get()
            let (fd, port) = try Socket.listen(
                host: configuration.host, port: configuration.port, backlog: configuration.backlog)
            listenFD = fd
            boundPort.store(port, ordering: .relaxed)
            context = ConnectionContext(
                router: router, configuration: configuration, limits: configuration.connectionLimits, logger: logger,
                accessLog: accessLog, onClose: { @Sendable [weak self] id in self?.connectionClosed(id) })
            let source = DispatchSource.makeReadSource(fileDescriptor: fd, queue: acceptQueue)
            source.setEventHandler { @Sendable [self] in self.acceptAvailable() }
            source.setCancelHandler { @Sendable in Glibc.close(fd) }
            acceptSource = source
            source.resume()
            logger.info("listening", metadata: ["host": "\(configuration.host)", "port": "\(port)"])
            return port
        }
    }

    private func acceptAvailable() {
        dispatchPrecondition(condition: .onQueue(acceptQueue))
        guard !stopped, let context else { return }
        while true {
            if connections.count >= configuration.maxConnections {
                pausedForCapacity = true
                suspendAccept()
                return
            }
            var storage = sockaddr_storage()
            var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let fd = withUnsafeMutablePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { accept(listenFD, $0, &length) }
            }
            if fd < 0 {
                let error = errno
                switch error {
                case EINTR, ECONNABORTED, EPROTO:
                    continue
                case EAGAIN, EWOULDBLOCK:
                    return
                case EMFILE, ENFILE, ENOBUFS, ENOMEM:
                    logger.warning("accept: out of resources, backing off", metadata: ["errno": "\(error)"])
                    backOff()
                    return
                default:
                    logger.error("accept failed", metadata: ["errno": "\(error)"])
                    backOff()
                    return
                }
            }
            guard Socket.configureAccepted(fd) else {
                Glibc.close(fd)
                continue
            }
            let peer = Socket.describe(storage)
            nextID += 1
            let connection = Connection(
                id: nextID, fd: fd, remoteAddress: "\(peer.host):\(peer.port)", context: context,
                loop: eventLoops[nextID % eventLoops.count])
            connections[nextID] = connection
            openCount.add(1, ordering: .relaxed)
            connection.start()
        }
    }

    private func suspendAccept() {
        if !acceptSuspended, let source = acceptSource {
            acceptSuspended = true
            source.suspend()
        }
    }

    private func resumeAccept() {
        if acceptSuspended, let source = acceptSource, !stopped {
            acceptSuspended = false
            source.resume()
        }
    }

    /// Suspends accepting for 100 ms: retrying at once on EMFILE would spin.
    private func backOff() {
        suspendAccept()
        guard !backoffScheduled else { return }
        backoffScheduled = true
        acceptQueue.asyncAfter(deadline: .now() + .milliseconds(100)) { @Sendable [self] in
            self.backoffScheduled = false
            if !self.pausedForCapacity { self.resumeAccept() }
        }
    }

    private func connectionClosed(_ id: Int) {
        acceptQueue.async { @Sendable [self] in
            if self.connections.removeValue(forKey: id) != nil { self.openCount.subtract(1, ordering: .relaxed) }
            if self.pausedForCapacity && self.connections.count < self.configuration.maxConnections {
                self.pausedForCapacity = false
                if !self.backoffScheduled { self.resumeAccept() }
            }
        }
    }

    /// The open connections, read on the accept queue.
    func snapshot() async -> [Connection] {
        await withCheckedContinuation { (continuation: CheckedContinuation<[Connection], Never>) in
            acceptQueue.async { @Sendable [self] in continuation.resume(returning: Array(self.connections.values)) }
        }
    }

    /// Cancels the accept source; returns, once the listening socket is closed, the connections then open.
    func stopAccepting() async -> [Connection] {
        await withCheckedContinuation { (continuation: CheckedContinuation<[Connection], Never>) in
            acceptQueue.async { @Sendable [self] in
                let open = Array(self.connections.values)
                guard !self.stopped, let source = self.acceptSource else {
                    self.stopped = true
                    continuation.resume(returning: open)
                    return
                }
                self.stopped = true
                let fd = self.listenFD
                source.setCancelHandler { @Sendable in
                    Glibc.close(fd)
                    continuation.resume(returning: open)
                }
                if self.acceptSuspended {
                    self.acceptSuspended = false
                    source.resume()
                }
                source.cancel()
                self.acceptSource = nil
            }
        }
    }
}
