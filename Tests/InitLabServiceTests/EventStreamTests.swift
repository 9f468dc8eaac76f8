import Foundation
import HTTPServer
import Synchronization
import TestSupport
import Testing

@testable import InitLabService

#if canImport(Glibc)
import Glibc
#endif

/// Parsed SSE events: (id, event, data); comments become ("", ":", text).
func parseSSE(_ text: String) -> [(id: String?, event: String, data: String)] {
    var events: [(id: String?, event: String, data: String)] = []
    for block in text.components(separatedBy: "\n\n") where !block.isEmpty {
        var id: String?
        var event = "message"
        var data: [String] = []
        for line in block.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix(":") { event = ":" ; data.append(String(line.dropFirst())) }
            else if line.hasPrefix("id: ") { id = String(line.dropFirst(4)) }
            else if line.hasPrefix("event: ") { event = String(line.dropFirst(7)) }
            else if line.hasPrefix("data: ") { data.append(String(line.dropFirst(6))) }
        }
        events.append((id, event, data.joined(separator: "\n")))
    }
    return events
}

final class Collector: Sendable {
    let text = Mutex("")
    func write(_ s: String) { text.withLock { $0 += s } }
}

@Suite(.offCooperativePool) struct EventStreamTests {
    @Test func liveStreamThenReplayAndResume() async throws {
        var visualization = VisualizationConfiguration()
        visualization.heartbeat = .milliseconds(30)
        let harness = try VizHarness(layerDelay: .milliseconds(15), visualization: visualization)
        defer { Task { await harness.stop() } }
        let id = try await harness.submit(spec(depth: 6))
        let stream = try await harness.service.eventStream(
            id: id, request: .get("/v1/experiments/\(id)/events"), configuration: harness.viz.configuration)
        let collector = Collector()
        try await stream.run { collector.write($0) }
        let events = parseSSE(collector.text.withLock { $0 })

        // Opens with a status snapshot carrying the retry hint; progress ids rise; 6 layers; done last.
        #expect(events.first?.event == "status")
        let numbered = events.filter { $0.id != nil }
        let ids = numbered.compactMap { $0.id.flatMap(Int.init) }
        #expect(ids == ids.sorted() && Set(ids).count == ids.count, "ids strictly increase: \(ids)")
        #expect(numbered.filter { $0.event == "progress" }.last?.id == "12")
        let layers = numbered.filter { $0.event == "layer" }
        #expect(layers.map(\.id) == (13...18).map { String($0) })
        #expect(numbered.last?.event == "done" && numbered.last?.id == "19")
        #expect(numbered.last?.data.contains("\"status\":\"succeeded\"") == true)
        // Each layer event is the contract's layer object, numbers intact.
        let result = try ChartResult.decode(await harness.server.handle(.get("/v1/experiments/\(id)/result")).body)
        for (event, layer) in zip(layers, result.layers) {
            let decoded = try JSONDecoder().decode(ChartResult.Layer.self, from: Data(event.data.utf8))
            #expect(decoded == layer)
        }
        #expect(events.filter { $0.event == ":" }.allSatisfy { $0.data == " heartbeat" })

        // Resuming after layer 3 (id 15) replays only what follows, from the stored result.
        let resumed = try await harness.service.eventStream(
            id: id, request: .get("/v1/experiments/\(id)/events", headers: [("Last-Event-ID", "15")]),
            configuration: harness.viz.configuration)
        let second = Collector()
        try await resumed.run { second.write($0) }
        let replay = parseSSE(second.text.withLock { $0 }).filter { $0.id != nil }
        #expect(replay.map(\.id) == ["16", "17", "18", "19"])
        #expect(replay.map(\.event) == ["layer", "layer", "layer", "done"])
    }

    @Test func heartbeatWhileQueuedAndBadRequests() async throws {
        var visualization = VisualizationConfiguration()
        visualization.heartbeat = .milliseconds(20)
        let harness = try VizHarness(layerDelay: .milliseconds(100), visualization: visualization)
        defer { Task { await harness.stop() } }
        // 2 × 200 layer steps of 100 ms: far longer than the wait below, cancelled once a heartbeat arrived.
        // (The generous timeout absorbs a cooperative pool starved by other suites running in parallel.)
        let id = try await harness.submit(spec(depth: 200))
        let stream = try await harness.service.eventStream(
            id: id, request: .get("/v1/experiments/\(id)/events"), configuration: harness.viz.configuration)
        let collector = Collector()
        let task = Task { try await stream.run { collector.write($0) } }
        _ = await eventually(timeout: .seconds(30)) { collector.text.withLock { $0 }.contains(": heartbeat") }
        _ = await harness.server.handle(.post("/v1/experiments/\(id)/cancel", json: ""))
        try await task.value
        let events = parseSSE(collector.text.withLock { $0 })
        #expect(events.contains { $0.event == ":" })
        #expect(events.last?.event == "done" && events.last?.data.contains("cancelled") == true)

        func problem(_ request: HTTPRequest) async -> Int? {
            let reply = await harness.server.handle(request)
            return reply.status == 200 ? nil : reply.status
        }
        #expect(await problem(.get("/v1/experiments/\(id)/events", headers: [("Last-Event-ID", "abc")])) == 400)
        #expect(await problem(.get("/v1/experiments/\(id)/events", headers: [("Last-Event-ID", "")])) == 400)
        #expect(await problem(.get("/v1/experiments/\(id)/events", headers: [("Last-Event-ID", "-1")])) == 400)
        #expect(await problem(.get("/v1/experiments/\(id)/events", query: [("since", "1")])) == 400)
        #expect(await problem(.get("/v1/experiments/\(UUID().uuidString.lowercased())/events")) == 404)
    }

