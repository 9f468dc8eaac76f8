import Foundation
import Testing

@testable import InitLabService

@Suite struct OpenAPIDocumentTests {
    /// The served copy is the top-level file, byte for byte (refresh with scripts/embed-openapi.py).
    @Test func embeddedCopyEqualsTheTopLevelFile() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let file = try String(contentsOf: root.appendingPathComponent("openapi.yaml"), encoding: .utf8)
        #expect(OpenAPIDocument.yaml == file, "run python3 scripts/embed-openapi.py")
    }

    @Test func servedAtOpenAPIYaml() async throws {
        let h = try ServiceHarness(start: false)
        let response = await h.service.handle(.get("/openapi.yaml"))
        #expect(response.status == 200 && response.header("Content-Type") == "application/yaml")
        #expect(String(decoding: response.body, as: UTF8.self).hasPrefix("# InitLab HTTP API"))
        await h.stop()
    }

    /// Every route the server registers is a path in the document.
    @Test func everyRouteIsDocumented() {
        for route in Route.all {
            #expect(OpenAPIDocument.yaml.contains("\n  \(route.pattern):\n"), "\(route.pattern)")
        }
    }
}
