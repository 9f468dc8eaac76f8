import Foundation

extension ExperimentSpec {
    /// Checks every field, cross-field rule and the resource budget; returns the canonical spec (input_width
    /// and every scheme parameter filled in with its default). Never traps on client values.
    public func validated(limits: ExperimentLimits = .default) throws(SpecValidationError) -> ExperimentSpec {
        var errors: [FieldError] = []
        var spec = self
        func range(_ value: Int, _ pointer: String, _ lo: Int, _ hi: Int) {
            if value < lo || value > hi { errors.append(FieldError(pointer: pointer, detail: "must be an integer \(lo) ... \(hi), got \(value)")) }
        }
        range(depth, "/depth", 1, limits.maxDepth)
        range(width, "/width", 1, limits.maxWidth)
        range(batch, "/batch", 1, limits.maxBatch)
        range(histogramBins, "/histogram_bins", 1, 512)
        if case .dataset(let name, let split, _) = input {
            if !InputSource.datasets.contains(name) {
                errors.append(FieldError(pointer: "/input/dataset", detail: "must be one of \(InputSource.datasets.joined(separator: ", "))"))
            }
            if !InputSource.splits.contains(split) {
                errors.append(FieldError(pointer: "/input/split", detail: "must be one of \(InputSource.splits.joined(separator: ", "))"))
            }
            if let w = inputWidth, w != 784 {
                errors.append(FieldError(pointer: "/input_width", detail: "must be 784 (28×28 pixels) for dataset input, got \(w)"))
            }
            spec.inputWidth = 784
        } else {
            if let w = inputWidth { range(w, "/input_width", 1, limits.maxWidth) }
            spec.inputWidth = inputWidth ?? width
        }
        let inW = spec.inputWidth ?? width

        spec.initializer = Self.resolve(initializer, catalog: SchemeCatalog.initializers, pointer: "/init", errors: &errors)
        spec.activation = ActivationSpec(resolving: activation, errors: &errors)
        spec.biasInit = Self.resolve(biasInit, catalog: SchemeCatalog.initializers.filter(\.bias), pointer: "/bias_init", errors: &errors)
        for (scheme, pointer) in [(spec.initializer, "/init"), (spec.biasInit, "/bias_init")] where scheme.name == "uniform" {
            if let lo = scheme.params["low"]?.number, let hi = scheme.params["high"]?.number, lo > hi {
                errors.append(FieldError(pointer: pointer + "/low", detail: "must be ≤ high (\(hi)), got \(lo)"))
            }
        }

        if case .residual(let m) = architecture {
            if m < 1 || m > limits.maxDepth {
                errors.append(FieldError(pointer: "/architecture/block_size", detail: "must be an integer 1 ... \(limits.maxDepth), got \(m)"))
            } else if depth >= 1 && depth % m != 0 {
                errors.append(FieldError(pointer: "/architecture/block_size", detail: "must divide depth (\(depth)) so that every block is complete, got \(m)"))
            }
            if inW != width {
                errors.append(FieldError(pointer: "/input_width", detail: "must equal width (\(width)) for the residual architecture (the first skip adds the input), got \(inW)"))
            }
        }
        switch spec.initializer.name {
        case "fixup":
            if architecture.blockSize < 2 {
                errors.append(FieldError(pointer: "/init", detail: "fixup needs architecture residual with block_size ≥ 2 (its scale L^(−1/(2m−2)) needs m ≥ 2)"))
            }
            if weights == .shared { errors.append(FieldError(pointer: "/weights", detail: "must be per_layer for fixup")) }
        case "lsuv":
            if weights == .shared { errors.append(FieldError(pointer: "/weights", detail: "must be per_layer for lsuv (it rescales each layer's own matrix)")) }
        default: break
        }
        if loss == .crossEntropy {
            if !input.isDataset {
                errors.append(FieldError(pointer: "/loss", detail: "cross_entropy needs labels: use a dataset input, or one of none, mse"))
            }
            if width < 10 { errors.append(FieldError(pointer: "/width", detail: "must be ≥ 10 for cross_entropy (the last layer's units are the 10 class logits), got \(width)")) }
        }
        if loss == .mse && input.isDataset && width < 10 {
            errors.append(FieldError(pointer: "/width", detail: "must be ≥ 10 for mse on dataset input (the targets are one-hot labels of 10 classes), got \(width)"))
        }
        guard errors.isEmpty else { throw SpecValidationError(errors: errors) }

        let estimate = spec.estimate()
        if estimate.memoryBytes > limits.maxMemoryBytes {
            let over = estimate.memoryBytes - limits.maxMemoryBytes
            errors.append(FieldError(pointer: "", detail: "estimated \(formatBytes(Double(estimate.memoryBytes))) exceeds the memory budget \(formatBytes(Double(limits.maxMemoryBytes))) by \(formatBytes(Double(over))); reduce depth × width × batch"))
        }
        if estimate.flops > limits.maxFLOPs {
            errors.append(FieldError(pointer: "", detail: String(format: "estimated %.3g floating-point operations exceed the compute budget %.3g by %.3g; reduce depth × width × batch", estimate.flops, limits.maxFLOPs, estimate.flops - limits.maxFLOPs)))
        }
        guard errors.isEmpty else { throw SpecValidationError(errors: errors) }
        return spec
    }

