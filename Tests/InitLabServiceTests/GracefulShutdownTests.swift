import Foundation
import ServiceLifecycle
import TestSupport
import Testing

@testable import InitLabService

@Suite(.offCooperativePool) struct GracefulShutdownTests {
    /// `initlab serve`'s assembly: the server started first (to print its port), then run by a ServiceGroup.
    /// The group's graceful shutdown (what SIGTERM/SIGINT trigger) runs `InitLabServer.shutdown()`: `/readyz`
    /// answers 503, the listener closes, the workers stop, and the group returns.
    @Test func serviceGroupShutdownStopsTheServer() async throws {
        let h = try ServiceHarness(start: false)
        let port = try h.server.start()
        #expect(try h.server.start() == port, "start() is idempotent: run() calls it again")
        #expect(await h.server.handle(.get("/readyz")).status == 200)
        let group = ServiceGroup(services: [h.server], logger: quietLogger())
        let running = Task { try await group.run() }
        await group.triggerGracefulShutdown()
        try await running.value
        let readiness = await h.server.handle(.get("/readyz"))
        #expect(readiness.status == 503)
        #expect(String(decoding: readiness.body, as: UTF8.self).contains("service stopping; store not open."))
        #expect(h.server.http.isShuttingDown && !h.service.workers.isRunning)
        await h.stop()
    }

    /// The first step of the shutdown sequence: not ready from the moment it begins, and the workers claim no
    /// new job (a running one may finish; `CancelAndShutdownTests` shows the queued ones stay queued).
    @Test func notReadyOnceShutdownBegins() async throws {
        let h = try ServiceHarness()
        #expect(await h.server.handle(.get("/readyz")).status == 200)
        h.service.beginShutdown()
        let readiness = await h.server.handle(.get("/readyz"))
        #expect(readiness.status == 503 && readiness.header("Retry-After") == "5")
        #expect(String(decoding: readiness.body, as: UTF8.self).contains("service stopping"))
        #expect(!h.service.workers.isRunning)
        await h.stop()
    }
}
