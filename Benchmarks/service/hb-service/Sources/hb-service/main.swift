// The comparison app of Benchmarks/service/run.sh: Hummingbird 2 at its defaults, serving
//   GET /healthz              → {"status":"ok"}
//   GET /v1/experiments/{id}  → the job's JSON, read per request from the `jobs` row of the SQLite file that
//                               `initlab serve` wrote (opened read-only through one GRDB DatabasePool, async
//                               read), and written the way InitLab writes it: sorted keys around the stored
//                               spec bytes, with an ETag. 404 when the row does not exist.
// Usage: hb-service PORT DATABASE
import Foundation
import GRDB
import Hummingbird

let arguments = CommandLine.arguments
guard arguments.count == 3, let port = Int(arguments[1]) else {
    FileHandle.standardError.write(Data("usage: hb-service PORT DATABASE\n".utf8))
    exit(2)
}
var configuration = Configuration()
configuration.readonly = true
let pool = try DatabasePool(path: arguments[2], configuration: configuration)

enum Render {
/// RFC 3339 UTC with milliseconds, as InitLab writes it (gmtime_r and fixed-width digits).
static func rfc3339(_ seconds: Double) -> String {
    let totalMillis = Int64((seconds * 1000).rounded(.down))
    var time = time_t(totalMillis / 1000)
    var parts = tm()
    gmtime_r(&time, &parts)
    var out = [UInt8]()
    out.reserveCapacity(24)
    func digits(_ value: Int, _ width: Int) {
        var divisor = 1
        for _ in 1..<width { divisor *= 10 }
        var v = value
        while divisor > 0 {
            out.append(UInt8(48 + v / divisor))
            v %= divisor
            divisor /= 10
        }
    }
    digits(Int(parts.tm_year) + 1900, 4); out.append(45)
    digits(Int(parts.tm_mon) + 1, 2); out.append(45)
    digits(Int(parts.tm_mday), 2); out.append(84)
    digits(Int(parts.tm_hour), 2); out.append(58)
    digits(Int(parts.tm_min), 2); out.append(58)
    digits(Int(parts.tm_sec), 2); out.append(46)
    digits(Int(totalMillis % 1000), 3); out.append(90)
    return String(decoding: out, as: UTF8.self)
}

static func jobJSON(_ row: Row) -> (body: ByteBuffer, etag: String) {
    let id: String = row["id"]
    let status: String = row["status"]
    let version: Int = row["version"]
    var out = "{\"attempt\":\(row["attempt"] as Int)"
    out += ",\"created_at\":\"\(rfc3339(row["created_at"]))\""
    if let finished = row["finished_at"] as Double? { out += ",\"finished_at\":\"\(rfc3339(finished))\"" }
    out += ",\"id\":\"\(id)\""
    out += ",\"progress\":{\"layers_done\":\(row["layers_done"] as Int),\"layers_total\":\(row["layers_total"] as Int)}"
    if status == "succeeded" { out += ",\"result_url\":\"/v1/experiments/\(id)/result\"" }
    out += ",\"spec\":"
    var buffer = ByteBuffer(string: out)
    let spec: Data = row["spec"]
    buffer.writeBytes(spec)
    var tail = ""
    if let started = row["started_at"] as Double? { tail += ",\"started_at\":\"\(rfc3339(started))\"" }
    tail += ",\"status\":\"\(status)\"}"
    buffer.writeString(tail)
    return (buffer, "\"\(id.prefix(8))-\(version)\"")
}
}

let json: HTTPFields = [.contentType: "application/json"]
let router = Router()
router.get("/healthz") { _, _ in
    Response(status: .ok, headers: json, body: .init(byteBuffer: ByteBuffer(string: "{\"status\":\"ok\"}")))
}
router.get("/v1/experiments/{id}") { _, context in
    let id = try context.parameters.require("id")
    let row = try await pool.read { db in
        try Row.fetchOne(
            db,
            sql: "SELECT id, status, spec, layers_done, layers_total, attempt, version, created_at, started_at, finished_at FROM jobs WHERE id = ?",
            arguments: [id])
    }
    guard let row else { throw HTTPError(.notFound) }
    let (body, etag) = Render.jobJSON(row)
    var headers = json
    headers[.eTag] = etag
    return Response(status: .ok, headers: headers, body: .init(byteBuffer: body))
}
let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)))
try await app.runService()
