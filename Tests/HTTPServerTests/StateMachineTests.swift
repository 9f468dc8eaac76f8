import Testing

@testable import HTTPServer

typealias Action = ConnectionStateMachine.Action

let second: UInt64 = 1_000_000_000

func writes(_ actions: [Action]) -> String {
    actions.compactMap { if case .write(let b) = $0 { String(decoding: b, as: UTF8.self) } else { nil } }.joined()
}

func writtenCount(_ actions: [Action]) -> Int {
    actions.reduce(0) { if case .write(let b) = $1 { $0 + b.count } else { $0 } }
}

func dispatched(_ actions: [Action]) -> [RequestHead] {
    actions.compactMap { if case .dispatch(let h, _) = $0 { h } else { nil } }
}

func errors(_ actions: [Action]) -> [ServerError] {
    actions.compactMap { if case .respondWithError(let e) = $0 { e } else { nil } }
}

func deadline(_ actions: [Action]) -> UInt64?? {
    for case .setDeadline(let d) in actions.reversed() { return .some(d) }
    return nil
}

func closeMode(_ actions: [Action]) -> ConnectionStateMachine.CloseMode? {
    for case .close(let m) in actions { return m }
    return nil
}

/// Drives a state machine like a connection whose socket accepts everything at once.
struct Harness {
    var machine: ConnectionStateMachine
    var now: UInt64 = 0
    var log: [Action] = []

    init(limits: ConnectionLimits = .init()) {
        machine = ConnectionStateMachine(limits: limits, now: 0)
        log = machine.start()
    }

    /// Applies actions, acknowledging every write immediately (a fast reader).
    @discardableResult
    mutating func settle(_ actions: [Action]) -> [Action] {
        var all = actions
        let n = writtenCount(actions)
        if n > 0 { all += settle(machine.didWrite(n, now: now)) }
        log += actions
        return all
    }

    @discardableResult
    mutating func receive(_ s: String) -> [Action] { settle(machine.received(Array(s.utf8), now: now)) }

    @discardableResult
    mutating func respond(_ status: HTTPStatus = .ok, body: String = "ok", headers: HTTPHeaders = [:]) -> [Action] {
        settle(machine.respond(status: status, headers: headers, bytes: Array(body.utf8), now: now))
    }
}

@Suite("Connection state machine")
struct StateMachineTests {
    let get = "GET / HTTP/1.1\r\nHost: h\r\n\r\n"

    @Test func keepAliveServesSequentialRequests() {
        var h = Harness()
        let a = h.receive(get)
        #expect(dispatched(a).count == 1)
        let r = h.respond()
        #expect(writes(r).hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(!writes(r).contains("Connection: close"))
        #expect(closeMode(r) == nil)
        #expect(dispatched(h.receive(get)).count == 1)
        #expect(h.machine.requestCount == 2)
    }

    @Test func pipelinedRequestsAreDispatchedOneAtATime() {
        var h = Harness()
        let a = h.receive(get + "GET /2 HTTP/1.1\r\nHost: h\r\n\r\n" + "GET /3 HTTP/1.1\r\nHost: h\r\n\r\n")
        #expect(dispatched(a).map(\.target) == ["/"])
        let b = h.respond(body: "1")
        #expect(dispatched(b).map(\.target) == ["/2"])
        let c = h.respond(body: "2")
        #expect(dispatched(c).map(\.target) == ["/3"])
        let d = h.respond(body: "3")
        #expect(dispatched(d).isEmpty)
    }

    @Test func readingStopsWhenPipelinedInputPilesUp() {
        var h = Harness()
        let a = h.receive(get)
        #expect(dispatched(a).count == 1)
        #expect(!a.contains(.suspendReading))  // small pipelined input is only buffered
        let flood = String(repeating: get, count: 64 * 1024 / get.utf8.count + 1)
        let b = h.receive(flood)
        #expect(b.contains(.suspendReading))
        #expect(dispatched(b).isEmpty)
        let r = h.respond()
        #expect(r.contains(.resumeReading))
        #expect(dispatched(r).count == 1)
    }

    @Test func nextRequestWaitsUntilOutputDrained() {
        var h = Harness()
        _ = h.receive(get + get)
        // The socket takes nothing yet: the second request must wait.
        let r = h.machine.respond(status: .ok, headers: [:], bytes: Array("x".utf8), now: 0)
        #expect(dispatched(r).isEmpty)
        let n = writtenCount(r)
        #expect(dispatched(h.machine.didWrite(n - 1, now: 1)).isEmpty)
        #expect(dispatched(h.machine.didWrite(1, now: 2)).count == 1)
    }

