import Foundation

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

extension RemoteClient {
    /// Follows a Server-Sent Event stream until `onEvent` returns true (the caller's last event). A stream that
    /// ends or drops before that, or is answered 503, is reopened with `Last-Event-ID` after the server's
    /// `retry:` delay (else 1 s; a 503's Retry-After), so no event is lost or repeated; `maxReconnects` failures
    /// in a row without a new event end it with `.unreachable`. Any other error answer throws its problem.
    package func follow(
        _ path: String, lastEventID: String? = nil, maxReconnects: Int = 10, idleTimeout: Double = 60,
        onEvent: @Sendable (SSEEvent) async -> Bool
    ) async throws(RemoteError) {
        var parser = SSEParser(lastEventID: lastEventID)
        var failures = 0
        while true {
            var headers = ["Accept": "text/event-stream"]
            if let id = parser.lastEventID { headers["Last-Event-ID"] = id }
            let request = try request("GET", path, query: [], body: nil, headers: headers, timeout: idleTimeout)
            let stream = StreamSession(request: request)
            defer { stream.cancel() }
            var progressed = false
            var delay = Double(parser.retryMilliseconds ?? 1000) / 1000
            var reason = "the stream ended before its last event"
            do {
                var status = 0
                var errorBody = Data()
                for try await chunk in stream.chunks {
                    switch chunk {
                    case .head(let code, let headers):
                        status = code
                        if code == 503 { delay = min(maxRetryDelay, headers["retry-after"].flatMap { Double($0) } ?? 1) }
                    case .body(let data) where status != 200:
                        errorBody.append(data)
                    case .body(let data):
                        for event in parser.feed(data) {
                            progressed = true
                            if await onEvent(event) { return }
                        }
                    }
                }
                if status == 503 {
                    reason = "HTTP 503"
                } else if status != 200 {
                    if let problem = RemoteProblem(status: status, body: errorBody) { throw RemoteError.problem(problem) }
                    throw RemoteError.unexpected(status: status, String(decoding: errorBody.prefix(300), as: UTF8.self))
                }
            } catch let error as RemoteError {
                throw error
            } catch {
                reason = Self.reason(error)
            }
            failures = progressed ? 1 : failures + 1
            if failures > maxReconnects {
                throw .unreachable("the event stream failed \(failures) times in a row: \(reason)")
            }
            try? await Task.sleep(for: .milliseconds(Int(delay * 1000)))
        }
    }
}

/// One streaming request: URLSession's delegate callbacks as an async sequence of the head, then body chunks.
struct StreamSession: Sendable {
    enum Chunk: Sendable {
        case head(status: Int, headers: [String: String])
        case body(Data)
    }

    let chunks: AsyncThrowingStream<Chunk, any Error>
    private let session: URLSession
    private let task: URLSessionDataTask

    init(request: URLRequest) {
        let (chunks, continuation) = AsyncThrowingStream.makeStream(of: Chunk.self, bufferingPolicy: .unbounded)
        self.chunks = chunks
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = request.timeoutInterval
        let queue = OperationQueue()
        queue.maxConcurrentOperationCount = 1
        session = URLSession(configuration: configuration, delegate: Delegate(continuation), delegateQueue: queue)
        task = session.dataTask(with: request)
        task.resume()
    }

    func cancel() {
        task.cancel()
        session.invalidateAndCancel()
    }

    /// Feeds the stream; the session keeps it alive until invalidated.
    final class Delegate: NSObject, URLSessionDataDelegate, Sendable {
        let continuation: AsyncThrowingStream<Chunk, any Error>.Continuation

        init(_ continuation: AsyncThrowingStream<Chunk, any Error>.Continuation) { self.continuation = continuation }

        func urlSession(
            _ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
            completionHandler: @escaping @Sendable (URLSession.ResponseDisposition) -> Void
        ) {
            let http = response as? HTTPURLResponse
            continuation.yield(.head(status: http?.statusCode ?? 0, headers: http.map(RemoteClient.headers(of:)) ?? [:]))
            completionHandler(.allow)
        }

        func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
            continuation.yield(.body(data))
        }

        func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: (any Error)?) {
            if let error { continuation.finish(throwing: error) } else { continuation.finish() }
        }
    }
}
