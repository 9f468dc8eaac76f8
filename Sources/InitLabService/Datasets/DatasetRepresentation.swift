import Datasets
import Foundation

/// The JSON of a dataset resource (`GET /v1/datasets/{name}`, and each item of `GET /v1/datasets`).
struct DatasetRepresentation: Encodable {
    struct Split: Encodable {
        var images: Int?
        var rows: Int
        var cols: Int
    }

    struct File: Encodable {
        var name: String
        var role: String
        var present: Bool
        var bytes: Int64
        var partialBytes: Int64
        var checksumMatches: Bool?

        enum CodingKeys: String, CodingKey {
            case name, role, present, bytes, partialBytes = "partial_bytes", checksumMatches = "checksum_matches"
        }

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(name, forKey: .name)
            try c.encode(role, forKey: .role)
            try c.encode(present, forKey: .present)
            try c.encode(bytes, forKey: .bytes)
            try c.encode(partialBytes, forKey: .partialBytes)
            try c.encode(checksumMatches, forKey: .checksumMatches)
        }
    }

    struct Statistics: Encodable {
        var rawTrain: PixelStatistics
        var rawTest: PixelStatistics
        var normalizedTrain: PixelStatistics
        var normalizedTest: PixelStatistics

        enum CodingKeys: String, CodingKey {
            case rawTrain = "raw_train", rawTest = "raw_test", normalizedTrain = "normalized_train"
            case normalizedTest = "normalized_test"
        }
    }

    struct Fetch: Encodable {
        var state: DatasetFetchState
        var progress: DatasetFetchProgress?
        var error: String?
        var startedAt: String?
        var finishedAt: String?

        enum CodingKeys: String, CodingKey {
            case state, progress, error, startedAt = "started_at", finishedAt = "finished_at"
        }

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(state, forKey: .state)
            try c.encode(progress, forKey: .progress)
            try c.encode(error, forKey: .error)
            try c.encode(startedAt, forKey: .startedAt)
            try c.encode(finishedAt, forKey: .finishedAt)
        }
    }

    var name: String
    var title: String
    var cached: Bool
    var verified: Bool?
    var loaded: Bool
    var classes: Int
    var train: Split
    var test: Split
    var files: [File]
    var statistics: Statistics?
    var fetch: Fetch
    var links: [String: String]

    enum CodingKeys: String, CodingKey {
        case name, title, cached, verified, loaded, classes, train, test, files, statistics, fetch, links
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        try c.encode(title, forKey: .title)
        try c.encode(cached, forKey: .cached)
        try c.encode(verified, forKey: .verified)
        try c.encode(loaded, forKey: .loaded)
        try c.encode(classes, forKey: .classes)
        try c.encode(train, forKey: .train)
        try c.encode(test, forKey: .test)
        try c.encode(files, forKey: .files)
        try c.encode(statistics, forKey: .statistics)
        try c.encode(fetch, forKey: .fetch)
        try c.encode(links, forKey: .links)
    }

    static func path(_ id: String) -> String { "/v1/datasets/\(id)" }

    init(_ s: DatasetRegistry.Snapshot) {
        let spec = s.spec
        name = spec.id
        title = spec.title
        cached = s.status.cached
        verified = s.status.verified
        loaded = s.loaded
        classes = spec.classes
        train = Split(images: spec.expectedCounts?.train, rows: spec.rows, cols: spec.cols)
        test = Split(images: spec.expectedCounts?.test, rows: spec.rows, cols: spec.cols)
        files = s.status.files.map {
            File(name: $0.name, role: Self.role($0.role), present: $0.present, bytes: $0.bytes,
                 partialBytes: $0.partialBytes, checksumMatches: $0.checksumMatches)
        }
        statistics = s.status.statistics.map {
            Statistics(rawTrain: $0.rawTrain, rawTest: $0.rawTest, normalizedTrain: $0.normalizedTrain,
                       normalizedTest: $0.normalizedTest)
        }
        fetch = Fetch(
            state: s.state, progress: s.progress, error: s.error, startedAt: s.startedAt.map(Timestamp.rfc3339),
            finishedAt: s.finishedAt.map(Timestamp.rfc3339))
        links = ["self": Self.path(spec.id), "fetch": Self.path(spec.id) + "/fetch"]
    }

    static func role(_ role: FileRole) -> String {
        switch role {
        case .trainImages: "train_images"
        case .trainLabels: "train_labels"
        case .testImages: "test_images"
        case .testLabels: "test_labels"
        }
    }

    static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    static func json(_ snapshot: DatasetRegistry.Snapshot) throws -> Data {
        try encoder.encode(DatasetRepresentation(snapshot))
    }

    static func listJSON(_ snapshots: [DatasetRegistry.Snapshot]) throws -> Data {
        struct List: Encodable { var datasets: [DatasetRepresentation] }
        return try encoder.encode(List(datasets: snapshots.map(DatasetRepresentation.init)))
    }
}
