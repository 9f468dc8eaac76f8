#if canImport(Glibc)
import Glibc
import CLinux
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// Where the server writes its access log (one logfmt line per request).
public enum AccessLogDestination: Sendable, Equatable {
    /// Standard error, where the service's other log lines go.
    case standardError
    case standardOutput
    /// An open descriptor owned by the caller (the server never closes it).
    case fileDescriptor(Int32)
    /// No access log.
    case disabled

    var fileDescriptor: Int32? {
        switch self {
        case .standardError: STDERR_FILENO
        case .standardOutput: STDOUT_FILENO
        case .fileDescriptor(let fd): fd
        case .disabled: nil
        }
    }
}

/// The access log, with no I/O on the request path: a connection formats the finished request's logfmt line
/// (about half a microsecond) into a bounded in-memory buffer; one dedicated thread writes the buffer with one
/// `write(2)` per batch, every `flushInterval` or as soon as `batchSize` lines wait. When the buffer is full (the
/// destination cannot keep up) lines are dropped and counted, and the next batch reports how many: a slow log
/// never slows the server or grows its memory. `close()` writes everything buffered, then stops the thread.
///
/// Why the lines are formatted where requests finish: the thread used to format them, 1,024 at a time, in bursts
/// of about a millisecond on a core that an event loop or a client needed, and that was `/healthz`'s whole p99 at
/// one connection (0.37–0.53 ms with the log, 0.13–0.16 ms without; Hummingbird, which logs nothing, 0.27–0.41
/// ms). Spread over the requests the same work makes no tail, and the writer, which only copies bytes to the
/// kernel, runs at nice 10 and yields the core to anything that wants it.
///
/// A line: `ts=2026-12-05T15:12:40.123Z level=info msg=request method=GET path=/healthz route=/healthz
/// status=200 duration_ms=0.042 bytes_out=15 bytes_in=0 request_id=7f3a… peer=127.0.0.1:50312`.
/// `method` and `route` are left out when unknown (a malformed request line; no route matched). Values with a
/// space, `=`, a quote, a backslash or a control character, or empty ones, are quoted with `\"`, `\\`, `\n`,
/// `\r`, `\t` and `\u00XX` escapes. `status` is 499 when the client closed the connection before the response
/// (see `RequestLog.status`).
///
/// Invariant: `pending`, `pendingLines`, `formatter`, `dropped`, `stopping`, `stopped` and `waiters` are read and
/// written only while `condition` is locked; the thread is the only one that writes to the descriptor.
final class AccessLog: @unchecked Sendable {
    struct Entry: Sendable {
        var log: RequestLog
        /// Wall-clock time of completion (CLOCK_REALTIME).
        var time: timespec
    }

    private let fd: Int32
    private let flushInterval: Duration
    private let capacity: Int
    private let batchSize: Int
    private let condition = NSCondition()
    /// Formatted lines not yet written, and how many.
    private var pending: [UInt8] = []
    private var pendingLines = 0
    private var formatter = Formatter()
    private var dropped = 0
    private var started = false
    private var stopping = false
    private var stopped = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    init(fd: Int32, flushInterval: Duration, capacity: Int) {
        self.fd = fd
        self.flushInterval = flushInterval
        self.capacity = max(1, capacity)
        self.batchSize = max(1, min(256, capacity / 4))
        pending.reserveCapacity(64 * 1024)
    }

    /// Starts the writer thread (once).
    func start() {
        condition.lock()
        defer { condition.unlock() }
        guard !started, !stopping else { return }
        started = true
        let thread = Thread { @Sendable [self] in self.run() }
        thread.name = "http.access-log"
        thread.start()
    }

    /// Called on a connection's event loop for every finished request: formats one line, no I/O.
    func append(_ log: RequestLog) {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        condition.lock()
        if stopping || pendingLines >= capacity {
            dropped += 1
        } else {
            formatter.line(Entry(log: log, time: time), into: &pending)
            pendingLines += 1
            if pendingLines == batchSize { condition.signal() }
        }
        condition.unlock()
    }

