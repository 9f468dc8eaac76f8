import Foundation

/// What a dataset file holds.
package enum FileRole: String, Sendable, Codable, CaseIterable {
    case trainImages, trainLabels, testImages, testLabels
}

/// How a downloaded file is verified before it is renamed into the cache.
package enum Checksum: Sendable, Equatable, Codable, CustomStringConvertible {
    /// MD5 of the file exactly as downloaded (the .gz): MNIST's published checksums.
    case md5OfDownload(String)
    /// SHA-256 of the decompressed content: true across mirrors that recompress the same data (Fashion-MNIST).
    case sha256OfContent(String)

    package var description: String {
        switch self {
        case .md5OfDownload(let h): return "md5(download)=\(h)"
        case .sha256OfContent(let h): return "sha256(decompressed)=\(h)"
        }
    }
}

package struct DatasetFile: Sendable, Equatable {
    /// File name on mirrors and in the cache, e.g. `train-images-idx3-ubyte.gz`.
    package let name: String
    package let role: FileRole
    package let checksum: Checksum

    package init(name: String, role: FileRole, checksum: Checksum) {
        self.name = name
        self.role = role
        self.checksum = checksum
    }
}

/// A dataset in the catalog: four gzip'd IDX files (images and labels for train and test), pinned by checksum.
package struct DatasetSpec: Sendable, Equatable {
    /// Name used on the command line and as the cache sub-folder: `mnist`, `fashion-mnist`.
    package let id: String
    package let title: String
    package let files: [DatasetFile]
    /// Mirrors tried in order when neither flags nor `mirrorEnvironmentVariable` name any.
    package let defaultMirrors: [Mirror]
    /// Environment variable holding a comma-separated list of mirrors that replaces the defaults.
    package let mirrorEnvironmentVariable: String
    package let rows: Int
    package let cols: Int
    package let classes: Int
    /// Expected image counts (train, test) when known: checked when loading.
    package let expectedCounts: (train: Int, test: Int)?

    package init(
        id: String, title: String, files: [DatasetFile], defaultMirrors: [Mirror], mirrorEnvironmentVariable: String,
        rows: Int = 28, cols: Int = 28, classes: Int = 10, expectedCounts: (train: Int, test: Int)? = nil
    ) {
        self.id = id
        self.title = title
        self.files = files
        self.defaultMirrors = defaultMirrors
        self.mirrorEnvironmentVariable = mirrorEnvironmentVariable
        self.rows = rows
        self.cols = cols
        self.classes = classes
        self.expectedCounts = expectedCounts
    }

    package func file(_ role: FileRole) -> DatasetFile? { files.first { $0.role == role } }

    package static func == (a: DatasetSpec, b: DatasetSpec) -> Bool {
        a.id == b.id && a.title == b.title && a.files == b.files && a.defaultMirrors == b.defaultMirrors
            && a.mirrorEnvironmentVariable == b.mirrorEnvironmentVariable && a.rows == b.rows && a.cols == b.cols
            && a.classes == b.classes && a.expectedCounts?.train == b.expectedCounts?.train
            && a.expectedCounts?.test == b.expectedCounts?.test
    }
}

