#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A failure to set up the listening socket.
public struct SocketError: Error, Sendable, CustomStringConvertible {
    public var operation: String
    public var errno: Int32

    public var description: String { "\(operation) failed (errno \(errno))" }
}

/// Thin wrappers over the POSIX socket calls the server needs.
enum Socket {
    /// Creates a non-blocking listening socket bound to `host:port`; returns it and the bound port.
    static func listen(host: String, port: Int, backlog: Int) throws(SocketError) -> (fd: Int32, port: Int) {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV
        var result: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, String(port), &hints, &result)
        guard rc == 0, let first = result else { throw SocketError(operation: "getaddrinfo(\(host))", errno: EINVAL) }
        defer { freeaddrinfo(first) }
        var lastError = SocketError(operation: "bind", errno: EADDRNOTAVAIL)
        var info: UnsafeMutablePointer<addrinfo>? = first
        while let ai = info {
            info = ai.pointee.ai_next
            let fd = socket(ai.pointee.ai_family, Int32(SOCK_STREAM.rawValue), 0)
            guard fd >= 0 else {
                lastError = SocketError(operation: "socket", errno: errno)
                continue
            }
            var one: Int32 = 1
            _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            guard bind(fd, ai.pointee.ai_addr, ai.pointee.ai_addrlen) == 0 else {
                lastError = SocketError(operation: "bind", errno: errno)
                close(fd)
                continue
            }
            guard Glibc.listen(fd, Int32(clamping: backlog)) == 0 else {
                lastError = SocketError(operation: "listen", errno: errno)
                close(fd)
                continue
            }
            guard setNonBlocking(fd) else {
                lastError = SocketError(operation: "fcntl", errno: errno)
                close(fd)
                continue
            }
            return (fd, localPort(fd) ?? port)
        }
        throw lastError
    }

    static func setNonBlocking(_ fd: Int32) -> Bool {
        let flags = fcntl(fd, F_GETFL, 0)
        return flags >= 0 && fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0
    }

    /// Per accepted socket: non-blocking, close-on-exec, TCP_NODELAY (each response goes out in one send, and
    /// a streamed chunk must not wait for a delayed ACK).
    static func configureAccepted(_ fd: Int32) -> Bool {
        guard setNonBlocking(fd) else { return false }
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        var one: Int32 = 1
        _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        return true
    }

    static func localPort(_ fd: Int32) -> Int? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let rc = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard rc == 0 else { return nil }
        return describe(storage).port
    }

    private static func cString(_ buffer: [CChar]) -> String {
        String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// `host` and `port` of a socket address; IPv6 hosts are bracketed.
    static func describe(_ storage: sockaddr_storage) -> (host: String, port: Int) {
        var s = storage
        return withUnsafePointer(to: &s) { pointer in
            var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
            switch Int32(pointer.pointee.ss_family) {
            case AF_INET:
                return pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { sin in
                    var addr = sin.pointee.sin_addr
                    inet_ntop(AF_INET, &addr, &buffer, socklen_t(buffer.count))
                    return (cString(buffer), Int(UInt16(bigEndian: sin.pointee.sin_port)))
                }
            case AF_INET6:
                return pointer.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { sin6 in
                    var addr = sin6.pointee.sin6_addr
                    inet_ntop(AF_INET6, &addr, &buffer, socklen_t(buffer.count))
                    return ("[\(cString(buffer))]", Int(UInt16(bigEndian: sin6.pointee.sin6_port)))
                }
            default:
                return ("?", 0)
            }
        }
    }
}
