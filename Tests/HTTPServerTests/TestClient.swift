import Dispatch
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Runs blocking socket code on a thread of its own: never on the cooperative pool that the server's handlers
/// need, nor on Dispatch's global queues that its connections target (both are only as wide as the machine
/// has cores; blocking them on a 2-core machine would starve the server under test).
func offPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread { continuation.resume(with: Result { try body() }) }
        thread.stackSize = 1 << 20
        thread.start()
    }
}

struct ClientError: Error, CustomStringConvertible {
    var description: String
}

/// A parsed response as seen by the test client.
struct ClientResponse: Sendable {
    var status: Int
    var headers: [(String, String)]
    var body: [UInt8]

    func header(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }

    var text: String { String(decoding: body, as: UTF8.self) }
}

/// A blocking test client on a real socket, with a receive timeout so no test can hang.
final class TestClient: @unchecked Sendable {
    private(set) var fd: Int32
    private var buffer: [UInt8] = []

    init(port: Int, host: String = "127.0.0.1", timeout: Double = 5) throws {
        let isV6 = host.contains(":")
        fd = socket(isV6 ? AF_INET6 : AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw ClientError(description: "socket") }
        var tv = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - Double(Int(timeout))) * 1e6))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        let rc: Int32
        if isV6 {
            var addr = sockaddr_in6()
            addr.sin6_family = sa_family_t(AF_INET6)
            addr.sin6_port = UInt16(port).bigEndian
            inet_pton(AF_INET6, host, &addr.sin6_addr)
            rc = withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
            }
        } else {
            var addr = sockaddr_in()
            addr.sin_family = sa_family_t(AF_INET)
            addr.sin_port = UInt16(port).bigEndian
            inet_pton(AF_INET, host, &addr.sin_addr)
            rc = withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
        }
        guard rc == 0 else {
            // A class whose init throws after all its properties are set still runs deinit: close here and
            // mark the descriptor gone, or deinit would close a number that may already be reused elsewhere.
            let e = errno
            close(fd)
            fd = -1
            throw ClientError(description: "connect errno \(e)")
        }
    }

    deinit { if fd >= 0 { close(fd) } }

    /// Closes the socket now (the peer sees EOF), as a client that gives up does.
    func closeNow() {
        if fd >= 0 { close(fd) }
        fd = -1
    }

    /// Closes the socket with SO_LINGER 0: the peer gets RST (a client that crashed or a middlebox that gave up).
    func resetNow() {
        guard fd >= 0 else { return }
        var option = linger(l_onoff: 1, l_linger: 0)
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &option, socklen_t(MemoryLayout<linger>.size))
        close(fd)
        fd = -1
    }

    /// This end's address, `host:port`, as the server's access log names its peer.
    func localAddress() -> String {
        var addr = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        var text = [CChar](repeating: 0, count: 64)
        inet_ntop(AF_INET, &addr.sin_addr, &text, socklen_t(text.count))
        let host = String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return "\(host):\(UInt16(bigEndian: addr.sin_port))"
    }

    func setReceiveBuffer(_ bytes: Int32) {
        var v = bytes
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, socklen_t(MemoryLayout<Int32>.size))
    }

    func send(_ s: String) throws { try send(Array(s.utf8)) }

    func send(_ bytes: [UInt8]) throws {
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw ClientError(description: "send errno \(errno)") }
            sent += n
        }
    }

    /// Reads more bytes; returns false on EOF, throws on timeout or error.
    private func fill() throws -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if n > 0 {
            buffer += chunk[0..<n]
            return true
        }
        if n == 0 { return false }
        throw ClientError(description: errno == EAGAIN ? "timeout" : "recv errno \(errno)")
    }

    /// Whether the server closed the connection (EOF or reset) before `timeout`; nothing else may arrive.
    func readUntilClosed() throws -> [UInt8] {
        while true {
            do {
                if try !fill() { return buffer }
            } catch let e as ClientError where e.description.hasPrefix("recv errno") {
                return buffer  // reset counts as closed
            }
        }
    }

    private func line() throws -> String? {
        while true {
            if let i = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                let l = String(decoding: buffer[0..<i], as: UTF8.self).trimmingCharacters(in: .init(charactersIn: "\r"))
                buffer.removeSubrange(0...i)
                return l
            }
            guard try fill() else { return nil }
        }
    }

    private func take(_ n: Int) throws -> [UInt8] {
        while buffer.count < n {
            guard try fill() else { throw ClientError(description: "EOF in body") }
        }
        let out = Array(buffer[0..<n])
        buffer.removeSubrange(0..<n)
        return out
    }

    /// Reads one response (skipping 1xx unless `interim`); `head` for responses to HEAD.
    func readResponse(head: Bool = false, interim: Bool = false) throws -> ClientResponse {
        guard let statusLine = try line() else { throw ClientError(description: "EOF before status line") }
        let parts = statusLine.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, let status = Int(parts[1]) else { throw ClientError(description: "bad status line \(statusLine)") }
        var headers: [(String, String)] = []
        while let l = try line(), !l.isEmpty {
            guard let colon = l.firstIndex(of: ":") else { continue }
            headers.append((String(l[..<colon]), l[l.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
        }
        var response = ClientResponse(status: status, headers: headers, body: [])
        if status < 200 {
            return interim ? response : try readResponse(head: head)
        }
        if head || status == 204 || status == 304 { return response }
        if response.header("transfer-encoding")?.lowercased() == "chunked" {
            while true {
                guard let sizeLine = try line(), let size = Int(sizeLine.split(separator: ";")[0], radix: 16) else {
                    throw ClientError(description: "bad chunk")
                }
                if size == 0 {
                    while let t = try line(), !t.isEmpty {}
                    break
                }
                response.body += try take(size)
                _ = try take(2)
            }
        } else if let length = response.header("content-length").flatMap({ Int($0) }) {
            response.body = try take(length)
        } else {
            response.body = try readUntilClosed()
            buffer = []
        }
        return response
    }

    /// One chunk of a chunked body, as raw "size CRLF data CRLF" text (for streaming tests).
    func readChunk() throws -> String? {
        guard let sizeLine = try line(), let size = Int(sizeLine, radix: 16) else { return nil }
        if size == 0 { return nil }
        let data = try take(size)
        _ = try take(2)
        return String(decoding: data, as: UTF8.self)
    }
}
