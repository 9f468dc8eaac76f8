import Dispatch
import Foundation
import Logging
import Synchronization
import Testing

@testable import HTTPServer

#if canImport(Glibc)
import Glibc
#endif

/// Starts a server on 127.0.0.1 (or `host`) with an ephemeral port, runs `body`, and always shuts it down.
func withServer(
    host: String = "127.0.0.1",
    configure: (inout HTTPServerConfiguration) -> Void = { _ in },
    router: Router = testRouter(),
    _ body: (HTTPServer, Int) async throws -> Void
) async throws {
    var configuration = HTTPServerConfiguration(host: host, port: 0)
    configuration.shutdownGracePeriod = .seconds(2)
    configure(&configuration)
    var logger = Logger(label: "test")
    logger.logLevel = .critical
    let server = HTTPServer(configuration: configuration, router: router, logger: logger)
    let port = try server.start()
    do {
        try await body(server, port)
    } catch {
        await server.shutdown()
        throw error
    }
    await server.shutdown()
}

func testRouter() -> Router {
    let router = Router()
    router.get("/hello") { req, _ in .text("hello \(req.requestID)") }
    router.get("/n/{n}") { _, ctx in .text(ctx.parameters["n"] ?? "") }
    router.post("/echo") { req, _ in HTTPResponse(status: .ok, body: .bytes(req.body)) }
    router.get("/big") { _, _ in HTTPResponse(body: .bytes([UInt8](repeating: 0x61, count: 16 << 20))) }
    router.get("/slow") { _, _ in
        try await Task.sleep(for: .milliseconds(400))
        return .text("slow done")
    }
    router.get("/events") { _, _ in
        .eventStream { writer in
            for i in 1...3 {
                try await writer.write(ServerSentEvent(id: "\(i)", data: "tick \(i)").bytes)
                try await Task.sleep(for: .milliseconds(20))
            }
        }
    }
    return router
}

func get(_ path: String, extra: String = "") -> String {
    "GET \(path) HTTP/1.1\r\nHost: t\r\n\(extra)\r\n"
}

final class Gate: Sendable {
    let started = Atomic<Bool>(false)
    let open = Atomic<Bool>(false)
}

@Suite("Server over real sockets")
struct ServerTests {
    @Test func keepAliveAndRequestIDs() async throws {
        try await withServer { _, port in
            try await offPool {
                let c = try TestClient(port: port)
                for i in 0..<3 {
                    try c.send(get("/n/\(i)"))
                    let r = try c.readResponse()
                    #expect(r.status == 200)
                    #expect(r.text == "\(i)")
                    #expect(r.header("connection") == nil)
                    #expect(r.header("x-request-id")?.isEmpty == false)
                }
                try c.send(get("/hello", extra: "X-Request-Id: my-id-1\r\n"))
                let r = try c.readResponse()
                #expect(r.header("x-request-id") == "my-id-1")
                #expect(r.text == "hello my-id-1")
                try c.send(get("/hello", extra: "X-Request-Id: bad id\r\n"))
                #expect(try c.readResponse().header("x-request-id") != "bad id")
            }
        }
    }

    @Test func pipelinedRequestsAnsweredInOrder() async throws {
        try await withServer { _, port in
            try await offPool {
                let c = try TestClient(port: port)
                try c.send(get("/slow") + get("/n/2") + "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nthree")
                #expect(try c.readResponse().text == "slow done")
                #expect(try c.readResponse().text == "2")
                #expect(try c.readResponse().text == "three")
            }
        }
    }

    @Test func headHasLengthButNoBody() async throws {
        try await withServer { _, port in
            try await offPool {
                let c = try TestClient(port: port)
                try c.send("HEAD /n/12345 HTTP/1.1\r\nHost: t\r\n\r\n")
                let r = try c.readResponse(head: true)
                #expect(r.status == 200)
                #expect(r.header("content-length") == "5")
                try c.send(get("/n/7"))
                #expect(try c.readResponse().text == "7")  // no stray body bytes in between
            }
        }
    }

    @Test func malformedRequestGetsProblemAndClose() async throws {
        try await withServer { _, port in
            try await offPool {
                let c = try TestClient(port: port)
                try c.send("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n")
                let r = try c.readResponse()
                #expect(r.status == 400)
                #expect(r.header("connection") == "close")
                #expect(r.header("content-type") == "application/problem+json")
                #expect(r.text.contains("\"code\":\"invalid_host\""))
                _ = try c.readUntilClosed()
            }
        }
    }

