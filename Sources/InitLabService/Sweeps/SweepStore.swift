import Foundation
import GRDB
import InitLabContract

/// One stored sweep: the request as given and the experiments it created, in combination order.
public struct SweepRecord: Sendable, Equatable {
    public var id: String
    public var createdAt: Date
    /// The request body's `base` and `vary`, re-encoded with sorted keys.
    public var request: Data
    public var members: [Member]

    public struct Member: Sendable, Equatable, Codable {
        public var experimentID: String
        public var label: String
        /// The varied values of this combination, as JSON with sorted keys.
        package var values: JSONValue

        enum CodingKeys: String, CodingKey {
            case experimentID = "experiment_id"
            case label, values
        }
    }
}

/// Sweeps, kept durably in the service's SQLite database (same file as the jobs, own table and migration
/// identifier so the job store's migrator and this one never collide). A sweep row only references
/// experiments; their status and results stay in the job store, so pruning a job shows as "pruned" here.
public final class SQLiteSweepStore: Sendable {
    private let pool: DatabasePool

    /// Opens the database at `path` (usually `ServiceConfiguration.databasePath`) and adds the sweeps table.
    public init(path: String) throws {
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        configuration.label = "initlab.sweeps"
        pool = try DatabasePool(path: path, configuration: configuration)
        var migrator = DatabaseMigrator()
        migrator.registerMigration("viz-sweeps-v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE sweeps (
                        seq INTEGER PRIMARY KEY AUTOINCREMENT,
                        id TEXT NOT NULL UNIQUE,
                        created_at REAL NOT NULL,
                        request BLOB NOT NULL,
                        members BLOB NOT NULL
                    );
                    """)
        }
        try migrator.migrate(pool)
    }

    public func insert(_ sweep: SweepRecord) throws {
        let members = try JSONEncoder().encode(sweep.members)
        try pool.write { db in
            try db.execute(
                sql: "INSERT INTO sweeps (id, created_at, request, members) VALUES (?, ?, ?, ?)",
                arguments: [sweep.id, sweep.createdAt.timeIntervalSince1970, sweep.request, members])
        }
    }

    public func sweep(id: String) throws -> SweepRecord? {
        let row = try pool.read { db in
            try Row.fetchOne(db, sql: "SELECT id, created_at, request, members FROM sweeps WHERE id = ?", arguments: [id])
        }
        guard let row else { return nil }
        let membersData: Data = row["members"]
        return SweepRecord(
            id: row["id"], createdAt: Date(timeIntervalSince1970: row["created_at"]), request: row["request"],
            members: try JSONDecoder().decode([SweepRecord.Member].self, from: membersData))
    }
}
