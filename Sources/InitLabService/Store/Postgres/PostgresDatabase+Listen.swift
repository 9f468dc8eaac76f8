import Foundation
import Logging
import PostgresNIO

extension PostgresDatabase {
    /// `LISTEN initlab_jobs` on one pooled connection, calling `onChange` with each notified job id, until the
    /// task is cancelled. When the connection drops (or cannot be had), it waits a second and listens again;
    /// in between, the callers' polling (workers every second, long-polls and event streams every second on a
    /// shared store) covers the notifications missed.
    func listen(_ onChange: @escaping @Sendable (String) -> Void) async {
        let logger = self.logger
        while !Task.isCancelled {
            do {
                try await client.withConnection { connection in
                    try await connection.listen(on: Self.channel) { notifications in
                        logger.debug("listening for job changes", metadata: ["channel": "\(Self.channel)"])
                        for try await notification in notifications { onChange(notification.payload) }
                    }
                }
            } catch is CancellationError {
                return
            } catch {
                if Task.isCancelled { return }
                logger.warning("job-change listener lost its connection; polling until it is back", metadata: ["error": "\(String(reflecting: error))"])
            }
            try? await Task.sleep(for: .seconds(1))
        }
    }
}
