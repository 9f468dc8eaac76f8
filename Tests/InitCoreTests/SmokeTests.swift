import Foundation
import Testing
@testable import InitCore

@Suite struct SmokeTests {
    @Test func tinyRun() throws {
        let spec = ExperimentSpec(depth: 4, width: 16, batch: 8, initializer: InitScheme(name: "kaiming_normal"), activation: ActivationSpec(name: "relu"))
        let r = try ExperimentRunner(matmul: Matmul(threads: 1)).run(spec)
        let json = String(decoding: try r.encodedJSON(), as: UTF8.self)
        print(json.prefix(3000))
    }
}
