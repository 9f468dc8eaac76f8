import Foundation
import TestSupport
import Testing

@testable import InitLabService

@Suite(.offCooperativePool) struct OpenAPIDocumentTests {
    /// The compiled-in document is the top-level file, byte for byte (Resources/openapi.yaml links to it).
    @Test func compiledInDocumentIsTheTopLevelFile() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let file = try Data(contentsOf: root.appendingPathComponent("openapi.yaml"))
        #expect(OpenAPIDocument.bytes == Array(file))
    }

    @Test func servedAtOpenAPIYaml() async throws {
        let h = try ServiceHarness(start: false)
        let response = await h.server.handle(.get("/openapi.yaml"))
        #expect(response.status == 200 && response.header("Content-Type") == "application/yaml")
        #expect(Array(response.body) == OpenAPIDocument.bytes)
        #expect(String(decoding: response.body, as: UTF8.self).hasPrefix("# InitLab HTTP API"))
        await h.stop()
    }

    /// Every route the assembled router serves is documented, with its method, in openapi.yaml — and every
    /// documented operation is served.
    @Test func everyRouteIsDocumentedAndEveryOperationServed() async throws {
        let h = try ServiceHarness(start: false)
        let lines = OpenAPIDocument.yaml.split(separator: "\n").map(String.init)
        var documented: Set<String> = []
        var path: String?
        for line in lines {
            if line.hasPrefix("  /"), line.hasSuffix(":") { path = String(line.dropFirst(2).dropLast()) }
            else if !line.hasPrefix("  ") { path = nil }
            if let path, line.hasPrefix("    "), !line.hasPrefix("     "), line.hasSuffix(":") {
                let key = line.trimmingCharacters(in: .whitespaces).dropLast()
                if ["get", "post", "put", "delete", "patch"].contains(String(key)) { documented.insert("\(key.uppercased()) \(path)") }
            }
        }
        let served = Set(h.server.router.registeredRoutes.map { "\($0.method.rawValue) \($0.pattern)" })
        #expect(served == documented, "served but undocumented: \(served.subtracting(documented)); documented but not served: \(documented.subtracting(served))")
        #expect(served.count >= 20)
        await h.stop()
    }
}