package enum DatasetCatalog {
    /// MNIST, pinned to the published MD5s of its four .gz files.
    package static let mnist = DatasetSpec(
        id: "mnist", title: "MNIST handwritten digits",
        files: [
            DatasetFile(name: "train-images-idx3-ubyte.gz", role: .trainImages,
                        checksum: .md5OfDownload("f68b3c2dcbeaaa9fbdd348bbdeb94873")),
            DatasetFile(name: "train-labels-idx1-ubyte.gz", role: .trainLabels,
                        checksum: .md5OfDownload("d53e105ee54ea40749a09fcbcd1e9432")),
            DatasetFile(name: "t10k-images-idx3-ubyte.gz", role: .testImages,
                        checksum: .md5OfDownload("9fb629c4189551a2d022fa330f9573f3")),
            DatasetFile(name: "t10k-labels-idx1-ubyte.gz", role: .testLabels,
                        checksum: .md5OfDownload("ec29112dd5afa0611ce80d1b7f02629c")),
        ],
        defaultMirrors: [
            .remote("https://ossci-datasets.s3.amazonaws.com/mnist/"),
            .remote("https://storage.googleapis.com/cvdf-datasets/mnist/"),
        ],
        mirrorEnvironmentVariable: "INITLAB_MNIST_MIRROR",
        expectedCounts: (60_000, 10_000))

    /// Where Debian's `dataset-fashion-mnist` package installs Fashion-MNIST (recompressed .gz files).
    package static let debianFashionMNISTFolder = "/usr/share/datasets/fashion-mnist"

    /// Fashion-MNIST, pinned to the SHA-256 of its decompressed IDX files (computed from Debian's
    /// `dataset-fashion-mnist`, whose .gz files are recompressed: their MD5s differ from upstream's, the content
    /// does not). The Debian folder is tried first when present (no network needed), then the public mirror.
    package static let fashionMNIST = DatasetSpec(
        id: "fashion-mnist", title: "Fashion-MNIST (Zalando)",
        files: [
            DatasetFile(name: "train-images-idx3-ubyte.gz", role: .trainImages,
                        checksum: .sha256OfContent("c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888")),
            DatasetFile(name: "train-labels-idx1-ubyte.gz", role: .trainLabels,
                        checksum: .sha256OfContent("bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9")),
            DatasetFile(name: "t10k-images-idx3-ubyte.gz", role: .testImages,
                        checksum: .sha256OfContent("5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b")),
            DatasetFile(name: "t10k-labels-idx1-ubyte.gz", role: .testLabels,
                        checksum: .sha256OfContent("0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34")),
        ],
        defaultMirrors: (FileManager.default.fileExists(atPath: debianFashionMNISTFolder)
            ? [.folder(debianFashionMNISTFolder)] : [])
            + [.remote("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/")],
        mirrorEnvironmentVariable: "INITLAB_FASHION_MNIST_MIRROR",
        expectedCounts: (60_000, 10_000))

    package static let all: [DatasetSpec] = [mnist, fashionMNIST]

    package static func spec(named id: String) -> DatasetSpec? { all.first { $0.id == id.lowercased() } }
}

/// Where a dataset's files come from: a base URL (http or https) or a local folder (offline machines).
package enum Mirror: Sendable, Equatable, Codable, CustomStringConvertible {
    /// Base URL; the file name is appended (a `/` is added when missing).
    case remote(String)
    /// Absolute folder path; files are copied through the same verify-then-rename path (libcurl's file://).
    case folder(String)

    /// Parses a user's mirror: `http://…` or `https://…` → remote; `file://…` or any other string → folder (a
    /// relative path is resolved against `currentDirectory`).
    package init(parsing text: String, currentDirectory: String = FileManager.default.currentDirectoryPath) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let lower = trimmed.lowercased()
        if lower.hasPrefix("http://") || lower.hasPrefix("https://") {
            self = .remote(trimmed)
        } else if lower.hasPrefix("file://") {
            let path = URL(string: trimmed)?.path ?? String(trimmed.dropFirst(7))
            self = .folder(path)
        } else if trimmed.hasPrefix("/") {
            self = .folder(trimmed)
        } else {
            self = .folder(URL(fileURLWithPath: currentDirectory).appendingPathComponent(trimmed).path)
        }
    }

    /// The URL of `file` on this mirror.
    package func url(for file: String) -> String {
        switch self {
        case .remote(let base): return base.hasSuffix("/") ? base + file : base + "/" + file
        case .folder(let path): return URL(fileURLWithPath: path).appendingPathComponent(file).absoluteString
        }
    }

    package var description: String {
        switch self {
        case .remote(let base): return base
        case .folder(let path): return path
        }
    }

    /// Mirrors in force: `flags` when any, else the comma-separated list in the spec's environment variable when
    /// set and non-empty, else the spec's defaults.
    package static func resolve(
        for spec: DatasetSpec, flags: [String], environment: [String: String] = ProcessInfo.processInfo.environment
    ) -> [Mirror] {
        if !flags.isEmpty { return flags.map { Mirror(parsing: $0) } }
        if let value = environment[spec.mirrorEnvironmentVariable] {
            let items = value.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter {
                !$0.isEmpty
            }
            if !items.isEmpty { return items.map { Mirror(parsing: $0) } }
        }
        return spec.defaultMirrors
    }
}