    @Test func headerDeadlineIsNotExtendedByTrickledBytes() {
        var h = Harness(limits: .init(headerTimeout: 10 * second))
        #expect(h.machine.start().isEmpty)  // already armed
        #expect(deadline(h.log) == .some(10 * second))
        for (i, byte) in "GET / HTTP/1.1\r\nHo".enumerated() {
            h.now = UInt64(i) * second / 4
            let a = h.receive(String(byte))
            if let d = deadline(a) { #expect(d == 10 * second) }
        }
        h.now = 10 * second - 1
        #expect(errors(h.settle(h.machine.deadlineFired(now: h.now))).isEmpty)
        h.now = 10 * second
        let fired = h.settle(h.machine.deadlineFired(now: h.now))
        #expect(errors(fired) == [.requestTimeout])
        let r = h.respond(.requestTimeout, body: "{}")
        #expect(writes(r).hasPrefix("HTTP/1.1 408 Request Timeout\r\n"))
        #expect(writes(r).contains("Connection: close\r\n"))
        #expect(closeMode(r) == .graceful)
    }

    @Test func silentConnectionIsClosedWithoutResponse() {
        var h = Harness(limits: .init(headerTimeout: 5 * second))
        let a = h.settle(h.machine.deadlineFired(now: 5 * second))
        #expect(errors(a).isEmpty)
        #expect(closeMode(a) == .graceful)
    }

    @Test func idleKeepAliveTimeoutStartsAfterResponse() {
        var h = Harness(limits: .init(headerTimeout: 10 * second, idleTimeout: 30 * second))
        h.now = 2 * second
        h.receive(get)
        h.now = 3 * second
        let r = h.respond()
        #expect(deadline(r) == .some(33 * second))
        // First byte of the next request: the header clock starts (and does not move again).
        h.now = 20 * second
        #expect(deadline(h.receive("GE")) == .some(30 * second))
        h.now = 25 * second
        #expect(deadline(h.receive("T / HTTP/1.1\r\n")) == nil)
        h.now = 30 * second
        #expect(errors(h.settle(h.machine.deadlineFired(now: h.now))) == [.requestTimeout])
    }

    @Test func idleTimeoutClosesQuietly() {
        var h = Harness(limits: .init(idleTimeout: 30 * second))
        h.receive(get)
        h.respond()
        let a = h.settle(h.machine.deadlineFired(now: 30 * second))
        #expect(writes(a).isEmpty)
        #expect(closeMode(a) == .graceful)
    }

    @Test func bodyDeadline() {
        var h = Harness(limits: .init(bodyTimeout: 5 * second))
        h.now = 1 * second
        let a = h.receive("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\nabc")
        #expect(deadline(a) == .some(6 * second))
        #expect(errors(h.settle(h.machine.deadlineFired(now: 6 * second))) == [.requestTimeout])
    }

    @Test func requestCapClosesAfterTheLastResponse() {
        var h = Harness(limits: .init(maxRequestsPerConnection: 2))
        h.receive(get)
        #expect(!writes(h.respond()).contains("Connection: close"))
        h.receive(get)
        let last = h.respond()
        #expect(writes(last).contains("Connection: close\r\n"))
        #expect(closeMode(last) == .graceful)
    }

    @Test func clientConnectionCloseIsHonoured() {
        var h = Harness()
        h.receive("GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
        let r = h.respond()
        #expect(writes(r).contains("Connection: close\r\n"))
        #expect(closeMode(r) == .graceful)
    }

    @Test func http10KeepAliveIsAnnounced() {
        var h = Harness()
        h.receive("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        let r = h.respond()
        #expect(writes(r).contains("Connection: keep-alive\r\n"))
        #expect(closeMode(r) == nil)
    }

    @Test func headResponseAnnouncesLengthWithoutBody() {
        var h = Harness()
        h.receive("HEAD / HTTP/1.1\r\nHost: h\r\n\r\n")
        let out = writes(h.respond(body: "hello"))
        #expect(out.contains("Content-Length: 5\r\n"))
        #expect(out.hasSuffix("\r\n\r\n"))
    }

    @Test func noContentHasNoLength() {
        var h = Harness()
        h.receive(get)
        let out = writes(h.respond(.noContent, body: ""))
        #expect(!out.contains("Content-Length"))
        h.receive(get)
        #expect(!writes(h.respond(.notModified, body: "ignored")).contains("ignored"))
    }

    @Test func handlerFramingHeadersAreReplaced() {
        var h = Harness()
        h.receive(get)
        let out = writes(
            h.respond(body: "abc", headers: ["Content-Length": "99", "Transfer-Encoding": "chunked", "X-Ok": "1", "X-Bad": "a\r\nInjected: yes"]))
        #expect(out.contains("Content-Length: 3\r\n"))
        #expect(!out.contains("99"))
        #expect(!out.contains("Transfer-Encoding"))
        #expect(out.contains("X-Ok: 1\r\n"))
        #expect(!out.contains("Injected"))
    }

    @Test func expectContinueGetsInterimResponse() {
        var h = Harness()
        let a = h.receive("PUT / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n")
        #expect(writes(a) == "HTTP/1.1 100 Continue\r\n\r\n")
        #expect(dispatched(h.receive("ok")).count == 1)
    }

    @Test func oversizedBodyWithExpectContinueIsRefusedUnread() {
        var h = Harness(limits: .init(parser: .init(maxBodyBytes: 10)))
        let a = h.receive("PUT / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 11\r\n\r\n")
        #expect(writes(a).isEmpty)
        #expect(errors(a) == [.parser(.bodyTooLarge)])
        #expect(a.contains(.suspendReading))
        let r = h.respond(.contentTooLarge, body: "{}")
        #expect(writes(r).hasPrefix("HTTP/1.1 413 "))
        #expect(closeMode(r) == .graceful)
    }

    @Test func streamingBackpressure() {
        var h = Harness(limits: .init(outputHighWaterMark: 100))
        h.receive(get)
        let r = h.machine.respond(status: .ok, headers: [:], body: .stream, now: 0)
        #expect(r.contains(.startStream))
        #expect(writes(r).contains("Transfer-Encoding: chunked\r\n"))
        var pending = writtenCount(r)
        let w1 = h.machine.streamWrite(Array(repeating: 0x61, count: 150), now: 0)
        pending += writtenCount(w1)
        #expect(h.machine.shouldPauseStream)
        // The peer reads a little: still above half the mark, writer keeps waiting.
        #expect(!h.machine.didWrite(10, now: 1).contains(.resumeStream))
        let drained = h.machine.didWrite(pending - 10, now: 2)
        #expect(drained.contains(.resumeStream))
        let end = h.machine.streamEnded(now: 3)
        #expect(writes(end) == "0\r\n\r\n")
        h.machine.didWrite(5, now: 4).forEach { #expect($0 != .close(.graceful)) }
        #expect(dispatched(h.receive(get)).count == 1)
    }

    @Test func headDoesNotRunStream() {
        var h = Harness()
        h.receive("HEAD / HTTP/1.1\r\nHost: h\r\n\r\n")
        let r = h.settle(h.machine.respond(status: .ok, headers: [:], body: .stream, now: 0))
        #expect(!r.contains(.startStream))
        #expect(closeMode(r) == nil)
        #expect(dispatched(h.receive(get)).count == 1)
    }

    @Test func streamToHTTP10IsDelimitedByClose() {
        var h = Harness()
        h.receive("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        let r = h.settle(h.machine.respond(status: .ok, headers: [:], body: .stream, now: 0))
        #expect(!writes(r).contains("chunked"))
        #expect(writes(r).contains("Connection: close"))
        #expect(writes(h.settle(h.machine.streamWrite(Array("data".utf8), now: 0))) == "data")
        #expect(closeMode(h.settle(h.machine.streamEnded(now: 0))) == .graceful)
    }

    @Test func writeTimeoutAbortsAPeerThatNeverReads() {
        var h = Harness(limits: .init(writeTimeout: 3 * second))
        h.receive(get)
        let r = h.machine.respond(status: .ok, headers: [:], bytes: Array(repeating: 0, count: 1000), now: 1 * second)
        #expect(deadline(r) == .some(4 * second))
        // Partial progress moves the write deadline.
        #expect(deadline(h.machine.didWrite(100, now: 2 * second)) == .some(5 * second))
        #expect(closeMode(h.machine.deadlineFired(now: 5 * second)) == .abort)
    }

    @Test func shutdownClosesIdleAndMarksInFlight() {
        var idle = Harness()
        #expect(closeMode(idle.machine.beginShutdown(now: 0)) == .graceful)

        var busy = Harness()
        busy.receive(get)
        #expect(closeMode(busy.machine.beginShutdown(now: 0)) == nil)
        let r = busy.respond()
        #expect(writes(r).contains("Connection: close\r\n"))
        #expect(closeMode(r) == .graceful)
    }

    @Test func peerHalfCloseStillGetsItsResponse() {
        var h = Harness()
        h.receive(get)
        #expect(closeMode(h.machine.peerClosed(now: 0)) == nil)
        let r = h.respond()
        #expect(writes(r).contains("Connection: close"))
        #expect(closeMode(r) == .graceful)
    }

    @Test func peerCloseCancelsTheRunningHandler() {
        var h = Harness()
        h.receive(get)
        #expect(h.machine.peerClosed(now: 0).contains(.cancelHandler))

        var idle = Harness()
        #expect(!idle.machine.peerClosed(now: 0).contains(.cancelHandler))
    }

    @Test func peerCloseWhileIdleCloses() {
        var h = Harness()
        #expect(closeMode(h.machine.peerClosed(now: 0)) == .abort)
    }
}
