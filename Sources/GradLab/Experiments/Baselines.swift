import Foundation
import Dynamics
import Linear

/// Training results against the published baselines: several seeds per cell on the adding problem or the
/// copying memory problem, each run judged by a stated pass rule, plus Arjovsky et al.'s (2016) figure of
/// ‖∂L/∂h_t‖ against t at initialisation and after a few iterations.
///
/// Pass rules (documented in `BaselineCriteria`):
/// - adding: final held-out MSE below `passLossRatio` × 1/6 (default a tenth: 0.0167) AND at least
///   `passAccuracy` (default 50 %) of the held-out sequences solved, |prediction − target| < 0.04
///   (Hochreiter & Schmidhuber's criterion for one sequence);
/// - copy-memory: final held-out cross-entropy below `passLossRatio` × 10·ln 8/(T+20) AND a per-symbol
///   accuracy of at least `passAccuracy` (default 90 %; chance is 1/8) on the 10 recalled symbols.
public struct BaselinesOptions: Sendable {
    public var cells: [CellKind] = [.tanh, .lstm]
    /// Seeds `base.seed`, `base.seed + 1`, … (this many).
    public var seeds = 3
    /// Everything but cell and seed (task, T, n, iterations, optimiser, clipping, …).
    public var base: TrainOptions
    /// Runs at once (each single-threaded; the numbers do not depend on it).
    public var jobs = min(2, ProcessInfo.processInfo.activeProcessorCount)
    /// A run passes only if its final held-out loss is below this fraction of the baseline.
    public var passLossRatio = 0.1
    /// … and its accuracy (adding: share of sequences solved; copy-memory: per-symbol accuracy on the recalled
    /// symbols) is at least this. nil: the task's default (`BaselineCriteria.defaultAccuracy`).
    public var passAccuracy: Double?
    /// Iterations after which the second gradient profile is taken (nil: no gradient profiles).
    public var gradientIterations: Int? = 100

    public init() {
        base = TrainOptions()
        base.hidden = 32
        base.iterations = 600
        base.clipNorm = 1
        base.snapshots = 0
    }

    public var effectivePassAccuracy: Double { passAccuracy ?? BaselineCriteria.defaultAccuracy(base.task) }
    public var seedValues: [UInt64] { (0..<UInt64(max(seeds, 0))).map { base.seed &+ $0 } }

    public func validate() throws {
        guard base.task == .adding || base.task == .copyMemory else {
            throw GradLabError.usage("--task must be adding or copy-memory for baselines (got \(base.task.rawValue): it has no published baseline here)")
        }
        guard !cells.isEmpty else { throw GradLabError.usage("--cells must name at least one cell") }
        try Check.positive(seeds, "--seeds")
        try Check.atMost(seeds, 100, "--seeds", "each seed is a full training run per cell")
        try Check.positive(jobs, "--jobs")
        try Check.atMost(cells.count * seeds, 400, "--cells × --seeds", "each pair is a full training run")
        try Check.finite(passLossRatio, "--pass-loss-ratio")
        guard passLossRatio > 0 && passLossRatio <= 1 else {
            throw GradLabError.usage("--pass-loss-ratio must lie in (0, 1] (got \(passLossRatio)): a pass must beat the baseline")
        }
        if let a = passAccuracy {
            try Check.finite(a, "--pass-accuracy")
            guard a >= 0 && a <= 1 else { throw GradLabError.usage("--pass-accuracy must lie in [0, 1] (got \(a))") }
        }
        if let g = gradientIterations {
            try Check.positive(g, "--gradient-iters")
            try Check.atMost(g, 100_000, "--gradient-iters", "it is a training run per cell")
        }
        guard base.seed <= UInt64.max - UInt64(seeds) else { throw GradLabError.usage("--seed + --seeds overflows") }
        for c in cells {
            var o = base
            o.cell = c
            try o.validate()
        }
    }
}

/// The criteria, as pure functions (tested on constructed outputs).
public enum BaselineCriteria {
    /// Hochreiter & Schmidhuber (1997): an adding-problem sequence is solved when |error| < 0.04.
    public static let solvedTolerance = 0.04

