import Foundation
import HTTPServer
import Logging
import Synchronization
import Testing

@testable import InitLabClient

/// What the test server saw.
final class Seen: Sendable {
    let requests = Mutex<[HTTPRequest]>([])
    func add(_ request: HTTPRequest) -> Int {
        requests.withLock {
            $0.append(request)
            return $0.count
        }
    }
    var all: [HTTPRequest] { requests.withLock { $0 } }
}

/// A real HTTPServer on loopback with `routes`, for the duration of `body`.
func withServer(_ routes: (Router) -> Void, _ body: (RemoteClient) async throws -> Void) async throws {
    let router = Router()
    routes(router)
    var logger = Logger(label: "client-test")
    logger.logLevel = .critical
    var configuration = HTTPServerConfiguration(host: "127.0.0.1", port: 0)
    configuration.shutdownGracePeriod = .seconds(2)
    let server = HTTPServer(configuration: configuration, router: router, logger: logger)
    let port = try server.start()
    do {
        try await body(try RemoteClient(server: "http://127.0.0.1:\(port)/", token: "secret"))
    } catch {
        await server.shutdown()
        throw error
    }
    await server.shutdown()
}

@Suite("Remote client")
struct RemoteClientTests {
    @Test func a503IsRetriedAfterItsRetryAfterWithTheSameKey() async throws {
        let seen = Seen()
        try await withServer({ router in
            router.post("/v1/experiments") { request, _ in
                if seen.add(request) < 3 {
                    throw ProblemError(.serviceUnavailable, code: "queue_full", detail: "busy", headers: ["Retry-After": "0"])
                }
                return .text("{\"id\":\"j1\"}", status: .accepted, headers: ["Content-Type": "application/json"])
            }
        }) { client in
            let response = try await client.send("POST", "/v1/experiments", body: Data("{}".utf8), headers: ["Idempotency-Key": "k-1"])
            #expect(response.status == 202)
            #expect(try response.json()["id"]?.string == "j1")
        }
        let requests = seen.all
        #expect(requests.count == 3)
        #expect(requests.map { $0.headers["idempotency-key"] } == ["k-1", "k-1", "k-1"])
        #expect(requests.allSatisfy { $0.headers["authorization"] == "Bearer secret" })
    }

    @Test func retriesStopAfterMaxAttemptsWithTheProblem() async throws {
        let seen = Seen()
        try await withServer({ router in
            router.get("/busy") { request, _ in
                _ = seen.add(request)
                throw ProblemError(.serviceUnavailable, code: "unavailable", detail: "down", headers: ["Retry-After": "0"])
            }
        }) { client in
            var limited = client
            limited.maxAttempts = 3
            do throws(RemoteError) {
                _ = try await limited.send("GET", "/busy")
                Issue.record("a 503 must throw")
            } catch {
                guard case .problem(let problem) = error else {
                    Issue.record("expected the problem, got \(error)")
                    return
                }
                #expect(problem.status == 503)
                #expect(problem.detail == "down")
            }
        }
        #expect(seen.all.count == 3)
    }

    @Test func aProblemCarriesItsFieldPointers() async throws {
        try await withServer({ router in
            router.post("/v1/experiments") { _, _ in
                throw ProblemError(
                    .unprocessableContent, code: "invalid_spec", detail: "1 problem",
                    extra: ["errors": .array([.object(["pointer": .string("/depth"), "detail": .string("must be 1 ... 10000")])])])
            }
        }) { client in
            do throws(RemoteError) {
                _ = try await client.send("POST", "/v1/experiments", body: Data("{}".utf8))
                Issue.record("a 422 must throw")
            } catch {
                guard case .problem(let problem) = error else {
                    Issue.record("expected the problem, got \(error)")
                    return
                }
                #expect(problem.status == 422)
                #expect(problem.fields == [RemoteProblem.FieldError(pointer: "/depth", detail: "must be 1 ... 10000")])
                #expect(RemoteExitCode(error) == .invalidSpec)
            }
        }
    }

    @Test func aDroppedStreamResumesAfterTheLastEventWithoutDuplicates() async throws {
        let seen = Seen()
        try await withServer({ router in
            router.get("/events") { request, _ in
                _ = seen.add(request)
                let last = request.headers["last-event-id"].flatMap { Int($0) } ?? 0
                return .eventStream { writer in
                    for id in (last + 1)...5 {
                        let name = id == 5 ? "done" : "progress"
                        try await writer.write(ServerSentEvent(id: String(id), event: name, data: "{\"n\":\(id)}", retry: id == 1 ? 10 : nil).bytes)
                        // The first connection drops after event 2 (the handler throws: the server aborts it).
                        if last == 0 && id == 2 { throw CancellationError() }
                    }
                }
            }
        }) { client in
            let received = Mutex<[String]>([])
            try await client.follow("/events") { event in
                received.withLock { $0.append("\(event.lastEventID ?? "-"):\(event.name)") }
                return event.name == "done"
            }
            #expect(received.withLock { $0 } == ["1:progress", "2:progress", "3:progress", "4:progress", "5:done"])
        }
        #expect(seen.all.map { $0.headers["last-event-id"] } == [nil, "2"])
    }

    @Test func anUnreachableServerIsUnreachable() async throws {
        // Port 1 on loopback: nothing listens (connection refused).
        let client = try RemoteClient(server: "http://127.0.0.1:1", token: nil)
        do throws(RemoteError) {
            _ = try await client.send("GET", "/healthz", timeout: 5)
            Issue.record("must throw")
        } catch {
            #expect(RemoteExitCode(error) == .unreachable)
        }
    }

    @Test func onlyHTTPURLsAreServers() {
        #expect(throws: RemoteError.self) { try RemoteClient(server: "ftp://x", token: nil) }
        #expect(throws: RemoteError.self) { try RemoteClient(server: "localhost:8080", token: nil) }
    }
}
