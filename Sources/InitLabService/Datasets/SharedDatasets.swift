import Datasets
import Foundation
import Logging

/// The dataset files every node over a shared store can read (PostgreSQL's `dataset_files`): a node that fetched
/// and verified a dataset publishes its files there, and a node on another host that lacks it copies them from
/// there instead of from a mirror. SQLite has none: its nodes are one process on one host, with one cache.
///
/// The methods block their thread (fetch threads and worker threads only), except `storedFiles`, which the
/// submit check awaits.
package protocol DatasetShare: Sendable {
    /// Stores the files (those stored already are kept: a dataset's bytes are pinned by checksum).
    func publish(dataset: String, files: [(name: String, body: Data)]) throws
    /// The names of the files stored for `dataset`.
    func storedFiles(of dataset: String) async throws -> Set<String>
    /// One file's bytes, or nil when it is not stored.
    func file(dataset: String, name: String) throws -> Data?
}

/// A node's cache and the share: publishing what the cache holds, and filling the cache from the share through
/// the cache's own verify-then-rename path (a file from the share is checked against the catalog's checksum as
/// a mirror's would be).
package struct SharedDatasets: Sendable {
    package let share: any DatasetShare
    let store: DatasetStore
    let logger: Logger

    package init(share: any DatasetShare, store: DatasetStore, logger: Logger) {
        self.share = share
        self.store = store
        self.logger = logger
    }

    /// Whether the share holds every file of `spec`.
    package func holds(_ spec: DatasetSpec) async throws -> Bool {
        let stored = try await share.storedFiles(of: spec.id)
        return spec.files.allSatisfy { stored.contains($0.name) }
    }

    /// Copies the cached, verified files of `spec` into the share.
    func publish(_ spec: DatasetSpec) throws {
        var files: [(name: String, body: Data)] = []
        for file in spec.files {
            let path = store.path(of: file, in: spec)
            files.append((file.name, try Data(contentsOf: URL(fileURLWithPath: path))))
        }
        try share.publish(dataset: spec.id, files: files)
        logger.info("dataset published to the shared store", metadata: ["dataset": "\(spec.id)"])
    }

    /// Fills the cache with `spec` from the share; false when the share does not hold every file. The files go
    /// through a private folder and `DatasetStore.fetch` (checksums verified, atomic rename into the cache).
    func fill(_ spec: DatasetSpec, events: ((FetchEvent) -> Void)? = nil) throws -> Bool {
        let staging = FileManager.default.temporaryDirectory
            .appendingPathComponent("initlab-shared-\(spec.id)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: staging, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: staging) }
        for file in spec.files where !FileManager.default.fileExists(atPath: store.path(of: file, in: spec)) {
            guard let body = try share.file(dataset: spec.id, name: file.name) else { return false }
            try body.write(to: staging.appendingPathComponent(file.name))
        }
        do {
            _ = try store.fetch(spec, mirrors: [.folder(staging.path)], events: events)
        } catch {
            throw DatasetShareError(description: "the shared copy of \(spec.id) did not verify: \(error.description)")
        }
        logger.info("dataset copied from the shared store", metadata: ["dataset": "\(spec.id)"])
        return true
    }
}

struct DatasetShareError: Error, CustomStringConvertible {
    var description: String
}
