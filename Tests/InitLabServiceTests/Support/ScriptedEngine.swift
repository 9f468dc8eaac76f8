import Foundation
import Synchronization
import InitLabContract

@testable import InitLabService

/// A stand-in engine for queue and API tests: `{"depth": N, "layer_ms": M, "fail": "msg"?}`; each "layer"
/// sleeps M ms, reports progress and checks cancellation, like the real runner at its layer boundaries.
/// `gate` lets a test hold every run at its first layer until released.
final class ScriptedEngine: ExperimentEngine {
    let runs = Atomic<Int>(0)
    /// Runs that went through every layer (returned a result).
    let completedRuns = Atomic<Int>(0)
    private let gateOpen = Atomic<Bool>(true)

    init(gated: Bool = false) { gateOpen.store(!gated, ordering: .relaxed) }

    func release() { gateOpen.store(true, ordering: .relaxed) }

    func prepare(_ body: JSONValue) throws(SpecProblems) -> PreparedSpec {
        guard case .object(let dict) = body else {
            throw SpecProblems(pointer: "", detail: "must be an object")
        }
        var errors: [FieldProblem] = []
        for key in dict.keys.sorted() where !["depth", "layer_ms", "fail", "seed"].contains(key) {
            errors.append(FieldProblem(pointer: "/\(key)", detail: "unknown field"))
        }
        let depth = dict["depth"]?.numberValue?.exactInt64.map { Int($0) } ?? 0
        if !(1...100).contains(depth) {
            errors.append(FieldProblem(pointer: "/depth", detail: "must be an integer 1...100"))
        }
        guard errors.isEmpty else { throw SpecProblems(errors) }
        var canonical = dict
        canonical["layer_ms"] = dict["layer_ms"] ?? .integer(0)
        canonical["seed"] = dict["seed"] ?? .integer(0)
        return PreparedSpec(canonicalJSON: JSONValue.object(canonical).serialized(), layersTotal: depth)
    }

    func schemeCatalogJSON() -> Data { Data("{\"activations\":[],\"initializers\":[]}".utf8) }

    func run(
        canonicalSpec: Data, progress: @escaping @Sendable (EngineProgress) -> Void,
        isCancelled: @escaping @Sendable () -> Bool
    ) throws(RunFailure) -> Data {
        runs.add(1, ordering: .relaxed)
        guard let dict = (try? JSONSerialization.jsonObject(with: canonicalSpec)) as? [String: Any],
            let depth = dict["depth"] as? Int, let layerMS = dict["layer_ms"] as? Int
        else { throw .failed("bad spec") }
        if let message = dict["fail"] as? String { throw .failed(message) }
        for layer in 1...depth {
            while !gateOpen.load(ordering: .relaxed) {
                if isCancelled() { throw .cancelled }
                usleep(2_000)
            }
            if layerMS > 0 { usleep(UInt32(layerMS) * 1000) }
            progress(EngineProgress(done: layer, total: depth))
            if isCancelled() { throw .cancelled }
        }
        let seed = dict["seed"] as? Int ?? 0
        completedRuns.add(1, ordering: .relaxed)
        return Data("{\"depth\":\(depth),\"checksum\":\(depth &* 31 &+ seed)}".utf8)
    }
}

extension ExperimentEngine {
    /// Tests: bytes through the strict parser, then `prepare`, as the submit path does.
    func prepare(bytes: Data) throws -> PreparedSpec { try prepare(JSONParser().parse(bytes)) }
}
