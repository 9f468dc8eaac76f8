import Datasets
import Dispatch
import Foundation
import HTTPServer
import InitLabContract

extension ExperimentService {
    /// `/v1/datasets…`.
    func registerDatasetRoutes(open: RouteGroup, changing: RouteGroup) {
        open.get("/v1/datasets") { @Sendable [self] request, _ in
            _ = try request.queryParameters(allowed: [])
            return try listDatasets()
        }
        open.get("/v1/datasets/{name}") { @Sendable [self] request, context in
            try await getDataset(context.parameters["name"] ?? "", query: request.queryParameters(allowed: ["verify"]))
        }
        changing.post("/v1/datasets/{name}/fetch") { @Sendable [self] request, context in
            _ = try request.queryParameters(allowed: [])
            return try fetchDataset(context.parameters["name"] ?? "")
        }
    }

    // MARK: - GET /v1/datasets

    func listDatasets() throws -> HTTPResponse {
        let snapshots = DatasetCatalog.all.map { datasets.snapshot($0) }
        return .json(200, try DatasetRepresentation.listJSON(snapshots), headers: [("Cache-Control", "no-cache")])
    }

    // MARK: - GET /v1/datasets/{name}

    func getDataset(_ name: String, query: [String: String]) async throws -> HTTPResponse {
        let spec = try knownDataset(name)
        var verify = false
        if let raw = query["verify"] {
            guard raw == "true" || raw == "false" else {
                throw Problem.badRequest("invalid_parameter", "verify must be true or false.")
            }
            verify = raw == "true"
        }
        let snapshot: DatasetRegistry.Snapshot
        if verify {
            // Re-hashing decompresses every file (about a second): off the cooperative pool. Not on
            // `DispatchQueue.global()`, which on Linux is the cooperative pool's own root queue; a serial queue of
            // its own runs on Dispatch's overcommitting threads.
            let registry = datasets
            snapshot = await withCheckedContinuation { continuation in
                DispatchQueue(label: "initlab.dataset-verify").async {
                    continuation.resume(returning: registry.snapshot(spec, verify: true))
                }
            }
        } else {
            snapshot = datasets.snapshot(spec)
        }
        var headers = [("Cache-Control", "no-cache")]
        if snapshot.state == .fetching { headers.append(("Retry-After", "1")) }
        return .json(200, try DatasetRepresentation.json(snapshot), headers: headers)
    }

    // MARK: - POST /v1/datasets/{name}/fetch

    /// 202 + Location when a fetch was started or is running; 200 with the resource when already ready.
    func fetchDataset(_ name: String) throws -> HTTPResponse {
        let spec = try knownDataset(name)
        let outcome = datasets.startFetch(spec)
        let body = try DatasetRepresentation.json(datasets.snapshot(spec))
        let location = DatasetRepresentation.path(spec.id)
        switch outcome {
        case .alreadyReady:
            return .json(200, body, headers: [("Content-Location", location), ("Cache-Control", "no-cache")])
        case .started, .alreadyRunning:
            return .json(
                202, body, headers: [("Location", location), ("Retry-After", "1"), ("Cache-Control", "no-cache")])
        }
    }

    private func knownDataset(_ name: String) throws -> DatasetSpec {
        guard let spec = DatasetCatalog.all.first(where: { $0.id == name }) else {
            throw Problem.notFound(
                "No dataset '\(name)'; known: \(DatasetRegistry.knownDatasets.joined(separator: ", ")).")
        }
        return spec
    }

    // MARK: - Dataset input of POST /v1/experiments

    /// A spec with dataset input is accepted only when the dataset can be loaded now: an unknown name is a 422
    /// (pointer /input/dataset), a batch larger than the split a 422 (/batch), a dataset not in the cache a
    /// 409 `dataset_not_cached` pointing at its fetch (no surprise download behind a POST). With a shared store,
    /// a dataset that another node fetched counts as cached: the worker that runs the job copies it from there.
    func checkDatasetInput(_ input: DatasetInputRequest) async throws {
        let name = input.name
        guard let spec = DatasetCatalog.all.first(where: { $0.id == name }) else {
            let known = DatasetRegistry.knownDatasets.joined(separator: ", ")
            throw Problem(
                status: 422, code: "invalid_spec", title: "Invalid experiment spec",
                detail: "must be one of \(known)",
                errors: [FieldProblem(pointer: "/input/dataset", detail: "must be one of \(known)")])
        }
        if let split = Split(rawValue: input.split), let available = DatasetInputs.expectedCount(of: spec, split: split),
            input.batch > available
        {
            let detail = "must be at most \(available) (the images of the \(input.split) split of \(name)), got \(input.batch)"
            throw Problem(
                status: 422, code: "invalid_spec", title: "Invalid experiment spec", detail: detail,
                errors: [FieldProblem(pointer: "/batch", detail: detail)])
        }
        var available = datasets.inputs.isAvailable(spec)
        if !available, let shared = datasets.inputs.shared { available = try await shared.holds(spec) }
        guard available else {
            let fetch = DatasetRepresentation.path(spec.id) + "/fetch"
            throw Problem(
                status: 409, code: "dataset_not_cached", title: "Dataset not cached",
                detail: "The dataset \(name) is not in the server's cache; POST \(fetch) to fetch it, poll "
                    + "\(DatasetRepresentation.path(spec.id)) until fetch.state is ready, then submit again.",
                headers: [("Link", "<\(fetch)>; rel=\"fetch\"")],
                links: ["dataset": DatasetRepresentation.path(spec.id), "fetch": fetch])
        }
    }
}
