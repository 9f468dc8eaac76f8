import CCurl
import Foundation

/// How the fetcher behaves: redirects, timeouts, retries with exponential backoff, and a size cap.
package struct FetchPolicy: Sendable, Equatable {
    /// Redirects followed per request (CURLOPT_MAXREDIRS). Only http and https targets are followed.
    package var maxRedirects: Int
    /// Seconds allowed to establish a connection (CURLOPT_CONNECTTIMEOUT_MS).
    package var connectTimeout: Double
    /// A transfer slower than `lowSpeedLimit` bytes/s for `lowSpeedTime` seconds is aborted as a timeout
    /// (CURLOPT_LOW_SPEED_LIMIT / CURLOPT_LOW_SPEED_TIME) and retried.
    package var lowSpeedLimit: Int
    package var lowSpeedTime: Int
    /// Total attempts per URL, first included. Only transient failures are retried: timeouts, refused or reset
    /// connections, partial transfers, HTTP 5xx, 408 and 429. Other 4xx are final.
    package var maxAttempts: Int
    /// Sleep before retry n (n ≥ 1) is `min(initialBackoff × backoffMultiplier^(n−1), maxBackoff)` seconds.
    package var initialBackoff: Double
    package var backoffMultiplier: Double
    package var maxBackoff: Double
    /// Largest file accepted, in bytes: checked against Content-Length and enforced while writing.
    package var maxBytes: Int64
    package var userAgent: String
    /// Where redirects may lead: by default public addresses, or the non-public range the mirror itself is in.
    package var redirects: RedirectPolicy = .publicOrMirrorRange

    package init(
        maxRedirects: Int = 5, connectTimeout: Double = 20, lowSpeedLimit: Int = 1024, lowSpeedTime: Int = 30,
        maxAttempts: Int = 5, initialBackoff: Double = 0.5, backoffMultiplier: Double = 2, maxBackoff: Double = 16,
        maxBytes: Int64 = 256 << 20, userAgent: String = "initlab-datasets/1 libcurl"
    ) {
        self.maxRedirects = maxRedirects
        self.connectTimeout = connectTimeout
        self.lowSpeedLimit = lowSpeedLimit
        self.lowSpeedTime = lowSpeedTime
        self.maxAttempts = maxAttempts
        self.initialBackoff = initialBackoff
        self.backoffMultiplier = backoffMultiplier
        self.maxBackoff = maxBackoff
        self.maxBytes = maxBytes
        self.userAgent = userAgent
    }

    package static let standard = FetchPolicy()

    /// The backoff before retry number `retry` (1-based).
    package func backoff(beforeRetry retry: Int) -> Double {
        min(initialBackoff * pow(backoffMultiplier, Double(max(0, retry - 1))), maxBackoff)
    }
}

/// Progress of one transfer, reported through the progress callback (CURLOPT_XFERINFOFUNCTION).
package struct FetchProgress: Sendable, Equatable {
    package let url: String
    /// Bytes in the destination file so far, including any resumed prefix.
    package let bytes: Int64
    /// Expected final size when the server announced it.
    package let total: Int64?
    /// Average rate of this attempt, bytes per second.
    package let bytesPerSecond: Double
}

