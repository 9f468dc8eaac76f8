// GET /bench → {"n":42,"ok":true,"server":"initlab"} on 127.0.0.1:PORT (argv[1], default 8182), via InitLab's HTTPServer.
import HTTPServer
import Logging

struct BenchBody: Encodable, Sendable {
    let ok: Bool
    let server: String
    let n: Int
}

let port = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1]) ?? 8182 : 8182
var logger = Logger(label: "ours-bench")
logger.logLevel = .warning
let router = Router()
router.get("/bench") { _, _ in try .json(BenchBody(ok: true, server: "initlab", n: 42)) }
var configuration = HTTPServerConfiguration(host: "127.0.0.1", port: port)
configuration.maxConnections = 4096
configuration.maxRequestsPerConnection = 1_000_000
configuration.backlog = 1024
let server = HTTPServer(configuration: configuration, router: router, logger: logger)
try server.start()
// Serves until run.sh ends the process (SIGTERM's default action: a benchmark has nothing to drain).
while true { try await Task.sleep(for: .seconds(3600)) }
