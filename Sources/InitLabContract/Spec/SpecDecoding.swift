import InitCore

/// Reads a spec out of a JSON value (the POST body, already through `JSONParser`): every field's type and
/// shape, every unknown key, with a pointer and a message that names what is allowed (built from `limits`).
/// Ranges and cross-field rules are `ValidatedSpec`'s second step; both report every problem they find.
struct SpecDecoder {
    let limits: ExperimentLimits
    var errors: [FieldProblem] = []

    static let keys = [
        "depth", "width", "batch", "input_width", "seed", "backward", "init", "activation", "bias_init", "weights",
        "architecture", "histogram_bins", "input", "loss", "train",
    ]

    init(limits: ExperimentLimits) { self.limits = limits }

    mutating func spec(_ json: JSONValue) throws(SpecProblems) -> ExperimentSpec {
        guard case .object(let object) = json else {
            throw SpecProblems(pointer: "", detail: "must be a JSON object with the experiment fields, got \(json.kind)")
        }
        for key in object.keys.sorted() where !Self.keys.contains(key) {
            errors.append(FieldProblem(pointer: "/" + JSONPointer.escape(key), detail: "unknown key; allowed keys: \(Self.keys.joined(separator: ", "))"))
        }
        var depth: Int?, width: Int?, batch: Int?, inputWidth: Int?, seed: UInt64?, backward: Bool?, bins: Int?
        var initializer: InitScheme?, activation: ActivationSpec?, biasInit: InitScheme?
        var weights: WeightSharing?, architecture: Architecture?, input: InputSource?, loss: LossKind?, train: TrainSpec?
        if let v = member(object, "depth", required: true, expected: limits.depthText) { depth = int(v, "/depth", limits.depthText) }
        if let v = member(object, "width", required: true, expected: limits.widthText) { width = int(v, "/width", limits.widthText) }
        if let v = member(object, "batch", required: true, expected: limits.batchText) { batch = int(v, "/batch", limits.batchText) }
        if let v = member(object, "input_width", required: false, expected: "") { inputWidth = int(v, "/input_width", limits.widthText) }
        if let v = member(object, "seed", required: false, expected: "") { seed = self.seed(v, "/seed") }
        if let v = member(object, "backward", required: false, expected: "") {
            if case .bool(let b) = v { backward = b } else { errors.append(FieldProblem(pointer: "/backward", detail: "must be true or false")) }
        }
        if let v = member(object, "init", required: true, expected: "a scheme name or object") { initializer = scheme(v, "/init", as: InitScheme.self) }
        if let v = member(object, "activation", required: true, expected: "an activation name or object") {
            activation = scheme(v, "/activation", as: ActivationSpec.self)
        }
        if let v = member(object, "bias_init", required: false, expected: "") { biasInit = scheme(v, "/bias_init", as: InitScheme.self) }
        if let v = member(object, "weights", required: false, expected: "") { weights = choice(v, "/weights", WeightSharing.self) }
        if let v = member(object, "architecture", required: false, expected: "") { architecture = self.architecture(v) }
        if let v = member(object, "histogram_bins", required: false, expected: "") { bins = int(v, "/histogram_bins", limits.binsText) }
        if let v = member(object, "input", required: false, expected: "") { input = self.input(v) }
        if let v = member(object, "loss", required: false, expected: "") { loss = choice(v, "/loss", LossKind.self) }
        if let v = member(object, "train", required: false, expected: "") { train = self.train(v, specBatch: batch) }
        guard errors.isEmpty, let depth, let width, let batch, let initializer, let activation else {
            throw SpecProblems(errors)
        }
        return ExperimentSpec(
            depth: depth, width: width, batch: batch, inputWidth: inputWidth, seed: seed ?? 0, backward: backward ?? true,
            initializer: initializer, activation: activation, biasInit: biasInit ?? InitScheme(name: "zeros"),
            weights: weights ?? .perLayer, architecture: architecture ?? .mlp, histogramBins: bins ?? 50,
            input: input ?? .gaussian, loss: loss ?? .none, train: train)
    }

    /// The member `key` of the object at pointer `parent`, or nil when it is absent or null (a problem when
    /// `required`).
    mutating func member(_ object: [String: JSONValue], _ key: String, required: Bool, expected: String, at parent: String = "") -> JSONValue? {
        let pointer = parent + "/" + JSONPointer.escape(key)
        guard let value = object[key] else {
            if required { errors.append(FieldProblem(pointer: pointer, detail: "is required: \(expected)")) }
            return nil
        }
        if value == .null {
            if required { errors.append(FieldProblem(pointer: pointer, detail: "must not be null: \(expected)")) }
            return nil
        }
        return value
    }

    /// An integer field: any JSON number with an exact integer value (3, 3.0 and 3e0 are the same request).
    mutating func int(_ value: JSONValue, _ pointer: String, _ expected: String) -> Int? {
        if case .number(let n) = value, let i = n.exactInt64, let v = Int(exactly: i) { return v }
        errors.append(FieldProblem(pointer: pointer, detail: "must be \(expected)"))
        return nil
    }