package enum FetchError: Error, Equatable, CustomStringConvertible {
    /// The server answered with an HTTP error status (after retries when the status was transient).
    case http(status: Int, url: String, attempts: Int)
    /// libcurl failed (connection, timeout, TLS, protocol...); `code` is the CURLcode.
    case transport(code: Int, message: String, url: String, attempts: Int)
    /// The file is larger than `FetchPolicy.maxBytes`.
    case tooLarge(limit: Int64, url: String)
    /// A redirect led to an address in `range`, which `FetchPolicy.redirects` does not allow; nothing was sent
    /// there. Final, never retried.
    case redirectRefused(range: AddressRange, url: String)
    /// The destination file could not be written.
    case localFile(path: String, reason: String)

    package var description: String {
        switch self {
        case .http(_, let url, _), .transport(_, _, let url, _), .tooLarge(_, let url), .redirectRefused(_, let url):
            return "\(url): \(reason)"
        case .localFile(let path, _): return "\(path): \(reason)"
        }
    }

    /// The description without the URL or path.
    package var reason: String {
        switch self {
        case .http(let status, _, let attempts):
            return "HTTP \(status) (after \(attempts) attempt\(attempts == 1 ? "" : "s"))"
        case .transport(let code, let message, _, let attempts):
            return "\(message) (curl error \(code), after \(attempts) attempt\(attempts == 1 ? "" : "s"))"
        case .tooLarge(let limit, _): return "file is larger than the limit of \(limit) bytes"
        case .redirectRefused(let range, _):
            return "refused a redirect to a \(range) address (only the mirror's own network may be redirected to)"
        case .localFile(_, let reason): return reason
        }
    }

    /// The reason in the fetcher's own words, with nothing the server sent: no status, no message text, no
    /// size. This is what API clients see; the full `reason` goes to the log and the CLI.
    package var publicReason: String {
        let tries = "after \(attempts) attempt\(attempts == 1 ? "" : "s")"
        switch self {
        case .http: return "the server answered with an HTTP error (\(tries))"
        case .transport(let code, _, _, _): return "the transfer failed (curl error \(code), \(tries))"
        case .tooLarge, .redirectRefused: return reason
        case .localFile: return "the download could not be written to the cache"
        }
    }

    /// Attempts made before giving up (0 when not applicable).
    package var attempts: Int {
        switch self {
        case .http(_, _, let a), .transport(_, _, _, let a): return a
        default: return 0
        }
    }
}

/// What a successful download did.
package struct FetchReport: Sendable, Equatable {
    package let url: String
    /// Size of the destination file.
    package let bytes: Int64
    /// Requests made, retries and restarts included.
    package let attempts: Int
    /// Offsets from which a partial file was resumed with a Range request, in order.
    package let resumedFrom: [Int64]
    /// Times a server ignored or refused a Range request and the file was restarted from byte 0.
    package let restarts: Int
}

/// `curl_global_init` runs once, the first time a fetcher is used (Swift initializes globals exactly once).
private let curlGlobalInitCode: CURLcode = curl_global_init(Int(CURL_GLOBAL_DEFAULT))

