import Foundation

/// A job's lifecycle state. `succeeded`, `failed` and `cancelled` are terminal: once there, a job never changes.
package enum JobStatus: String, Sendable, CaseIterable, Codable {
    case queued, running, succeeded, failed, cancelled

    package var isTerminal: Bool {
        switch self {
        case .queued, .running: false
        case .succeeded, .failed, .cancelled: true
        }
    }
}

/// One stored job, as the store returns it. Its coding keys are the column names of the `jobs` table, so a
/// SQL store reads and writes it as a record (see `SQLiteJobStore`).
package struct JobRecord: Sendable, Equatable, Codable {
    package var id: String
    /// Insertion order; the list endpoint pages on it.
    package var sequence: Int64
    package var status: JobStatus
    /// The canonical spec JSON (sorted keys), exactly as fingerprinted and echoed.
    package var spec: Data
    package var layersDone: Int
    package var layersTotal: Int
    /// 1 for the first run; each re-queue after a crash adds one.
    package var attempt: Int
    /// Bumped by every change; the ETag is derived from it.
    package var version: Int
    package var createdAt: Date
    package var startedAt: Date?
    package var finishedAt: Date?
    package var error: String?

    package enum CodingKeys: String, CodingKey {
        case sequence = "seq"
        case id, status, spec
        case layersDone = "layers_done"
        case layersTotal = "layers_total"
        case attempt, version
        case createdAt = "created_at"
        case startedAt = "started_at"
        case finishedAt = "finished_at"
        case error
    }

    /// A job as `submit` creates it: queued, first attempt, first version, no progress. The one definition of
    /// the creation-time state: the store inserts exactly this value, and an idempotent replay answers it
    /// again, rebuilt from the columns that never change after the insert (id, sequence, spec, layers_total,
    /// created_at), so the replay renders as the first response did.
    package init(created job: NewJob, sequence: Int64) {
        self.init(
            id: job.id, sequence: sequence, status: .queued, spec: job.spec, layersDone: 0,
            layersTotal: job.layersTotal, attempt: 1, version: 1, createdAt: job.createdAt, startedAt: nil,
            finishedAt: nil, error: nil)
    }

    package init(
        id: String, sequence: Int64, status: JobStatus, spec: Data, layersDone: Int, layersTotal: Int,
        attempt: Int, version: Int, createdAt: Date, startedAt: Date?, finishedAt: Date?, error: String?
    ) {
        self.id = id
        self.sequence = sequence
        self.status = status
        self.spec = spec
        self.layersDone = layersDone
        self.layersTotal = layersTotal
        self.attempt = attempt
        self.version = version
        self.createdAt = createdAt
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.error = error
    }

    /// This job as it was created (see `init(created:sequence:)`).
    package var creationState: JobRecord {
        JobRecord(
            created: NewJob(id: id, spec: spec, layersTotal: layersTotal, createdAt: createdAt), sequence: sequence)
    }
}

/// A job to insert, already validated and canonicalized.
package struct NewJob: Sendable, Equatable {
    package var id: String
    package var spec: Data
    package var layersTotal: Int
    package var createdAt: Date

    package init(id: String, spec: Data, layersTotal: Int, createdAt: Date) {
        self.id = id
        self.spec = spec
        self.layersTotal = layersTotal
        self.createdAt = createdAt
    }
}

/// An `Idempotency-Key` stored with its request fingerprint and the job its first request created. Its coding
/// keys are the columns of `idempotency_keys`.
package struct IdempotencyRecord: Sendable, Equatable, Codable {
    package var key: String
    package var fingerprint: String
    package var jobID: String
    package var createdAt: Date

    package enum CodingKeys: String, CodingKey {
        case key, fingerprint
        case jobID = "job_id"
        case createdAt = "created_at"
    }

    package init(key: String, fingerprint: String, jobID: String, createdAt: Date) {
        self.key = key
        self.fingerprint = fingerprint
        self.jobID = jobID
        self.createdAt = createdAt
    }
}
