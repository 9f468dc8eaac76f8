import Foundation
import PostgresNIO

/// Sweeps in the shared PostgreSQL database (`PostgresDatabase`, table `sweeps`): a sweep created on one API
/// node is read on any other. `members` is the JSON array the SQLite store keeps, as bytes.
package final class PostgresSweepStore: SweepStore {
    private let database: PostgresDatabase

    package init(database: PostgresDatabase) {
        self.database = database
    }

    package func insert(_ sweep: SweepRecord) async throws {
        let members = try JSONEncoder.sortedKeys.encode(sweep.members)
        try await database.perform { client in
            _ = try await client.query(
                """
                INSERT INTO sweeps (id, created_at, request, members)
                VALUES (\(sweep.id), \(sweep.createdAt.timeIntervalSince1970), \(sweep.request), \(members))
                """, logger: self.database.logger)
        }
    }

    package func sweep(id: String) async throws -> SweepRecord? {
        let row = try await database.perform { client -> (Double, Data, Data)? in
            let rows = try await client.query(
                "SELECT created_at, request, members FROM sweeps WHERE id = \(id)", logger: self.database.logger)
            for try await row in rows.decode((Double, Data, Data).self) { return row }
            return nil
        }
        guard let (created, request, members) = row else { return nil }
        return SweepRecord(
            id: id, createdAt: Date(timeIntervalSince1970: created), request: request,
            members: try JSONDecoder().decode([SweepRecord.Member].self, from: members))
    }
}

extension JSONEncoder {
    /// Sorted keys: equal values give equal bytes.
    fileprivate static var sortedKeys: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }
}
