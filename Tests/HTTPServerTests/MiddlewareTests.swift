import Foundation
import Synchronization
import Testing

@testable import HTTPServer

private final class Log: Sendable {
    let entries = Mutex<[String]>([])
    func withLock<T>(_ body: (inout [String]) -> T) -> T { entries.withLock { body(&$0) } }
}

/// Records the order in which middleware ran.
private struct Tag: HTTPMiddleware {
    let name: String
    let log: Log

    func respond(to request: HTTPRequest, context: RouteContext, next: HTTPHandler) async throws -> HTTPResponse {
        log.withLock { $0.append(">" + name) }
        var response = try await next(request, context)
        log.withLock { $0.append("<" + name) }
        response.headers.add(name: "X-Tag", value: name)
        return response
    }
}

private struct Refuse: HTTPMiddleware {
    func respond(to request: HTTPRequest, context: RouteContext, next: HTTPHandler) async throws -> HTTPResponse {
        throw ProblemError(.forbidden, code: "refused", detail: "no")
    }
}

@Suite("Middleware, groups and the one problem renderer")
struct MiddlewareTests {
    @Test func groupsNestPrefixesAndMiddlewareInOrder() async {
        let log = Log()
        let router = Router()
        router.use(Tag(name: "global", log: log))
        let v1 = router.group("/v1", middleware: [Tag(name: "outer", log: log)])
        let jobs = v1.group("/jobs", middleware: [Tag(name: "inner", log: log)])
        jobs.get("/{id}") { _, context in .text("job \(context.parameters["id"] ?? "?")") }
        let r = await router.respond(to: request(.GET, "/v1/jobs/7"))
        #expect(bodyString(r.response) == "job 7")
        #expect(r.route == "/v1/jobs/{id}")
        #expect(log.withLock { $0 } == [">global", ">outer", ">inner", "<inner", "<outer", "<global"])
        #expect(r.response.headers.values(name: "x-tag") == ["inner", "outer", "global"])
    }

    @Test func globalMiddlewareSeesTheRoutersOwnAnswers() async {
        let log = Log()
        let router = Router()
        router.use(Tag(name: "global", log: log))
        router.get("/a") { _, _ in .text("a") }
        let missing = await router.respond(to: request(.GET, "/b"))
        #expect(missing.response.status == .notFound)
        #expect(missing.response.headers["x-tag"] == "global")
        let wrong = await router.respond(to: request(.POST, "/a"))
        #expect(wrong.response.status == .methodNotAllowed)
        #expect(wrong.response.headers["x-tag"] == "global")
        #expect(wrong.route == "/a")
    }

    @Test func middlewareProblemIsRenderedWithTheRoute() async {
        let router = Router(problems: ProblemRenderer(typePrefix: "urn:test:"))
        router.group(middleware: [Refuse()]).post("/x") { _, _ in .text("never") }
        let r = await router.respond(to: request(.POST, "/x"))
        #expect(r.response.status == .forbidden)
        #expect(r.route == "/x")
        let json = bodyJSON(r.response)
        #expect(json["type"] as? String == "urn:test:refused")
        #expect(json["instance"] as? String == "/x")
        #expect(json["request_id"] as? String == "req-1")
        #expect(json["detail"] as? String == "no")
    }

    @Test func rendererAlwaysSendsTheRequiredMembers() throws {
        let renderer = ProblemRenderer(typePrefix: "urn:initlab:problem:")
        let response = renderer.response(for: ServerError.parser(.bodyTooLarge), instance: "/v1/experiments", requestID: "abc")
        let json = bodyJSON(response)
        #expect(response.status == .contentTooLarge)
        #expect(Set(json.keys) == ["type", "title", "status", "detail", "instance", "code", "request_id"])
        #expect(json["type"] as? String == "urn:initlab:problem:body_too_large")
        #expect(json["status"] as? Int == 413)
        let unknownPath = bodyJSON(renderer.response(for: ServerError.requestTimeout, instance: nil, requestID: "r9"))
        #expect(unknownPath["instance"] as? String == "urn:request:r9")
        #expect(unknownPath["detail"] as? String == "The request did not arrive in time.")
    }

    @Test func methodNotAllowedNamesTheMethod() async {
        let router = makeRouter()
        let r = await router.respond(to: request(.PATCH, "/v1/experiments"))
        #expect(bodyJSON(r.response)["detail"] as? String == "PATCH is not allowed here; allowed: GET, HEAD, POST, OPTIONS.")
    }

    // MARK: - The state-change guard

