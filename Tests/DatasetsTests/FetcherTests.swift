import TestSupport
import Foundation
import Testing

@testable import Datasets

/// Small waits so the suite stays fast; the low-speed limit fires after 1 s.
let testPolicy = FetchPolicy(
    maxRedirects: 3, connectTimeout: 2, lowSpeedLimit: 1000, lowSpeedTime: 1, maxAttempts: 3, initialBackoff: 0.02,
    backoffMultiplier: 2, maxBackoff: 0.1, maxBytes: 8 << 20)

/// A new folder for a test's files (removed with the test process's folder, `Scratch`).
func temporaryDirectory(_ tag: String) throws -> String {
    try Scratch.directory(tag)
}

func contents(_ path: String) -> [UInt8]? {
    FileManager.default.contents(atPath: path).map { [UInt8]($0) }
}

func testBytes(_ count: Int, seed: UInt64 = 1) -> [UInt8] {
    var rng = SplitMix64(seed: seed)
    return (0..<count).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
}

@Suite(.offCooperativePool) struct FetcherTests {
    let fetcher = CurlFetcher(policy: testPolicy)

    @Test func downloadsWithProgress() throws {
        let server = try FaultServer()
        defer { server.stop() }
        let body = testBytes(300_000)
        server.script("/f", [.serve(body)])
        let dir = try temporaryDirectory("dl")
        var reports: [FetchProgress] = []
        let report = try fetcher.download(from: server.baseURL + "f", to: dir + "/f") { reports.append($0) }
        #expect(contents(dir + "/f") == body)
        #expect(report.attempts == 1 && report.bytes == 300_000 && report.resumedFrom.isEmpty)
        #expect(reports.last?.bytes == 300_000 && reports.last?.total == 300_000)
    }

