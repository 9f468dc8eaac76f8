import Foundation
import Logging

@testable import InitLabService

/// A fresh database path in a temporary folder; the folder is removed by `cleanup`.
struct TempDatabase {
    let folder: URL
    var path: String { folder.appendingPathComponent("test.sqlite").path }

    init() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("initlab-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    func cleanup() { try? FileManager.default.removeItem(at: folder) }
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
    configuration.cacheDirectory = FileManager.default.temporaryDirectory
        .appendingPathComponent("initlab-test-no-cache-\(UUID().uuidString)").path
    edit(&configuration)
    return configuration
}

func jsonObject(_ data: Data) -> [String: Any] {
    ((try? JSONSerialization.jsonObject(with: data)) as? [String: Any]) ?? [:]
}

extension APIRequest {
    static func post(_ path: String, json: String, headers: [(String, String)] = []) -> APIRequest {
        APIRequest(
            method: "POST", path: path, headers: [("Content-Type", "application/json")] + headers,
            body: Data(json.utf8))
    }

    static func get(_ path: String, query: [(String, String)] = [], headers: [(String, String)] = []) -> APIRequest {
        APIRequest(method: "GET", path: path, query: query, headers: headers)
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
