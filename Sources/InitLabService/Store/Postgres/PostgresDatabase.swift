import Dispatch
import Foundation
import Logging
import PostgresNIO
import Synchronization

/// The shared PostgreSQL database of every node: one `PostgresClient` (a pool of at most `maxConnections`
/// connections, which reconnects by itself when the server comes back) and the versioned migrations of every
/// table the service keeps there — jobs, results, idempotency keys and sweeps. The job store and the sweep
/// store are views over it (`PostgresJobStore`, `PostgresSweepStore`).
///
/// PostgresNIO rather than libpq: it is async (a request handler never blocks a cooperative thread), pools its
/// connections with limits, has `LISTEN` built in, and needs no C shim; it is in the package mirror.
///
/// `client.run()` must be running (it is a `Service`: `initlab serve` and `initlab worker` put it first in their
/// service group, so it stops last) before `migrate()` or any query.
package final class PostgresDatabase: Sendable {
    package let client: PostgresClient
    let logger: Logger
    /// A query that has not answered after this long fails with `StoreUnavailable` (503 with Retry-After):
    /// requests fail fast while the database is down instead of queueing behind the pool. Default: 5 s.
    let deadline: Duration
    /// While the database is known to be down, one call per this interval goes through to it (a probe); the
    /// others fail at once. Default: 1 s.
    let probeInterval: Duration
    /// When the database stopped answering, and when it was last tried (`perform`).
    private let outage = Mutex(Outage())
    /// The channel every job change is announced on (`NOTIFY initlab_jobs, '<id>'`).
    static let channel = "initlab_jobs"

    /// `url`: `postgres://user:password@host:port/database?sslmode=disable|prefer|require&search_path=schema`
    /// (sslmode defaults to disable: the database is expected on a private network; `require` verifies the
    /// server's certificate).
    package init(
        url: String, maxConnections: Int, deadline: Duration = .seconds(5), probeInterval: Duration = .seconds(1),
        logger: Logger
    ) throws(ConfigurationError) {
        var configuration = try Self.clientConfiguration(url: url)
        configuration.options.maximumConnections = maxConnections
        configuration.options.minimumConnections = 0
        configuration.options.connectTimeout = .seconds(3)
        self.client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        self.logger = logger
        self.deadline = deadline
        self.probeInterval = probeInterval
    }

    /// Parses a `postgres://` or `postgresql://` URL (user and password percent-decoded).
    static func clientConfiguration(url text: String) throws(ConfigurationError) -> PostgresClient.Configuration {
        func fail(_ why: String) -> ConfigurationError {
            ConfigurationError(message: "--database (INITLAB_DATABASE): \(why) in a postgres:// URL")
        }
        if let index = text.unicodeScalars.firstIndex(where: { $0.properties.isWhitespace || $0.value < 0x20 }) {
            let offset = text.unicodeScalars.distance(from: text.unicodeScalars.startIndex, to: index)
            throw fail("whitespace or a control character at offset \(offset) of \(redacted(text))")
        }
        guard let url = URLComponents(string: text) else { throw fail("not a valid URL: \(redacted(text))") }
        guard let scheme = url.scheme?.lowercased(), scheme == "postgres" || scheme == "postgresql" else {
            throw fail("the scheme must be postgres or postgresql: \(redacted(text))")
        }
        guard let user = url.user, !user.isEmpty else { throw fail("a user name is required") }
        let database = String(url.path.drop(while: { $0 == "/" }))
        let query = Dictionary((url.queryItems ?? []).map { ($0.name, $0.value ?? "") }, uniquingKeysWith: { $1 })
        let tls: PostgresClient.Configuration.TLS
        switch query["sslmode"] ?? "disable" {
        case "disable": tls = .disable
        case "prefer", "allow": tls = .prefer(.makeClientConfiguration())
        case "require", "verify-ca", "verify-full": tls = .require(.makeClientConfiguration())
        case let other: throw fail("sslmode '\(other)' is not one of disable, prefer, require")
        }
        let host = url.host.flatMap { $0.isEmpty ? nil : $0 } ?? "localhost"
        guard (1...65535).contains(url.port ?? 5432) else { throw fail("the port must be 1...65535") }
        var configuration = PostgresClient.Configuration(
            host: host, port: url.port ?? 5432, username: user.removingPercentEncoding ?? user,
            password: url.password.map { $0.removingPercentEncoding ?? $0 }, database: database.isEmpty ? nil : database,
            tls: tls)
        // `?search_path=name`: the tables live in that schema (several deployments, or tests, in one database).
        if let schema = query["search_path"], !schema.isEmpty {
            configuration.options.additionalStartupParameters.append(("search_path", schema))
        }
        return configuration
    }

    /// `text` with the password (between the user's `:` and the `@`) replaced by `***`, for error messages.
    static func redacted(_ text: String) -> String {
        guard let authority = text.range(of: "://"), let at = text[authority.upperBound...].firstIndex(of: "@"),
            let colon = text[authority.upperBound..<at].firstIndex(of: ":")
        else { return "'\(text)'" }
        return "'" + text[..<text.index(after: colon)] + "***" + text[at...] + "'"
    }

    // MARK: - Running queries

    /// Runs `body` against the pool within the deadline; connection failures become `StoreUnavailable`. The
    /// body may go on in the background after a timeout (its connection returns to the pool when it ends).
    ///
    /// While the database is known to be down, calls fail at once, except one probe per second, which finds out
    /// when it is back: a request is answered 503 in microseconds instead of after the deadline.
    func perform<T: Sendable>(_ body: @escaping @Sendable (PostgresClient) async throws -> T) async throws -> T {
        let clock = ContinuousClock()
        let now = clock.now
        let probe = outage.withLock { outage -> Bool in
            guard outage.since != nil else { return true }
            if let last = outage.lastProbe, now - last < probeInterval { return false }
            outage.lastProbe = now
            return true
        }
        guard probe else { throw StoreUnavailable(Self.knownDown) }
        let client = self.client
        do {
            let value = try await Self.withDeadline(deadline) { try await body(client) }
            outage.withLock { $0 = Outage() }
            return value
        } catch {
            let classified = Self.classify(error)
            if classified is StoreUnavailable {
                outage.withLock { outage in
                    if outage.since == nil { outage.since = now }
                    outage.lastProbe = clock.now
                }
            } else {
                outage.withLock { $0 = Outage() }
            }
            throw classified
        }
    }

    /// The reason of a call that failed at once because the database is known to be down.
    static let knownDown = "the database is down; retrying it once in a while"

    /// Runs `body` in one transaction (BEGIN … COMMIT, ROLLBACK when it throws), within the deadline.
    func transaction<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        let logger = self.logger
        return try await perform { client in
            try await client.withConnection { connection in
                try await connection.withTransaction(logger: logger) { transaction in try await body(transaction) }
            }
        }
    }

    /// The bridge for the synchronous store methods: runs `body` as a task and blocks the calling thread until
    /// it ends. Only for the worker pool's dedicated threads and start-up (never a cooperative thread: the task
    /// needs one to run).
    func blocking<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
        let outcome = Mutex<Result<T, any Error>?>(nil)
        let done = DispatchSemaphore(value: 0)
        Task {
            let result: Result<T, any Error>
            do { result = .success(try await body()) } catch { result = .failure(error) }
            outcome.withLock { $0 = result }
            done.signal()
        }
        done.wait()
        guard let result = outcome.withLock({ $0 }) else { throw StoreError.inconsistent("blocking call ended without a result") }
        return try result.get()
    }

    /// The first of `body` and the deadline; the loser is left to finish (a cancelled lease request returns
    /// its slot to the pool at once).
    static func withDeadline<T: Sendable>(_ deadline: Duration, _ body: @escaping @Sendable () async throws -> T)
        async throws -> T
    {
        let race = DeadlineRace<T>()
        return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            race.begin(continuation)
            let work = Task {
                do { race.finish(.success(try await body())) } catch { race.finish(.failure(error)) }
            }
            race.setTimer(
                Task {
                    guard (try? await Task.sleep(for: deadline)) != nil else { return }
                    work.cancel()
                    race.finish(.failure(StoreUnavailable("the database did not answer within \(deadline)")))
                })
        }
    }

    /// Connection failures (refused, reset, closed, the pool's circuit breaker, a server shutting down or not yet
    /// accepting connections) become `StoreUnavailable`; anything else (a bad query, a constraint) stays as is
    /// and is a 500.
    static func classify(_ error: any Error) -> any Error {
        if error is StoreUnavailable || error is CancellationError || error is StoreError { return error }
        if let psql = error as? PSQLError {
            guard psql.code == .server else { return StoreUnavailable("\(psql.code)") }
            let state = psql.serverInfo?[.sqlState] ?? ""
            // 08: connection exception; 57P01-57P03: admin/crash shutdown, cannot connect now; 53300: too many
            // connections.
            if state.hasPrefix("08") || ["57P01", "57P02", "57P03", "53300"].contains(state) {
                return StoreUnavailable("server: \(state) \(psql.serverInfo?[.message] ?? "")")
            }
            return error
        }
        if error is IOError || error is ChannelError { return StoreUnavailable("\(error)") }
        // The pool's own errors (`_ConnectionPoolModule.ConnectionPoolError`: circuit breaker open, pool shut
        // down) come from a module this target does not import by name.
        if String(reflecting: type(of: error)).hasSuffix("ConnectionPoolError") { return StoreUnavailable("\(error)") }
        return error
    }

    /// True while the database answers `SELECT 1`.
    func isHealthy() async -> Bool {
        let answer = try? await perform { client -> Int in
            for try await value in try await client.query("SELECT 1", logger: self.logger).decode(Int.self) { return value }
            return 0
        }
        return answer == 1
    }
}