    @Test func notFoundIsFinalAndNotRetried() throws {
        let server = try FaultServer()
        defer { server.stop() }
        server.script("/missing", [.status(404)])
        let dir = try temporaryDirectory("404")
        #expect(throws: FetchError.http(status: 404, url: server.baseURL + "missing", attempts: 1)) {
            try fetcher.download(from: server.baseURL + "missing", to: dir + "/m")
        }
        #expect(server.requests("/missing").count == 1)
        #expect(contents(dir + "/m")?.isEmpty ?? true, "an error body is never written")
    }

    @Test func serverErrorIsRetried() throws {
        let server = try FaultServer()
        defer { server.stop() }
        let body = testBytes(10_000)
        server.script("/f", [.status(500), .status(429), .serve(body)])
        let dir = try temporaryDirectory("500")
        let report = try fetcher.download(from: server.baseURL + "f", to: dir + "/f")
        #expect(report.attempts == 3)
        #expect(server.requests("/f").count == 3)
        #expect(contents(dir + "/f") == body)
    }

    @Test func persistentServerErrorGivesUpAfterMaxAttempts() throws {
        let server = try FaultServer()
        defer { server.stop() }
        server.script("/f", [.status(503)])
        let dir = try temporaryDirectory("503")
        #expect(throws: FetchError.http(status: 503, url: server.baseURL + "f", attempts: 3)) {
            try fetcher.download(from: server.baseURL + "f", to: dir + "/f")
        }
        #expect(server.requests("/f").count == 3)
    }

    @Test func followsRedirectsButNotForever() throws {
        let server = try FaultServer()
        defer { server.stop() }
        let body = testBytes(5_000)
        server.script("/old", [.redirect(to: "/new")])
        server.script("/new", [.serve(body)])
        server.script("/loop", [.redirect(to: "/loop")])
        let dir = try temporaryDirectory("redir")
        _ = try fetcher.download(from: server.baseURL + "old", to: dir + "/f")
        #expect(contents(dir + "/f") == body)
        #expect(server.requests("/new").count == 1)
        #expect {
            try fetcher.download(from: server.baseURL + "loop", to: dir + "/loop")
        } throws: { error in
            guard case FetchError.transport(let code, _, _, let attempts) = error else { return false }
            return code == 47 && attempts == 1  // CURLE_TOO_MANY_REDIRECTS, final
        }
        #expect(server.requests("/loop").count == testPolicy.maxRedirects + 1)
    }

    @Test func droppedConnectionResumesWithRange() throws {
        let server = try FaultServer()
        defer { server.stop() }
        let body = testBytes(200_000)
        server.script("/f", [.drop(body, after: 70_000), .serve(body)])
        let dir = try temporaryDirectory("resume")
        let report = try fetcher.download(from: server.baseURL + "f", to: dir + "/f")
        let requests = server.requests("/f")
        #expect(requests.count == 2)
        #expect(requests.first?.range == nil)
        #expect(requests.last?.range == "bytes=70000-")
        #expect(report.resumedFrom == [70_000] && report.attempts == 2)
        #expect(contents(dir + "/f") == body)
    }

    @Test func serverIgnoringRangeRestartsFromZero() throws {
        let server = try FaultServer()
        defer { server.stop() }
        let body = testBytes(100_000)
        server.script("/f", [.drop(body, after: 40_000), .serve(body, honorRange: false)])
        let dir = try temporaryDirectory("norange")
        let report = try fetcher.download(from: server.baseURL + "f", to: dir + "/f")
        let ranges = server.requests("/f").map(\.range)
        #expect(ranges == [nil, "bytes=40000-", nil])
        #expect(report.restarts == 1)
        #expect(contents(dir + "/f") == body)
    }

    @Test func partialFileFromAnEarlierRunIsResumed() throws {
        let server = try FaultServer()
        defer { server.stop() }
        let body = testBytes(50_000)
        server.script("/f", [.serve(body)])
        let dir = try temporaryDirectory("prior")
        try Data(body[..<12_345]).write(to: URL(fileURLWithPath: dir + "/f"))
        let report = try fetcher.download(from: server.baseURL + "f", to: dir + "/f")
        #expect(server.requests("/f").map(\.range) == ["bytes=12345-"])
        #expect(report.resumedFrom == [12_345])
        #expect(contents(dir + "/f") == body)
    }

    @Test func stalledServerTimesOutThenResumes() throws {
        let server = try FaultServer()
        defer { server.stop() }
        let body = testBytes(100_000)
        // curl measures speed over a window of a few seconds: a small prefix keeps it under the limit at once.
        server.script("/f", [.stall(body, after: 700, seconds: 6), .serve(body)])
        let dir = try temporaryDirectory("stall")
        let started = Date()
        let report = try fetcher.download(from: server.baseURL + "f", to: dir + "/f")
        #expect(Date().timeIntervalSince(started) < 4, "the low-speed timeout (1 s) fired before the server closed")
        #expect(server.requests("/f").map(\.range) == [nil, "bytes=700-"])
        #expect(report.attempts == 2)
        #expect(contents(dir + "/f") == body)
    }

    @Test func stalledServerEndsInATimeoutError() throws {
        let server = try FaultServer()
        defer { server.stop() }
        let body = testBytes(100_000)
        server.script("/f", [.stall(body, after: 10, seconds: 6)])
        let dir = try temporaryDirectory("stall2")
        var policy = testPolicy
        policy.maxAttempts = 1
        let started = Date()
        defer { #expect(Date().timeIntervalSince(started) < 4) }
        #expect {
            try CurlFetcher(policy: policy).download(from: server.baseURL + "f", to: dir + "/f")
        } throws: { error in
            guard case FetchError.transport(let code, _, _, 1) = error else { return false }
            return code == 28  // CURLE_OPERATION_TIMEDOUT
        }
    }

    @Test func oversizeFileIsRefused() throws {
        let server = try FaultServer()
        defer { server.stop() }
        var policy = testPolicy
        policy.maxBytes = 50_000
        server.script("/big", [.serve(testBytes(60_000))])
        let dir = try temporaryDirectory("big")
        #expect(throws: FetchError.tooLarge(limit: 50_000, url: server.baseURL + "big")) {
            try CurlFetcher(policy: policy).download(from: server.baseURL + "big", to: dir + "/big")
        }
        #expect(server.requests("/big").count == 1)
        #expect(CurlFetcher.fileSize(dir + "/big") <= 50_000)
    }

    @Test func connectionRefusedIsRetriedThenReported() throws {
        let server = try FaultServer()
        let url = server.baseURL + "f"
        server.stop()
        let dir = try temporaryDirectory("refused")
        #expect {
            try fetcher.download(from: url, to: dir + "/f")
        } throws: { error in
            guard case FetchError.transport(let code, _, _, let attempts) = error else { return false }
            return code == 7 && attempts == testPolicy.maxAttempts
        }
    }

    @Test func localFileURLs() throws {
        let dir = try temporaryDirectory("file")
        let body = testBytes(20_000)
        try Data(body).write(to: URL(fileURLWithPath: dir + "/src"))
        let url = URL(fileURLWithPath: dir + "/src").absoluteString
        _ = try fetcher.download(from: url, to: dir + "/dst")
        #expect(contents(dir + "/dst") == body)
        #expect {
            try fetcher.download(from: URL(fileURLWithPath: dir + "/absent").absoluteString, to: dir + "/x")
        } throws: { error in
            if case FetchError.transport(37, _, _, 1) = error { return true }  // CURLE_FILE_COULDNT_READ_FILE
            return false
        }
    }

    @Test func backoffGrowsAndIsCapped() {
        let p = FetchPolicy(initialBackoff: 0.5, backoffMultiplier: 2, maxBackoff: 3)
        #expect([1, 2, 3, 4].map(p.backoff(beforeRetry:)) == [0.5, 1, 2, 3])
    }
}
