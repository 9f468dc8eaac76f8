import Foundation
import InitLabContract

/// A sweep request: a base spec and the values to vary, expanded into one spec per combination (cartesian
/// product; the first varied key changes slowest). Pure; the route validates every combination with the
/// experiment engine before anything is queued.
///
/// Body: `{"base": {spec…}, "vary": {"init": [...], "activation": [...], "width": [...], "depth": [...], "seed": [...]}}`.
struct SweepPlan: Sendable {
    /// The keys a sweep may vary, in expansion order.
    static let varyKeys = ["init", "activation", "width", "depth", "seed"]

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
                spec[entry.key] = value
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

    /// Maps a problem pointer inside one combination's spec to the body: a varied key points into
    /// `/vary/<key>/<index>`, anything else into `/base`.
    func bodyPointer(_ pointer: String, combination: Combination) -> String {
        let parts = pointer.split(separator: "/", maxSplits: 2, omittingEmptySubsequences: false)
        if parts.count >= 2, let position = vary.firstIndex(where: { $0.key == String(parts[1]) }) {
            let rest = parts.count == 3 ? "/" + parts[2] : ""
            return "/vary/\(vary[position].key)/\(combination.indices[position])" + rest
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
