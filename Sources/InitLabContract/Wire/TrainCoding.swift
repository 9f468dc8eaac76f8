import Foundation
import InitCore

// The `train` block's canonical wire form (read by `SpecDecoder.train`): every field present, the optimizer and
// the schedule as objects holding exactly their own keys, `grad_clip` null for none. `lr` lives in the optimizer
// object, as in PyTorch (`LearningRateSchedule.lr` in the core).

extension TrainSpec: Encodable {
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: AnyKey.self)
        try c.encode(dataset.rawValue, forKey: AnyKey("dataset"))
        try c.encode(steps, forKey: AnyKey("steps"))
        try c.encode(batch, forKey: AnyKey("batch"))
        try c.encode(OptimizerWire(spec: optimizer, lr: schedule.lr), forKey: AnyKey("optimizer"))
        try c.encode(schedule, forKey: AnyKey("schedule"))
        try c.encode(evalEvery, forKey: AnyKey("eval_every"))
        try c.encode(statsEvery, forKey: AnyKey("stats_every"))
        try c.encode(validationSize ?? TrainSpec.teacherValidationSize, forKey: AnyKey("validation_size"))
        try c.encode(seed, forKey: AnyKey("seed"))
        try c.encode(targets, forKey: AnyKey("targets"))
    }
}

/// `{"name": "sgd", "lr", "momentum", "nesterov", "weight_decay", "grad_clip"}` or
/// `{"name": "adam" | "adamw", "lr", "beta1", "beta2", "eps", "weight_decay", "grad_clip"}`.
private struct OptimizerWire: Encodable {
    var spec: OptimizerSpec
    var lr: Double

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: AnyKey.self)
        try c.encode(spec.kind.rawValue, forKey: AnyKey("name"))
        try c.encode(lr, forKey: AnyKey("lr"))
        switch spec.kind {
        case .sgd:
            try c.encode(spec.momentum, forKey: AnyKey("momentum"))
            try c.encode(spec.nesterov, forKey: AnyKey("nesterov"))
        case .adam, .adamw:
            try c.encode(spec.beta1, forKey: AnyKey("beta1"))
            try c.encode(spec.beta2, forKey: AnyKey("beta2"))
            try c.encode(spec.epsilon, forKey: AnyKey("eps"))
        }
        try c.encode(spec.weightDecay, forKey: AnyKey("weight_decay"))
        try c.encode(spec.gradientClip, forKey: AnyKey("grad_clip"))  // explicit null: no clipping
    }
}

/// `{"name": "constant", "warmup_steps"}`, `{"name": "step", "step_size", "gamma", "warmup_steps"}`,
/// `{"name": "cosine", "min_lr", "warmup_steps"}`, `{"name": "one_cycle", "pct_start", "div", "final_div"}`.
extension LearningRateSchedule: Encodable {
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: AnyKey.self)
        switch kind {
        case .constant:
            try c.encode("constant", forKey: AnyKey("name"))
        case .step(let every, let gamma):
            try c.encode("step", forKey: AnyKey("name"))
            try c.encode(every, forKey: AnyKey("step_size"))
            try c.encode(gamma, forKey: AnyKey("gamma"))
        case .cosine(let minimum):
            try c.encode("cosine", forKey: AnyKey("name"))
            try c.encode(minimum, forKey: AnyKey("min_lr"))
        case .oneCycle(let pctStart, let div, let finalDiv):
            try c.encode("one_cycle", forKey: AnyKey("name"))
            try c.encode(pctStart, forKey: AnyKey("pct_start"))
            try c.encode(div, forKey: AnyKey("div"))
            try c.encode(finalDiv, forKey: AnyKey("final_div"))
            return  // its own warm-up
        }
        try c.encode(warmupSteps, forKey: AnyKey("warmup_steps"))
    }
}