    /// Default minimum accuracy of a pass: adding 0.5 (half the sequences solved), copy-memory 0.9.
    public static func defaultAccuracy(_ task: TrainTaskKind) -> Double { task == .adding ? 0.5 : 0.9 }

    /// Share of rows with |prediction − target| < tolerance (B × 1 each).
    public static func solvedFraction(predictions y: Matrix, targets: Matrix, tolerance: Double = solvedTolerance) -> Double {
        precondition(y.rows == targets.rows && y.cols == 1 && targets.cols == 1, "solvedFraction: B × 1 predictions and targets")
        guard y.rows > 0 else { return .nan }
        var solved = 0
        for r in 0..<y.rows where abs(y[r, 0] - targets[r, 0]) < tolerance { solved += 1 }   // NaN is never solved
        return Double(solved) / Double(y.rows)
    }

    /// Share of (sequence, step) pairs at the given loss-step indices whose arg-max logit is the target class.
    /// A row with a NaN logit counts as wrong.
    public static func accuracy(logits: [Matrix], classes: [[Int]], indices: [Int]) -> Double {
        var right = 0, total = 0
        for s in indices {
            let y = logits[s], c = classes[s]
            for r in 0..<y.rows {
                total += 1
                var best = 0, ok = y[r, 0].isFinite
                for j in 1..<y.cols {
                    if !y[r, j].isFinite { ok = false }
                    if y[r, j] > y[r, best] { best = j }
                }
                if ok && best == c[r] { right += 1 }
            }
        }
        return total > 0 ? Double(right) / Double(total) : .nan
    }

    /// The pass rule: finite loss below `ratio` × baseline and accuracy at least `minAccuracy`.
    public static func passes(loss: Double, accuracy: Double, baseline: Double, ratio: Double, minAccuracy: Double) -> Bool {
        loss.isFinite && accuracy.isFinite && loss < ratio * baseline && accuracy >= minAccuracy
    }

    /// Accuracy of `net` on `batch` for the task: adding → solved fraction at the last step; copy-memory →
    /// per-symbol accuracy on the 10 recalled symbols (steps T + 11 … T + 20).
    public static func accuracy(_ net: RNN, on batch: SequenceBatch, task: TrainTaskKind) -> Double {
        let fp = ForwardPass(net: net, batch: batch)
        switch (task, batch.targets) {
        case (.adding, .values(let v)):
            return solvedFraction(predictions: fp.outputs[0], targets: v[0])
        case (.copyMemory, .classes(let c)):
            let total = batch.steps, l = CopyMemoryTask.length
            // lossSteps are 1…T+20, so the loss-step index of step t is t − 1.
            return accuracy(logits: fp.outputs, classes: c, indices: Array((total - l)..<total))
        default:
            preconditionFailure("BaselineCriteria.accuracy: task \(task.rawValue) has no accuracy here")
        }
    }

    /// "solved" (adding) or "symbol accuracy" (copy-memory).
    public static func accuracyName(_ task: TrainTaskKind) -> String {
        task == .adding ? "solved (|error| < 0.04)" : "recalled-symbol accuracy"
    }
}

/// One (cell, seed) run.
public struct BaselineRun: Sendable {
    public var cell: CellKind
    public var seed: UInt64
    public var initialLoss: Double
    /// Final held-out loss (NaN when the run diverged).
    public var finalLoss: Double
    public var accuracy: Double
    public var passed: Bool
    public var diverged: Bool
    /// Held-out loss at iteration 0 and at every evaluation.
    public var evaluations: [(iteration: Int, loss: Double)]
    public var seconds: Double
}

/// ‖∂L_b/∂h_t‖₂ for t = 0 … (sequence length), at one iteration.
public struct GradientProfile: Sendable {
    public var cell: CellKind
    public var iteration: Int
    /// Indexed by t = 0 … steps: the mean over the held-out sequences of the per-sequence norm (see
    /// `BaselinesExperiment.stateGradientNorms`).
    public var norms: [Double]
}

