// GET /bench → {"ok":true,"server":"hummingbird","n":42} on 127.0.0.1:PORT (argv[1], default 8181).
import Foundation
import Hummingbird

struct BenchBody: ResponseEncodable {
    let ok: Bool
    let server: String
    let n: Int
}

let port = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1]) ?? 8181 : 8181
let router = Router()
router.get("/bench") { _, _ in BenchBody(ok: true, server: "hummingbird", n: 42) }
let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)))
try await app.runService()