    /// An integer field within lo … hi.
    mutating func bounded(_ value: JSONValue, _ pointer: String, _ lo: Int, _ hi: Int) -> Int? {
        guard let x = int(value, pointer, ExperimentLimits.integer(lo, hi)) else { return nil }
        guard x >= lo && x <= hi else {
            errors.append(FieldProblem(pointer: pointer, detail: "must be \(ExperimentLimits.integer(lo, hi)), got \(x)"))
            return nil
        }
        return x
    }

    mutating func seed(_ value: JSONValue, _ pointer: String) -> UInt64? {
        if case .number(let n) = value, let u = n.exactUInt64 { return u }
        errors.append(FieldProblem(pointer: pointer, detail: "must be \(ExperimentLimits.seedText)"))
        return nil
    }

    mutating func choice<T: RawRepresentable & CaseIterable>(_ value: JSONValue, _ pointer: String, _ type: T.Type) -> T? where T.RawValue == String {
        if case .string(let s) = value, let v = T(rawValue: s) { return v }
        errors.append(FieldProblem(pointer: pointer, detail: "must be one of \(T.allCases.map(\.rawValue).joined(separator: ", "))"))
        return nil
    }

    /// A bare name or `{"name": ..., params...}`; parameters are numbers or strings. A number parameter is
    /// canonical: −0 is 0 (so a spec with `-0.0` and one with `0` are the same spec, and fingerprint alike).
    mutating func scheme<S: NamedScheme>(_ value: JSONValue, _ pointer: String, as: S.Type) -> S? {
        switch value {
        case .string(let name): return S(name: name, params: [:])
        case .object(let object):
            var name: String?
            if case .string(let n) = object["name"] { name = n } else {
                errors.append(FieldProblem(pointer: pointer + "/name", detail: "is required and must be a string"))
            }
            var params: [String: SchemeParam] = [:]
            for (key, param) in object where key != "name" {
                switch param {
                case .number(let n): params[key] = .number(n.double == 0 ? 0 : n.double)
                case .string(let s): params[key] = .string(s)
                default: errors.append(FieldProblem(pointer: pointer + "/" + JSONPointer.escape(key), detail: "must be a number or a string"))
                }
            }
            guard let name else { return nil }
            return S(name: name, params: params)
        default:
            errors.append(FieldProblem(pointer: pointer, detail: "must be a scheme name (string) or an object {\"name\": ..., params...}"))
            return nil
        }
    }

    mutating func architecture(_ value: JSONValue) -> Architecture? {
        let expected = "must be \(limits.architectureText)"
        switch value {
        case .string("mlp"): return .mlp
        case .string("residual"): return .residual(blockSize: 2)
        case .object(let object):
            let before = errors.count
            let allowed: [String]
            var result: Architecture?
            switch object["name"] {
            case .string("mlp"):
                allowed = ["name"]
                result = .mlp
            case .string("residual"):
                allowed = ["name", "block_size"]
                if let m = object["block_size"] {
                    result = int(m, "/architecture/block_size", ExperimentLimits.integer(1, limits.maxDepth)).map { .residual(blockSize: $0) }
                } else {
                    result = .residual(blockSize: 2)
                }
            case .string("cnn"):
                allowed = ["name", "input_shape", "conv"]
                result = convStack(object).map { .cnn($0) }
            default:
                allowed = ["name", "block_size", "input_shape", "conv"]
                errors.append(FieldProblem(pointer: "/architecture/name", detail: "must be one of mlp, residual, cnn"))
            }
            for key in object.keys.sorted() where !allowed.contains(key) {
                errors.append(FieldProblem(pointer: "/architecture/" + JSONPointer.escape(key), detail: "unknown key; allowed keys: \(allowed.joined(separator: ", "))"))
            }
            return errors.count == before ? result : nil
        default:
            errors.append(FieldProblem(pointer: "/architecture", detail: expected))
            return nil
        }
    }

