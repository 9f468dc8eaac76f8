import Datasets
import Foundation

/// How a stored result's bytes are kept in PostgreSQL (`results.encoding`): as they are, or gzip-compressed when
/// larger than `compressionThreshold` (a deep net's per-layer statistics compress about 3:1). Reads give back
/// the exact bytes written, so a result is byte-identical whatever the encoding.
enum ResultEncoding {
    /// Results at most this large are stored as they are. Default: 16 KiB.
    static let compressionThreshold = 16 * 1024

    static func encode(_ result: Data) throws -> (encoding: String, body: Data) {
        guard result.count > compressionThreshold else { return ("identity", result) }
        return ("gzip", Data(try Gzip.compress(Array(result))))
    }

    static func decode(_ body: Data, encoding: String) throws -> Data {
        switch encoding {
        case "identity": return body
        case "gzip": return Data(try Gzip.decompress(Array(body), name: "stored result"))
        default: throw StoreError.inconsistent("stored result has encoding '\(encoding)'")
        }
    }
}