    func guarded(origins: [String] = []) -> Router {
        let router = Router()
        router.group(middleware: [StateChangeGuard(allowedOrigins: origins)]).post("/jobs") { _, _ in
            .text("created", status: .accepted)
        }
        return router
    }

    func post(_ headers: HTTPHeaders, body: String = "") -> HTTPRequest {
        HTTPRequest(method: .POST, target: "/jobs", headers: headers, body: Array(body.utf8), requestID: "req-1")
    }

    @Test(arguments: ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"])
    func simpleCrossSiteBodiesAre415(_ contentType: String) async {
        let r = await guarded().respond(to: post(["Host": "h", "Content-Type": contentType], body: "{}"))
        #expect(r.response.status == .unsupportedMediaType)
        #expect(r.response.headers["accept-post"] == "application/json")
        #expect(bodyJSON(r.response)["code"] as? String == "unsupported_media_type")
    }

    @Test func aBodyWithoutContentTypeIs415() async {
        #expect(await guarded().respond(to: post(["Host": "h"], body: "{}")).response.status == .unsupportedMediaType)
    }

    @Test func foreignOriginIs403EvenWithJSON() async {
        let r = await guarded(origins: ["https://dash.example"]).respond(
            to: post(["Host": "h:8080", "Origin": "https://evil.example", "Content-Type": "application/json"], body: "{}"))
        #expect(r.response.status == .forbidden)
        #expect(bodyJSON(r.response)["code"] as? String == "cross_origin_forbidden")
    }

    @Test func ownAllowedOrNoOriginPasses() async {
        let router = guarded(origins: ["https://dash.example"])
        for headers: HTTPHeaders in [
            ["Host": "h:8080", "Origin": "http://h:8080", "Content-Type": "application/json"],
            ["Host": "h:8080", "Origin": "https://dash.example", "Content-Type": "application/json; charset=utf-8"],
            ["Host": "h:8080", "Content-Type": "application/merge-patch+json"],
        ] {
            #expect(await router.respond(to: post(headers, body: "{}")).response.status == .accepted)
        }
        // No body, no Content-Type: a plain `curl -X POST …/cancel`.
        #expect(await router.respond(to: post(["Host": "h"])).response.status == .accepted)
    }

    // MARK: - Bearer token and singleton headers

    @Test func bearerAuth() async {
        let router = Router()
        router.group(middleware: [BearerAuth(token: "s3cret-token-0123", realm: "t")]).post("/x") { _, _ in .text("ok") }
        func status(_ headers: HTTPHeaders) async -> Int {
            await router.respond(to: post(headers).withTarget("/x")).response.status.code
        }
        #expect(await status(["Host": "h"]) == 401)
        #expect(await status(["Host": "h", "Authorization": "Bearer wrong"]) == 401)
        #expect(await status(["Host": "h", "Authorization": "Bearer s3cret-token-0123"]) == 200)
        let twice = HTTPHeaders([("Host", "h"), ("Authorization", "Bearer s3cret-token-0123"), ("Authorization", "Bearer x")])
        #expect(await status(twice) == 400)
    }

    @Test func constantTimeEquality() {
        #expect(ConstantTime.equal(Array("secret-token-123".utf8), Array("secret-token-123".utf8)))
        #expect(!ConstantTime.equal(Array("secret-token-123".utf8), Array("secret-token-124".utf8)))
        #expect(!ConstantTime.equal(Array("secret".utf8), Array("secret-token".utf8)))
        #expect(!ConstantTime.equal([], Array("x".utf8)))
    }

    @Test func singletonHeaderSentTwiceIs400() throws {
        let request = HTTPRequest(
            method: .POST, target: "/", headers: HTTPHeaders([("Idempotency-Key", "a"), ("idempotency-key", "b")]))
        #expect(throws: ProblemError.self) { try request.singletonHeader("Idempotency-Key") }
        #expect(try HTTPRequest(method: .GET, target: "/").singletonHeader("Idempotency-Key") == nil)
    }

    @Test func queryParametersAreChecked() throws {
        let ok = HTTPRequest(method: .GET, target: "/x?wait=3")
        #expect(try ok.queryParameters(allowed: ["wait"]) == ["wait": "3"])
        #expect(throws: ProblemError.self) { try HTTPRequest(method: .GET, target: "/x?nope=1").queryParameters(allowed: ["wait"]) }
        #expect(throws: ProblemError.self) { try HTTPRequest(method: .GET, target: "/x?wait=1&wait=2").queryParameters(allowed: ["wait"]) }
    }
}

extension HTTPRequest {
    fileprivate func withTarget(_ target: String) -> HTTPRequest {
        HTTPRequest(method: method, target: target, headers: headers, body: body, requestID: requestID)
    }
}
