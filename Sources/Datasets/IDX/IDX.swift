/// IDX element types (LeCun's format description: the third magic byte).
package enum IDXElementType: UInt8, Sendable, Codable {
    case ubyte = 0x08, sbyte = 0x09, short = 0x0B, int = 0x0C, float = 0x0D, double = 0x0E

    package var size: Int {
        switch self {
        case .ubyte, .sbyte: return 1
        case .short: return 2
        case .int, .float: return 4
        case .double: return 8
        }
    }
}

package enum IDXError: Error, Equatable, CustomStringConvertible {
    case tooShort(name: String, length: Int, needed: Int)
    case badMagic(name: String, bytes: [UInt8])
    case unknownElementType(name: String, code: UInt8)
    case unsupportedElementType(name: String, type: IDXElementType)
    case wrongDimensionCount(name: String, expected: Int, found: Int)
    case wrongShape(name: String, expected: [Int], found: [Int])
    case sizeMismatch(name: String, expectedBytes: Int, foundBytes: Int)
    case countMismatch(images: String, imageCount: Int, labels: String, labelCount: Int)
    case labelOutOfRange(name: String, index: Int, value: UInt8, classes: Int)

    package var description: String {
        switch self {
        case .tooShort(let name, let length, let needed):
            return "\(name): IDX file is \(length) bytes, shorter than its \(needed)-byte header"
        case .badMagic(let name, let bytes):
            let shown = bytes.map { String($0, radix: 16) }.joined(separator: " ")
            return "\(name): not an IDX file (magic bytes \(shown); expected 00 00 <type> <ndims>)"
        case .unknownElementType(let name, let code):
            return "\(name): unknown IDX element type 0x\(String(code, radix: 16))"
        case .unsupportedElementType(let name, let type):
            return "\(name): IDX element type \(type) is valid but this dataset needs unsigned bytes (0x08)"
        case .wrongDimensionCount(let name, let expected, let found):
            return "\(name): expected \(expected) IDX dimension(s), found \(found)"
        case .wrongShape(let name, let expected, let found):
            return "\(name): expected shape \(expected), found \(found)"
        case .sizeMismatch(let name, let expectedBytes, let foundBytes):
            let what = foundBytes < expectedBytes ? "too short" : "has trailing bytes"
            return "\(name): IDX data \(what): header promises \(expectedBytes) data bytes, file holds \(foundBytes)"
        case .countMismatch(let images, let imageCount, let labels, let labelCount):
            return "\(images) holds \(imageCount) images but \(labels) holds \(labelCount) labels"
        case .labelOutOfRange(let name, let index, let value, let classes):
            return "\(name): label \(value) at index \(index) is outside 0..<\(classes)"
        }
    }
}

/// A parsed IDX file: header plus the offset of its data in the original bytes (no copy).
package struct IDXHeader: Sendable, Equatable {
    package let elementType: IDXElementType
    package let dimensions: [Int]
    /// Offset of the first data byte (4 + 4 × number of dimensions).
    package let dataOffset: Int
    package var elementCount: Int { dimensions.reduce(1, *) }

    /// Parses and validates strictly: magic `00 00 type ndims`, big-endian UInt32 dimensions, and a data length
    /// that is exactly product(dimensions) × element size — neither short nor with trailing bytes.
    package init(parsing bytes: UnsafeRawBufferPointer, name: String) throws(IDXError) {
        guard bytes.count >= 4 else { throw .tooShort(name: name, length: bytes.count, needed: 4) }
        guard bytes[0] == 0, bytes[1] == 0, bytes[3] >= 1 else {
            throw .badMagic(name: name, bytes: Array(bytes[0..<4]))
        }
        guard let type = IDXElementType(rawValue: bytes[2]) else {
            throw .unknownElementType(name: name, code: bytes[2])
        }
        let ndims = Int(bytes[3])
        let headerSize = 4 + 4 * ndims
        guard bytes.count >= headerSize else { throw .tooShort(name: name, length: bytes.count, needed: headerSize) }
        var dims: [Int] = []
        var total = type.size
        var overflow = false
        for i in 0..<ndims {
            let d = Int(UInt32(bigEndian: bytes.loadUnaligned(fromByteOffset: 4 + 4 * i, as: UInt32.self)))
            dims.append(d)
            let (product, o) = total.multipliedReportingOverflow(by: d)
            overflow = overflow || o
            total = product
        }
        let dataBytes = bytes.count - headerSize
        guard !overflow, total == dataBytes else {
            throw .sizeMismatch(name: name, expectedBytes: overflow ? Int.max : total, foundBytes: dataBytes)
        }
        self.elementType = type
        self.dimensions = dims
        self.dataOffset = headerSize
    }
}

package enum IDX {
    /// Parses an IDX file of unsigned bytes with `dimensionCount` dimensions (3 for images, 1 for labels).
    /// Returns the header and the data bytes.
    package static func parseUBytes(_ bytes: [UInt8], name: String, dimensionCount: Int) throws(IDXError)
        -> (header: IDXHeader, data: ArraySlice<UInt8>)
    {
        var parsed: Result<IDXHeader, IDXError> = .failure(.tooShort(name: name, length: 0, needed: 4))
        bytes.withUnsafeBytes { raw in
            parsed = Result { () throws(IDXError) -> IDXHeader in try IDXHeader(parsing: raw, name: name) }
        }
        let header = try parsed.get()
        guard header.elementType == .ubyte else {
            throw .unsupportedElementType(name: name, type: header.elementType)
        }
        guard header.dimensions.count == dimensionCount else {
            throw .wrongDimensionCount(name: name, expected: dimensionCount, found: header.dimensions.count)
        }
        return (header, bytes[header.dataOffset...])
    }

    /// Encodes unsigned bytes as an IDX file (for tests and fixtures).
    package static func encodeUBytes(_ data: [UInt8], dimensions: [Int]) -> [UInt8] {
        var out: [UInt8] = [0, 0, IDXElementType.ubyte.rawValue, UInt8(truncatingIfNeeded: dimensions.count)]
        for d in dimensions {
            let v = UInt32(truncatingIfNeeded: d)
            out += [UInt8(v >> 24), UInt8(truncatingIfNeeded: v >> 16), UInt8(truncatingIfNeeded: v >> 8),
                    UInt8(truncatingIfNeeded: v)]
        }
        return out + data
    }
}
