import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A scripted, fault-injecting HTTP/1.1 server on 127.0.0.1 (port chosen by the kernel) for the fetcher tests.
/// Each path has a list of behaviours: each request takes the next one, and the last one repeats.
final class FaultServer: @unchecked Sendable {
    enum Behaviour: Sendable {
        /// 200 with the bytes, or 206 for a `Range: bytes=N-` request when `honorRange` (416 past the end).
        case serve([UInt8], honorRange: Bool = true)
        /// An empty response with this status.
        case status(Int)
        case redirect(to: String)
        /// Announces the full (range-adjusted) length, sends only the first `after` bytes, closes the connection.
        case drop([UInt8], after: Int)
        /// Sends headers and the first `after` bytes, then sends nothing for `seconds`, then closes.
        case stall([UInt8], after: Int, seconds: Double)
    }

    struct Request: Sendable, Equatable {
        let path: String
        let range: String?
    }

    let port: UInt16
    private let listenFD: Int32
    private let lock = NSLock()
    private var scripts: [String: [Behaviour]] = [:]
    private var log: [Request] = []
    private var stopped = false

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw ServerError.socket(errno) }
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = 0
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0, listen(fd, 64) == 0 else {
            close(fd)
            throw ServerError.socket(errno)
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        listenFD = fd
        port = UInt16(bigEndian: addr.sin_port)
        let thread = Thread { [self] in acceptLoop() }
        thread.start()
    }

    enum ServerError: Error { case socket(Int32) }

    var baseURL: String { "http://127.0.0.1:\(port)/" }

    func script(_ path: String, _ behaviours: [Behaviour]) {
        lock.withLock { scripts[path] = behaviours }
    }

    func requests(_ path: String) -> [Request] {
        lock.withLock { log.filter { $0.path == path } }
    }

    func stop() {
        let first: Bool = lock.withLock {
            defer { stopped = true }
            return !stopped
        }
        guard first else { return }
        // Only shut the socket down: the accept loop closes it when it sees the stop. Closing it here let a
        // parallel test's new server get the same descriptor number while this loop was between two
        // `accept` calls, and this loop then answered that server's clients from its own script (a 404 for a
        // path it never had).
        shutdown(listenFD, Int32(SHUT_RDWR))
    }

    private func acceptLoop() {
        while true {
            let client = accept(listenFD, nil, nil)
            if lock.withLock({ stopped }) {
                if client >= 0 { close(client) }
                close(listenFD)
                return
            }
            if client < 0 { continue }
            let thread = Thread { [self] in
                handle(client)
                close(client)
            }
            thread.start()
        }
    }

    private func next(for path: String) -> Behaviour {
        lock.withLock {
            guard var list = scripts[path], let first = list.first else { return .status(404) }
            if list.count > 1 {
                list.removeFirst()
                scripts[path] = list
            }
            return first
        }
    }

    private func handle(_ fd: Int32) {
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var request = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 4096)
        while request.count < 65536 {
            let n = recv(fd, &chunk, chunk.count, 0)
            if n <= 0 { return }
            request += chunk[0..<n]
            if request.count >= 4, Array(request.suffix(4)) == [13, 10, 13, 10] { break }
        }
        let text = String(decoding: request, as: UTF8.self)
        let lines = text.components(separatedBy: "\r\n")
        let parts = lines.first?.split(separator: " ") ?? []
        guard parts.count >= 2 else { return }
        let path = String(parts[1])
        let range = lines.dropFirst().first { $0.lowercased().hasPrefix("range:") }.map {
            String($0.dropFirst("range:".count)).trimmingCharacters(in: .whitespaces)
        }
        lock.withLock { log.append(Request(path: path, range: range)) }

        switch next(for: path) {
        case .status(let code):
            send(fd, head(code, ["Content-Length": "0"]))
        case .redirect(let target):
            send(fd, head(302, ["Location": target, "Content-Length": "0"]))
        case .serve(let bytes, let honorRange):
            let (code, headers, body) = ranged(bytes, range: honorRange ? range : nil)
            send(fd, head(code, headers) + body)
        case .drop(let bytes, let after):
            let (code, headers, body) = ranged(bytes, range: range)
            send(fd, head(code, headers) + body.prefix(after))
        case .stall(let bytes, let after, let seconds):
            let (code, headers, body) = ranged(bytes, range: range)
            send(fd, head(code, headers) + body.prefix(after))
            Thread.sleep(forTimeInterval: seconds)
        }
    }

    /// Applies a `bytes=N-` range: 206 with the tail, 416 past the end, 200 without a range.
    private func ranged(_ bytes: [UInt8], range: String?) -> (Int, [String: String], [UInt8]) {
        if let range, range.hasPrefix("bytes="), range.hasSuffix("-"),
            let start = Int(range.dropFirst("bytes=".count).dropLast())
        {
            guard start < bytes.count else {
                return (416, ["Content-Range": "bytes */\(bytes.count)", "Content-Length": "0"], [])
            }
            return (
                206,
                ["Content-Range": "bytes \(start)-\(bytes.count - 1)/\(bytes.count)",
                 "Content-Length": "\(bytes.count - start)"],
                Array(bytes[start...])
            )
        }
        return (200, ["Content-Length": "\(bytes.count)"], bytes)
    }

    private func head(_ code: Int, _ headers: [String: String]) -> [UInt8] {
        var text = "HTTP/1.1 \(code) \(code < 400 ? "OK" : "Error")\r\nConnection: close\r\n"
        for (k, v) in headers.sorted(by: { $0.key < $1.key }) { text += "\(k): \(v)\r\n" }
        return Array((text + "\r\n").utf8)
    }

    private func send(_ fd: Int32, _ bytes: [UInt8]) {
        var sent = 0
        while sent < bytes.count {
            let n = bytes.withUnsafeBytes { raw in
                Glibc.send(fd, raw.baseAddress.map { $0 + sent }, bytes.count - sent, Int32(MSG_NOSIGNAL))
            }
            if n <= 0 { return }
            sent += n
        }
    }
}
