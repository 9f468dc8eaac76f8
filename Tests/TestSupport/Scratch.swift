import Foundation

/// Folders for the files a test writes, all inside one folder per test process that is removed when the process
/// exits: a test run leaves nothing behind in the system's temporary folder, whether or not each test removes its
/// own folder (and whether or not it fails first).
package enum Scratch {
    /// The process's folder: `<temporary folder>/initlab-tests-<pid>`.
    static func root(pid: Int32) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("initlab-tests-\(pid)").path
    }

    /// Created on first use, with its removal registered for the process's exit.
    private static let processRoot: String = {
        atexit { try? FileManager.default.removeItem(atPath: Scratch.root(pid: getpid())) }
        return root(pid: getpid())
    }()

    /// A new, empty folder `<tag>-<UUID>` inside the process's folder.
    package static func directory(_ tag: String) throws -> String {
        let path = processRoot + "/\(tag)-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// A path inside the process's folder that nothing has created (whatever creates it is removed with the folder).
    package static func path(_ tag: String) -> String {
        processRoot + "/\(tag)-\(UUID().uuidString)"
    }
}
