import Foundation
import Testing

@testable import HTTPServer

struct TeapotError: Error {
    let secret = "/etc/passwd at line 3"
}

func makeRouter() -> Router {
    let router = Router()
    router.get("/v1/experiments") { _, _ in .text("list") }
    router.post("/v1/experiments") { _, _ in .text("created", status: .accepted) }
    router.get("/v1/experiments/{id}") { _, ctx in .text("id=\(ctx.parameters["id"] ?? "?") route=\(ctx.route)") }
    router.get("/v1/experiments/summary") { _, _ in .text("summary") }
    router.delete("/v1/experiments/{id}") { _, _ in HTTPResponse(status: .noContent) }
    router.get("/boom") { _, _ in throw TeapotError() }
    router.get("/problem") { _, _ in
        throw ProblemError(
            .unprocessableContent, code: "invalid_spec", detail: "bad width",
            extra: ["errors": .array([.object(["pointer": .string("/layers/0/width"), "detail": .string("must be positive")])])],
            headers: ["Retry-After": "3"])
    }
    router.get("/json") { _, _ in try .json(["b": 2, "a": 1]) }
    return router
}

func request(_ method: HTTPMethod, _ target: String, headers: HTTPHeaders = ["Host": "h"]) -> HTTPRequest {
    HTTPRequest(method: method, target: target, headers: headers, requestID: "req-1")
}

func bodyString(_ response: HTTPResponse) -> String {
    if case .bytes(let b) = response.body { return String(decoding: b, as: UTF8.self) }
    return "<stream>"
}

func bodyJSON(_ response: HTTPResponse) -> [String: Any] {
    guard case .bytes(let b) = response.body,
        let object = try? JSONSerialization.jsonObject(with: Data(b)) as? [String: Any]
    else { return [:] }
    return object
}

@Suite("Router")
struct RouterTests {
    let router = makeRouter()

    @Test func pathParametersAreDecoded() async {
        let r = await router.respond(to: request(.GET, "/v1/experiments/ab%20c?x=1"))
        #expect(bodyString(r.response) == "id=ab c route=/v1/experiments/{id}")
        #expect(r.route == "/v1/experiments/{id}")
    }

    @Test func literalBeatsParameter() async {
        #expect(bodyString(await router.respond(to: request(.GET, "/v1/experiments/summary")).response) == "summary")
    }

    @Test func unknownPathIs404Problem() async {
        let r = await router.respond(to: request(.GET, "/nope"))
        #expect(r.response.status == .notFound)
        #expect(r.response.headers["content-type"] == "application/problem+json")
        let json = bodyJSON(r.response)
        #expect(json["status"] as? Int == 404)
        #expect(json["code"] as? String == "not_found")
        #expect(json["instance"] as? String == "/nope")
        #expect(r.route == nil)
    }

    @Test func trailingSlashIsSignificant() async {
        #expect(await router.respond(to: request(.GET, "/v1/experiments/")).response.status == .notFound)
    }

    @Test func wrongMethodIs405WithAllow() async {
        let r = await router.respond(to: request(.PUT, "/v1/experiments"))
        #expect(r.response.status == .methodNotAllowed)
        #expect(r.response.headers["allow"] == "GET, HEAD, POST, OPTIONS")
        #expect(bodyJSON(r.response)["status"] as? Int == 405)
    }

    @Test func headUsesGetRoute() async {
        let r = await router.respond(to: request(.HEAD, "/v1/experiments"))
        #expect(r.response.status == .ok)
        #expect(bodyString(r.response) == "list")  // the connection drops the body, keeps the length
    }

    @Test func optionsListsMethods() async {
        let r = await router.respond(to: request(.OPTIONS, "/v1/experiments/7"))
        #expect(r.response.status == .noContent)
        #expect(r.response.headers["allow"] == "GET, HEAD, DELETE, OPTIONS")
        // OPTIONS * lists what some route serves: no PUT or PATCH here (every route would refuse them).
        let star = await router.respond(to: request(.OPTIONS, "*"))
        #expect(star.response.headers["allow"] == "GET, HEAD, POST, DELETE, OPTIONS")
    }

    @Test func problemErrorIsRendered() async {
        let r = await router.respond(to: request(.GET, "/problem"))
        #expect(r.response.status == .unprocessableContent)
        #expect(r.response.headers["retry-after"] == "3")
        let json = bodyJSON(r.response)
        #expect(json["code"] as? String == "invalid_spec")
        #expect(json["detail"] as? String == "bad width")
        #expect(json["title"] as? String == "Unprocessable Content")
        #expect(json["type"] as? String == "about:blank")
        #expect(json["request_id"] as? String == "req-1")
        #expect(json["instance"] as? String == "/problem")
        let errors = json["errors"] as? [[String: String]]
        #expect(errors == [["pointer": "/layers/0/width", "detail": "must be positive"]])
    }

