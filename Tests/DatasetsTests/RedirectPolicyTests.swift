import TestSupport
import Foundation
import Testing

@testable import Datasets

/// A hostile mirror must not be able to point the fetcher at loopback, link-local or private addresses, nor learn
/// through its errors what such an address answered.
@Suite(.offCooperativePool) struct RedirectPolicyTests {
    /// The test mirror is on 127.0.0.1, so the default policy would let it redirect within loopback;
    /// `.publicOnly` treats it as a mirror on the internet.
    static let publicMirrorPolicy: FetchPolicy = {
        var policy = testPolicy
        policy.redirects = .publicOnly
        return policy
    }()

    @Test func addressRanges() {
        let cases: [([UInt8], AddressRange)] = [
            ([127, 0, 0, 1], .loopback), ([127, 200, 1, 1], .loopback),
            ([10, 1, 2, 3], .privateNetwork), ([172, 16, 0, 1], .privateNetwork), ([172, 31, 255, 255], .privateNetwork),
            ([172, 32, 0, 1], .publicInternet), ([172, 15, 0, 1], .publicInternet),
            ([192, 168, 1, 1], .privateNetwork), ([192, 169, 1, 1], .publicInternet),
            ([100, 64, 0, 1], .privateNetwork), ([100, 128, 0, 1], .publicInternet),
            ([169, 254, 169, 254], .linkLocal), ([0, 0, 0, 0], .unspecified), ([93, 184, 216, 34], .publicInternet),
            (Array(repeating: 0, count: 15) + [1], .loopback),
            (Array(repeating: 0, count: 16), .unspecified),
            ([0xfe, 0x80] + Array(repeating: 0, count: 13) + [1], .linkLocal),
            ([0xfe, 0xbf] + Array(repeating: 0, count: 14), .linkLocal),
            ([0xfe, 0xc0] + Array(repeating: 0, count: 14), .publicInternet),
            ([0xfc, 0x00] + Array(repeating: 0, count: 14), .privateNetwork),
            ([0xfd, 0x12] + Array(repeating: 0, count: 14), .privateNetwork),
            ([0x20, 0x01, 0x0d, 0xb8] + Array(repeating: 0, count: 12), .publicInternet),
            // IPv4-mapped and NAT64 addresses take the range of the IPv4 address inside.
            (Array(repeating: 0, count: 10) + [0xff, 0xff, 127, 0, 0, 1], .loopback),
            (Array(repeating: 0, count: 10) + [0xff, 0xff, 10, 0, 0, 1], .privateNetwork),
            ([0, 0x64, 0xff, 0x9b] + Array(repeating: 0, count: 8) + [192, 168, 0, 1], .privateNetwork),
        ]
        for (bytes, range) in cases {
            #expect(AddressRange(addressBytes: bytes) == range, "\(bytes)")
        }
        #expect(AddressRange(addressBytes: [1, 2, 3]) == nil)
    }

    /// Regression: a mirror on a public address that redirects to 127.0.0.1 is refused before anything is sent
    /// there, once (not retried), and the error carries nothing of the internal server's reply.
    @Test func redirectIntoLoopbackIsRefusedForAPublicMirror() throws {
        let mirror = try FaultServer()
        let inner = try FaultServer()
        defer {
            mirror.stop()
            inner.stop()
        }
        inner.script("/secret", [.serve(Array("internal reply".utf8))])
        mirror.script("/f", [.redirect(to: inner.baseURL + "secret")])
        let dir = try temporaryDirectory("refused")
        let fetcher = CurlFetcher(policy: Self.publicMirrorPolicy)
        #expect(throws: FetchError.redirectRefused(range: .loopback, url: mirror.baseURL + "f")) {
            try fetcher.download(from: mirror.baseURL + "f", to: dir + "/f")
        }
        #expect(inner.requests("/secret").isEmpty, "no request reached the internal server")
        #expect(mirror.requests("/f").count == 1, "a refusal is final")
        #expect((contents(dir + "/f") ?? []).isEmpty)

