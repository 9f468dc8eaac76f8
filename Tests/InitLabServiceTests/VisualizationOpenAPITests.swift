import Foundation
import Testing

@testable import InitLabService

@Suite struct VisualizationOpenAPITests {
    /// Every route the visualization API registers is documented, with its method, in openapi.yaml.
    @Test func documentsEveryRoute() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let yaml = try String(contentsOf: root.appendingPathComponent("openapi.yaml"), encoding: .utf8)
        let lines = yaml.split(separator: "\n").map(String.init)
        let routes = VisualizationAPI.routes.map { ($0.0.rawValue.lowercased(), $0.1) } + [("get", "/v1/experiments/{id}/events")]
        for (method, pattern) in routes {
            let start = try #require(lines.firstIndex(of: "  \(pattern):"), "\(pattern) missing")
            let block = lines[(start + 1)...].prefix { $0.hasPrefix("    ") }
            #expect(block.contains("    \(method):"), "\(method.uppercased()) \(pattern) missing")
        }
    }
}
