import Foundation
import TestSupport
import HTTPServer
import Logging

@testable import InitLabService

/// A fresh database path in a temporary folder; the folder is removed by `cleanup`.
struct TempDatabase {
    let folder: URL
    var path: String { folder.appendingPathComponent("test.sqlite").path }

    init() throws {
        folder = URL(fileURLWithPath: try Scratch.directory("database"))
    }

    func cleanup() { try? FileManager.default.removeItem(at: folder) }
}

/// What `initlab serve` opens over one database file: one `ServiceDatabase` (one pool, one migrator) and the
/// job and sweep stores that share it.
struct TestStores {
    let database: ServiceDatabase
    let jobs: SQLiteJobStore
    let sweeps: SQLiteSweepStore

    init(path: String) throws {
        database = try ServiceDatabase(path: path)
        jobs = SQLiteJobStore(database: database)
        sweeps = SQLiteSweepStore(database: database)
    }
}

func quietLogger() -> Logger {
    var logger = Logger(label: "initlab.test")
    logger.logLevel = .critical
    return logger
}

func testConfiguration(_ edit: (inout ServiceConfiguration) -> Void = { _ in }) -> ServiceConfiguration {
    var configuration = ServiceConfiguration()
    configuration.port = 0
    configuration.progressWriteInterval = .milliseconds(20)
    // Never the working folder's ./.initlab-cache: a folder that does not exist (nothing is cached).
    configuration.cacheDirectory = Scratch.path("no-cache")
    edit(&configuration)
    return configuration
}

func jsonObject(_ data: Data) -> [String: Any] {
    ((try? JSONSerialization.jsonObject(with: data)) as? [String: Any]) ?? [:]
}

extension HTTPRequest {
    /// A request as the connection hands it to the router: `Host` set (same-origin checks read it), the query
    /// percent-encoded into the target.
    static func make(
        _ method: String, _ path: String, query: [(String, String)] = [], headers: [(String, String)] = [],
        body: Data = Data()
    ) -> HTTPRequest {
        var target = path
        if !query.isEmpty {
            let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-._~"))
            func encode(_ s: String) -> String { s.addingPercentEncoding(withAllowedCharacters: allowed) ?? s }
            target += "?" + query.map { "\(encode($0.0))=\(encode($0.1))" }.joined(separator: "&")
        }
        let hasHost = headers.contains { $0.0.lowercased() == "host" }
        return HTTPRequest(
            method: HTTPMethod(rawValue: method) ?? .GET, target: target,
            headers: HTTPHeaders((hasHost ? [] : [("Host", "127.0.0.1:8080")]) + headers), body: [UInt8](body))
    }

    static func post(_ path: String, json: String, headers: [(String, String)] = []) -> HTTPRequest {
        make("POST", path, headers: [("Content-Type", "application/json")] + headers, body: Data(json.utf8))
    }

    static func get(_ path: String, query: [(String, String)] = [], headers: [(String, String)] = []) -> HTTPRequest {
        make("GET", path, query: query, headers: headers)
    }
}

/// A routed response with its body collected (a streamed body is not run: tests of streams use sockets).
struct RoutedReply: Sendable {
    var status: Int
    var headers: [(String, String)]
    var body: Data

    func header(_ name: String) -> String? {
        headers.first { $0.0.caseInsensitiveCompare(name) == .orderedSame }?.1
    }
}

extension InitLabServer {
    /// Router mode: the exact router `initlab serve` builds, in-process, without sockets.
    func handle(_ request: HTTPRequest) async -> RoutedReply {
        let routed = await router.respond(to: request)
        let body: Data =
            switch routed.response.body {
            case .bytes(let bytes): Data(bytes)
            case .stream: Data()
            }
        return RoutedReply(
            status: routed.response.status.code, headers: routed.response.headers.map { ($0.name, $0.value) },
            body: body)
    }
}

/// Polls until `condition` holds or `timeout` passes.
func eventually(timeout: Duration = .seconds(10), _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = ContinuousClock.now.advanced(by: timeout)
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(10))
    }
    return try await condition()
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