/// Downloads one URL (http, https or file) into a file with libcurl, resuming and retrying per its policy.
package struct CurlFetcher: Sendable {
    package let policy: FetchPolicy

    package init(policy: FetchPolicy = .standard) {
        self.policy = policy
    }

    /// Downloads `url` into `path`. With `resume`, bytes already in `path` are kept and the rest is requested with
    /// a Range request; a server that ignores the range (answers 200) or refuses it (416) restarts the file from
    /// byte 0. On failure `path` keeps whatever arrived, for a later resume; the caller decides what it is worth.
    package func download(
        from url: String, to path: String, resume: Bool = true, progress: ((FetchProgress) -> Void)? = nil
    ) throws(FetchError) -> FetchReport {
        guard curlGlobalInitCode == CURLE_OK else {
            throw .transport(code: Int(curlGlobalInitCode.rawValue), message: "curl_global_init failed", url: url,
                             attempts: 0)
        }
        var attempts = 0
        var retries = 0
        var restarts = 0
        var resumedFrom: [Int64] = []
        var keepExisting = resume
        while true {
            attempts += 1
            let offset = keepExisting ? Self.fileSize(path) : 0
            if offset > 0 { resumedFrom.append(offset) }
            let outcome = try perform(url: url, path: path, offset: offset, progress: progress)
            switch outcome {
            case .completed:
                return FetchReport(url: url, bytes: Self.fileSize(path), attempts: attempts,
                                   resumedFrom: resumedFrom, restarts: restarts)
            case .restartFromZero:
                // Not a server fault: start over at once, within the same attempt budget.
                restarts += 1
                keepExisting = false
                if attempts >= policy.maxAttempts + 1 {
                    throw .transport(code: Int(CURLE_RANGE_ERROR.rawValue), message: "cannot resume or restart",
                                     url: url, attempts: attempts)
                }
            case .failed(let error, let transient):
                keepExisting = true
                guard transient, attempts < policy.maxAttempts else { throw error.with(attempts: attempts) }
                retries += 1
                Thread.sleep(forTimeInterval: policy.backoff(beforeRetry: retries))
            }
        }
    }

    enum Outcome {
        case completed
        case restartFromZero
        case failed(FetchError, transient: Bool)
    }

    static func fileSize(_ path: String) -> Int64 {
        var st = stat()
        return stat(path, &st) == 0 ? Int64(st.st_size) : 0
    }

    private func perform(url: String, path: String, offset: Int64, progress: ((FetchProgress) -> Void)?)
        throws(FetchError) -> Outcome
    {
        let flags = O_WRONLY | O_CREAT | O_CLOEXEC | (offset > 0 ? O_APPEND : O_TRUNC)
        let fd = open(path, flags, 0o644)
        guard fd >= 0 else { throw .localFile(path: path, reason: String(cString: strerror(errno))) }
        guard let handle = curl_easy_init() else {
            close(fd)
            throw .transport(code: -1, message: "curl_easy_init failed", url: url, attempts: 0)
        }
        let context = TransferContext(
            handle: handle, fd: fd, url: url, offset: offset, maxBytes: policy.maxBytes, redirects: policy.redirects,
            progress: progress)
        let errorBuffer = UnsafeMutablePointer<CChar>.allocate(capacity: Int(CURL_ERROR_SIZE) + 1)
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
        defer {
            curl_easy_cleanup(handle)
            errorBuffer.deallocate()
        }

        var code: CURLcode = CURLE_OK
        withExtendedLifetime(context) {
            let userdata = Unmanaged.passUnretained(context).toOpaque()
            let settings: [CURLcode] = [
                initlab_curl_setopt_string(handle, CURLOPT_URL, url),
                initlab_curl_setopt_string(handle, CURLOPT_PROTOCOLS_STR, "http,https,file"),
                initlab_curl_setopt_string(handle, CURLOPT_REDIR_PROTOCOLS_STR, "http,https"),
                initlab_curl_setopt_long(handle, CURLOPT_FOLLOWLOCATION, 1),
                initlab_curl_setopt_long(handle, CURLOPT_MAXREDIRS, policy.maxRedirects),
                initlab_curl_setopt_long(handle, CURLOPT_CONNECTTIMEOUT_MS, Int(policy.connectTimeout * 1000)),
                initlab_curl_setopt_long(handle, CURLOPT_LOW_SPEED_LIMIT, policy.lowSpeedLimit),
                initlab_curl_setopt_long(handle, CURLOPT_LOW_SPEED_TIME, policy.lowSpeedTime),
                // TLS is always verified: peer certificate and host name.
                initlab_curl_setopt_long(handle, CURLOPT_SSL_VERIFYPEER, 1),
                initlab_curl_setopt_long(handle, CURLOPT_SSL_VERIFYHOST, 2),
                // HTTP status >= 400 is an error, and its body is never written into the file.
                initlab_curl_setopt_long(handle, CURLOPT_FAILONERROR, 1),
                initlab_curl_setopt_long(handle, CURLOPT_NOSIGNAL, 1),
                initlab_curl_setopt_string(handle, CURLOPT_USERAGENT, policy.userAgent),
                initlab_curl_setopt_off_t(handle, CURLOPT_MAXFILESIZE_LARGE, curl_off_t(max(0, policy.maxBytes - offset))),
                initlab_curl_setopt_off_t(handle, CURLOPT_RESUME_FROM_LARGE, curl_off_t(offset)),
                initlab_curl_setopt_ptr(handle, CURLOPT_ERRORBUFFER, errorBuffer),
                initlab_curl_setopt_data_callback(handle, CURLOPT_WRITEFUNCTION, curlWriteCallback),
                initlab_curl_setopt_ptr(handle, CURLOPT_WRITEDATA, userdata),
                initlab_curl_setopt_long(handle, CURLOPT_NOPROGRESS, 0),
                initlab_curl_setopt_xferinfo_callback(handle, CURLOPT_XFERINFOFUNCTION, curlProgressCallback),
                initlab_curl_setopt_ptr(handle, CURLOPT_XFERINFODATA, userdata),
                // Every connection, the first and each redirect's, is checked against `policy.redirects` on the
                // address curl is about to connect to: after name resolution, so a name that answers differently on
                // each lookup (DNS rebinding) gains nothing, and before connecting, so a refused address receives
                // nothing (CURLINFO_PRIMARY_IP is known only after the connection is made). Behind a proxy
                // (http_proxy and the like) the address checked is the proxy's.
                initlab_curl_setopt_opensocket_callback(handle, CURLOPT_OPENSOCKETFUNCTION, curlOpenSocketCallback),
                initlab_curl_setopt_ptr(handle, CURLOPT_OPENSOCKETDATA, userdata),
            ]
            if let failed = settings.first(where: { $0 != CURLE_OK }) {
                code = failed
                return
            }
            code = curl_easy_perform(handle)
        }
        let synced = fsync(fd) == 0 || errno == EINVAL
        close(fd)

        var status = 0
        initlab_curl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status)
        // A refused address fails the transfer only when curl found no other address of that host to connect to.
        if code == CURLE_COULDNT_CONNECT, let range = context.refusedRange {
            return .failed(.redirectRefused(range: range, url: url), transient: false)
        }
        if context.exceeded { return .failed(.tooLarge(limit: policy.maxBytes, url: url), transient: false) }
        if let writeErrno = context.writeErrno {
            throw .localFile(path: path, reason: String(cString: strerror(writeErrno)))
        }
        let detail = String(cString: errorBuffer)
        let message = detail.isEmpty ? String(cString: curl_easy_strerror(code)) : detail
        switch code {
        case CURLE_OK:
            guard synced else { throw .localFile(path: path, reason: "fsync failed") }
            // A resume that curl accepted as already complete (the server's size equals our offset) is fine.
            return .completed
        case CURLE_HTTP_RETURNED_ERROR:
            if status == 416 && offset > 0 { return .restartFromZero }
            let transient = status >= 500 || status == 429 || status == 408
            return .failed(.http(status: status, url: url, attempts: 0), transient: transient)
        case CURLE_RANGE_ERROR, CURLE_BAD_DOWNLOAD_RESUME:
            // The server ignored the Range request (answered 200 with the whole file), or the offset is past the
            // end of a local file: restart from byte 0.
            return offset > 0
                ? .restartFromZero
                : .failed(.transport(code: Int(code.rawValue), message: message, url: url, attempts: 0),
                          transient: false)
        case CURLE_FILESIZE_EXCEEDED:
            return .failed(.tooLarge(limit: policy.maxBytes, url: url), transient: false)
        default:
            let transient = Self.transientCodes.contains(code)
            return .failed(.transport(code: Int(code.rawValue), message: message, url: url, attempts: 0),
                           transient: transient)
        }
    }

    /// libcurl results worth retrying: the network or the server may do better next time.
    static let transientCodes: [CURLcode] = [
        CURLE_COULDNT_CONNECT, CURLE_PARTIAL_FILE, CURLE_OPERATION_TIMEDOUT, CURLE_GOT_NOTHING, CURLE_SEND_ERROR,
        CURLE_RECV_ERROR, CURLE_HTTP2, CURLE_HTTP2_STREAM, CURLE_SSL_CONNECT_ERROR,
    ]
}