    /// The same stream over a real loopback socket through the HTTP server and router, with resumption.
    @Test func overLoopbackSocket() async throws {
        let harness = try VizHarness(layerDelay: .milliseconds(5)) { $0.corsOrigins = ["http://dash.example"] }
        defer { Task { await harness.stop() } }
        var configuration = HTTPServerConfiguration()
        configuration.port = 0
        let server = HTTPServer(configuration: configuration, router: harness.server.router, logger: quietLogger())
        let port = try server.start()
        defer { Task { await server.shutdown() } }

        let id = try await harness.submit(spec(depth: 4))
        let first = try await rawGET(port: port, path: "/v1/experiments/\(id)/events", headers: ["Origin: http://dash.example"])
        #expect(first.head.hasPrefix("HTTP/1.1 200"))
        #expect(first.head.lowercased().contains("content-type: text/event-stream"))
        #expect(first.head.lowercased().contains("access-control-allow-origin: http://dash.example"))
        let events = parseSSE(first.body).filter { $0.id != nil }
        #expect(events.last?.event == "done" && events.last?.id == "13")
        #expect(events.filter { $0.event == "layer" }.count == 4)

        let resumed = try await rawGET(port: port, path: "/v1/experiments/\(id)/events", headers: ["Last-Event-ID: 11"])
        #expect(parseSSE(resumed.body).filter { $0.id != nil }.map(\.id) == ["12", "13"])

        let svg = try await rawGET(port: port, path: "/v1/experiments/\(id)/plot.svg?metric=dead_fraction", headers: ["Origin: http://dash.example"])
        #expect(svg.head.hasPrefix("HTTP/1.1 200"))
        #expect(svg.head.lowercased().contains("access-control-expose-headers"))
        #expect(svg.head.lowercased().contains("etag"))
        let bad = try await rawGET(port: port, path: "/v1/experiments/\(id)/plot.svg?metric=nope", headers: [])
        #expect(bad.head.hasPrefix("HTTP/1.1 400"))
    }
}

/// A blocking HTTP/1.1 GET with `Connection: close` on a background thread; de-chunks the body.
func rawGET(port: Int, path: String, headers: [String]) async throws -> (head: String, body: String) {
    try await withCheckedThrowingContinuation { continuation in
        Thread {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard connected == 0 else {
                close(fd)
                continuation.resume(throwing: VizTestFailure("connect failed"))
                return
            }
            var timeout = timeval(tv_sec: 20, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            let request = (["GET \(path) HTTP/1.1", "Host: 127.0.0.1", "Connection: close"] + headers).joined(separator: "\r\n") + "\r\n\r\n"
            _ = request.withCString { send(fd, $0, strlen($0), 0) }
            var data = [UInt8]()
            var buffer = [UInt8](repeating: 0, count: 65536)
            while true {
                let n = recv(fd, &buffer, buffer.count, 0)
                if n <= 0 { break }
                data.append(contentsOf: buffer[0..<n])
            }
            close(fd)
            let text = String(decoding: data, as: UTF8.self)
            guard let split = text.range(of: "\r\n\r\n") else {
                continuation.resume(throwing: VizTestFailure("no response head: \(text.prefix(200))"))
                return
            }
            let head = String(text[..<split.lowerBound])
            var body = String(text[split.upperBound...])
            if head.lowercased().contains("transfer-encoding: chunked") { body = dechunk(body) }
            continuation.resume(returning: (head, body))
        }.start()
    }
}

func dechunk(_ text: String) -> String {
    var bytes = Array(text.utf8)[...]
    var out = [UInt8]()
    while let lineEnd = bytes.firstIndex(of: UInt8(ascii: "\r")) {
        let sizeText = String(decoding: bytes[bytes.startIndex..<lineEnd], as: UTF8.self)
        guard let size = Int(sizeText.split(separator: ";").first ?? "", radix: 16), size > 0 else { break }
        let start = lineEnd + 2
        guard start + size <= bytes.endIndex else { break }
        out.append(contentsOf: bytes[start..<start + size])
        bytes = bytes[(start + size + 2)...]
    }
    return String(decoding: out, as: UTF8.self)
}
