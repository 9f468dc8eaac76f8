import Foundation
import GRDB
import InitLabContract

/// One stored sweep: the request as given and the experiments it created, in combination order. Its coding
/// keys are the columns of `sweeps` (`members` is a JSON column).
package struct SweepRecord: Sendable, Equatable, Codable {
    package var id: String
    package var createdAt: Date
    /// The request body's `base` and `vary`, re-encoded with sorted keys.
    package var request: Data
    package var members: [Member]

    package enum CodingKeys: String, CodingKey {
        case id
        case createdAt = "created_at"
        case request, members
    }

    package struct Member: Sendable, Equatable, Codable {
        package var experimentID: String
        package var label: String
        /// The varied values of this combination, as JSON with sorted keys.
        package var values: JSONValue

        enum CodingKeys: String, CodingKey {
            case experimentID = "experiment_id"
            case label, values
        }

        package init(experimentID: String, label: String, values: JSONValue) {
            self.experimentID = experimentID
            self.label = label
            self.values = values
        }
    }

    package init(id: String, createdAt: Date, request: Data, members: [Member]) {
        self.id = id
        self.createdAt = createdAt
        self.request = request
        self.members = members
    }
}

/// Stored sweeps: the one protocol behind `SQLiteSweepStore` and `PostgresSweepStore`. A sweep row only
/// references experiments; their status and results stay in the job store, so pruning a job shows as "pruned".
package protocol SweepStore: Sendable {
    func insert(_ sweep: SweepRecord) async throws
    func sweep(id: String) async throws -> SweepRecord?
}

/// Sweeps, in the service's one SQLite database (`ServiceDatabase`, table `sweeps`).
package final class SQLiteSweepStore: SweepStore {
    private let database: ServiceDatabase
    private var pool: DatabasePool { database.pool }

    package init(database: ServiceDatabase) {
        self.database = database
    }

    package func insert(_ sweep: SweepRecord) async throws {
        try await pool.write { db in try sweep.insert(db) }
    }

    package func sweep(id: String) async throws -> SweepRecord? {
        try await database.read { db in try SweepRecord.filter(Column(SweepRecord.CodingKeys.id) == id).fetchOne(db) }
    }
}

/// A row of `sweeps` (`seq` is left to AUTOINCREMENT); dates are Unix seconds, `members` a JSON array.
extension SweepRecord: FetchableRecord, PersistableRecord {
    package static let databaseTableName = "sweeps"

    package static func databaseDateDecodingStrategy(for column: String) -> DatabaseDateDecodingStrategy {
        .timeIntervalSince1970
    }

    package static func databaseDateEncodingStrategy(for column: String) -> DatabaseDateEncodingStrategy {
        .timeIntervalSince1970
    }
}
