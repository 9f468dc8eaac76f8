import Foundation
import InitCore

/// A spec that passed decoding and validation against the configured limits: the only way to one from a
/// request. `spec` is canonical (input_width and every scheme parameter filled in); `canonicalJSON` is what
/// is stored, fingerprinted (Idempotency-Key) and echoed; the runner takes `spec` and trusts it.
///
/// Numbers are canonical before they are fingerprinted: integer fields hold integers (3, 3.0 and 3e0 are
/// one request), scheme parameters are doubles written in their shortest round-trip form (1.0 and 1 both
/// write `1`), and −0 is 0 (`-0.0` and `0` are one request).
package struct ValidatedSpec: Sendable, Hashable {
    package let spec: ExperimentSpec
    package let canonicalJSON: Data

    /// Decodes and validates a request body's JSON value; every problem found, with pointers.
    package init(_ json: JSONValue, limits: ExperimentLimits) throws(SpecProblems) {
        var decoder = SpecDecoder(limits: limits)
        let draft = try decoder.spec(json)
        let spec = try Self.validate(draft, limits: limits)
        guard let data = try? Self.encoder.encode(spec) else {
            throw SpecProblems(pointer: "", detail: "could not be encoded in canonical form")
        }
        self.spec = spec
        self.canonicalJSON = data
    }

    /// A spec this service validated and stored before (the worker's read of a queued job): parsed and decoded,
    /// not validated again — the store holds only canonical specs that passed `init(_:limits:)` (the limits
    /// may have changed since, and a queued job keeps the limits it was accepted under).
    package init(trustedCanonicalJSON data: Data) throws(SpecProblems) {
        let json: JSONValue
        do {
            json = try JSONParser().parse(data)
        } catch {
            throw SpecProblems(pointer: "", detail: "the stored spec is not JSON: \(error)")
        }
        var decoder = SpecDecoder(limits: Self.unbounded)
        self.spec = try decoder.spec(json)
        self.canonicalJSON = data
    }

    /// The units a run reports progress in, and how many: optimizer steps for a training run, else layer steps
    /// (forward plus backward).
    package var progressUnit: ProgressUnit { spec.train == nil ? .layers : .steps }
    package var layersTotal: Int { spec.train?.steps ?? spec.layersTotal }

    static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }

    /// Every range, cross-field rule and the resource budget; returns the canonical spec. Never traps on
    /// client values.
    static func validate(_ draft: ExperimentSpec, limits: ExperimentLimits) throws(SpecProblems) -> ExperimentSpec {
        var errors: [FieldProblem] = []
        var spec = draft
        func range(_ value: Int, _ pointer: String, _ lo: Int, _ hi: Int) {
            if value < lo || value > hi { errors.append(FieldProblem(pointer: pointer, detail: "must be \(ExperimentLimits.integer(lo, hi)), got \(value)")) }
        }
        range(draft.depth, "/depth", 1, limits.maxDepth)
        range(draft.width, "/width", 1, limits.maxWidth)
        range(draft.batch, "/batch", 1, limits.maxBatch)
        range(draft.histogramBins, "/histogram_bins", 1, limits.maxHistogramBins)
        if case .dataset(let name, let split, _) = draft.input {
            if !InputSource.datasets.contains(name) {
                errors.append(FieldProblem(pointer: "/input/dataset", detail: "must be one of \(InputSource.datasets.joined(separator: ", "))"))
            }
            if !InputSource.splits.contains(split) {
                errors.append(FieldProblem(pointer: "/input/split", detail: "must be one of \(InputSource.splits.joined(separator: ", "))"))
            }
        }
        if let stack = draft.architecture.convStack {
            validateConvStack(stack, of: draft, limits: limits, errors: &errors)
            spec.inputWidth = stack.input.count
        } else if draft.input.isDataset {
            if let w = draft.inputWidth, w != 784 {
                errors.append(FieldProblem(pointer: "/input_width", detail: "must be 784 (28×28 pixels) for dataset input, got \(w)"))
            }
            spec.inputWidth = 784
        } else if let train = draft.train, train.dataset.needsDownload {
            if let w = draft.inputWidth, w != 784 {
                errors.append(FieldProblem(pointer: "/input_width", detail: "must be 784 (28×28 pixels) for train.dataset \(train.dataset.rawValue), got \(w)"))
            }
            spec.inputWidth = 784
        } else {
            if let w = draft.inputWidth { range(w, "/input_width", 1, limits.maxWidth) }
            spec.inputWidth = draft.inputWidth ?? draft.width
        }
        let inW = spec.resolvedInputWidth
        let width = draft.width, depth = draft.depth

        spec.initializer = resolve(draft.initializer, catalog: SchemeCatalog.initializers, pointer: "/init", errors: &errors)
        spec.activation = resolve(draft.activation, catalog: SchemeCatalog.activations, pointer: "/activation", errors: &errors)
        spec.biasInit = resolve(draft.biasInit, catalog: SchemeCatalog.initializers.filter(\.bias), pointer: "/bias_init", errors: &errors)
        for (scheme, pointer) in [(spec.initializer, "/init"), (spec.biasInit, "/bias_init")] where scheme.name == "uniform" {
            if let lo = scheme.params["low"]?.number, let hi = scheme.params["high"]?.number, lo > hi {
                errors.append(FieldProblem(pointer: pointer + "/low", detail: "must be ≤ high (\(hi)), got \(lo)"))
            }
        }

        if case .residual(let m) = draft.architecture {
            if m < 1 || m > limits.maxDepth {
                errors.append(FieldProblem(pointer: "/architecture/block_size", detail: "must be \(ExperimentLimits.integer(1, limits.maxDepth)), got \(m)"))
            } else if inW == width && depth >= 1 && depth % m != 0 {
                errors.append(FieldProblem(pointer: "/architecture/block_size", detail: "must divide depth (\(depth)) so that every block is complete, got \(m)"))
            } else if inW != width && depth >= 1 && (depth <= m || (depth - 1) % m != 0) {
                // input_width ≠ width: layer 1 is a dense stem, and the blocks follow it.
                errors.append(FieldProblem(pointer: "/architecture/block_size", detail: "must divide depth − 1 (\(depth - 1): layer 1 is a dense stem from input_width \(inW) to width \(width), and complete blocks follow it), got \(m)"))
            }
        }
        switch spec.initializer.name {
        case "fixup":
            if draft.architecture.blockSize < 2 {
                errors.append(FieldProblem(pointer: "/init", detail: "fixup needs architecture residual with block_size ≥ 2 (its scale L^(−1/(2m−2)) needs m ≥ 2)"))
            }
            if draft.weights == .shared { errors.append(FieldProblem(pointer: "/weights", detail: "must be per_layer for fixup")) }
        case "lsuv":
            if draft.weights == .shared { errors.append(FieldProblem(pointer: "/weights", detail: "must be per_layer for lsuv (it rescales each layer's own matrix)")) }
        default: break
        }
        if let train = draft.train {
            validateTrain(train, of: draft, limits: limits, errors: &errors)
        } else if draft.loss == .crossEntropy {
            if !draft.input.isDataset {
                errors.append(FieldProblem(pointer: "/loss", detail: "cross_entropy needs labels: use a dataset input, or one of none, mse"))
            }
            if width < 10 { errors.append(FieldProblem(pointer: "/width", detail: "must be ≥ 10 for cross_entropy (the last layer's units are the 10 class logits), got \(width)")) }
        }
        if draft.train == nil && draft.loss == .mse && draft.input.isDataset && width < 10 {
            errors.append(FieldProblem(pointer: "/width", detail: "must be ≥ 10 for mse on dataset input (the targets are one-hot labels of 10 classes), got \(width)"))
        }
        guard errors.isEmpty else { throw SpecProblems(errors) }

        let estimate = spec.estimate()
        if estimate.memoryBytes > limits.maxMemoryBytes {
            let over = estimate.memoryBytes - limits.maxMemoryBytes
            errors.append(FieldProblem(pointer: "", detail: "estimated \(formatBytes(Double(estimate.memoryBytes))) exceeds the memory budget \(formatBytes(Double(limits.maxMemoryBytes))) by \(formatBytes(Double(over))); reduce depth × width × batch"))
        }
        if estimate.flops > limits.maxFLOPs {
            errors.append(FieldProblem(pointer: "", detail: String(format: "estimated %.3g floating-point operations exceed the compute budget %.3g by %.3g; reduce depth × width × batch", estimate.flops, limits.maxFLOPs, estimate.flops - limits.maxFLOPs)))
        }
        guard errors.isEmpty else { throw SpecProblems(errors) }
        return spec
    }

    /// A cnn's cross-field rules: at least one dense layer after the conv stack, every kernel and pool fits the
    /// image it reads, dataset images are 1×28×28, input_width (when given) is the image's C·H·W, and each layer
    /// has its own weights.
    static func validateConvStack(_ stack: ConvStack, of draft: ExperimentSpec, limits: ExperimentLimits, errors: inout [FieldProblem]) {
        let convs = stack.layers.count
        if draft.depth >= 1 && draft.depth <= convs {
            errors.append(FieldProblem(pointer: "/depth", detail: "must be ≥ \(convs + 1) for this cnn (its \(convs) conv layers, then at least one dense layer: depth counts every layer), got \(draft.depth)"))
        }
        let needsMNIST = draft.input.isDataset || (draft.train?.dataset.needsDownload ?? false)
        if needsMNIST && stack.input != .mnist {
            errors.append(FieldProblem(pointer: "/architecture/input_shape", detail: "must be [1, 28, 28] for dataset images, got \(stack.input.array)"))
        }
        if let w = draft.inputWidth, w != stack.input.count {
            errors.append(FieldProblem(pointer: "/input_width", detail: "must be \(stack.input.count) (C·H·W of architecture.input_shape \(stack.input)) for a cnn, or left out, got \(w)"))
        }
        if draft.weights == .shared {
            errors.append(FieldProblem(pointer: "/weights", detail: "must be per_layer for a cnn (its layers' kernels have different shapes)"))
        }
        let geometry = ConvNetGeometry(stack, batch: 1)
        for (i, layer) in geometry.layers.enumerated() {
            let c = layer.conv, spec = stack.layers[i]
            let at = "/architecture/conv/\(i)"
            let span = spec.dilation * (spec.kernel - 1) + 1
            if c.outHeight < 1 || c.outWidth < 1 {
                errors.append(FieldProblem(pointer: at + "/kernel", detail: "does not fit the layer's \(c.inChannels)×\(c.height)×\(c.width) input: dilation·(kernel − 1) + 1 = \(span) exceeds the padded side min(height, width) + 2·padding = \(min(c.height, c.width) + 2 * spec.padding)"))
            } else if let pool = layer.pool, let pooled = layer.pooled, pooled.height < 1 || pooled.width < 1 {
                errors.append(FieldProblem(pointer: at + "/pool/size", detail: "must be ≤ the layer's output side min(\(c.outHeight), \(c.outWidth)), got \(pool.size)"))
            }
        }
    }

    /// Resolves a scheme against the catalog: known name, known parameters of the right type and range,
    /// defaults filled in.
    package static func resolve<S: NamedScheme>(_ scheme: S, catalog: [SchemeDescriptor], pointer: String, errors: inout [FieldProblem]) -> S {
        guard let d = catalog.first(where: { $0.name == scheme.name }) else {
            errors.append(FieldProblem(pointer: pointer, detail: "name must be one of \(catalog.map(\.name).joined(separator: ", ")), got \"\(scheme.name)\""))
            return scheme
        }
        var params: [String: SchemeParam] = [:]
        for key in scheme.params.keys.sorted() where !d.parameters.contains(where: { $0.name == key }) {
            let allowed = d.parameters.isEmpty ? "\(d.name) takes no parameters" : "allowed: \(d.parameters.map(\.name).joined(separator: ", "))"
            errors.append(FieldProblem(pointer: pointer + "/" + JSONPointer.escape(key), detail: "unknown parameter; \(allowed)"))
        }
        for p in d.parameters {
            let ptr = pointer + "/" + p.name
            guard let given = scheme.params[p.name] else {
                params[p.name] = p.default
                continue
            }
            if let allowed = p.allowed {
                if let s = given.string, allowed.contains(s) { params[p.name] = given } else {
                    errors.append(FieldProblem(pointer: ptr, detail: "must be one of \(allowed.joined(separator: ", "))"))
                }
            } else {
                let lo = p.minimum ?? -Double.greatestFiniteMagnitude, hi = p.maximum ?? Double.greatestFiniteMagnitude
                let kind = p.integer ? "an integer" : "a number"
                if let x = given.number, x.isFinite, x >= lo, x <= hi, !p.integer || x.rounded() == x {
                    params[p.name] = given
                } else {
                    errors.append(FieldProblem(pointer: ptr, detail: "must be \(kind) \(formatNumber(lo)) ... \(formatNumber(hi))"))
                }
            }
        }
        return S(name: scheme.name, params: params)
    }
}

