import ArgumentParser
import Foundation
import InitCore
import InitLabContract

/// `initlab schemes`: every initializer and activation with its formula and parameters.
struct SchemesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "schemes",
        abstract: "List every init scheme and activation with its formula and parameters."
    )

    @Flag(help: "Print JSON ({\"initializers\": [...], \"activations\": [...]}), as GET /v1/schemes.") var json = false

    struct Catalog: Encodable {
        let initializers = SchemeCatalog.initializers
        let activations = SchemeCatalog.activations
    }

    func run() throws {
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
            FileHandle.standardOutput.write(try encoder.encode(Catalog()) + Data("\n".utf8))
            return
        }
        for (title, list) in [("Initializers (fans follow (out, in): fan_in = in features)", SchemeCatalog.initializers),
                              ("Activations", SchemeCatalog.activations)] {
            print(title)
            for d in list {
                print("  \(d.name)")
                print("      \(d.formula)")
                print("      \(d.summary)")
                for p in d.parameters {
                    var range = ""
                    if let allowed = p.allowed { range = allowed.joined(separator: " | ") } else {
                        range = "\(p.minimum.map { String($0) } ?? "-inf") ... \(p.maximum.map { String($0) } ?? "inf")"
                    }
                    let def: String
                    switch p.default {
                    case .number(let x): def = String(x)
                    case .string(let s): def = s
                    }
                    print("      - \(p.name) (\(p.type), default \(def), \(range)): \(p.description)")
                }
            }
            print("")
        }
    }
}