    /// Resolves a scheme against the catalog: known name, known parameters of the right type and range, defaults
    /// filled in.
    static func resolve<S: NamedScheme>(_ scheme: S, catalog: [SchemeDescriptor], pointer: String, errors: inout [FieldError]) -> S {
        guard let d = catalog.first(where: { $0.name == scheme.name }) else {
            errors.append(FieldError(pointer: pointer, detail: "name must be one of \(catalog.map(\.name).joined(separator: ", ")), got \"\(scheme.name)\""))
            return scheme
        }
        var params: [String: SchemeParam] = [:]
        for key in scheme.params.keys.sorted() where !d.parameters.contains(where: { $0.name == key }) {
            let allowed = d.parameters.isEmpty ? "\(d.name) takes no parameters" : "allowed: \(d.parameters.map(\.name).joined(separator: ", "))"
            errors.append(FieldError(pointer: pointer + "/" + JSONPointer.escape(key), detail: "unknown parameter; \(allowed)"))
        }
        for p in d.parameters {
            let ptr = pointer + "/" + p.name
            guard let given = scheme.params[p.name] else {
                params[p.name] = p.default
                continue
            }
            if let allowed = p.allowed {
                if let s = given.string, allowed.contains(s) { params[p.name] = given } else {
                    errors.append(FieldError(pointer: ptr, detail: "must be one of \(allowed.joined(separator: ", "))"))
                }
            } else {
                let lo = p.minimum ?? -Double.greatestFiniteMagnitude, hi = p.maximum ?? Double.greatestFiniteMagnitude
                let kind = p.integer ? "an integer" : "a number"
                if let x = given.number, x.isFinite, x >= lo, x <= hi, !p.integer || x.rounded() == x {
                    params[p.name] = given
                } else {
                    errors.append(FieldError(pointer: ptr, detail: "must be \(kind) \(formatNumber(lo)) ... \(formatNumber(hi))"))
                }
            }
        }
        return S(name: scheme.name, params: params)
    }
}

extension ActivationSpec {
    init(resolving a: ActivationSpec, errors: inout [FieldError]) {
        self = ExperimentSpec.resolve(a, catalog: SchemeCatalog.activations, pointer: "/activation", errors: &errors)
    }
}

func formatNumber(_ x: Double) -> String {
    if x.rounded() == x && abs(x) < 1e15 { return String(Int64(x)) }
    return String(format: "%g", x)
}

/// "3.1 GiB", "12.0 MiB", "512 B".
func formatBytes(_ b: Double) -> String {
    if b >= Double(1 << 30) { return String(format: "%.1f GiB", b / Double(1 << 30)) }
    if b >= Double(1 << 20) { return String(format: "%.1f MiB", b / Double(1 << 20)) }
    if b >= 1024 { return String(format: "%.1f KiB", b / 1024) }
    return String(format: "%.0f B", b)
}