/// What a job's progress counts: layer steps of an init-time experiment, or optimizer steps of a training run.
package enum ProgressUnit: String, Sendable {
    case layers, steps

    /// The unit of a stored canonical spec: steps when it has a `train` block. Read on every job rendering, so
    /// it is a byte search, not a parse: in the canonical form (`ValidatedSpec.encoder`) the bytes `"train":`
    /// occur only as the top-level key (no other key is named train, and a string value `"train"`, the split, is
    /// followed by `,` or `}`).
    package init(canonicalSpec data: Data) {
        // A search over the bytes, not `Data.range(of:)`, which goes through NSData: this runs on every job poll.
        let found = data.withUnsafeBytes { bytes in bytes.firstRange(of: Self.trainKey) != nil }
        self = found ? .steps : .layers
    }

    private static let trainKey = Array(#""train":"#.utf8)
}

extension ExperimentSpec {
    /// Validates a spec built in code (tests, tools) the way a request is: returns the canonical spec.
    package func validated(limits: ExperimentLimits = .default) throws(SpecProblems) -> ExperimentSpec {
        try ValidatedSpec.validate(self, limits: limits)
    }

    /// Parses (strictly), decodes and validates JSON bytes; a syntax error is a problem at the root.
    package static func decodeValidated(from data: Data, limits: ExperimentLimits = .default) throws(SpecProblems) -> ExperimentSpec {
        let json: JSONValue
        do {
            json = try JSONParser().parse(data)
        } catch {
            throw SpecProblems(pointer: "", detail: "is not valid JSON: \(error)")
        }
        return try ValidatedSpec(json, limits: limits).spec
    }
}
