import Foundation
import Logging
import Synchronization
import Testing

@testable import HTTPServer

#if canImport(Glibc)
import Glibc
#endif

/// A log handler that keeps nothing but has a real level (the no-op handler always reports `critical`, which
/// would turn the access log off).
struct DiscardingLogHandler: LogHandler {
    var logLevel: Logger.Level
    var metadata: Logger.Metadata = [:]
    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }
    func log(event: LogEvent) {}
}

struct TimedOut: Error {}

/// The first element of `stream`, or `TimedOut` after `limit` (a failure bound only: the wait ends as soon as
/// the element arrives).
func first<T: Sendable>(_ stream: AsyncStream<T>, within limit: Duration = .seconds(10)) async throws -> T {
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask {
            for await value in stream { return value }
            return nil
        }
        group.addTask {
            try await Task.sleep(for: limit)
            throw TimedOut()
        }
        defer { group.cancelAll() }
        guard let value = try await group.next() ?? nil else { throw TimedOut() }
        return value
    }
}

/// A temporary file for the access log; `contents()` reads it back.
final class LogFile: Sendable {
    let path: String
    let fd: Int32

    init() throws {
        path = NSTemporaryDirectory() + "access-\(UUID().uuidString).log"
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw ClientError(description: "open \(path)") }
    }

    deinit {
        close(fd)
        unlink(path)
    }

    func lines() throws -> [String] {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        return text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    }
}

/// An access log line with its two variable fields (`ts`, `duration_ms`) checked for shape and replaced by
/// `TS` and `D`, so the rest can be compared exactly.
func normalized(_ line: String) -> String {
    var fields = line.split(separator: " ", omittingEmptySubsequences: false).map(String.init)
    for i in fields.indices {
        if fields[i].hasPrefix("ts="),
            fields[i].wholeMatch(of: /ts=\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z/) != nil
        {
            fields[i] = "ts=TS"
        }
        if fields[i].hasPrefix("duration_ms="), fields[i].wholeMatch(of: /duration_ms=\d+\.\d{3}/) != nil {
            fields[i] = "duration_ms=D"
        }
    }
    return fields.joined(separator: " ")
}

