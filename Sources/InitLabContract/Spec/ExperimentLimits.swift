import Foundation
import InitCore

/// Limits a spec must respect. Built once by the executable (from `--max-depth` and friends) and passed down;
/// every message that names a limit is built from these values, so it never goes stale.
package struct ExperimentLimits: Sendable, Hashable {
    /// Default: 10,000 layers (also bounds a residual block_size).
    package var maxDepth: Int
    /// Default: 4,096 units (also bounds input_width).
    package var maxWidth: Int
    /// Default: 4,096 rows.
    package var maxBatch: Int
    /// Peak working memory a run may plan for (see `ExperimentSpec.estimate()`). Default: 1 GiB.
    package var maxMemoryBytes: Int
    /// Floating-point operations a run may plan for. Default: 2e12 (about a minute on two cores).
    package var maxFLOPs: Double
    /// Histogram bins per statistic. Default: 512.
    package var maxHistogramBins: Int
    /// Optimizer steps of a training run (`train.steps`). Default: 100,000.
    package var maxTrainSteps: Int

    package init(maxDepth: Int = 10_000, maxWidth: Int = 4_096, maxBatch: Int = 4_096,
                 maxMemoryBytes: Int = 1 << 30, maxFLOPs: Double = 2e12, maxHistogramBins: Int = 512,
                 maxTrainSteps: Int = 100_000) {
        self.maxDepth = maxDepth
        self.maxWidth = maxWidth
        self.maxBatch = maxBatch
        self.maxMemoryBytes = maxMemoryBytes
        self.maxFLOPs = maxFLOPs
        self.maxHistogramBins = maxHistogramBins
        self.maxTrainSteps = maxTrainSteps
    }

    package static let `default` = ExperimentLimits()

    // MARK: The texts of the limits

    /// "an integer 1 ... 10000".
    package static func integer(_ lo: Int, _ hi: Int) -> String { "an integer \(lo) ... \(hi)" }
    package var depthText: String { Self.integer(1, maxDepth) }
    package var widthText: String { Self.integer(1, maxWidth) }
    package var batchText: String { Self.integer(1, maxBatch) }
    package var binsText: String { Self.integer(1, maxHistogramBins) }
    package static let seedText = "an integer 0 ... \(UInt64.max)"
    package var stepsText: String { Self.integer(1, maxTrainSteps) }

    // Training (`train`): fixed limits, stated once here.

    /// Validation examples: at most the 10,000 test images of MNIST and Fashion-MNIST.
    package static let maxValidationSize = 10_000
    /// Images in the training split of MNIST and Fashion-MNIST (a batch draws distinct images).
    package static let trainSplitImages = 60_000
    /// Target accuracies a summary reports.
    package static let maxTargets = 16
    package static let positiveText = "a finite number > 0"
    package static let nonNegativeText = "a finite number ≥ 0"
    /// Momentum and Adam's betas.
    package static let fractionText = "a number 0 ≤ x < 1"
    /// A target accuracy, and the schedule's gamma.
    package static let accuracyText = "a number 0 < x ≤ 1"
    /// one_cycle's pct_start.
    package static let openFractionText = "a number 0 < x < 1"
    /// one_cycle's div and final_div.
    package static let divisorText = "a finite number ≥ 1"
    package static var datasetText: String { TrainDataset.allCases.map(\.rawValue).joined(separator: ", ") }
    package static var optimizerText: String { OptimizerKind.allCases.map(\.rawValue).joined(separator: ", ") }
    package static let scheduleNames = ["constant", "step", "cosine", "one_cycle"]
    package var architectureText: String {
        "\"mlp\", \"residual\", {\"name\": \"residual\", \"block_size\": 1 ... \(maxDepth)} or {\"name\": \"cnn\", \"conv\": [...], \"input_shape\": [C, H, W]}"
    }

    // A cnn's conv stack (`architecture: {"name": "cnn", ...}`): fixed limits, stated once here. Channels are
    // bounded by maxWidth; the memory and compute budgets bound the rest.

    /// Height and width of an input image.
    package static let maxImageSide = 1_024
    /// Kernel size, stride, padding, dilation and pooling size.
    package static let maxKernel = 64
    package static let convKeys = ["channels", "kernel", "stride", "padding", "dilation", "pool"]
    package static var poolText: String {
        let kinds = Pooling.Kind.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: " | ")
        return "null, \(kinds) (2×2) or {\"kind\": \(kinds), \"size\": 1 ... \(maxKernel)}"
    }
    package static var inputText: String {
        let names = InputSource.datasets.map { "\"\($0)\"" }.joined(separator: " | ")
        let splits = InputSource.splits.map { "\"\($0)\"" }.joined(separator: " | ")
        return "\"gaussian\" or {\"dataset\": \(names), \"split\": \(splits), \"sample_seed\": 0 ... \(UInt64.max)}"
    }
}

/// Numbers in messages: whole numbers without a fraction, others in %g.
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
