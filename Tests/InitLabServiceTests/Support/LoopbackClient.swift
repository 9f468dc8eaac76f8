import Dispatch
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A minimal HTTP/1.1 client for end-to-end tests: one request per connection (`Connection: close`), raw
/// bytes in and out, so tests see exactly what the server wrote. Blocking socket calls run on a thread of
/// their own.
struct LoopbackClient: Sendable {
    let port: Int

    struct Response: Sendable {
        var status: Int
        var headers: [(String, String)]
        var body: Data

        func header(_ name: String) -> String? {
            headers.first { $0.0.caseInsensitiveCompare(name) == .orderedSame }?.1
        }

        var json: [String: Any] { jsonObject(body) }
    }

    func send(
        _ method: String, _ target: String, headers: [(String, String)] = [], body: Data? = nil
    ) async throws -> Response {
        var head = "\(method) \(target) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        if let body { head += "Content-Length: \(body.count)\r\n" }
        head += "\r\n"
        var request = Data(head.utf8)
        if let body { request.append(body) }
        let raw = try await exchange(request)
        return try Self.parse(raw)
    }

    func post(_ target: String, json: String, headers: [(String, String)] = []) async throws -> Response {
        try await send("POST", target, headers: [("Content-Type", "application/json")] + headers, body: Data(json.utf8))
    }

    func get(_ target: String, headers: [(String, String)] = []) async throws -> Response {
        try await send("GET", target, headers: headers)
    }

    private func exchange(_ request: Data) async throws -> Data {
        let port = self.port
        // A thread of its own: neither the cooperative pool nor Dispatch's global queues (which the server's
        // connections target) may block on a socket, or the server under test starves on a 2-core machine.
        return try await withCheckedThrowingContinuation { continuation in
            let thread = Thread { continuation.resume(with: Result { try Self.blockingExchange(port: port, request: request) }) }
            thread.stackSize = 1 << 20
            thread.start()
        }
    }

    private static func blockingExchange(port: Int, request: Data) throws -> Data {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestFailure("socket failed") }
        defer { close(fd) }
        var timeout = timeval(tv_sec: 90, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else { throw TestFailure("connect failed: errno \(errno)") }
        try request.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let sent = Glibc.send(fd, buffer.baseAddress.map { $0 + offset }, buffer.count - offset, Int32(MSG_NOSIGNAL))
                guard sent > 0 else { throw TestFailure("send failed: errno \(errno)") }
                offset += sent
            }
        }
        var response = Data()
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = recv(fd, &chunk, chunk.count, 0)
            if count > 0 {
                response.append(contentsOf: chunk[0..<count])
            } else if count == 0 || errno == ECONNRESET {
                break
            } else {
                throw TestFailure("recv failed: errno \(errno)")
            }
        }
        return response
    }

    static func parse(_ raw: Data) throws -> Response {
        guard let split = raw.range(of: Data("\r\n\r\n".utf8)) else { throw TestFailure("no header end in \(raw.count) bytes") }
        let head = String(decoding: raw[raw.startIndex..<split.lowerBound], as: UTF8.self)
        var lines = head.components(separatedBy: "\r\n")
        let statusLine = lines.removeFirst().split(separator: " ")
        guard statusLine.count >= 2, let status = Int(statusLine[1]) else { throw TestFailure("bad status line") }
        let headers = lines.compactMap { line -> (String, String)? in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            return (String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }
        return Response(status: status, headers: headers, body: Data(raw[split.upperBound...]))
    }
}
