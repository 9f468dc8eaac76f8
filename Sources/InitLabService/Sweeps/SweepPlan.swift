import Foundation
import InitLabContract

/// A sweep request: a base spec and the values to vary, expanded into one spec per combination (cartesian
/// product; the first varied key changes slowest). Pure; the route validates every combination with the
/// experiment engine before anything is queued.
///
/// Body: `{"base": {spec…}, "vary": {"init": [...], "activation": [...], "width": [...], "depth": [...], "seed": [...],
/// "lr": [...], "optimizer": [...], "steps": [...]}}`. The last three vary a training run (`base.train`): its
/// optimizer's learning rate, its optimizer, its number of steps.
struct SweepPlan: Sendable {
    /// The keys a sweep may vary, in expansion order.
    static let varyKeys = ["init", "activation", "width", "depth", "seed", "lr", "optimizer", "steps"]

    /// Where a varied key lives in the spec: a top-level field, or inside `train`.
    static func path(of key: String) -> [String] {
        switch key {
        case "lr": ["train", "optimizer", "lr"]
        case "optimizer": ["train", "optimizer"]
        case "steps": ["train", "steps"]
        default: [key]
        }
    }

    /// `object` with `value` at `path`. An optimizer given by name becomes `{"name": name}` so that its lr can
    /// be set; a missing one, `{"name": "sgd"}` (the default optimizer).
    static func setting(_ object: [String: JSONValue], _ path: ArraySlice<String>, to value: JSONValue) -> [String: JSONValue] {
        guard let key = path.first else { return object }
        var out = object
        if path.count == 1 {
            out[key] = value
            return out
        }
        var inner: [String: JSONValue]
        switch object[key] {
        case .object(let existing): inner = existing
        case .string(let name): inner = ["name": .string(name)]
        default: inner = key == "optimizer" ? ["name": .string("sgd")] : [:]
        }
        out[key] = .object(setting(inner, path.dropFirst(), to: value))
        return out
    }

    var base: [String: JSONValue]
    var vary: [(key: String, values: [JSONValue])]

    struct Combination: Sendable {
        /// Index into each varied key's list, in `vary` order.
        var indices: [Int]
        var spec: [String: JSONValue]
        var label: String
        var values: [String: JSONValue]
    }

    /// Reads the body (already through `JSONParser`); structural errors are field problems with JSON pointers
    /// into the body.
    static func parse(_ root: JSONValue, maxCombinations: Int) throws(SpecProblems) -> SweepPlan {
        guard case .object(let object) = root else { throw SpecProblems(pointer: "", detail: "must be a JSON object with base and vary") }
        var problems: [FieldProblem] = []
        for key in object.keys.sorted() where key != "base" && key != "vary" {
            problems.append(FieldProblem(pointer: "/\(escape(key))", detail: "unknown field; allowed: base, vary"))
        }
        var base: [String: JSONValue] = [:]
        switch object["base"] {
        case .object(let value): base = value
        case nil: problems.append(FieldProblem(pointer: "/base", detail: "required: the spec every combination starts from"))
        default: problems.append(FieldProblem(pointer: "/base", detail: "must be an experiment spec object"))
        }
        var vary: [(key: String, values: [JSONValue])] = []
        switch object["vary"] {
        case .object(let value):
            for key in value.keys.sorted() where !varyKeys.contains(key) {
                problems.append(FieldProblem(pointer: "/vary/\(escape(key))", detail: "cannot be varied; allowed: \(varyKeys.joined(separator: ", "))"))
            }
            for key in varyKeys {
                guard let entry = value[key] else { continue }
                guard case .array(let values) = entry, !values.isEmpty, values.count <= maxCombinations else {
                    problems.append(FieldProblem(pointer: "/vary/\(key)", detail: "must be a non-empty array of at most \(maxCombinations) values"))
                    continue
                }
                vary.append((key, values))
            }
            if value.isEmpty { problems.append(FieldProblem(pointer: "/vary", detail: "must vary at least one of \(varyKeys.joined(separator: ", "))")) }
        case nil: problems.append(FieldProblem(pointer: "/vary", detail: "required: arrays of values for \(varyKeys.joined(separator: ", "))"))
        default: problems.append(FieldProblem(pointer: "/vary", detail: "must be an object of arrays"))
        }
        for (key, _) in vary where path(of: key).first == "train" {
            guard case .object = base["train"] else {
                problems.append(FieldProblem(pointer: "/vary/\(key)", detail: "varies a training run: base needs a train object"))
                continue
            }
        }
        guard problems.isEmpty else { throw SpecProblems(problems) }
        let plan = SweepPlan(base: base, vary: vary)
        let count = plan.combinationCount
        if count > maxCombinations {
            let sizes = vary.map { "\($0.key) \($0.values.count)" }.joined(separator: " × ")
            throw SpecProblems(pointer: "/vary", detail: "\(sizes) = \(count) combinations exceeds the limit of \(maxCombinations)")
        }
        return plan
    }

    var combinationCount: Int {
        vary.reduce(1) { product, entry in product.multipliedReportingOverflow(by: entry.values.count).partialValue }
    }

    func combinations() -> [Combination] {
        var result: [Combination] = []
        var indices = [Int](repeating: 0, count: vary.count)
        for _ in 0..<combinationCount {
            var spec = base
            var values: [String: JSONValue] = [:]
            var parts: [String] = []
            for (position, entry) in vary.enumerated() {
                let value = entry.values[indices[position]]
                spec = SweepPlan.setting(spec, SweepPlan.path(of: entry.key)[...], to: value)
                values[entry.key] = value
                parts.append("\(entry.key)=\(SweepPlan.describe(value))")
            }
            result.append(Combination(indices: indices, spec: spec, label: parts.joined(separator: ", "), values: values))
            // Odometer: the last key changes fastest.
            var position = vary.count - 1
            while position >= 0 {
                indices[position] += 1
                if indices[position] < vary[position].values.count { break }
                indices[position] = 0
                position -= 1
            }
        }
        return result
    }

    /// Maps a problem pointer inside one combination's spec to the body: a varied key's field (or below it)
    /// points into `/vary/<key>/<index>`, anything else into `/base`. The deepest varied path wins (`lr`
    /// inside a varied `optimizer`).
    func bodyPointer(_ pointer: String, combination: Combination) -> String {
        let parts = pointer.split(separator: "/", omittingEmptySubsequences: false).dropFirst().map(String.init)
        var best: (position: Int, length: Int)?
        for (position, entry) in vary.enumerated() {
            let path = SweepPlan.path(of: entry.key)
            if parts.count >= path.count, Array(parts.prefix(path.count)) == path, path.count > (best?.length ?? 0) {
                best = (position, path.count)
            }
        }
        if let best {
            let rest = parts.dropFirst(best.length).map { "/" + $0 }.joined()
            return "/vary/\(vary[best.position].key)/\(combination.indices[best.position])" + rest
        }
        return "/base" + pointer
    }

    static func describe(_ value: JSONValue) -> String {
        switch value {
        case .string(let text): text
        case .number(.double(let number)): NumberText.short(number)
        case .number(let integer): integer.text
        case .object(let object):
            if case .string(let name) = object["name"] { name } else { "{…}" }
        default: value.serializedString
        }
    }

    static func escape(_ key: String) -> String {
        key.replacingOccurrences(of: "~", with: "~0").replacingOccurrences(of: "/", with: "~1")
    }
}
