import ArgumentParser
import Foundation
import InitCore
import InitLabClient
import InitLabContract

/// `--server` and the token: where the remote commands send their requests.
struct RemoteOptions: ParsableArguments {
    @Option(help: "The server's base URL (default: $INITLAB_SERVER, else http://127.0.0.1:8080). The bearer token comes from $INITLAB_TOKEN.")
    var server: String?

    var url: String { server ?? ProcessInfo.processInfo.environment["INITLAB_SERVER"] ?? "http://127.0.0.1:8080" }

    func validate() throws {
        do {
            _ = try RemoteClient(server: url, token: nil)
        } catch {
            throw ValidationError("--server (INITLAB_SERVER) must be an http:// or https:// URL, got '\(url)'")
        }
    }

    func client() -> RemoteClient {
        do {
            return try RemoteClient(server: url, token: ProcessInfo.processInfo.environment["INITLAB_TOKEN"])
        } catch {
            Remote.exit(error)
        }
    }
}

/// What the remote commands share: error exits, job lines and the exit-code table.
enum Remote {
    static let exitCodes = """
        Exit codes: 0 succeeded (or done), 10 the experiment failed, 11 it was cancelled, 12 not finished \
        (wait --timeout ran out, or result asked too early), 64 usage error, 65 spec or request refused (400, \
        422), 66 no such experiment (404), 69 server unreachable or unavailable (5xx), 70 unexpected answer, \
        77 token missing or refused (401, 403).
        """

    static func exit(_ error: RemoteError) -> Never {
        FileHandle.standardError.write(Data("initlab: \(error)\n".utf8))
        Foundation.exit(RemoteExitCode(error).rawValue)
    }

    static func exit(_ code: RemoteExitCode) -> Never { Foundation.exit(code.rawValue) }

    /// Runs a request, exiting with the error's code when it fails.
    static func call<T>(_ body: () async throws(RemoteError) -> T) async -> T {
        do {
            return try await body()
        } catch {
            exit(error)
        }
    }

    static func job(_ response: RemoteResponse) -> JSONValue {
        do {
            return try response.json()
        } catch {
            exit(error)
        }
    }

    static func path(_ id: String) -> String {
        "/v1/experiments/" + (id.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(["-"])) ?? id)
    }

    /// `id  status  progress  attempt  spec`, one line per job.
    static func line(_ job: JSONValue) -> String {
        let id = job["id"]?.string ?? "?"
        let status = job["status"]?.string ?? "?"
        var progress = ""
        if let p = job["progress"] {
            if let done = p["steps_done"]?.numberValue?.text, let total = p["steps_total"]?.numberValue?.text {
                progress = "steps \(done)/\(total)"
            } else if let done = p["layers_done"]?.numberValue?.text, let total = p["layers_total"]?.numberValue?.text {
                progress = "layers \(done)/\(total)"
            }
        }
        let attempt = job["attempt"]?.numberValue?.text ?? "?"
        var spec = ""
        if let s = job["spec"] {
            let depth = s["depth"]?.numberValue?.text ?? "?", width = s["width"]?.numberValue?.text ?? "?"
            let initName = s["init"]?["name"]?.string ?? "?", activation = s["activation"]?["name"]?.string ?? "?"
            spec = "depth \(depth) × width \(width), \(initName), \(activation)"
            if let steps = s["train"]?["steps"]?.numberValue?.text { spec += ", train \(steps) steps" }
        }
        var text = "\(id)  \(status.padding(toLength: 9, withPad: " ", startingAt: 0))  \(progress.padding(toLength: 16, withPad: " ", startingAt: 0))  attempt \(attempt)  \(spec)"
        if let error = job["error"]?.string { text += "\n  error: \(error)" }
        return text
    }

    static func printJSON(_ value: JSONValue) {
        FileHandle.standardOutput.write(value.serialized() + Data([0x0A]))
    }

    /// Sends one request that answers with a job and prints it: its line, or its JSON.
    static func showJob(_ remote: RemoteOptions, _ method: String, _ path: String, json: Bool) async {
        let client = remote.client()
        let job = Remote.job(await Remote.call { () async throws(RemoteError) in try await client.send(method, path) })
        if json { printJSON(job) } else { print(line(job)) }
    }
}

