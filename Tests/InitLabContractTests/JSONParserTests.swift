import Foundation
import InitLabContract
import Testing

@Suite struct JSONParserTests {
    func parse(_ text: String) throws(JSONSyntaxError) -> JSONValue { try JSONParser().parse(Data(text.utf8)) }

    func syntaxError(_ text: String) -> JSONSyntaxError? {
        do {
            _ = try parse(text)
            return nil
        } catch {
            return error
        }
    }

    @Test func trailingCommasAreRefusedWithTheirByteOffset() {
        let object = #"{"depth": 3, "width": 4, }"#
        #expect(syntaxError(object) == JSONSyntaxError(offset: 25, message: "trailing comma before '}'"))
        #expect(syntaxError("[1, 2,]") == JSONSyntaxError(offset: 6, message: "trailing comma before ']'"))
    }

    @Test func duplicateKeysAreRefusedNamingTheKeyAndItsObject() throws {
        let error = try #require(syntaxError(#"{"input": {"dataset": "mnist", "dataset": "fashion-mnist"}}"#))
        #expect(error.offset == 31, "the second key's opening quote")
        #expect(error.duplicateKey?.key == "dataset" && error.duplicateKey?.objectPointer == "/input")
        #expect(error.message == "duplicate key \"dataset\" in the object at /input")
        #expect(syntaxError(#"{"depth": 3, "depth": 5}"#)?.duplicateKey?.key == "depth")
    }

    @Test func integersAreExactTo64Bits() throws {
        #expect(try parse("9223372036854775807") == .number(.int(Int64.max)))
        #expect(try parse("-9223372036854775808") == .number(.int(Int64.min)))
        #expect(try parse("18446744073709551615") == .number(.uint(UInt64.max)))
        #expect(try parse("9007199254740993") == .number(.int(9_007_199_254_740_993)), "2⁵³ + 1, which a Double rounds")
        #expect(try parse("18446744073709551616") == .number(.double(18446744073709551616.0)), "beyond 64 bits: a double")
        #expect(try parse("[9007199254740993]").serializedString == "[9007199254740993]")
    }

    @Test func negativeZero() throws {
        #expect(try parse("-0") == .number(.int(0)), "an integer −0 is 0")
        let d = try parse("-0.0")
        guard case .number(.double(let x)) = d else { Issue.record("\(d)"); return }
        #expect(x == 0 && x.sign == .minus, "the parser keeps what was written; the spec decoder canonicalizes")
    }

    @Test(arguments: [
        ("", "the body is empty"), ("01", "leading zero in a number"), ("{\"a\" 1}", "expected ':' after an object key"),
        ("NaN", "unexpected 'N', expected a value"), ("[1] x", "unexpected 'x' after the JSON value"),
        ("\"a\tb\"", "unescaped control character in a string"), ("\"\\ud800\"", "lone high surrogate escape"),
        ("1.", "expected a digit after the decimal point"), ("{\"a\":1 // c\n}", "unexpected '/', expected ',' or '}'"),
        ("1e999", "number 1e999 is out of the range of a double"), ("[tru]", "invalid literal, expected true"),
    ])
    func malformedInputs(text: String, message: String) {
        #expect(syntaxError(text)?.message == message, "\(text)")
    }

    @Test func validDocumentsRoundTripSorted() throws {
        let value = try parse(#" {"b": [true, false, null], "a": "x\"\u00e9\n", "c": {"d": 0.5, "e": -12}} "#)
        #expect(value.serializedString == #"{"a":"x\"é\n","b":[true,false,null],"c":{"d":0.5,"e":-12}}"#)
        #expect(try parse(value.serializedString) == value)
    }

    @Test func nestingIsBounded() {
        let deep = String(repeating: "[", count: 200) + String(repeating: "]", count: 200)
        #expect(syntaxError(deep)?.message == "nesting deeper than 128 levels")
    }
}

@Suite struct SpecContractTests {
    func problems(_ text: String, limits: ExperimentLimits = .default) -> [FieldProblem] {
        do {
            _ = try ValidatedSpec(JSONParser().parse(Data(text.utf8)), limits: limits)
            return []
        } catch let error as SpecProblems {
            return error.errors
        } catch {
            return [FieldProblem(pointer: "?", detail: "\(error)")]
        }
    }

    @Test func limitTextsComeFromTheConfiguredLimits() {
        let limits = ExperimentLimits(maxDepth: 50, maxWidth: 64, maxBatch: 32)
        let spec = #"{"depth": "deep", "width": 4.5, "batch": 0, "init": "zeros", "activation": "relu", "architecture": {"name": "residual", "block_size": "x"}}"#
        #expect(problems(spec, limits: limits) == [
            FieldProblem(pointer: "/depth", detail: "must be an integer 1 ... 50"),
            FieldProblem(pointer: "/width", detail: "must be an integer 1 ... 64"),
            FieldProblem(pointer: "/architecture/block_size", detail: "must be an integer 1 ... 50"),
        ])
        #expect(problems(#"{"depth": 51, "width": 65, "batch": 33, "init": "zeros", "activation": "relu"}"#, limits: limits) == [
            FieldProblem(pointer: "/depth", detail: "must be an integer 1 ... 50, got 51"),
            FieldProblem(pointer: "/width", detail: "must be an integer 1 ... 64, got 65"),
            FieldProblem(pointer: "/batch", detail: "must be an integer 1 ... 32, got 33"),
        ])
        #expect(problems(#"{"width": 4, "batch": 2, "init": "zeros", "activation": "relu"}"#) == [
            FieldProblem(pointer: "/depth", detail: "is required: an integer 1 ... 10000")
        ])
    }

    @Test func numbersAreCanonicalBeforeFingerprinting() throws {
        func canonical(_ text: String) throws -> String {
            String(decoding: try ValidatedSpec(JSONParser().parse(Data(text.utf8)), limits: .default).canonicalJSON, as: UTF8.self)
        }
        let zero = try canonical(#"{"depth": 3, "width": 4, "batch": 2, "init": {"name": "normal", "mean": 0}, "activation": "relu"}"#)
        let negativeZero = try canonical(#"{"depth": 3.0, "width": 4e0, "batch": 2, "init": {"name": "normal", "mean": -0.0, "std": 1.0}, "activation": "relu"}"#)
        #expect(zero == negativeZero)
        #expect(zero.contains(#""mean":0,"#) && zero.contains(#""std":1}"#))
    }

    @Test func seedsKeepAll64Bits() throws {
        let spec = try ValidatedSpec(
            JSONParser().parse(Data(#"{"depth": 1, "width": 1, "batch": 1, "init": "zeros", "activation": "relu", "seed": 18446744073709551615}"#.utf8)),
            limits: .default)
        #expect(spec.spec.seed == UInt64.max)
        #expect(String(decoding: spec.canonicalJSON, as: UTF8.self).contains(#""seed":18446744073709551615"#))
        let stored = try ValidatedSpec(trustedCanonicalJSON: spec.canonicalJSON)
        #expect(stored.spec == spec.spec)
    }
}
