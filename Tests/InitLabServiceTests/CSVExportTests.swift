import Foundation
import TestSupport
import Testing
import InitCore
import InitLabContract
@testable import InitLabService

@Suite(.offCooperativePool) struct CSVExportTests {
    /// A minimal RFC 4180 reader (quoted fields, doubled quotes, CRLF) to read the export back.
    static func parse(_ text: String) -> [[String]] {
        var rows: [[String]] = []
        var row: [String] = []
        var field = ""
        var quoted = false
        var chars = Array(text)[...]
        while let c = chars.popFirst() {
            if quoted {
                if c == "\"" {
                    if chars.first == "\"" { field.append("\""); chars.removeFirst() } else { quoted = false }
                } else { field.append(c) }
            } else if c == "\"" { quoted = true }
            else if c == "," { row.append(field); field = "" }
            else if c == "\r\n" || c == "\n" { row.append(field); rows.append(row); row = []; field = "" }
            else { field.append(c) }
        }
        if !field.isEmpty || !row.isEmpty { row.append(field); rows.append(row) }
        return rows
    }

    @Test func rowsMatchTheJSONResult() throws {
        var std = VizFixture.geometric(9, start: 1e-3, ratio: 1e5)
        std[8] = nil  // a non-finite statistic becomes an empty field
        let json = VizFixture.resultJSON(forwardStd: std, backwardStd: VizFixture.geometric(9, start: 0.3, ratio: 0.9), theoryStd: VizFixture.geometric(9, start: 0.5, ratio: 1))
        let result = try ChartResult.decode(Data(json.utf8))
        let csv = CSVExport.render(result)
        #expect(csv.hasSuffix("\r\n"))
        let rows = Self.parse(csv)
        #expect(rows.count == 10)
        let header = rows[0]
        #expect(header == CSVExport.header)
        #expect(Set(header).count == header.count)
        #expect(rows.allSatisfy { $0.count == header.count })

        // Compare every number with the JSON itself (not with the decoded model the export used).
        // (JSONDecoder, not JSONSerialization: the latter rounds some doubles on Linux.)
        let raw = try JSONDecoder().decode(TestJSON.self, from: Data(json.utf8))
        let layers = raw["layers"]?.array ?? []
        #expect(layers.count == 9)
        for (layer, row) in zip(layers, rows.dropFirst()) {
            let value = { (name: String) in row[header.firstIndex(of: name) ?? 0] }
            #expect(Double(value("layer")) == layer["index"]?.number)
            let tensors: [(String, TestJSON?)] = [
                ("preactivation", layer["forward"]?["preactivation"]), ("activation", layer["forward"]?["activation"]),
                ("activation_grad", layer["backward"]?["activation_grad"]), ("weight_grad", layer["backward"]?["weight_grad"]),
            ]
            for (tensor, stats) in tensors {
                for column in ChartResult.Stats.columnNames {
                    let expected = stats?[column]?.number
                    let field = value("\(tensor)_\(column)")
                    if let expected {
                        #expect(Double(field) == expected, "\(tensor)_\(column) layer \(layer["index"]?.number ?? 0)")
                    } else {
                        #expect(field == "", "null \(tensor)_\(column) must be empty")
                    }
                }
            }
            #expect(Double(value("theory_predicted_activation_std")) == layer["theory"]?["predicted_activation_std"]?.number)
            #expect(value("lsuv_iterations") == "")
            #expect(value("shape") == "")
        }
        #expect(rows[9][header.firstIndex(of: "activation_std") ?? 0] == "")
        #expect(rows[1][header.firstIndex(of: "activation_std") ?? 0] == "0.001")
    }

    /// A cnn's rows name each layer's kind and shape; other architectures leave the column empty (above).
    @Test func cnnRowsCarryTheLayerShape() throws {
        let spec = try ExperimentSpec.decodeValidated(from: Data(#"{"depth": 3, "width": 4, "batch": 2, "init": "kaiming_normal", "activation": "relu", "architecture": {"name": "cnn", "input_shape": [2, 9, 9], "conv": [{"channels": 3, "kernel": 3, "pool": "max"}, {"channels": 5, "kernel": 2}]}}"#.utf8))
        let result = try ExperimentRunner(matmul: Matmul(threads: 1)).run(spec)
        let chart = try ChartResult.decode(Data(try result.encodedJSON()))
        let rows = Self.parse(CSVExport.render(chart))
        let column = try #require(rows[0].firstIndex(of: "shape"))
        #expect(rows.dropFirst().map { $0[column] } == ["conv 3×7×7 → pool 3×3×3", "conv 5×2×2", "dense 4"])
    }

    @Test func backwardOffLeavesGradientColumnsEmpty() throws {
        let result = try VizFixture.result(forwardStd: [1, 1])
        let rows = Self.parse(CSVExport.render(result))
        let header = rows[0]
        let column = try #require(header.firstIndex(of: "activation_grad_std"))
        #expect(rows[1][column] == "" && rows[2][column] == "")
        #expect(rows[1][try #require(header.firstIndex(of: "activation_count"))] == "1024")
    }

    @Test(arguments: [
        ("plain", "plain"), ("a,b", "\"a,b\""), ("say \"hi\"", "\"say \"\"hi\"\"\""), ("two\nlines", "\"two\nlines\""),
        ("cr\r", "\"cr\r\""), ("", ""),
    ])
    func fieldQuoting(input: String, expected: String) {
        #expect(CSVExport.field(input) == expected)
        #expect(Self.parse(CSVExport.field(input) + "\r\n") == [[input]])
    }
}

/// Any JSON value, for reading a document back generically in tests.
enum TestJSON: Decodable {
    case null, bool(Bool), number(Double), string(String), array([TestJSON]), object([String: TestJSON])

    init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let n = try? c.decode(Double.self) { self = .number(n) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let a = try? c.decode([TestJSON].self) { self = .array(a) }
        else { self = .object(try c.decode([String: TestJSON].self)) }
    }

    subscript(key: String) -> TestJSON? {
        if case .object(let o) = self { return o[key] }
        return nil
    }
    var number: Double? { if case .number(let n) = self { return n } else { return nil } }
    var string: String? { if case .string(let s) = self { return s } else { return nil } }
    var array: [TestJSON]? { if case .array(let a) = self { return a } else { return nil } }
}