extension FetchError {
    func with(attempts: Int) -> FetchError {
        switch self {
        case .http(let status, let url, _): return .http(status: status, url: url, attempts: attempts)
        case .transport(let code, let message, let url, _):
            return .transport(code: code, message: message, url: url, attempts: attempts)
        default: return self
        }
    }
}

/// State shared with the C callbacks of one transfer, passed to them as an unretained pointer. Used only on the
/// thread that runs `curl_easy_perform`.
private final class TransferContext {
    let handle: UnsafeMutableRawPointer
    let fd: Int32
    let url: String
    let offset: Int64
    let maxBytes: Int64
    let redirects: RedirectPolicy
    let progress: ((FetchProgress) -> Void)?
    let start = DispatchTime.now()
    var written: Int64 = 0
    var exceeded = false
    var writeErrno: Int32?
    /// Where the configured URL itself connected (before any redirect): address and port, and their ranges.
    var mirrorEndpoints: Set<Endpoint> = []
    var mirrorRanges: Set<AddressRange> = []
    /// Set when a redirect's connection was refused.
    var refusedRange: AddressRange?

    struct Endpoint: Hashable {
        let address: [UInt8]
        let port: UInt16
    }

    init(
        handle: UnsafeMutableRawPointer, fd: Int32, url: String, offset: Int64, maxBytes: Int64,
        redirects: RedirectPolicy, progress: ((FetchProgress) -> Void)?
    ) {
        self.handle = handle
        self.fd = fd
        self.url = url
        self.offset = offset
        self.maxBytes = maxBytes
        self.redirects = redirects
        self.progress = progress
    }