    /// Writes what is buffered and stops the writer; returns once everything is written. Later lines are
    /// dropped.
    func close() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            condition.lock()
            stopping = true
            if stopped || !started {
                stopped = true
                condition.unlock()
                continuation.resume()
                return
            }
            waiters.append(continuation)
            condition.signal()
            condition.unlock()
        }
    }

    private func run() {
        #if canImport(Glibc)
        _ = initlab_set_thread_nice(10)  // best effort: without it the log only competes at normal priority
        #endif
        var out: [UInt8] = []
        out.reserveCapacity(64 * 1024)
        let interval = Double(flushInterval.components.seconds) + Double(flushInterval.components.attoseconds) / 1e18
        while true {
            condition.lock()
            if !stopping && pendingLines < batchSize {
                _ = condition.wait(until: Date(timeIntervalSinceNow: interval))
            }
            swap(&pending, &out)
            pendingLines = 0
            if dropped > 0 {
                formatter.droppedLine(dropped, into: &out)
                dropped = 0
            }
            let last = stopping
            condition.unlock()

            write(out)
            out.removeAll(keepingCapacity: out.capacity <= 1 << 20)
            if last { break }
        }
        condition.lock()
        // Lines appended between the last swap and `stopping` were counted as dropped: report them too.
        if dropped > 0 { formatter.droppedLine(dropped, into: &out) }
        dropped = 0
        stopped = true
        let done = waiters
        waiters = []
        condition.unlock()
        if !out.isEmpty { write(out) }
        for waiter in done { waiter.resume() }
    }

    /// Blocking write of the whole batch (this thread exists to block here); gives up on a descriptor error.
    private func write(_ bytes: [UInt8]) {
        var offset = 0
        var stalls = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { raw in
                Glibc.write(fd, raw.baseAddress.map { $0 + offset }, bytes.count - offset)
            }
            if n > 0 {
                offset += n
                stalls = 0
            } else if n < 0 && errno == EINTR {
                continue
            } else if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && stalls < 1000 {
                // A non-blocking descriptor inherited from the parent: wait for room, at most ~1 s in all.
                stalls += 1
                var pfd = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                _ = poll(&pfd, 1, 1)
            } else {
                return
            }
        }
    }

    /// logfmt formatting, with the date part of the timestamp cached per second.
    struct Formatter {
        private var cachedSecond = Int.min
        private var cachedPrefix: [UInt8] = []

        mutating func line(_ entry: Entry, into out: inout [UInt8]) {
            timestamp(entry.time, into: &out)
            let log = entry.log
            out.append(contentsOf: " level=info msg=request".utf8)
            if let method = log.method { field("method", method.rawValue, into: &out) }
            field("path", log.path, into: &out)
            if let route = log.route { field("route", route, into: &out) }
            out.append(contentsOf: " status=".utf8)
            decimal(log.status, into: &out)
            out.append(contentsOf: " duration_ms=".utf8)
            let micros = max(0, log.duration.nanosecondsValue / 1000)
            decimal(Int(micros / 1000), into: &out)
            out.append(UInt8(ascii: "."))
            let fraction = Int(micros % 1000)
            if fraction < 100 { out.append(UInt8(ascii: "0")) }
            if fraction < 10 { out.append(UInt8(ascii: "0")) }
            decimal(fraction, into: &out)
            out.append(contentsOf: " bytes_out=".utf8)
            decimal(log.bytesSent, into: &out)
            out.append(contentsOf: " bytes_in=".utf8)
            decimal(log.bytesReceived, into: &out)
            field("request_id", log.requestID, into: &out)
            field("peer", log.remoteAddress, into: &out)
            out.append(UInt8(ascii: "\n"))
        }

        mutating func droppedLine(_ count: Int, into out: inout [UInt8]) {
            var now = timespec()
            clock_gettime(CLOCK_REALTIME, &now)
            timestamp(now, into: &out)
            out.append(contentsOf: " level=warning msg=\"access log buffer full, lines dropped\" dropped=".utf8)
            decimal(count, into: &out)
            out.append(UInt8(ascii: "\n"))
        }

        /// `ts=YYYY-MM-DDTHH:MM:SS.mmmZ` (UTC, RFC 3339).
        private mutating func timestamp(_ time: timespec, into out: inout [UInt8]) {
            let second = time.tv_sec
            if second != cachedSecond {
                cachedSecond = second
                var t = time_t(second)
                var parts = tm()
                gmtime_r(&t, &parts)
                var prefix: [UInt8] = Array("ts=".utf8)
                Formatter.digits(Int(parts.tm_year) + 1900, width: 4, into: &prefix)
                prefix.append(UInt8(ascii: "-"))
                Formatter.digits(Int(parts.tm_mon) + 1, width: 2, into: &prefix)
                prefix.append(UInt8(ascii: "-"))
                Formatter.digits(Int(parts.tm_mday), width: 2, into: &prefix)
                prefix.append(UInt8(ascii: "T"))
                Formatter.digits(Int(parts.tm_hour), width: 2, into: &prefix)
                prefix.append(UInt8(ascii: ":"))
                Formatter.digits(Int(parts.tm_min), width: 2, into: &prefix)
                prefix.append(UInt8(ascii: ":"))
                Formatter.digits(Int(parts.tm_sec), width: 2, into: &prefix)
                prefix.append(UInt8(ascii: "."))
                cachedPrefix = prefix
            }
            out.append(contentsOf: cachedPrefix)
            Formatter.digits(Int(time.tv_nsec / 1_000_000), width: 3, into: &out)
            out.append(UInt8(ascii: "Z"))
        }

        private static func digits(_ value: Int, width: Int, into out: inout [UInt8]) {
            var divisor = 1
            for _ in 1..<width { divisor *= 10 }
            var v = value
            while divisor > 0 {
                out.append(UInt8(truncatingIfNeeded: 48 + (v / divisor) % 10))
                v %= divisor
                divisor /= 10
            }
        }

        private func decimal(_ value: Int, into out: inout [UInt8]) {
            if value < 0 { out.append(UInt8(ascii: "-")) }
            var v = value.magnitude
            var buffer: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
                (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
            withUnsafeMutableBytes(of: &buffer) { raw in
                var i = raw.count
                repeat {
                    i -= 1
                    raw[i] = UInt8(truncatingIfNeeded: 48 + v % 10)
                    v /= 10
                } while v > 0
                out.append(contentsOf: raw[i...])
            }
        }

        /// ` key=value`, quoting the value when logfmt needs it.
        private func field(_ key: String, _ value: String, into out: inout [UInt8]) {
            out.append(UInt8(ascii: " "))
            out.append(contentsOf: key.utf8)
            out.append(UInt8(ascii: "="))
            let utf8 = value.utf8
            let plain = !utf8.isEmpty && allBytes(of: value) { b in
                b > 0x20 && b != 0x7F && b != UInt8(ascii: "=") && b != UInt8(ascii: "\"") && b != UInt8(ascii: "\\")
            }
            if plain {
                out.append(contentsOf: utf8)
                return
            }
            out.append(UInt8(ascii: "\""))
            for b in utf8 {
                switch b {
                case UInt8(ascii: "\""): out.append(contentsOf: "\\\"".utf8)
                case UInt8(ascii: "\\"): out.append(contentsOf: "\\\\".utf8)
                case UInt8(ascii: "\n"): out.append(contentsOf: "\\n".utf8)
                case UInt8(ascii: "\r"): out.append(contentsOf: "\\r".utf8)
                case UInt8(ascii: "\t"): out.append(contentsOf: "\\t".utf8)
                case 0..<0x20, 0x7F:
                    let hex: [UInt8] = Array("0123456789abcdef".utf8)
                    out.append(contentsOf: "\\u00".utf8)
                    out.append(hex[Int(b >> 4)])
                    out.append(hex[Int(b & 0xF)])
                default: out.append(b)
                }
            }
            out.append(UInt8(ascii: "\""))
        }
    }
}
