/// The exit codes of the remote commands (`initlab submit`, `status`, `wait`, `result`, `cancel`, `list`,
/// `watch`), documented in README.md and each command's help. Usage errors exit 64, as every subcommand does.
package enum RemoteExitCode: Int32, CaseIterable, Sendable {
    /// The command did what it was asked; for `wait`, `watch` and `result`, the experiment succeeded.
    case succeeded = 0
    /// The experiment failed (its error is printed).
    case failed = 10
    /// The experiment was cancelled.
    case cancelled = 11
    /// The experiment had not finished: `wait --timeout` ran out, or `result` was asked too early.
    case notFinished = 12
    /// The server refused the spec or request (400, 422; each field's pointer and problem are printed).
    case invalidSpec = 65
    /// No such experiment (404).
    case notFound = 66
    /// The server did not answer (connection refused, timeout, unknown host) or was unavailable (5xx).
    case unreachable = 69
    /// An answer the client did not expect.
    case unexpected = 70
    /// The token was missing or refused (401, 403).
    case unauthorized = 77

    /// The exit code for an error answer or a failure to get one.
    package init(_ error: RemoteError) {
        switch error {
        case .unreachable: self = .unreachable
        case .unexpected(let status, _) where status >= 500: self = .unreachable
        case .unexpected: self = .unexpected
        case .problem(let problem):
            switch problem.status {
            case 400, 413, 415, 422: self = .invalidSpec
            case 401, 403: self = .unauthorized
            case 404: self = .notFound
            case 409 where problem.type.hasSuffix("failed"): self = .failed
            case 409 where problem.type.hasSuffix("cancelled"): self = .cancelled
            case 409 where problem.type.hasSuffix("not_finished"): self = .notFinished
            case 500...: self = .unreachable
            default: self = .unexpected
            }
        }
    }

    /// The exit code for a job's terminal status (`succeeded`, `failed`, `cancelled`); nil while it runs.
    package init?(terminalStatus status: String) {
        switch status {
        case "succeeded": self = .succeeded
        case "failed": self = .failed
        case "cancelled": self = .cancelled
        default: return nil
        }
    }
}
