import Foundation
import InitLabContract

/// The job JSON of the API, written by hand around the stored canonical spec bytes so the echoed spec is
/// exactly what was fingerprinted (re-encoding a `UInt64` seed through Foundation could change it).
///
/// `{"attempt","created_at","error"?,"finished_at"?,"id","progress":{"layers_done","layers_total"},
/// "result_url"?,"spec","started_at"?,"status"}` — keys sorted, optional keys absent rather than null. A training
/// run's progress counts optimizer steps: `{"steps_done","steps_total"}`.
enum JobRepresentation {
    static func json(_ job: JobRecord) -> Data {
        var out = "{"
        out += "\"attempt\":\(job.attempt)"
        out += ",\"created_at\":\"\(Timestamp.rfc3339(job.createdAt))\""
        if let error = job.error { out += ",\"error\":\(quote(error))" }
        if let finished = job.finishedAt { out += ",\"finished_at\":\"\(Timestamp.rfc3339(finished))\"" }
        out += ",\"id\":\"\(job.id)\""
        out += ",\"progress\":{\(progressFields(ProgressUnit(canonicalSpec: job.spec), job.layersDone, job.layersTotal))}"
        if job.status == .succeeded { out += ",\"result_url\":\"/v1/experiments/\(job.id)/result\"" }
        var data = Data(out.utf8)
        data.append(contentsOf: Array(",\"spec\":".utf8))
        data.append(job.spec)
        var tail = ""
        if let started = job.startedAt { tail += ",\"started_at\":\"\(Timestamp.rfc3339(started))\"" }
        tail += ",\"status\":\"\(job.status.rawValue)\"}"
        data.append(contentsOf: Array(tail.utf8))
        return data
    }

    /// A strong validator that changes with every stored change of the job (RFC 9110 §8.8.3).
    static func etag(_ job: JobRecord) -> String {
        "\"\(job.id.prefix(8))-\(job.version)\""
    }

    /// A JSON string literal (RFC 8259 §7).
    static func quote(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}

/// `If-None-Match` evaluation (RFC 9110 §13.1.2): weak comparison, `*` matches any current representation.
enum EntityTag {
    static func matches(ifNoneMatch header: String?, etag: String) -> Bool {
        guard let header else { return false }
        let opaque = strip(etag)
        for candidate in header.split(separator: ",") {
            let trimmed = candidate.trimmingCharacters(in: .whitespaces)
            if trimmed == "*" || strip(trimmed) == opaque { return true }
        }
        return false
    }

    private static func strip(_ tag: String) -> String {
        tag.hasPrefix("W/") ? String(tag.dropFirst(2)) : tag
    }
}