public struct BaselinesResult: Sendable {
    public var options: BaselinesOptions
    public var runs: [BaselineRun]
    public var gradients: [GradientProfile]
    public var baseline: Double
    public var baselineLabel: String
    public var lossKind: LossKind
    public var seconds: Double

    /// Loss below which a run may pass.
    public var passLoss: Double { options.passLossRatio * baseline }

    public func successes(_ cell: CellKind) -> (passed: Int, total: Int) {
        let r = runs.filter { $0.cell == cell }
        return (r.filter(\.passed).count, r.count)
    }
}

public enum BaselinesExperiment {
    /// Mean over the batch of ‖∂L_b/∂h_t^{(b)}‖₂, t = 0 … T, where L_b is sequence b's own loss. The batch
    /// loss is the mean L = (1/B) Σ_b L_b, so ∂L_b/∂h_t^{(b)} = B · ∂L/∂h_t^{(b)} (row b of
    /// `stateGradients[t]`): the norm does not depend on the batch size. Deterministic (DetLinear, plain sums).
    public static func stateGradientNorms(_ net: RNN, _ batch: SequenceBatch) -> [Double] {
        let r = BPTT.backward(ForwardPass(net: net, batch: batch), options: BPTTOptions(recordStateGradients: true))
        let b = batch.batchSize
        return (r.stateGradients ?? []).map { g in
            var sum = 0.0
            for row in 0..<g.rows {
                var s = 0.0
                for j in 0..<g.cols { let v = g[row, j] * Double(b); s += v * v }
                sum += s.squareRoot()
            }
            return sum / Double(g.rows)
        }
    }

    enum Job { case run(CellKind, UInt64), gradient(CellKind) }

