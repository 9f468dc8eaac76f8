import Foundation
import GRDB
import TestSupport
import Testing

@testable import InitLabService

/// The one database: one pool and one migrator for every table, and databases written by older builds (whose
/// job and sweep stores each migrated their own tables) open with their data.
@Suite(.offCooperativePool) struct ServiceDatabaseTests {
    @Test func oneMigratorForEveryTable() throws {
        let folder = try TempDatabase()
        defer { folder.cleanup() }
        let database = try ServiceDatabase(path: folder.path)
        #expect(try database.appliedMigrations() == ["v1", "viz-sweeps-v1", "v2-idempotency-names-job", "v3-leases", "v4-secrets"])
        let tables = try database.pool.read { db in
            try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
        }
        #expect(tables == ["grdb_migrations", "idempotency_keys", "jobs", "results", "secrets", "sweeps"])
        // Opening again migrates nothing.
        #expect(try ServiceDatabase(path: folder.path).appliedMigrations() == ["v1", "viz-sweeps-v1", "v2-idempotency-names-job", "v3-leases", "v4-secrets"])
    }

    /// A database as the previous build left it: the `v1` and `viz-sweeps-v1` schemas, a job with a result,
    /// an idempotency key with its stored response, a key whose job was pruned, and a sweep whose members
    /// are a JSON blob.
    @Test func databaseOfThePreviousBuildOpensWithItsData() async throws {
        let folder = try TempDatabase()
        defer { folder.cleanup() }
        let jobID = "0b7e5f0e-4f33-4c39-a3a5-0c7d2a7b3a11"
        let sweepID = "5d2c6a0a-08a4-4f0e-9d0e-6f1b9b8f3c22"
        do {
            let old = try DatabaseQueue(path: folder.path)
            try ServiceDatabase.migrator.migrate(old, upTo: "viz-sweeps-v1")
            try await old.write { db in
                try db.execute(
                    sql: """
                        INSERT INTO jobs (id, status, spec, layers_done, layers_total, attempt, version, created_at,
                            started_at, finished_at, error)
                        VALUES (?, 'succeeded', ?, 4, 4, 1, 6, 1700000000.5, 1700000001.25, 1700000002.0, NULL);
                        INSERT INTO results (job_id, body) VALUES (?, ?);
                        INSERT INTO idempotency_keys (key, fingerprint, job_id, response_status, response_body, created_at)
                        VALUES ('k-live', 'fp', ?, 202, X'7B7D', 1700000000.5),
                               ('k-orphan', 'fp', 'gone', 202, X'7B7D', 1700000000.5);
                        INSERT INTO sweeps (id, created_at, request, members) VALUES (?, 1700000003.0, ?, ?);
                        """,
                    arguments: [
                        jobID, Data("{\"depth\":4}".utf8), jobID, Data("{\"r\":1}".utf8), jobID, sweepID,
                        Data("{\"base\":{},\"vary\":{}}".utf8),
                        Data(#"[{"label":"a","values":{"width":16},"experiment_id":"\#(jobID)"}]"#.utf8),
                    ])
            }
            try old.close()
        }

        let database = try ServiceDatabase(path: folder.path)
        #expect(try database.appliedMigrations() == ["v1", "viz-sweeps-v1", "v2-idempotency-names-job", "v3-leases", "v4-secrets"])
        let jobs = SQLiteJobStore(database: database)
        let job = try #require(try await jobs.job(id: jobID))
        #expect(job.status == .succeeded && job.version == 6 && job.layersDone == 4 && job.spec == Data("{\"depth\":4}".utf8))
        #expect(job.createdAt == Date(timeIntervalSince1970: 1_700_000_000.5))
        #expect(job.startedAt == Date(timeIntervalSince1970: 1_700_000_001.25))
        #expect(job.finishedAt == Date(timeIntervalSince1970: 1_700_000_002))
        #expect(try await jobs.result(id: jobID) == Data("{\"r\":1}".utf8))
        // The key now names its job; the replay is the job as it was created.
        let replay = try await jobs.submit(
            NewJob(id: UUID().uuidString.lowercased(), spec: Data(), layersTotal: 1, createdAt: Date()),
            idempotency: ("k-live", "fp"), queueCapacity: 10)
        #expect(replay == .replayed(job.creationState))
        #expect(job.creationState.version == 1 && job.creationState.status == .queued)
        let keys = try await database.pool.read { db in try String.fetchAll(db, sql: "SELECT key FROM idempotency_keys") }
        #expect(keys == ["k-live"], "a key whose job was already pruned is dropped")

        let sweep = try #require(try await SQLiteSweepStore(database: database).sweep(id: sweepID))
        #expect(sweep.createdAt == Date(timeIntervalSince1970: 1_700_000_003))
        #expect(sweep.members == [SweepRecord.Member(experimentID: jobID, label: "a", values: .object(["width": .integer(16)]))])
    }

    @Test func sweepsRoundTripThroughTheSharedPool() async throws {
        let folder = try TempDatabase()
        defer { folder.cleanup() }
        let stores = try TestStores(path: folder.path)
        let record = SweepRecord(
            id: UUID().uuidString.lowercased(), createdAt: Date(timeIntervalSince1970: 1_700_000_000.75),
            request: Data("{\"base\":{\"depth\":3},\"vary\":{\"seed\":[1,2]}}".utf8),
            members: [
                SweepRecord.Member(experimentID: UUID().uuidString.lowercased(), label: "seed=1", values: .object(["seed": .integer(1)])),
                SweepRecord.Member(experimentID: UUID().uuidString.lowercased(), label: "seed=2", values: .object(["seed": .integer(2)])),
            ])
        try await stores.sweeps.insert(record)
        #expect(try await stores.sweeps.sweep(id: record.id) == record)
        #expect(try await stores.sweeps.sweep(id: UUID().uuidString.lowercased()) == nil)
    }
}
