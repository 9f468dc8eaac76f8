import Foundation

/// The shared store's dataset files (`dataset_files`): what one node fetched and verified, for the nodes on
/// other hosts (`DatasetShare`). About 11 MB (MNIST) or 30 MB (Fashion-MNIST) of gzip files per dataset, each
/// file one `bytea` row, written once.
package struct PostgresDatasetShare: DatasetShare {
    let database: PostgresDatabase

    package init(database: PostgresDatabase) { self.database = database }

    package func publish(dataset: String, files: [(name: String, body: Data)]) throws {
        let logger = database.logger
        try database.blocking {
            try await database.transaction { connection in
                for file in files {
                    try await connection.query(
                        """
                        INSERT INTO dataset_files (dataset, file, body) VALUES (\(dataset), \(file.name), \(file.body))
                        ON CONFLICT (dataset, file) DO NOTHING
                        """, logger: logger)
                }
            }
        }
    }

    package func storedFiles(of dataset: String) async throws -> Set<String> {
        try await database.perform { client in
            var names: Set<String> = []
            let rows = try await client.query("SELECT file FROM dataset_files WHERE dataset = \(dataset)", logger: database.logger)
            for try await name in rows.decode(String.self) { names.insert(name) }
            return names
        }
    }

    package func file(dataset: String, name: String) throws -> Data? {
        let logger = database.logger
        return try database.blocking {
            try await database.perform { client -> Data? in
                let rows = try await client.query(
                    "SELECT body FROM dataset_files WHERE dataset = \(dataset) AND file = \(name)", logger: logger)
                for try await body in rows.decode(Data.self) { return body }
                return nil
            }
        }
    }
}