    @Test func expectContinue() async throws {
        try await withServer(configure: { $0.maxBodyBytes = 1000 }) { _, port in
            try await offPool {
                let c = try TestClient(port: port)
                try c.send("POST /echo HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n")
                #expect(try c.readResponse(interim: true).status == 100)
                try c.send("body")
                #expect(try c.readResponse().text == "body")

                // Too large: 413 at once, without reading (or asking for) the body; then closed.
                let d = try TestClient(port: port)
                try d.send("POST /echo HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 5000\r\n\r\n")
                let r = try d.readResponse()
                #expect(r.status == 413)
                #expect(r.header("connection") == "close")
                _ = try d.readUntilClosed()
            }
        }
    }

    @Test func slowHeaderClientIsCutAtDeadlineWhileOthersAreServed() async throws {
        try await withServer(configure: { $0.headerTimeout = .milliseconds(500) }) { server, port in
            let slow = try TestClient(port: port)
            // The first bytes go out at once: a connection that has sent nothing when its deadline fires is a
            // silent one, closed without an answer, and on a loaded machine the trickle's task may start late.
            try slow.send("GET /hello HTTP/1.1\r\n")
            let trickle = Task.detached {
                try await offPool {
                    for byte in Array("Host: t\r\nX-Slow: " + String(repeating: "z", count: 40)) {
                        guard (try? slow.send([UInt8](String(byte).utf8))) != nil else { return }
                        usleep(50_000)
                    }
                }
            }
            // Meanwhile, other clients are served.
            try await offPool {
                for i in 0..<5 {
                    let c = try TestClient(port: port)
                    try c.send(get("/n/\(i)"))
                    #expect(try c.readResponse().text == "\(i)")
                }
            }
            try await offPool {
                let r = try slow.readResponse()
                #expect(r.status == 408)
                #expect(r.header("connection") == "close")
                _ = try slow.readUntilClosed()
            }
            try await trickle.value
            _ = server
        }
    }

    @Test func clientThatNeverReadsIsDroppedAfterWriteTimeout() async throws {
        try await withServer(configure: { $0.writeTimeout = .milliseconds(500) }) { server, port in
            let lazy = try TestClient(port: port)
            lazy.setReceiveBuffer(4096)
            try lazy.send(get("/big"))
            // Others are fine while the 16 MiB response is stuck.
            try await offPool {
                for i in 0..<5 {
                    let c = try TestClient(port: port)
                    try c.send(get("/n/\(i)"))
                    #expect(try c.readResponse().text == "\(i)")
                }
            }
            // Wait (bounded) for the server to give up on the lazy client.
            var waited = 0
            while server.openConnections > 0 && waited < 500 {
                try await Task.sleep(for: .milliseconds(10))
                waited += 1
            }
            #expect(server.openConnections == 0)
            // Whatever was buffered can be read, but not the whole body: the connection was cut.
            let received = try await offPool { try lazy.readUntilClosed() }
            #expect(received.count < 16 << 20)
        }
    }