    /// Trains every (cell, seed) with `TrainExperiment.run` (and one short run per cell for the gradient
    /// profile), `jobs` at once; `done` is called serially as each training run finishes.
    public static func run(_ o: BaselinesOptions, done: ((BaselineRun, Int, Int) -> Void)? = nil) throws -> BaselinesResult {
        try o.validate()
        let task = o.base.makeTask()
        let minAccuracy = o.effectivePassAccuracy
        let jobs: [Job] = o.cells.flatMap { c in o.seedValues.map { Job.run(c, $0) } }
            + (o.gradientIterations == nil ? [] : o.cells.map { Job.gradient($0) })
        var runs = [BaselineRun?](repeating: nil, count: jobs.count)
        var profiles = [[GradientProfile]?](repeating: nil, count: jobs.count)
        var failure: Error?
        let lock = NSLock()
        var finished = 0
        let trainingRuns = o.cells.count * o.seeds
        let start = DispatchTime.now().uptimeNanoseconds
        let next = TrainSweep.Counter()
        DispatchQueue.concurrentPerform(iterations: min(o.jobs, jobs.count)) { _ in
            while true {
                let i = next.take()
                if i >= jobs.count { return }
                do {
                    switch jobs[i] {
                    case .run(let cell, let seed):
                        var opt = o.base
                        opt.cell = cell
                        opt.seed = seed
                        let r = try TrainExperiment.run(opt)
                        let held = TrainExperiment.heldOutBatch(opt, task: task)
                        let diverged = r.divergedAt != nil
                        let loss = diverged ? Double.nan : r.finalEvalLoss
                        let acc = diverged ? Double.nan : BaselineCriteria.accuracy(r.net.layerNet(0), on: held, task: opt.task)
                        let run = BaselineRun(cell: cell, seed: seed, initialLoss: r.evaluations.first?.loss ?? .nan, finalLoss: loss,
                                              accuracy: acc,
                                              passed: BaselineCriteria.passes(loss: loss, accuracy: acc, baseline: task.baselineLoss,
                                                                              ratio: o.passLossRatio, minAccuracy: minAccuracy),
                                              diverged: diverged, evaluations: r.evaluations, seconds: r.seconds)
                        lock.lock()
                        runs[i] = run
                        finished += 1
                        done?(run, finished, trainingRuns)
                        lock.unlock()
                    case .gradient(let cell):
                        // The first seed's network, before training and after `gradientIterations` iterations of
                        // the same run (the same batches and updates as the full run's first iterations).
                        var opt = o.base
                        opt.cell = cell
                        opt.iterations = o.gradientIterations!
                        opt.evalEvery = opt.iterations
                        let held = TrainExperiment.heldOutBatch(opt, task: task)
                        let net0 = RNN.initialized(kind: cell, input: task.inputSize, hidden: opt.hidden, output: task.outputSize,
                                                   seed: opt.seed, init: TrainingInit(forgetBias: opt.forgetBias))
                        let r = try TrainExperiment.run(opt)
                        let p = [GradientProfile(cell: cell, iteration: 0, norms: stateGradientNorms(net0, held)),
                                 GradientProfile(cell: cell, iteration: r.records.count, norms: stateGradientNorms(r.net.layerNet(0), held))]
                        lock.lock(); profiles[i] = p; lock.unlock()
                    }
                } catch {
                    lock.lock(); failure = error; lock.unlock()
                    return
                }
            }
        }
        if let failure { throw failure }
        return BaselinesResult(options: o, runs: runs.compactMap { $0 }, gradients: profiles.compactMap { $0 }.flatMap { $0 },
                               baseline: task.baselineLoss, baselineLabel: task.baselineLabel, lossKind: task.loss,
                               seconds: Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
    }

    // MARK: text, CSV, JSON

    static func taskTitle(_ o: TrainOptions) -> String {
        o.task == .adding ? "adding problem, T = \(o.steps)" : "copying memory problem, T = \(o.steps) (sequences of \(o.sequenceLength))"
    }

    /// The pass rule in words.
    public static func ruleText(_ r: BaselinesResult) -> String {
        let o = r.options
        let pct = Format.fixed(100 * o.effectivePassAccuracy, 0)
        if o.base.task == .adding {
            return "a run passes when its final held-out MSE < \(Format.fixed(r.passLoss, 4)) (\(trainNumber(o.passLossRatio)) × the baseline 1/6)"
                + " and ≥ \(pct) % of the held-out sequences are solved (|error| < 0.04, Hochreiter & Schmidhuber 1997)"
        }
        return "a run passes when its final held-out cross-entropy < \(Format.fixed(r.passLoss, 4)) (\(trainNumber(o.passLossRatio)) × the memoryless"
            + " baseline 10·ln 8/(T+20) = \(Format.fixed(r.baseline, 4))) and ≥ \(pct) % of the 10 recalled symbols are right (chance: 12.5 %)"
    }

    public static func report(_ r: BaselinesResult) -> String {
        let o = r.options, b = o.base
        let lossName = r.lossKind == .mse ? "MSE" : "cross-entropy"
        var lines = ["\(taskTitle(b)): \(o.seeds) seed(s) per cell, \(b.iterations) iterations, n = \(b.hidden), batch \(b.batchSize), "
                     + "\(b.optimizer.rawValue) lr \(trainNumber(b.learningRate))" + (b.clipNorm.map { ", clip-norm \(trainNumber($0))" } ?? "")
                     + (b.clipValue.map { ", clip-value \(trainNumber($0))" } ?? "") + ", held-out batch of \(b.evalSize)",
                     ruleText(r)]
        var t = TextTable(["cell", "seed", "initial", "final \(lossName)", "÷ baseline", o.base.task == .adding ? "solved" : "symbols right", "pass"])
        for run in r.runs {
            t.add([run.cell.rawValue, String(run.seed), TrainExperiment.lossText(run.initialLoss),
                   run.diverged ? "diverged" : TrainExperiment.lossText(run.finalLoss),
                   run.diverged ? "—" : Format.fixed(run.finalLoss / r.baseline, 3),
                   run.accuracy.isFinite ? Format.fixed(100 * run.accuracy, 1) + " %" : "—", run.passed ? "yes" : "no"])
        }
        lines.append(t.render())
        lines.append("success rate: " + o.cells.map { c in
            let s = r.successes(c)
            return "\(c.rawValue) \(s.passed)/\(s.total)"
        }.joined(separator: ", "))
        if !r.gradients.isEmpty {
            let last = b.sequenceLength
            lines.append("‖∂L/∂h_t‖ (per sequence, mean over the held-out batch; seed \(b.seed)):")
            var g = TextTable(["cell", "iteration", "t = 1", "t = \(last)", "log10(t=1 / t=\(last))"])
            for p in r.gradients {
                let a = p.norms[1], z = p.norms[last]
                g.add([p.cell.rawValue, String(p.iteration), TrainExperiment.sci(a), TrainExperiment.sci(z),
                       a > 0 && z > 0 ? Format.fixed(log10(a / z), 1) : "—"])
            }
            lines.append(g.render())
        }
        return lines.joined(separator: "\n")
    }

    public static func csv(_ r: BaselinesResult) -> String {
        let o = r.options
        var lines = ["task,steps,cell,seed,iterations,initial_loss,final_loss,baseline,pass_loss,accuracy,accuracy_kind,pass_accuracy,passed,diverged"]
        let kind = o.base.task == .adding ? "solved_fraction" : "recalled_symbol_accuracy"
        for run in r.runs {
            lines.append("\(o.base.task.rawValue),\(o.base.steps),\(run.cell.rawValue),\(run.seed),\(o.base.iterations),"
                         + "\(Format.exact(run.initialLoss)),\(Format.exact(run.finalLoss)),\(Format.exact(r.baseline)),\(Format.exact(r.passLoss)),"
                         + "\(Format.exact(run.accuracy)),\(kind),\(Format.exact(o.effectivePassAccuracy)),\(run.passed ? 1 : 0),\(run.diverged ? 1 : 0)")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    public static func gradientCSV(_ r: BaselinesResult) -> String {
        var lines = ["cell,iteration,t,norm"]
        for p in r.gradients {
            for (t, v) in p.norms.enumerated() { lines.append("\(p.cell.rawValue),\(p.iteration),\(t),\(Format.exact(v))") }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    public static func json(_ r: BaselinesResult) throws -> Data {
        let o = r.options, b = o.base
        let params: [String: Any] = [
            "task": b.task.rawValue, "steps": b.steps, "sequence_length": b.sequenceLength, "cells": o.cells.map(\.rawValue),
            "seeds": o.seedValues.map { Int($0) }, "iterations": b.iterations, "hidden": b.hidden, "batch": b.batchSize,
            "optimizer": b.optimizer.rawValue, "lr": b.learningRate, "clip_norm": b.clipNorm.map(Format.json) ?? NSNull(),
            "clip_value": b.clipValue.map(Format.json) ?? NSNull(), "eval_size": b.evalSize, "forget_bias": b.forgetBias,
            "gradient_iterations": o.gradientIterations.map { $0 as Any } ?? NSNull(),
        ]
        let criteria: [String: Any] = [
            "baseline": r.baseline, "pass_loss_ratio": o.passLossRatio, "pass_loss": r.passLoss,
            "pass_accuracy": o.effectivePassAccuracy, "accuracy_kind": b.task == .adding ? "solved_fraction" : "recalled_symbol_accuracy",
            "solved_tolerance": BaselineCriteria.solvedTolerance, "rule": ruleText(r),
        ]
        let runs: [[String: Any]] = r.runs.map { run in
            ["cell": run.cell.rawValue, "seed": Int(run.seed), "initial_loss": Format.json(run.initialLoss), "final_loss": Format.json(run.finalLoss),
             "accuracy": Format.json(run.accuracy), "passed": run.passed, "diverged": run.diverged,
             "evaluations": run.evaluations.map { ["iteration": $0.iteration, "loss": Format.json($0.loss)] as [String: Any] }]
        }
        let rates: [[String: Any]] = o.cells.map { c in
            let s = r.successes(c)
            return ["cell": c.rawValue, "passed": s.passed, "runs": s.total]
        }
        let grads: [[String: Any]] = r.gradients.map { ["cell": $0.cell.rawValue, "iteration": $0.iteration, "norms": $0.norms.map(Format.json)] }
        return try JSONOut.data(["format": "gradlab.baselines/1", "parameters": params, "criteria": criteria, "runs": runs,
                                 "success": rates, "state_gradients": grads])
    }
}
