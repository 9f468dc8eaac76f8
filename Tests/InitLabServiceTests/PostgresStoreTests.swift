import Foundation
import HTTPServer
import Synchronization
import TestSupport
import Testing

@testable import InitLabService

/// What only the shared store does: notifications across nodes, migrations racing, failing fast when the
/// database is unreachable. Needs `INITLAB_TEST_POSTGRES_URL`; skipped with the reason without it.
@Suite(.offCooperativePool, .enabled(if: PostgresTestSupport.url != nil, Comment(rawValue: PostgresTestSupport.skipReason)))
struct PostgresStoreTests {
    /// A change committed by one node reaches another node's listener within milliseconds.
    @Test func changesAreNotifiedToOtherNodes() async throws {
        let schema = try PostgresTestSupport.Schema()
        defer { schema.destroy() }
        let listener = PostgresJobStore(database: try schema.open())
        let writer = PostgresJobStore(database: try schema.open())
        let seen = Mutex<[String]>([])
        let heard = AsyncStream<String>.makeStream()
        let watch = Task {
            await listener.watchChanges { id in
                seen.withLock { $0.append(id) }
                heard.continuation.yield(id)
            }
        }
        defer { watch.cancel() }
        // The listener connects in the background: submit until it hears one (at most 5 s).
        var id = ""
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: .seconds(5))
        while seen.withLock({ $0.isEmpty }), clock.now < deadline {
            id = try #require(try await { () async throws -> JobRecord? in
                if case .created(let job) = try await writer.submit(
                    NewJob(id: UUID().uuidString.lowercased(), spec: Data("{}".utf8), layersTotal: 1, createdAt: Date()),
                    idempotency: nil, queueCapacity: 1000)
                { return job }
                return nil
            }()).id
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(!seen.withLock { $0 }.isEmpty, "the listener heard a submission")
        // Once listening, a claim is heard quickly.
        let start = clock.now
        let claimed = try #require(try writer.claimNext(now: Date()))
        var iterator = heard.stream.makeAsyncIterator()
        while let next = await iterator.next(), next != claimed.id || clock.now - start > .seconds(5) {}
        #expect(clock.now - start < .seconds(2), "claim of \(claimed.id) (last submitted \(id)) heard in \(clock.now - start)")
    }

    /// Two nodes starting together migrate once: the advisory lock serializes them.
    @Test func concurrentMigrationsApplyOnce() async throws {
        let schema = try PostgresTestSupport.Schema()
        defer { schema.destroy() }
        let nodes = Mutex<[PostgresDatabase]>([])
        let failures = Mutex<[String]>([])
        let done = DispatchGroup()
        for _ in 0..<3 {
            done.enter()
            Thread {
                defer { done.leave() }
                do { nodes.withLock { _ = $0 } ; let database = try schema.open(); nodes.withLock { $0.append(database) } } catch {
                    failures.withLock { $0.append("\(error)") }
                }
            }.start()
        }
        done.wait()
        #expect(failures.withLock { $0 }.isEmpty, "\(failures.withLock { $0 })")
        let database = try #require(nodes.withLock { $0.first })
        #expect(try await database.appliedMigrations() == PostgresDatabase.migrations.map(\.version))
    }
}

/// An unreachable PostgreSQL (nothing listens on port 1): no database needed, so these always run.
@Suite(.offCooperativePool) struct StoreUnavailableTests {
    /// `probeInterval`: one hour, so that while a test runs every call after the first fails at once (the probe
    /// that would notice a recovery is not due).
    private static func unreachable(deadline: Duration = .seconds(2)) throws -> (PostgresDatabase, Task<Void, Never>) {
        let database = try PostgresDatabase(
            url: "postgres://initlab:initlab@127.0.0.1:1/none", maxConnections: 2, deadline: deadline,
            probeInterval: .seconds(3600), logger: quietLogger())
        let client = database.client
        return (database, Task { await client.run() })
    }

    /// With the database unreachable, a request fails with `StoreUnavailable` (the API's 503), and `isHealthy` is
    /// false (readyz 503). Once it is known to be down, calls fail at once without trying it: the reason says so.
    @Test func unreachableDatabaseFailsFast() async throws {
        let (database, run) = try Self.unreachable()
        defer { run.cancel() }
        let store = PostgresJobStore(database: database)
        let first = await #expect(throws: StoreUnavailable.self) { _ = try await store.job(id: "x") }
        #expect(first?.reason != PostgresDatabase.knownDown, "the first call tries the database")
        let second = await #expect(throws: StoreUnavailable.self) { _ = try await store.job(id: "y") }
        #expect(second?.reason == PostgresDatabase.knownDown)
        #expect(await !store.isHealthy())
        let claim = #expect(throws: StoreUnavailable.self) { _ = try store.claimNext(now: Date()) }
        #expect(claim?.reason == PostgresDatabase.knownDown)
    }

    /// A URL the shell or a tool got wrong is named in the error, with its password hidden.
    @Test func badURLsAreNamedWithoutThePassword() {
        for (url, expected) in [
            ("postgres://u:secret@127.0.0.1:5432\n5433/db", "whitespace or a control character at offset 34"),
            ("mysql://u:secret@127.0.0.1/db", "the scheme must be postgres or postgresql: 'mysql://u:***@127.0.0.1/db'"),
            ("postgres://:secret@127.0.0.1/db", "a user name is required"),
        ] {
            let error = #expect(throws: ConfigurationError.self) {
                _ = try PostgresDatabase.clientConfiguration(url: url)
            }
            #expect(error?.message.contains(expected) == true, "\(error?.message ?? "no error")")
            #expect(error?.message.contains("secret") == false)
        }
    }

    /// Through the API: requests answer 503 `store_unavailable` with Retry-After (rendered by the one problem
    /// renderer), and `/readyz` answers 503.
    @Test func requestsAnswer503WithRetryAfter() async throws {
        let (database, run) = try Self.unreachable()
        defer { run.cancel() }
        let service = ExperimentService(
            configuration: testConfiguration { $0.workers = 0 }, store: PostgresJobStore(database: database),
            engine: ScriptedEngine(), logger: quietLogger())
        let server = InitLabServer(service: service, sweeps: PostgresSweepStore(database: database), logger: quietLogger())
        try service.start()
        for request in [HTTPRequest.get("/v1/experiments"), .post("/v1/experiments", json: #"{"depth":2}"#)] {
            let reply = await server.handle(request)
            #expect(reply.status == 503)
            #expect(reply.header("Retry-After") == "2")
            #expect(reply.header("Content-Type") == "application/problem+json")
            #expect(jsonObject(reply.body)["code"] as? String == "store_unavailable")
        }
        let ready = await server.handle(.get("/readyz"))
        #expect(ready.status == 503 && String(decoding: ready.body, as: UTF8.self).contains("store not reachable"))
        await service.shutdown()
    }
}
