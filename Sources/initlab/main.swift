import ArgumentParser
import CPUFeatures
import Foundation

// Refuse to start on a CPU that lacks what the compute core was compiled for, before any core code runs.
if initlab_cpu_supported() == 0 {
    let needed = String(cString: initlab_cpu_required_features())
    FileHandle.standardError.write(
        Data("initlab: this binary was built for a CPU with \(needed), which this CPU lacks. Rebuild without the x86-64-v3 flags (see README) or run on a newer CPU.\n".utf8))
    exit(70)
}

/// In an async function the async `main()` is chosen (the commands run as async; `serve` awaits its server).
func runCommand() async { await InitLabCommand.main() }
await runCommand()
