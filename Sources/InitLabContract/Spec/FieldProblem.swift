/// One offending field of a request: an RFC 6901 JSON pointer into the body and what is allowed there. The one
/// field-error type of the service: every 422 (`errors: [{pointer, detail}]`) is built from these.
package struct FieldProblem: Sendable, Hashable, Codable, CustomStringConvertible {
    /// e.g. "/init/mode"; "" is the whole body (used for budget errors).
    package var pointer: String
    /// Always names the allowed range or limit, e.g. "must be one of fan_in, fan_out".
    package var detail: String

    package init(pointer: String, detail: String) {
        self.pointer = pointer
        self.detail = detail
    }

    package var description: String { "\(pointer.isEmpty ? "(spec)" : pointer): \(detail)" }
}

/// Every problem found in a spec: decoding reports each malformed field, validation every out-of-range or
/// inconsistent one.
package struct SpecProblems: Error, Sendable, Hashable, CustomStringConvertible {
    package var errors: [FieldProblem]

    package init(_ errors: [FieldProblem]) { self.errors = errors }
    package init(pointer: String, detail: String) { self.errors = [FieldProblem(pointer: pointer, detail: detail)] }

    package var description: String { errors.map(\.description).joined(separator: "; ") }
}