/// The one continuation of `PostgresDatabase.withDeadline`, resumed by whichever of the work and the timer ends
/// first; the other finds it taken.
private final class DeadlineRace<T: Sendable>: Sendable {
    private let state = Mutex<(continuation: CheckedContinuation<T, any Error>?, timer: Task<Void, Never>?, done: Bool)>(
        (nil, nil, false))

    func begin(_ continuation: CheckedContinuation<T, any Error>) {
        state.withLock { $0.continuation = continuation }
    }

    func setTimer(_ timer: Task<Void, Never>) {
        let done = state.withLock { state -> Bool in
            if !state.done { state.timer = timer }
            return state.done
        }
        if done { timer.cancel() }
    }

    func finish(_ result: Result<T, any Error>) {
        let taken = state.withLock { state -> (CheckedContinuation<T, any Error>?, Task<Void, Never>?) in
            guard !state.done else { return (nil, nil) }
            state.done = true
            defer { state.continuation = nil; state.timer = nil }
            return (state.continuation, state.timer)
        }
        taken.1?.cancel()
        taken.0?.resume(with: result)
    }
}

/// The database's state as `perform` last saw it: answering (`since` nil), or down since `since`.
private struct Outage {
    var since: ContinuousClock.Instant?
    var lastProbe: ContinuousClock.Instant?
}