struct SubmitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "submit",
        abstract: "Submit an experiment to a server and print its id.",
        discussion: """
            The spec flags are `initlab run`'s; the server validates the spec against its own limits. An \
            Idempotency-Key (a new UUID unless --idempotency-key is given) makes the submission safe to retry: a \
            503 is retried after its Retry-After. \(Remote.exitCodes)
            """
    )

    @OptionGroup var remote: RemoteOptions
    @OptionGroup var specOptions: SpecOptions
    @Option(help: "The Idempotency-Key header (default: a new UUID).") var idempotencyKey: String?
    @Flag(help: "Print the accepted job as JSON instead of its id.") var json = false

    func run() async throws {
        let body = try specOptions.body().serialized()
        let client = remote.client()
        let key = idempotencyKey ?? UUID().uuidString.lowercased()
        let response = await Remote.call { () async throws(RemoteError) in
            try await client.send("POST", "/v1/experiments", body: body, headers: ["Idempotency-Key": key])
        }
        let job = Remote.job(response)
        if json { Remote.printJSON(job) } else { print(job["id"]?.string ?? "") }
    }
}

struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status", abstract: "Print an experiment's status and progress.",
        discussion: Remote.exitCodes)

    @OptionGroup var remote: RemoteOptions
    @Argument(help: "The experiment's id.") var id: String
    @Flag(help: "Print the job as JSON.") var json = false

    func run() async throws { await Remote.showJob(remote, "GET", Remote.path(id), json: json) }
}

struct WaitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wait", abstract: "Wait until an experiment ends (by long-poll); the exit code tells how it ended.",
        discussion: Remote.exitCodes)

    @OptionGroup var remote: RemoteOptions
    @Argument(help: "The experiment's id.") var id: String
    @Option(help: "Give up after this many seconds (exit 12; default: wait as long as it takes).") var timeout: Double?
    @Flag(help: "Print the final job as JSON.") var json = false

    func run() async throws {
        let client = remote.client()
        let deadline = timeout.map { Date().addingTimeInterval($0) }
        var etag: String?
        while true {
            let remaining = deadline.map { $0.timeIntervalSinceNow } ?? 30
            if remaining <= 0 {
                FileHandle.standardError.write(Data("initlab wait: \(id) has not finished after \(timeout ?? 0) s\n".utf8))
                Remote.exit(.notFinished)
            }
            let seconds = max(1, min(30, Int(remaining.rounded(.up))))
            var headers: [String: String] = [:]
            if let etag { headers["If-None-Match"] = etag }
            let response = await Remote.call { () async throws(RemoteError) in
                try await client.send("GET", Remote.path(id), query: [("wait", String(seconds))], headers: headers, timeout: Double(seconds) + 30)
            }
            if response.status == 304 { continue }
            etag = response.headers["etag"]
            let job = Remote.job(response)
            guard let status = job["status"]?.string, let code = RemoteExitCode(terminalStatus: status) else { continue }
            if json { Remote.printJSON(job) } else { print(Remote.line(job)) }
            Remote.exit(code)
        }
    }
}

struct ResultCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "result", abstract: "Print a finished experiment's result: json (the stored bytes), table or csv.",
        discussion: Remote.exitCodes)

    @OptionGroup var remote: RemoteOptions
    @Argument(help: "The experiment's id.") var id: String
    @Option(help: "json, table or csv.") var format: String = "json"

    func validate() throws {
        guard ["json", "table", "csv"].contains(format) else { throw ValidationError("--format must be json, table or csv") }
    }

    func run() async throws {
        let client = remote.client()
        let path = Remote.path(id) + (format == "csv" ? "/result.csv" : "/result")
        let response = await Remote.call { () async throws(RemoteError) in
            try await client.send("GET", path, headers: format == "csv" ? ["Accept": "text/csv"] : [:])
        }
        guard format == "table" else {
            FileHandle.standardOutput.write(response.body)
            return
        }
        do {
            let result = try JSONDecoder().decode(ExperimentResult.self, from: response.body)
            print(ResultTable.render(result))
        } catch {
            Remote.exit(.unexpected(status: response.status, "the result does not decode: \(error)"))
        }
    }
}

struct CancelCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cancel", abstract: "Cancel a queued or running experiment (a finished one is left as it is).",
        discussion: Remote.exitCodes)

    @OptionGroup var remote: RemoteOptions
    @Argument(help: "The experiment's id.") var id: String
    @Flag(help: "Print the job as JSON.") var json = false

    func run() async throws { await Remote.showJob(remote, "POST", Remote.path(id) + "/cancel", json: json) }
}