    @Test func threeHundredConcurrentConnections() async throws {
        try await withServer { server, port in
            let clients = try await offPool { try (0..<300).map { _ in try TestClient(port: port) } }
            var waited = 0
            while server.openConnections < 300 && waited < 500 {
                try await Task.sleep(for: .milliseconds(10))
                waited += 1
            }
            #expect(server.openConnections == 300)
            try await offPool {
                for (i, c) in clients.enumerated() { try c.send(get("/n/\(i)")) }
                for (i, c) in clients.enumerated() { #expect(try c.readResponse().text == "\(i)") }
            }
        }
    }

    @Test func connectionCapPausesAccepting() async throws {
        try await withServer(configure: { $0.maxConnections = 2 }) { server, port in
            let a = try TestClient(port: port)
            let b = try TestClient(port: port)
            try await offPool {
                try a.send(get("/n/1"))
                _ = try a.readResponse()
                try b.send(get("/n/2"))
                _ = try b.readResponse()
            }
            #expect(server.openConnections == 2)
            // A third connect completes in the kernel backlog, but is not accepted while two are open.
            let c = try TestClient(port: port, timeout: 0.3)
            try c.send(get("/n/3"))
            let early = try? await offPool { try c.readResponse() }
            #expect(early == nil)
            #expect(server.openConnections == 2)
            try a.send("GET /n/1 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
            _ = try await offPool { try a.readResponse() }
            let late = try await offPool { () -> ClientResponse? in
                for _ in 0..<20 { if let r = try? c.readResponse() { return r } }
                return nil
            }
            #expect(late?.text == "3")
        }
    }

    @Test func gracefulShutdownFinishesInFlightRequest() async throws {
        // The handler holds its response until shutdown has told every connection to finish, so the test does
        // not depend on timing: the response must then carry Connection: close.
        let gate = Gate()
        let router = testRouter()
        router.get("/gate") { _, _ in
            gate.started.store(true, ordering: .releasing)
            for _ in 0..<2000 where !gate.open.load(ordering: .acquiring) {
                try await Task.sleep(for: .milliseconds(5))
            }
            return .text("released")
        }
        var configuration = HTTPServerConfiguration(host: "127.0.0.1", port: 0)
        configuration.shutdownGracePeriod = .seconds(10)
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let server = HTTPServer(configuration: configuration, router: router, logger: logger)
        let port = try server.start()
        let idle = try TestClient(port: port)
        let busy = try TestClient(port: port)
        try await offPool {
            try idle.send(get("/n/0"))
            _ = try idle.readResponse()
            try busy.send(get("/gate"))
        }
        for _ in 0..<2000 where !gate.started.load(ordering: .acquiring) { try await Task.sleep(for: .milliseconds(5)) }
        async let stopped: Void = server.shutdown()
        for _ in 0..<2000 where !server.isShuttingDown { try await Task.sleep(for: .milliseconds(5)) }
        // Idle connections are closed at once; new connects are refused.
        _ = try await offPool { try idle.readUntilClosed() }
        #expect(throws: ClientError.self) { try TestClient(port: port) }
        gate.open.store(true, ordering: .releasing)
        let response = try await offPool { try busy.readResponse() }
        #expect(response.text == "released")
        #expect(response.header("connection") == "close")
        _ = try await offPool { try busy.readUntilClosed() }
        await stopped
        #expect(server.openConnections == 0)
    }

    @Test func serverSentEventsStream() async throws {
        try await withServer { _, port in
            try await offPool {
                let c = try TestClient(port: port)
                try c.send(get("/events"))
                let r = try c.readResponse()
                #expect(r.status == 200)
                #expect(r.header("content-type") == "text/event-stream")
                #expect(r.header("transfer-encoding") == "chunked")
                #expect(r.text == "id: 1\ndata: tick 1\n\nid: 2\ndata: tick 2\n\nid: 3\ndata: tick 3\n\n")
                try c.send(get("/n/9"))
                #expect(try c.readResponse().text == "9")
            }
        }
    }

    @Test func ipv6Loopback() async throws {
        guard (try? Socket.listen(host: "::1", port: 0, backlog: 1)).map({ close($0.fd) }) != nil else {
            return  // no IPv6 on this machine: nothing to test
        }
        try await withServer(host: "::1") { _, port in
            try await offPool {
                let c = try TestClient(port: port, host: "::1")
                try c.send(get("/hello"))
                #expect(try c.readResponse().status == 200)
            }
        }
    }

    @Test func requestLogHookSeesRoutePatterns() async throws {
        let logs = Mutex<[RequestLog]>([])
        try await withServer(configure: { c in
            c.onRequestCompleted = { entry in logs.withLock { $0.append(entry) } }
        }) { _, port in
            try await offPool {
                let c = try TestClient(port: port)
                try c.send(get("/n/42", extra: "X-Request-Id: abc\r\n"))
                _ = try c.readResponse()
                try c.send(get("/missing"))
                _ = try c.readResponse()
            }
        }
        let entries = logs.withLock { $0 }
        #expect(entries.count == 2)
        #expect(entries.first?.route == "/n/{n}")
        #expect(entries.first?.requestID == "abc")
        #expect(entries.first?.status == 200)
        #expect(entries.first?.method == .GET)
        #expect(entries.last?.status == 404)
        #expect(entries.last?.route == nil)
    }
}
