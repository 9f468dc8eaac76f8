#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where a training run's examples come from.
public enum TrainDataset: String, Sendable, Hashable, CaseIterable {
    /// MNIST digits (60,000 training and 10,000 test images, 28 × 28, normalized with the training set's statistics).
    case mnist
    /// Fashion-MNIST, the same format.
    case fashionMNIST = "fashion-mnist"
    /// A synthetic teacher task that needs no download: inputs N(0, 1) of `input_width` features, labels the
    /// argmax over 10 classes of a fixed random linear teacher (`TeacherTask`). Training draws fresh examples
    /// every step; the validation set is fixed.
    case teacher

    public var needsDownload: Bool { self != .teacher }
}

/// The optimizer and its hyper-parameters (PyTorch's semantics: `torch.optim.SGD`, `Adam`, `AdamW`).
public enum OptimizerKind: String, Sendable, Hashable, CaseIterable {
    case sgd, adam, adamw
}

public struct OptimizerSpec: Sendable, Hashable {
    public var kind: OptimizerKind
    /// SGD's momentum μ (0: plain SGD): v ← μ·v + g, W ← W − lr·v (Nesterov: W ← W − lr·(g + μ·v)).
    public var momentum: Double
    public var nesterov: Bool
    /// Adam's β₁, β₂ and ε.
    public var beta1: Double
    public var beta2: Double
    public var epsilon: Double
    /// SGD and Adam: L2, added to the gradient (g ← g + wd·W). AdamW: decoupled, W ← W·(1 − lr·wd) before the step.
    public var weightDecay: Double
    /// Clip the global L2 norm of all gradients to this value (`clip_grad_norm_`); nil: no clipping.
    public var gradientClip: Double?

    public init(kind: OptimizerKind, momentum: Double = 0, nesterov: Bool = false, beta1: Double = 0.9, beta2: Double = 0.999,
                epsilon: Double = 1e-8, weightDecay: Double = 0, gradientClip: Double? = nil) {
        self.kind = kind
        self.momentum = momentum
        self.nesterov = nesterov
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
        self.gradientClip = gradientClip
    }
}

/// The learning rate over the steps (`LearningRateSchedule.rate(step:)` has the formulas).
public enum ScheduleKind: Sendable, Hashable {
    /// lr at every step.
    case constant
    /// lr · γ^⌊t / every⌋ (`StepLR`).
    case step(every: Int, gamma: Double)
    /// Cosine annealing from lr to `minimum` over the steps after the warm-up (`CosineAnnealingLR`).
    case cosine(minimum: Double)
    /// fastai's `fit_one_cycle`: cosine from lr/div up to lr over the first `pctStart` of the steps, then cosine
    /// down to lr/(div·finalDiv). Its own warm-up, so `warmupSteps` does not apply.
    case oneCycle(pctStart: Double, div: Double, finalDiv: Double)
}

public struct LearningRateSchedule: Sendable, Hashable {
    /// The base (peak) learning rate.
    public var lr: Double
    public var kind: ScheduleKind
    /// Linear warm-up: over steps 0 ..< warmupSteps the rate is multiplied by (t + 1)/warmupSteps.
    public var warmupSteps: Int

    public init(lr: Double, kind: ScheduleKind = .constant, warmupSteps: Int = 0) {
        self.lr = lr
        self.kind = kind
        self.warmupSteps = warmupSteps
    }

    /// The rate used by step t (0-based) of a run of `steps` steps.
    public func rate(step t: Int, of steps: Int) -> Double {
        switch kind {
        case .oneCycle(let pctStart, let div, let finalDiv):
            let warm = max(1, Int((Double(steps) * pctStart).rounded()))
            func cosine(_ start: Double, _ end: Double, _ pos: Double) -> Double {
                start + (1 + cos(Double.pi * (1 - pos))) * (end - start) / 2
            }
            if t < warm { return cosine(lr / div, lr, Double(t) / Double(warm)) }
            let rest = max(1, steps - warm)
            return cosine(lr, lr / (div * finalDiv), Double(t - warm) / Double(rest))
        case .constant, .step, .cosine:
            var rate: Double
            switch kind {
            case .step(let every, let gamma): rate = lr * pow(gamma, Double(t / max(1, every)))
            case .cosine(let minimum):
                let span = max(1, steps - warmupSteps)
                let u = Double(min(max(0, t - warmupSteps), span)) / Double(span)
                rate = minimum + (lr - minimum) * (1 + cos(Double.pi * u)) / 2
            default: rate = lr
            }
            if t < warmupSteps { rate *= Double(t + 1) / Double(warmupSteps) }
            return rate
        }
    }
}

/// A spec's `train` block, as the core runs it (validated and defaulted at the edge, in InitLabContract).
///
/// The network trained is the spec's: `depth` hidden layers of `width` units with its activation and
/// architecture (MLP, or residual blocks), drawn by its initializer exactly as the init-time experiment draws
/// them (same Philox streams, LSUV calibrated on the first training batch), followed by a classifier layer
/// width → 10 and softmax cross-entropy. Every weight and bias is trained.
public struct TrainSpec: Sendable, Hashable {
    public var dataset: TrainDataset
    /// Optimizer steps (one mini-batch each).
    public var steps: Int
    /// Examples per step.
    public var batch: Int
    public var optimizer: OptimizerSpec
    public var schedule: LearningRateSchedule
    /// Evaluate on the validation set every `evalEvery` steps (and after the last step).
    public var evalEvery: Int
    /// Per-layer statistics every `statsEvery` steps (and at step 0, and after the last step).
    public var statsEvery: Int
    /// Validation examples: the first `validationSize` of the 10,000 test images (all when nil; the teacher
    /// task draws this many).
    public var validationSize: Int?
    /// The data order (shuffled epochs) and the teacher task come from this seed; the weights from the spec's.
    public var seed: UInt64
    /// Accuracies whose first step the summary reports.
    public var targets: [Double]

    public static let classes = 10
    /// The teacher task's validation set when `validationSize` is nil.
    public static let teacherValidationSize = 10_000

    public init(dataset: TrainDataset, steps: Int, batch: Int, optimizer: OptimizerSpec, schedule: LearningRateSchedule,
                evalEvery: Int, statsEvery: Int, validationSize: Int? = nil, seed: UInt64 = 0, targets: [Double] = [0.5, 0.8]) {
        self.dataset = dataset
        self.steps = steps
        self.batch = batch
        self.optimizer = optimizer
        self.schedule = schedule
        self.evalEvery = evalEvery
        self.statsEvery = statsEvery
        self.validationSize = validationSize
        self.seed = seed
        self.targets = targets
    }
}