@Suite("Per-request records, the access log, cancellation")
struct RequestLifecycleTests {
    /// Issue 11: three pipelined requests were logged as one lost request and two `route=- status=0` lines.
    @Test func pipelinedRequestsEachGetTheirOwnRecordAndLogLine() async throws {
        let file = try LogFile()
        let hooked = Mutex<[RequestLog]>([])
        var configuration = HTTPServerConfiguration(host: "127.0.0.1", port: 0)
        configuration.accessLog = .fileDescriptor(file.fd)
        configuration.accessLogFlushInterval = .seconds(3600)  // only shutdown writes: this tests the final flush
        configuration.onRequestCompleted = { entry in hooked.withLock { $0.append(entry) } }
        let logger = Logger(label: "test") { _ in DiscardingLogHandler(logLevel: .info) }
        let server = HTTPServer(configuration: configuration, router: testRouter(), logger: logger)
        let port = try server.start()
        let peer: String
        do {
            peer = try await offPool {
                let c = try TestClient(port: port)
                try c.send(
                    get("/n/7", extra: "X-Request-Id: pipe-1\r\n") + get("/hello", extra: "X-Request-Id: pipe-2\r\n")
                        + get("/missing", extra: "X-Request-Id: pipe-3\r\n"))
                let responses = try (0..<3).map { _ in try c.readResponse() }
                #expect(responses.map(\.status) == [200, 200, 404])
                #expect(responses.map { $0.header("x-request-id") } == ["pipe-1", "pipe-2", "pipe-3"])
                return c.localAddress()
            }
        } catch {
            await server.shutdown()
            throw error
        }
        // Each record is handed to the hook before its response is queued: all three are in by now.
        let entries = hooked.withLock { $0 }
        #expect(entries.map(\.requestID) == ["pipe-1", "pipe-2", "pipe-3"])
        #expect(entries.map(\.route) == ["/n/{n}", "/hello", nil])
        #expect(entries.map(\.status) == [200, 200, 404])
        #expect(entries.map(\.path) == ["/n/7", "/hello", "/missing"])
        #expect(entries.map(\.method) == [.GET, .GET, .GET])
        #expect(entries.map(\.bytesSent) == [1, 12, entries[2].bytesSent])
        #expect(entries[2].bytesSent > 0)

        #expect(try file.lines() == [""])  // nothing before shutdown with an hour's flush interval
        await server.shutdown()
        let lines = try file.lines()
        #expect(lines.count == 4)
        #expect(lines.last == "")
        #expect(
            lines.dropLast().map(normalized) == [
                "ts=TS level=info msg=request method=GET path=/n/7 route=/n/{n} status=200 duration_ms=D bytes_out=1 bytes_in=0 request_id=pipe-1 peer=\(peer)",
                "ts=TS level=info msg=request method=GET path=/hello route=/hello status=200 duration_ms=D bytes_out=12 bytes_in=0 request_id=pipe-2 peer=\(peer)",
                "ts=TS level=info msg=request method=GET path=/missing status=404 duration_ms=D bytes_out=\(entries[2].bytesSent) bytes_in=0 request_id=pipe-3 peer=\(peer)",
            ])
    }

    @Test func accessLogIsWrittenPeriodicallyWhileServing() async throws {
        let file = try LogFile()
        var configuration = HTTPServerConfiguration(host: "127.0.0.1", port: 0)
        configuration.accessLog = .fileDescriptor(file.fd)
        configuration.accessLogFlushInterval = .milliseconds(20)
        let logger = Logger(label: "test") { _ in DiscardingLogHandler(logLevel: .info) }
        let server = HTTPServer(configuration: configuration, router: testRouter(), logger: logger)
        let port = try server.start()
        var lines: [String] = []
        do {
            try await offPool {
                let c = try TestClient(port: port)
                try c.send(Array("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nX-Request-Id: tick\r\n\r\nhello".utf8))
                #expect(try c.readResponse().text == "hello")
            }
            // The writer thread's next round writes it, while the server runs; poll the file (the failure bound
            // is 10 s).
            let clock = ContinuousClock()
            let deadline = clock.now.advanced(by: .seconds(10))
            lines = try file.lines()
            while lines.count < 2 && clock.now < deadline {
                try await Task.sleep(for: .milliseconds(5))
                lines = try file.lines()
            }
        } catch {
            await server.shutdown()
            throw error
        }
        await server.shutdown()
        #expect(lines.count == 2)
        let line = lines.first.map(normalized) ?? ""
        #expect(line.hasPrefix("ts=TS level=info msg=request method=POST path=/echo route=/echo status=200 duration_ms=D bytes_out=5 bytes_in=5 request_id=tick peer=127.0.0.1:"))
    }

    @Test func accessLogOffAboveInfo() async throws {
        let file = try LogFile()
        var configuration = HTTPServerConfiguration(host: "127.0.0.1", port: 0)
        configuration.accessLog = .fileDescriptor(file.fd)
        let logger = Logger(label: "test") { _ in DiscardingLogHandler(logLevel: .notice) }
        let server = HTTPServer(configuration: configuration, router: testRouter(), logger: logger)
        let port = try server.start()
        try await offPool {
            let c = try TestClient(port: port)
            try c.send(get("/hello"))
            #expect(try c.readResponse().status == 200)
        }
        await server.shutdown()
        #expect(try file.lines() == [""])
    }

    @Test func logfmtQuotingAndEscapes() {
        var formatter = AccessLog.Formatter()
        var out: [UInt8] = []
        let log = RequestLog(
            method: nil, path: "/a b\"c\\d\u{1}=", route: nil, status: 400, duration: .microseconds(1_234_567),
            bytesSent: 0, bytesReceived: 0, requestID: "", remoteAddress: "[::1]:80")
        // 2026-12-05T15:12:40.123Z
        formatter.line(.init(log: log, time: timespec(tv_sec: 1_796_483_560, tv_nsec: 123_456_789)), into: &out)
        #expect(
            String(decoding: out, as: UTF8.self)
                == "ts=2026-12-05T15:12:40.123Z level=info msg=request path=\"/a b\\\"c\\\\d\\u0001=\" status=400 duration_ms=1234.567 bytes_out=0 bytes_in=0 request_id=\"\" peer=[::1]:80\n"
        )
    }

    /// A server whose `/poll` handler signals `started`, then sleeps for an hour unless cancelled (signalling
    /// `cancelled`); every completed request is reported on `completed`.
    private struct LongPoll {
        let started: AsyncStream<Void>
        let cancelled: AsyncStream<Void>
        let completed: AsyncStream<RequestLog>
        let router = testRouter()
        let configure: (inout HTTPServerConfiguration) -> Void

        init() {
            let (started, startedSignal) = AsyncStream<Void>.makeStream()
            let (cancelled, cancelledSignal) = AsyncStream<Void>.makeStream()
            let (completed, completedSignal) = AsyncStream<RequestLog>.makeStream()
            (self.started, self.cancelled, self.completed) = (started, cancelled, completed)
            configure = { c in c.onRequestCompleted = { entry in completedSignal.yield(entry) } }
            router.get("/poll") { _, _ in
                try await withTaskCancellationHandler {
                    startedSignal.yield()
                    try await Task.sleep(for: .seconds(3600))
                    return .text("too late")
                } onCancel: {
                    cancelledSignal.yield()
                }
            }
        }

        /// Connects and sends `GET /poll` with `X-Request-Id: requestID`; returns once the handler runs.
        func connect(port: Int, requestID: String) async throws -> TestClient {
            let client = try await offPool { () -> TestClient in
                let c = try TestClient(port: port)
                try c.send(get("/poll", extra: "X-Request-Id: \(requestID)\r\n"))
                return c
            }
            try await first(started)
            return client
        }
    }

    /// Issue 11: a client that drops a long poll must stop its handler at once.
    @Test func clientCloseCancelsALongPollHandler() async throws {
        let poll = LongPoll()
        try await withServer(configure: poll.configure, router: poll.router) { _, port in
            let client = try await poll.connect(port: port, requestID: "dropped")
            client.closeNow()
            try await first(poll.cancelled)
            let entry = try await first(poll.completed)
            #expect(entry.requestID == "dropped")
            #expect(entry.route == "/poll")
            #expect(entry.status == 499)
        }
    }

    /// A peer that resets while its connection is not being read (pipelined input past the buffer bound) is
    /// still noticed: the hang-up reaches the state machine, which cancels the handler. (With reading suspended,
    /// only `EPOLLHUP`/`EPOLLERR` report it; Dispatch's suspended read source reported nothing until the handler
    /// returned.)
    @Test func resetWhileReadingIsSuspendedCancelsTheHandler() async throws {
        let poll = LongPoll()
        try await withServer(configure: poll.configure, router: poll.router) { server, port in
            let client = try await poll.connect(port: port, requestID: "reset")
            // 160 KiB of pipelined requests: past the 64 KiB bound, so the server stops reading.
            let pipelined = String(repeating: get("/healthz"), count: 160 * 1024 / get("/healthz").utf8.count)
            try await offPool { try client.send(pipelined) }
            client.resetNow()
            try await first(poll.cancelled)
            let entry = try await first(poll.completed)
            #expect(entry.requestID == "reset")
            #expect(entry.status == 499)
            // Closed on the server's side too, not only cancelled.
            let clock = ContinuousClock()
            let deadline = clock.now.advanced(by: .seconds(10))
            while server.openConnections > 0 && clock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
            #expect(server.openConnections == 0)
        }
    }

    /// A handler's task prefers its connection's event loop: a handler that does not suspend runs on the loop's
    /// thread (no hand-off to another thread and back), and one that suspends on another thread comes back to it.
    /// A `.heavy` route's handler runs off the loops.
    @Test func handlersRunOnTheirConnectionsEventLoop() async throws {
        let router = testRouter()
        router.get("/where") { _, _ in
            let loops = try EventLoop.shared.get()
            let before = loops.contains { $0.inEventLoop }
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                DispatchQueue(label: "elsewhere").async { continuation.resume() }
            }
            let after = loops.contains { $0.inEventLoop }
            return .text("before=\(before) after=\(after)")
        }
        router.group("/g").get("/heavy", work: .heavy) { _, _ in
            .text("on a loop: \(try EventLoop.shared.get().contains { $0.inEventLoop })")
        }
        try await withServer(router: router) { _, port in
            let (light, heavy) = try await offPool { () -> (String, String) in
                let c = try TestClient(port: port)
                try c.send(get("/where"))
                let light = try c.readResponse().text
                try c.send(get("/g/heavy"))
                return (light, try c.readResponse().text)
            }
            #expect(light == "before=true after=true")
            // A route registered as heavy runs on the cooperative pool instead.
            #expect(heavy == "on a loop: false")
        }
    }

    @Test func clientCloseCancelsAnEventStream() async throws {
        let (cancelled, cancelledSignal) = AsyncStream<Void>.makeStream()
        let router = testRouter()
        router.get("/forever") { _, _ in
            .eventStream { writer in
                try await withTaskCancellationHandler {
                    try await writer.write(ServerSentEvent(id: "1", data: "first").bytes)
                    try await Task.sleep(for: .seconds(3600))
                } onCancel: {
                    cancelledSignal.yield()
                }
            }
        }
        try await withServer(router: router) { _, port in
            let client = try await offPool { () -> TestClient in
                let c = try TestClient(port: port)
                try c.send(get("/forever"))
                _ = try c.readResponse(head: true)
                #expect(try c.readChunk()?.contains("data: first") == true)
                return c
            }
            client.closeNow()
            try await first(cancelled)
        }
    }

    /// A client that only half-closes after its request still gets the answer of a handler that does not
    /// stop on cancellation.
    @Test func halfClosedClientStillGetsItsResponse() async throws {
        try await withServer { _, port in
            try await offPool {
                let c = try TestClient(port: port)
                try c.send(get("/hello", extra: "X-Request-Id: half\r\n"))
                shutdown(c.fd, Int32(SHUT_WR))
                let r = try c.readResponse()
                #expect(r.status == 200)
                #expect(r.text == "hello half")
            }
        }
    }
}