    /// A cnn's `input_shape` (default [1, 28, 28]) and `conv` layers. Each layer's ranges are checked here; whether
    /// the kernels and pools fit the images is `ValidatedSpec`'s cross-field rule.
    mutating func convStack(_ object: [String: JSONValue]) -> ConvStack? {
        let before = errors.count
        var input = ImageShape.mnist
        if let v = object["input_shape"], v != .null {
            let side = ExperimentLimits.integer(1, ExperimentLimits.maxImageSide)
            let text = "[channels, height, width]: channels \(limits.widthText), height and width \(side)"
            if case .array(let dims) = v, dims.count == 3 {
                let c = bounded(dims[0], "/architecture/input_shape/0", 1, limits.maxWidth)
                let h = bounded(dims[1], "/architecture/input_shape/1", 1, ExperimentLimits.maxImageSide)
                let w = bounded(dims[2], "/architecture/input_shape/2", 1, ExperimentLimits.maxImageSide)
                if let c, let h, let w { input = ImageShape(channels: c, height: h, width: w) }
            } else {
                errors.append(FieldProblem(pointer: "/architecture/input_shape", detail: "must be \(text)"))
            }
        }
        var layers: [ConvLayerSpec] = []
        let countText = "a non-empty array of at most \(limits.maxDepth - 1) conv layers {\"channels\", \"kernel\", \"stride\", \"padding\", \"dilation\", \"pool\"}"
        guard case .array(let items) = object["conv"] ?? .null, !items.isEmpty, items.count < limits.maxDepth else {
            errors.append(FieldProblem(pointer: "/architecture/conv", detail: "is required: \(countText)"))
            return nil
        }
        let k = ExperimentLimits.maxKernel
        for (i, item) in items.enumerated() {
            let at = "/architecture/conv/\(i)"
            guard case .object(let layer) = item else {
                errors.append(FieldProblem(pointer: at, detail: "must be an object with keys \(ExperimentLimits.convKeys.joined(separator: ", "))"))
                continue
            }
            for key in layer.keys.sorted() where !ExperimentLimits.convKeys.contains(key) {
                errors.append(FieldProblem(pointer: at + "/" + JSONPointer.escape(key), detail: "unknown key; allowed keys: \(ExperimentLimits.convKeys.joined(separator: ", "))"))
            }
            func field(_ key: String, _ lo: Int, _ hi: Int, default d: Int?) -> Int? {
                guard let v = member(layer, key, required: d == nil, expected: ExperimentLimits.integer(lo, hi), at: at) else { return d }
                return bounded(v, at + "/" + key, lo, hi)
            }
            let channels = field("channels", 1, limits.maxWidth, default: nil)
            let kernel = field("kernel", 1, k, default: nil)
            let stride = field("stride", 1, k, default: 1)
            let padding = field("padding", 0, k, default: 0)
            let dilation = field("dilation", 1, k, default: 1)
            var pool: Pooling? = nil
            var poolOK = true
            switch layer["pool"] ?? .null {
            case .null: break
            case .string(let s):
                if let kind = Pooling.Kind(rawValue: s) { pool = Pooling(kind: kind, size: 2) } else { poolOK = false }
            case .object(let p):
                for key in p.keys.sorted() where key != "kind" && key != "size" {
                    errors.append(FieldProblem(pointer: at + "/pool/" + JSONPointer.escape(key), detail: "unknown key; allowed keys: kind, size"))
                }
                var size: Int? = 2
                if let s = p["size"], s != .null { size = bounded(s, at + "/pool/size", 1, k) }
                if case .string(let s) = p["kind"] ?? .null, let kind = Pooling.Kind(rawValue: s) {
                    if let size { pool = Pooling(kind: kind, size: size) }
                } else {
                    errors.append(FieldProblem(pointer: at + "/pool/kind", detail: "is required: one of \(Pooling.Kind.allCases.map(\.rawValue).joined(separator: ", "))"))
                }
            default: poolOK = false
            }
            if !poolOK { errors.append(FieldProblem(pointer: at + "/pool", detail: "must be \(ExperimentLimits.poolText)")) }
            if let channels, let kernel, let stride, let padding, let dilation {
                layers.append(ConvLayerSpec(channels: channels, kernel: kernel, stride: stride, padding: padding, dilation: dilation, pool: pool))
            }
        }
        return errors.count == before ? ConvStack(input: input, layers: layers) : nil
    }

    mutating func input(_ value: JSONValue) -> InputSource? {
        switch value {
        case .string("gaussian"): return .gaussian
        case .object(let object):
            let before = errors.count
            for key in object.keys.sorted() where !["dataset", "split", "sample_seed"].contains(key) {
                errors.append(FieldProblem(pointer: "/input/" + JSONPointer.escape(key), detail: "unknown key; allowed keys: dataset, split, sample_seed"))
            }
            let datasets = InputSource.datasets.joined(separator: ", ")
            var name = ""
            if case .string(let n) = object["dataset"] { name = n } else {
                errors.append(FieldProblem(pointer: "/input/dataset", detail: "is required: one of \(datasets)"))
            }
            var split = "train"
            if let s = object["split"] {
                if case .string(let text) = s { split = text } else {
                    errors.append(FieldProblem(pointer: "/input/split", detail: "must be one of \(InputSource.splits.joined(separator: ", "))"))
                }
            }
            var sampleSeed: UInt64 = 0
            if let s = object["sample_seed"] { sampleSeed = seed(s, "/input/sample_seed") ?? 0 }
            return errors.count == before ? .dataset(name: name, split: split, sampleSeed: sampleSeed) : nil
        default:
            errors.append(FieldProblem(pointer: "/input", detail: "must be \(ExperimentLimits.inputText)"))
            return nil
        }
    }
}