    @Test func otherErrorsAre500WithoutInternals() async {
        let r = await router.respond(to: request(.GET, "/boom"))
        #expect(r.response.status == .internalServerError)
        #expect(!bodyString(r.response).contains("passwd"))
        #expect(!bodyString(r.response).contains("Teapot"))
        #expect(r.internalError is TeapotError)
    }

    @Test func jsonHasSortedKeys() async {
        let r = await router.respond(to: request(.GET, "/json"))
        #expect(bodyString(r.response) == #"{"a":1,"b":2}"#)
        #expect(r.response.headers["content-type"] == "application/json")
    }

    static let cors = CORSConfiguration(allowedOrigins: ["https://dash.example"])

    func corsRouter(_ configuration: CORSConfiguration = RouterTests.cors) -> Router {
        let router = makeRouter()
        router.use(CORSMiddleware(configuration))
        return router
    }

    @Test func corsActualRequestFromAllowedOrigin() async {
        let r = await corsRouter().respond(
            to: request(.GET, "/v1/experiments", headers: ["Host": "h", "Origin": "https://dash.example"]))
        #expect(r.response.headers["access-control-allow-origin"] == "https://dash.example")
        #expect(r.response.headers["access-control-expose-headers"] == "Location, ETag, Retry-After")
        #expect(r.response.headers["vary"] == "Origin")
    }

    @Test func corsOtherOriginGetsNoGrant() async {
        let r = await corsRouter().respond(
            to: request(.GET, "/v1/experiments", headers: ["Host": "h", "Origin": "https://evil.example"]))
        #expect(r.response.headers["access-control-allow-origin"] == nil)
        #expect(r.response.headers["vary"] == "Origin")
    }

    @Test func corsPreflight() async {
        let router = corsRouter()
        let ok = await router.respond(
            to: request(
                .OPTIONS, "/v1/experiments",
                headers: [
                    "Host": "h", "Origin": "https://dash.example", "Access-Control-Request-Method": "POST",
                    "Access-Control-Request-Headers": "content-type, idempotency-key",
                ]))
        #expect(ok.response.status == .noContent)
        #expect(ok.response.headers["access-control-allow-origin"] == "https://dash.example")
        #expect(ok.response.headers["access-control-allow-methods"] == "GET, HEAD, POST, OPTIONS")
        #expect(ok.response.headers["access-control-max-age"] == "600")
        #expect(ok.response.headers["vary"] == "Origin")

        let badMethod = await router.respond(
            to: request(
                .OPTIONS, "/v1/experiments",
                headers: ["Host": "h", "Origin": "https://dash.example", "Access-Control-Request-Method": "PATCH"]))
        #expect(badMethod.response.headers["access-control-allow-origin"] == nil)

        let wildcard = await corsRouter(CORSConfiguration(allowedOrigins: ["*"])).respond(
            to: request(
                .OPTIONS, "/v1/experiments",
                headers: ["Host": "h", "Origin": "https://any.example", "Access-Control-Request-Method": "GET"]))
        #expect(wildcard.response.headers["access-control-allow-origin"] == "*")
    }

    @Test func queryDecoding() {
        let r = request(.GET, "/s?a=1&b=x+y&a=%2F2&flag&e=%zz")
        #expect(r.path == "/s")
        #expect(r.queryValues("a") == ["1", "/2"])
        #expect(r.queryValue("b") == "x y")
        #expect(r.queryValue("flag") == "")
        #expect(r.queryValue("e") == "%zz")
    }

    @Test func absoluteFormPath() {
        #expect(request(.GET, "http://h:8080/p/q?z=1").path == "/p/q")
        #expect(request(.GET, "http://h").path == "/")
    }

    @Test(arguments: [
        ("abc-123", true), ("a/b:c@d+e=f_g.h", true), ("", false), ("has space", false), ("quote\"", false),
        (String(repeating: "x", count: 128), true), (String(repeating: "x", count: 129), false), ("é", false),
    ])
    func requestIDValidation(_ id: String, _ ok: Bool) {
        #expect(RequestID.isAcceptable(id) == ok)
    }

    @Test func generatedRequestIDs() {
        let a = RequestID.generate()
        #expect(a.utf8.count == 16)
        #expect(RequestID.isAcceptable(a))
        #expect(RequestID.from(["X-Request-Id": "bad id"]) != "bad id")
        #expect(RequestID.from(["X-Request-Id": "good-id"]) == "good-id")
    }

    @Test func serverSentEventFormat() {
        let e = ServerSentEvent(id: "7", event: "progress", data: "line1\nline2")
        #expect(String(decoding: e.bytes, as: UTF8.self) == "id: 7\nevent: progress\ndata: line1\ndata: line2\n\n")
    }
}