    /// Whether curl may open a connection to `address`. Connections made before the first redirect go where the
    /// operator configured the mirror and are always allowed (and remembered); after a redirect, only public
    /// addresses, the mirror's own endpoints and, with `.publicOrMirrorRange`, the mirror's ranges are.
    func allowsConnection(to address: UnsafeMutablePointer<curl_sockaddr>) -> Bool {
        var bytes = [UInt8](repeating: 0, count: 16)
        var port: UInt16 = 0
        let length = Int(initlab_curl_sockaddr_address(address, &bytes, &port))
        guard let range = AddressRange(addressBytes: Array(bytes.prefix(length))) else {
            // Not an IP connection (curl opens none other for http and https): nothing to reach through it.
            refusedRange = .unspecified
            return false
        }
        let endpoint = Endpoint(address: Array(bytes.prefix(length)), port: port)
        var redirectsFollowed = 0
        guard initlab_curl_getinfo_long(handle, CURLINFO_REDIRECT_COUNT, &redirectsFollowed) == CURLE_OK else {
            refusedRange = range
            return false
        }
        if redirectsFollowed == 0 {
            mirrorEndpoints.insert(endpoint)
            mirrorRanges.insert(range)
            return true
        }
        if range == .publicInternet || mirrorEndpoints.contains(endpoint) { return true }
        if redirects == .publicOrMirrorRange && mirrorRanges.contains(range) { return true }
        refusedRange = range
        return false
    }

    /// Appends to the file; returns false (and records why) when the transfer must stop.
    func write(_ data: UnsafeRawPointer, count: Int) -> Bool {
        if offset + written + Int64(count) > maxBytes {
            exceeded = true
            return false
        }
        var done = 0
        while done < count {
            let n = Foundation.write(fd, data + done, count - done)
            if n < 0 {
                if errno == EINTR { continue }
                writeErrno = errno
                return false
            }
            done += n
        }
        written += Int64(count)
        return true
    }

    /// Returns false to abort when the announced size exceeds the cap.
    func report(total: Int64, now: Int64) -> Bool {
        if total > 0 && offset + total > maxBytes {
            exceeded = true
            return false
        }
        if let progress {
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
            progress(FetchProgress(
                url: url, bytes: offset + now, total: total > 0 ? offset + total : nil,
                bytesPerSecond: seconds > 0 ? Double(now) / seconds : 0))
        }
        return true
    }
}

private let curlWriteCallback: initlab_curl_data_fn = { buffer, size, count, userdata in
    guard let userdata, let buffer else { return 0 }
    let context = Unmanaged<TransferContext>.fromOpaque(userdata).takeUnretainedValue()
    let bytes = size * count
    return context.write(UnsafeRawPointer(buffer), count: bytes) ? bytes : 0
}

/// Opens each connection's socket, or refuses it (CURL_SOCKET_BAD) when the redirect policy does not allow the
/// address; curl then fails the transfer with CURLE_COULDNT_CONNECT, which `perform` reports as `redirectRefused`.
private let curlOpenSocketCallback: initlab_curl_opensocket_fn = { clientp, purpose, address in
    guard let clientp, let address, purpose == CURLSOCKTYPE_IPCXN else { return -1 }
    let context = Unmanaged<TransferContext>.fromOpaque(clientp).takeUnretainedValue()
    guard context.allowsConnection(to: address) else { return -1 }
    return socket(address.pointee.family, address.pointee.socktype | Int32(SOCK_CLOEXEC.rawValue), address.pointee.protocol)
}

private let curlProgressCallback: initlab_curl_xferinfo_fn = { userdata, downloadTotal, downloadNow, _, _ in
    guard let userdata else { return 0 }
    let context = Unmanaged<TransferContext>.fromOpaque(userdata).takeUnretainedValue()
    return context.report(total: Int64(downloadTotal), now: Int64(downloadNow)) ? 0 : 1
}
