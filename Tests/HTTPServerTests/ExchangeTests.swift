import Testing

@testable import HTTPServer

/// Runs raw bytes through the state machine and the router together, as a connection would, with a fast
/// socket; returns each response's status and whether the connection was closed.
func exchange(_ input: String, limits: ConnectionLimits, router: Router) async -> (statuses: [Int], closed: Bool, output: String) {
    var machine = ConnectionStateMachine(limits: limits, now: 0)
    var queue: [Action] = machine.start() + machine.received(Array(input.utf8), now: 0)
    var statuses: [Int] = []
    var output = ""
    var closed = false
    while !queue.isEmpty {
        let action = queue.removeFirst()
        switch action {
        case .write(let bytes):
            output += String(decoding: bytes, as: UTF8.self)
            queue += machine.didWrite(bytes.count, now: 0)
        case .dispatch(let head, let body):
            let request = HTTPRequest(method: head.method, target: head.target, headers: head.headers, body: body, version: head.version)
            let routed = await router.respond(to: request)
            statuses.append(routed.response.status.code)
            let bytes: [UInt8] = if case .bytes(let b) = routed.response.body { b } else { [] }
            queue += machine.respond(status: routed.response.status, headers: routed.response.headers, bytes: bytes, now: 0)
        case .respondWithError(let error):
            statuses.append(error.status.code)
            let r = router.problems.response(for: error, instance: nil, requestID: "r")
            let bytes: [UInt8] = if case .bytes(let b) = r.body { b } else { [] }
            queue += machine.respond(status: r.status, headers: r.headers, bytes: bytes, now: 0)
        case .close:
            closed = true
        default:
            break
        }
    }
    return (statuses, closed, output)
}

@Suite("Status mapping end to end (state machine + router)")
struct ExchangeTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var input: String
        var status: Int
        var closes: Bool
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        .init(name: "ok keeps alive", input: "GET /v1/experiments HTTP/1.1\r\nHost: h\r\n\r\n", status: 200, closes: false),
        .init(name: "404 keeps alive", input: "GET /x HTTP/1.1\r\nHost: h\r\n\r\n", status: 404, closes: false),
        .init(name: "405 via router keeps alive", input: "PUT /v1/experiments HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n", status: 405, closes: false),
        .init(name: "400 missing host closes", input: "GET / HTTP/1.1\r\n\r\n", status: 400, closes: true),
        .init(name: "400 CL+TE closes", input: "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", status: 400, closes: true),
        .init(name: "400 bad chunk closes", input: "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nxyz\r\n", status: 400, closes: true),
        .init(name: "413 closes", input: "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 100\r\n\r\n", status: 413, closes: true),
        .init(name: "414 closes", input: "GET /" + String(repeating: "a", count: 200) + " HTTP/1.1\r\nHost: h\r\n\r\n", status: 414, closes: true),
        .init(name: "431 closes", input: "GET / HTTP/1.1\r\nHost: h\r\nX: " + String(repeating: "a", count: 300) + "\r\n\r\n", status: 431, closes: true),
        .init(name: "501 method closes", input: "BREW / HTTP/1.1\r\nHost: h\r\n\r\n", status: 501, closes: true),
        .init(name: "501 TE closes", input: "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n", status: 501, closes: true),
        .init(name: "505 closes", input: "GET / HTTP/3.0\r\nHost: h\r\n\r\n", status: 505, closes: true),
    ]

    static let limits = ConnectionLimits(parser: .init(maxRequestLineBytes: 128, maxHeaderBytes: 256, maxHeaderCount: 10, maxBodyBytes: 64))

    @Test(arguments: cases)
    func statusAndClose(_ c: Case) async {
        let result = await exchange(c.input, limits: Self.limits, router: makeRouter())
        #expect(result.statuses == [c.status])
        #expect(result.closed == c.closes)
        #expect(result.output.contains("Connection: close\r\n") == c.closes)
        if c.status >= 400 { #expect(result.output.contains("application/problem+json")) }
    }

    @Test func timeoutIs408AndCloses() async {
        var machine = ConnectionStateMachine(limits: .init(headerTimeout: 500_000_000), now: 0)
        _ = machine.start()
        _ = machine.received(Array("GET / HT".utf8), now: 100)
        let fired = machine.deadlineFired(now: 500_000_000)
        #expect(errors(fired) == [.requestTimeout])
        #expect(ServerError.requestTimeout.status.code == 408)
        let r = machine.respond(status: .requestTimeout, headers: [:], bytes: [], now: 500_000_000)
        #expect(writes(r).contains("Connection: close"))
        #expect(closeMode(machine.didWrite(writtenCount(r), now: 500_000_001)) == .graceful)
    }

    @Test func pipelinedAnswersInOrderThroughRouter() async {
        let input = "GET /v1/experiments/1 HTTP/1.1\r\nHost: h\r\n\r\nGET /nope HTTP/1.1\r\nHost: h\r\n\r\nGET /v1/experiments/3 HTTP/1.1\r\nHost: h\r\n\r\n"
        let result = await exchange(input, limits: .init(), router: makeRouter())
        #expect(result.statuses == [200, 404, 200])
        let one = result.output.range(of: "id=1")
        let three = result.output.range(of: "id=3")
        #expect(one != nil && three != nil)
        if let one, let three { #expect(one.lowerBound < three.lowerBound) }
    }
}