struct ListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "List experiments, newest first, following the pages.",
        discussion: Remote.exitCodes)

    @OptionGroup var remote: RemoteOptions
    @Option(help: "Only this status: queued, running, succeeded, failed or cancelled.") var status: String?
    @Option(help: "At most this many (default 50).") var limit: Int = 50
    @Flag(help: "Every experiment (no limit).") var all = false
    @Option(help: "Experiments per request, 1 ... 1000 (default 100).") var pageSize: Int = 100
    @Flag(help: "Print a JSON array of the jobs.") var json = false

    func validate() throws {
        guard limit >= 1 else { throw ValidationError("--limit must be at least 1, got \(limit)") }
        guard (1...1000).contains(pageSize) else { throw ValidationError("--page-size must be 1 ... 1000, got \(pageSize)") }
    }

    func run() async throws {
        let client = remote.client()
        var jobs: [JSONValue] = []
        var token: String?
        repeat {
            var query = [("page_size", String(all ? pageSize : min(pageSize, limit - jobs.count)))]
            if let status { query.append(("status", status)) }
            if let token { query.append(("page_token", token)) }
            let page = Remote.job(await Remote.call { () async throws(RemoteError) in try await client.send("GET", "/v1/experiments", query: query) })
            jobs += page["experiments"]?.array ?? []
            token = page["next_page_token"]?.string
        } while token != nil && (all || jobs.count < limit)
        if json {
            Remote.printJSON(.array(jobs))
        } else {
            for job in jobs { print(Remote.line(job)) }
        }
    }
}

struct WatchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watch",
        abstract: "Follow an experiment live (its event stream): a progress bar and the sparkline of each layer's std.",
        discussion: """
            On a terminal the progress bar redraws in place; otherwise each event is a line. A dropped stream \
            resumes where it left off (Last-Event-ID). Ends when the experiment does; the exit code tells how. \
            \(Remote.exitCodes)
            """
    )

    @OptionGroup var remote: RemoteOptions
    @Argument(help: "The experiment's id.") var id: String

    /// What the stream has shown so far.
    actor View {
        let live = isatty(STDOUT_FILENO) != 0
        var done = 0, total = 0
        var unit = "layers"
        var status = ""
        var forwardStd: [Int: Double] = [:]
        var accuracy: [Double] = []
        var outcome: (String, String?)?

        func handle(_ event: SSEEvent) -> Bool {
            let data = (try? JSONParser().parse(Data(event.data.utf8))) ?? .null
            switch event.name {
            case "status", "progress":
                if let d = data["steps_done"]?.numberValue, let t = data["steps_total"]?.numberValue {
                    (done, total, unit) = (Int(d.double), Int(t.double), "steps")
                } else if let d = data["layers_done"]?.numberValue, let t = data["layers_total"]?.numberValue {
                    (done, total, unit) = (Int(d.double), Int(t.double), "layers")
                }
                if let s = data["status"]?.string { status = s }
                draw()
            case "layer":
                if let index = data["index"]?.numberValue, let std = data["forward"]?["activation"]?["std"]?.numberValue {
                    forwardStd[Int(index.double)] = std.double
                }
                draw()
            case "eval":
                if let a = data["accuracy"]?.numberValue { accuracy.append(a.double) }
                if !live, let step = data["step"]?.numberValue?.text, let a = data["accuracy"]?.numberValue?.text {
                    print("eval step \(step): accuracy \(a)")
                }
            case "done":
                outcome = (data["status"]?.string ?? "?", data["error"]?.string)
                return true
            default: break
            }
            return false
        }

        func draw() {
            let width = 30
            let filled = total > 0 ? width * min(done, total) / total : 0
            let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
            var text = "[\(bar)] \(done)/\(total) \(unit) \(status)"
            let spark = sparkline()
            if !spark.isEmpty { text += "  std " + spark }
            if live {
                FileHandle.standardOutput.write(Data(("\r\u{1B}[K" + text).utf8))
            } else {
                print(text)
            }
        }

        func sparkline() -> String {
            guard let last = forwardStd.keys.max() else { return "" }
            return Sparkline.render((1...last).map { forwardStd[$0] }, maxWidth: 60)
        }

        func finish() -> RemoteExitCode {
            if live { print("") }
            guard let (status, error) = outcome else { return .unexpected }
            var text = "\(status)"
            if !forwardStd.isEmpty { text += "  forward std by layer " + sparkline() }
            if !accuracy.isEmpty { text += "  accuracy " + Sparkline.render(accuracy, maxWidth: 40) + " final \(accuracy.last.map { String(format: "%.4f", $0) } ?? "")" }
            if let error { text += "\nerror: \(error)" }
            print(text)
            return RemoteExitCode(terminalStatus: status) ?? .unexpected
        }
    }

    func run() async throws {
        let client = remote.client()
        let view = View()
        await Remote.call { () async throws(RemoteError) in
            try await client.follow(Remote.path(id) + "/events") { event in await view.handle(event) }
        }
        Remote.exit(await view.finish())
    }
}