        // The mirror may still redirect to itself (its own address and port).
        let body = testBytes(2_000)
        mirror.script("/old", [.redirect(to: "/new")])
        mirror.script("/new", [.serve(body)])
        _ = try fetcher.download(from: mirror.baseURL + "old", to: dir + "/g")
        #expect(contents(dir + "/g") == body)
    }

    /// A name is judged by the address it resolves to: `localhost` is loopback like 127.0.0.1.
    @Test func aNameThatResolvesToLoopbackIsRefused() throws {
        let mirror = try FaultServer()
        let inner = try FaultServer()
        defer {
            mirror.stop()
            inner.stop()
        }
        inner.script("/secret", [.serve(Array("internal reply".utf8))])
        mirror.script("/f", [.redirect(to: "http://localhost:\(inner.port)/secret")])
        let dir = try temporaryDirectory("localhost")
        #expect(throws: FetchError.redirectRefused(range: .loopback, url: mirror.baseURL + "f")) {
            try CurlFetcher(policy: Self.publicMirrorPolicy).download(from: mirror.baseURL + "f", to: dir + "/f")
        }
        #expect(inner.requests("/secret").isEmpty)
    }

    /// With the production policy, a mirror on loopback still may not leave loopback for another non-public
    /// range: link-local (the cloud metadata address) and private addresses are refused before connecting.
    @Test func aLoopbackMirrorMayNotRedirectToOtherNonPublicRanges() throws {
        let mirror = try FaultServer()
        defer { mirror.stop() }
        mirror.script("/metadata", [.redirect(to: "http://169.254.169.254/latest/meta-data/")])
        mirror.script("/private", [.redirect(to: "http://10.0.0.1:8080/admin")])
        mirror.script("/ula", [.redirect(to: "http://[fd00::1]:8080/admin")])
        let dir = try temporaryDirectory("ranges")
        let fetcher = CurlFetcher(policy: testPolicy)
        #expect(throws: FetchError.redirectRefused(range: .linkLocal, url: mirror.baseURL + "metadata")) {
            try fetcher.download(from: mirror.baseURL + "metadata", to: dir + "/a")
        }
        #expect(throws: FetchError.redirectRefused(range: .privateNetwork, url: mirror.baseURL + "private")) {
            try fetcher.download(from: mirror.baseURL + "private", to: dir + "/b")
        }
        #expect(throws: FetchError.redirectRefused(range: .privateNetwork, url: mirror.baseURL + "ula")) {
            try fetcher.download(from: mirror.baseURL + "ula", to: dir + "/c")
        }
        #expect(mirror.requests("/metadata").count == 1 && mirror.requests("/private").count == 1)
    }

    /// A mirror configured on loopback may redirect within loopback (the default policy).
    @Test func aLoopbackMirrorMayRedirectWithinLoopback() throws {
        let mirror = try FaultServer()
        let other = try FaultServer()
        defer {
            mirror.stop()
            other.stop()
        }
        let body = testBytes(3_000)
        other.script("/data", [.serve(body)])
        mirror.script("/f", [.redirect(to: other.baseURL + "data")])
        let dir = try temporaryDirectory("within")
        _ = try CurlFetcher(policy: testPolicy).download(from: mirror.baseURL + "f", to: dir + "/f")
        #expect(contents(dir + "/f") == body)
        #expect(other.requests("/data").count == 1)
    }

    /// Regression, through the store: the internal server would serve a file that fails the checksum; today its
    /// digest appeared in the fetch error. Now the redirect is refused and no digest, size or body of the inner
    /// reply appears, in the public description or the full one.
    @Test func storeErrorsCarryNothingOfTheInternalReply() throws {
        let mirror = try FaultServer()
        let inner = try FaultServer()
        defer {
            mirror.stop()
            inner.stop()
        }
        let data = try SyntheticDataset()
        let secret = Array("internal service reply: token=abc123".utf8)
        for name in data.files.keys {
            inner.script("/i/" + name, [.serve(secret)])
            mirror.script("/m/" + name, [.redirect(to: inner.baseURL + "i/" + name)])
        }
        let store = DatasetStore(cacheDirectory: try temporaryDirectory("hostile"), policy: Self.publicMirrorPolicy)
        var caught: DatasetError?
        do {
            try store.fetch(data.spec, mirrors: [.remote(mirror.baseURL + "m/")])
        } catch {
            caught = error
        }
        let error = try #require(caught)
        guard case .allMirrorsFailed(let file, let failures) = error else {
            Issue.record("unexpected error \(error)")
            return
        }
        #expect(file == "train-images-idx3-ubyte.gz")
        let refusal = "refused a redirect to a loopback address (only the mirror's own network may be redirected to)"
        #expect(failures == [MirrorFailure(url: mirror.baseURL + "m/" + file, reason: refusal, publicReason: refusal)])
        #expect(inner.requests("/i/" + file).isEmpty)
        for full in [error.description, error.publicDescription] {
            // The mirror's URL is expected in the text; its random port may contain the secret's length (36).
            let text = full.split(separator: mirror.baseURL, omittingEmptySubsequences: false).joined(separator: "<mirror>/")
            #expect(!text.contains(HexDigest.md5(secret)))
            #expect(!text.contains(HexDigest.sha256(secret)))
            #expect(!text.contains("\(secret.count)"))
            #expect(!text.contains("token"))
        }
        #expect(listing(store.directory(for: data.spec)).isEmpty)
    }

    /// What API clients see never quotes the reply, even from the configured mirror: no received digest, no
    /// HTTP status; the full description (for the log and the CLI) keeps both.
    @Test func publicDescriptionQuotesNothingFromTheReply() throws {
        let server = try FaultServer()
        defer { server.stop() }
        let data = try SyntheticDataset()
        let other = try SyntheticDataset(seed: 99)
        other.serve(on: server, under: "/wrong/")
        let store = DatasetStore(cacheDirectory: try temporaryDirectory("public"), policy: testPolicy)
        let imagesName = "train-images-idx3-ubyte.gz"
        let received = HexDigest.md5(try #require(other.files[imagesName]))
        let pinned = try #require(data.spec.files.first { $0.name == imagesName }).checksum
        var caught: DatasetError?
        do {
            try store.fetch(data.spec, mirrors: [.remote(server.baseURL + "wrong/"), .remote(server.baseURL + "none/")])
        } catch {
            caught = error
        }
        let error = try #require(caught)
        #expect(error.description.contains(received))
        #expect(error.description.contains("HTTP 404"))
        #expect(error.publicDescription == """
            \(imagesName): every mirror failed:
              - \(server.baseURL)wrong/\(imagesName): checksum mismatch: expected \(pinned)
              - \(server.baseURL)none/\(imagesName): the server answered with an HTTP error (after 1 attempt)
            """)
    }
}
