import Foundation
import Dynamics
import Linear

/// The synthetic tasks `gradlab train` offers.
public enum TrainTaskKind: String, CaseIterable, Sendable {
    case adding, copy
    /// Arjovsky, Shah & Bengio's (2016) copying memory problem: 10 symbols over a delay T, sequences of T + 20.
    case copyMemory = "copy-memory"
}

/// The cells BPTT trains: every kind but `skip` (its windowed state is an analysis device). One check for
/// `train`, `train-sweep`, `baselines`, `architectures` and `language`.
public enum TrainCellKinds {
    public static let trainable = CellKind.allCases.filter { $0 != .skip }

    /// A usage error naming `option` and the trainable cells when one of `kinds` is not trainable.
    public static func require(_ kinds: [CellKind], option: String) throws {
        if let bad = kinds.first(where: { !trainable.contains($0) }) {
            throw GradLabError.usage("\(option): \(bad.rawValue) cannot be trained (expected: \(trainable.map(\.rawValue).joined(separator: ", ")))")
        }
    }
}

/// Parameters of one training run. Same options (and seed) ⇒ identical numbers.
public struct TrainOptions: Sendable {
    public var cell: CellKind = .lstm
    public var task: TrainTaskKind = .adding
    /// Sequence length T.
    public var steps = 50
    public var hidden = 64
    public var iterations = 1000
    public var batchSize = 32
    public var optimizer: OptimizerKind = .adam
    public var learningRate = 0.01
    /// SGD only (default 0.9).
    public var momentum: Double?
    public var clipNorm: Double?
    public var clipValue: Double?
    /// Truncated BPTT window K.
    public var truncation: Int?
    public var seed: UInt64 = 0
    /// Evaluate on the held-out batch every this many iterations.
    public var evalEvery = 25
    public var evalSize = 256
    public var forgetBias = 1.0
    /// Copy task: string length L and alphabet size.
    public var copyLength = 5
    public var symbols = 8
    /// Report when the held-out loss first falls below this (nil: task default, 0.05 for adding).
    public var targetLoss: Double?
    /// End the run as soon as `targetLoss` is reached.
    public var stopAtTarget = false
    /// How many iterations get a per-lag contribution snapshot (spread evenly, first and last included).
    public var snapshots = 4
    /// Recurrent layers stacked (PyTorch's num_layers): layer l reads layer l−1's h_t; the readout sits on top.
    public var layers = 1

    /// The most layers `--layers` accepts: 8 is deeper than recurrent stacks are trained in practice (2–4;
    /// GNMT's 8 needed residual connections), and each layer adds a full BPTT pass and a copy of the states.
    public static let maxLayers = 8

    public init() {}

    public var clipping: GradientClipping {
        if let c = clipNorm { return .norm(c) }
        if let v = clipValue { return .value(v) }
        return .none
    }

    /// The loss level reported as "reached": the option, or 0.05 (adding) / 0.1·ln(symbols) (copy) / a tenth
    /// of the memoryless baseline 10·ln 8/(T+20) (copy-memory).
    public var effectiveTarget: Double {
        if let t = targetLoss { return t }
        switch task {
        case .adding: return 0.05
        case .copy: return 0.1 * log(Double(symbols))
        case .copyMemory: return 0.1 * CopyMemoryTask(delay: max(steps, 1)).baselineLoss
        }
    }

    /// Steps per sequence: T, or T + 20 for copy-memory (whose --steps is the delay T).
    public var sequenceLength: Int { task == .copyMemory ? steps + 2 * CopyMemoryTask.length : steps }

    /// Input and output sizes of the task's network.
    public var taskShape: (input: Int, output: Int) {
        switch task {
        case .adding: return (2, 1)
        case .copy: return (symbols + 2, symbols)
        case .copyMemory: return (CopyMemoryTask.symbols + 2, CopyMemoryTask.symbols + 1)
        }
    }

    public func validate() throws {
        guard cell != .skip else {
            throw GradLabError.usage("--cell skip is for analysis (curves, heatmap, …); training supports sigmoid, tanh, relu, linear, irnn, lstm, gru and leaky")
        }
        try Check.positive(steps, "--steps")
        try Check.positive(hidden, "--hidden")
        try Check.positive(iterations, "--iters")
        try Check.positive(batchSize, "--batch")
        try Check.positive(learningRate, "--lr")
        try Check.positive(evalEvery, "--eval-every")
        try Check.positive(evalSize, "--eval-size")
        try Check.finite(forgetBias, "--forget-bias")
        try Check.nonNegative(snapshots, "--snapshots")
        try Check.atMost(hidden, 1024, "--hidden", "training keeps T dense states per sample")
        try Check.atMost(sequenceLength, 10_000, task == .copyMemory ? "--steps + 20" : "--steps", "BPTT stores every step of the batch")
        try Check.atMost(batchSize, 4096, "--batch", "BPTT stores every step of the batch")
        try Check.atMost(evalSize, 100_000, "--eval-size", "the held-out batch is evaluated in one pass")
        try Check.atMost(snapshots, 50, "--snapshots", "each snapshot costs an extra backward pass")
        try Check.positive(layers, "--layers")
        try Check.atMost(layers, TrainOptions.maxLayers, "--layers", "each layer is a full BPTT pass over the batch")
        if layers > 1, truncation != nil {
            throw GradLabError.usage("--truncate needs --layers 1: in a stack the lower layers get their signal through the layers above, and a truncation window over such paths is not defined (train with full BPTT)")
        }
        if let m = momentum {
            try Check.finite(m, "--momentum")
            guard m >= 0 && m < 1 else { throw GradLabError.usage("--momentum must lie in [0, 1) (got \(m))") }
        }
        if clipNorm != nil && clipValue != nil {
            throw GradLabError.usage("--clip-norm and --clip-value exclude each other: choose one")
        }
        if let c = clipNorm { try Check.positive(c, "--clip-norm") }
        if let v = clipValue { try Check.positive(v, "--clip-value") }
        if let k = truncation { try Check.positive(k, "--truncate") }
        if let t = targetLoss { try Check.positive(t, "--target-loss") }
        switch task {
        case .adding:
            guard steps >= 2 else { throw GradLabError.usage("--steps must be at least 2 for the adding problem (got \(steps))") }
        case .copy:
            try Check.positive(copyLength, "--copy-length")
            guard symbols >= 2 else { throw GradLabError.usage("--symbols must be at least 2 (got \(symbols))") }
            try Check.atMost(symbols, 1000, "--symbols", "the input is one-hot over the alphabet")
            guard steps >= 2 * copyLength + 1 else {
                throw GradLabError.usage("--steps must be at least 2·copy-length + 1 = \(2 * copyLength + 1) for the copy task (got \(steps))")
            }
        case .copyMemory:
            break   // any T ≥ 1 (checked above): the sequence is T + 20 steps
        }
    }

    public func makeTask() -> any SequenceTask {
        switch task {
        case .adding: return AddingProblem(steps: steps)
        case .copy: return CopyTask(steps: steps, length: copyLength, symbols: symbols)
        case .copyMemory: return CopyMemoryTask(delay: steps)
        }
    }

    /// "lstm, adding T=50, n=64, adam lr 0.01, clip-norm 1, truncate 10": for titles and notes.
    public var summary: String {
        var s = "\(cell.rawValue), \(task.rawValue) T=\(steps), n=\(hidden), \(layers > 1 ? "\(layers) layers, " : "")batch \(batchSize), \(optimizer.rawValue) lr \(trainNumber(learningRate))"
        if let c = clipNorm { s += ", clip-norm \(trainNumber(c))" }
        if let v = clipValue { s += ", clip-value \(trainNumber(v))" }
        if let k = truncation { s += ", truncate K=\(k)" }
        return s + ", seed \(seed)"
    }
}

/// One optimisation step.
public struct TrainRecord: Sendable, Equatable {
    public var iteration: Int
    /// Loss of this iteration's training batch (before the update).
    public var loss: Double
    /// ‖g‖₂ before clipping.
    public var gradNorm: Double
    /// ‖g‖₂ after clipping (the step actually taken).
    public var clippedNorm: Double
    /// Held-out loss after this iteration's update, when evaluated.
    public var evalLoss: Double?
    /// Stacks (--layers > 1) only: ‖∂L/∂W_hh^{(l)}‖_F per layer, bottom first, before clipping; empty for one layer.
    public var layerGradNorms: [Double] = []
}

/// ‖C_ℓ‖_F (the per-lag parts of ∂L/∂W_hh, full BPTT) at one iteration.
public struct ContributionSnapshot: Sendable, Equatable {
    public var iteration: Int
    /// Indexed by lag ℓ = 0 … T−1.
    public var norms: [Double]
    /// With truncation K: ‖Σ_{ℓ≥K} C_ℓ‖ / ‖Σ_ℓ C_ℓ‖, the relative size of the part truncated BPTT drops.
    public var cutOffShare: Double?
}

public struct TrainResult: Sendable {
    public var options: TrainOptions
    /// Label of the run in charts and CSV ("lstm", "no clipping", …).
    public var label: String
    public var baseline: Double
    public var baselineLabel: String
    public var lossKind: LossKind
    public var records: [TrainRecord]
    /// Held-out loss at iteration 0 (before training) and at every evaluation.
    public var evaluations: [(iteration: Int, loss: Double)]
    public var snapshots: [ContributionSnapshot]
    /// First iteration whose loss, gradient or parameters were not finite; training stopped there.
    public var divergedAt: Int?
    /// Iterations done when a live run was stopped before the end (`TrainHooks.shouldStop`).
    public var stoppedAt: Int?
    /// First evaluation below the target loss, and the wall time until then.
    public var targetReached: (iteration: Int, seconds: Double)?
    public var seconds: Double
    /// The trained network (one layer: the `RNN`'s parameters, as `StackedRNN(rnn)`).
    public var net: StackedRNN

    public var finalEvalLoss: Double { evaluations.last?.loss ?? .nan }
    /// Iterations in which clipping changed the gradient.
    public var clippedIterations: Int { records.filter { $0.clippedNorm != $0.gradNorm }.count }
}

/// What a live run (the explorer's training view) is told as training goes, and how it is steered. Every call
/// comes from the training thread, in order; none changes a number of the run.
public struct TrainHooks {
    /// The held-out loss before training (the CSV's iteration-0 row).
    public var started: ((_ initialEvalLoss: Double) -> Void)?
    /// Each iteration's record, as it is appended to the result (the CSV's rows, in order).
    public var record: ((TrainRecord) -> Void)?
    public var snapshot: ((ContributionSnapshot) -> Void)?
    /// Asked before each iteration: true ends the run there (the result holds the iterations done). It may
    /// block (a paused run waits inside it).
    public var shouldStop: (() -> Bool)?
    public init(started: ((Double) -> Void)? = nil, record: ((TrainRecord) -> Void)? = nil,
                snapshot: ((ContributionSnapshot) -> Void)? = nil, shouldStop: (() -> Bool)? = nil) {
        self.started = started; self.record = record; self.snapshot = snapshot; self.shouldStop = shouldStop
    }
}

public enum TrainExperiment {
    public typealias Progress = (_ iteration: Int, _ total: Int, _ loss: Double, _ evalLoss: Double?) -> Void

    /// Iterations that get a contribution snapshot: `count` values spread evenly over 1…iterations.
    static func snapshotIterations(_ count: Int, _ iterations: Int) -> Set<Int> {
        guard count > 0 else { return [] }
        if count == 1 { return [iterations] }
        return Set((0..<count).map { 1 + Int((Double($0) / Double(count - 1) * Double(iterations - 1)).rounded()) })
    }

    /// The fixed held-out batch a run of `o` evaluates on (its own stream of the seed, so changing --iters
    /// never changes the test set).
    public static func heldOutBatch(_ o: TrainOptions, task: (any SequenceTask)? = nil) -> SequenceBatch {
        var evalRNG = SeededRNG.derived(seed: o.seed, stream: 22)
        return (task ?? o.makeTask()).batch(size: o.evalSize, rng: &evalRNG)
    }

    /// Trains a freshly initialised network on freshly generated batches; evaluates on a fixed held-out batch.
    /// Single-threaded, and no BLAS or libm on the way (see `BPTT`): every number is the same on every CPU.
    public static func run(_ o: TrainOptions, label: String? = nil, progress: Progress? = nil, hooks: TrainHooks = TrainHooks()) throws -> TrainResult {
        try o.validate()
        retainFreedMemory()
        let task = o.makeTask()
        // One layer: exactly `RNN.initialized`, and every pass below is `BPTT`'s (the same bits as before stacks).
        var net = StackedRNN.initialized(kind: o.cell, input: task.inputSize, hidden: o.hidden, output: task.outputSize,
                                         layers: o.layers, seed: o.seed, init: TrainingInit(forgetBias: o.forgetBias))
        // Separate streams: training data, held-out data (so changing --iters never changes the test set).
        var dataRNG = SeededRNG.derived(seed: o.seed, stream: 21)
        let evalBatch = heldOutBatch(o, task: task)
        var optimizer = o.optimizer.make(learningRate: o.learningRate, momentum: o.momentum)
        let clipping = o.clipping
        let snapshotAt = snapshotIterations(o.snapshots, o.iterations)
        let target = o.effectiveTarget

        var result = TrainResult(options: o, label: label ?? o.cell.rawValue, baseline: task.baselineLoss,
                                 baselineLabel: task.baselineLabel, lossKind: task.loss, records: [],
                                 evaluations: [(0, StackedBPTT.loss(net, evalBatch))], snapshots: [], divergedAt: nil,
                                 targetReached: nil, seconds: 0, net: net)
        result.records.reserveCapacity(o.iterations)
        let start = DispatchTime.now().uptimeNanoseconds
        func elapsed() -> Double { Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }
        hooks.started?(result.evaluations[0].loss)
        func append(_ record: TrainRecord) {
            result.records.append(record)
            hooks.record?(record)
        }

        for it in 1...o.iterations {
            if let stop = hooks.shouldStop, stop() { result.stoppedAt = it - 1; break }
            let batch = task.batch(size: o.batchSize, rng: &dataRNG)
            let forward = StackedForwardPass(net: net, batch: batch)
            let bptt = StackedBPTT.backward(forward, truncation: o.truncation)
            if snapshotAt.contains(it) && forward.loss.isFinite {
                // On the fixed held-out batch: larger (smoother per-lag curves) and the same data at every
                // snapshot. Always the full decomposition, so a truncated run shows what it cuts off.
                // A stack: the top layer's W_hh (only the readout's signal reaches it, so the lags are defined).
                let full = StackedBPTT.gradient(net, evalBatch, recordTopLagContributions: true)
                let c = full.topLagContributions ?? []
                var share: Double? = nil
                if let k = o.truncation, k < c.count {
                    let cut = c[k...].dropFirst().reduce(c[k], +)
                    let total = DetLinear.frobeniusNorm(full.gradient.layers[full.gradient.layers.count - 1].weightHH)
                    share = total > 0 ? DetLinear.frobeniusNorm(cut) / total : 0
                }
                let snap = ContributionSnapshot(iteration: it, norms: c.map(DetLinear.frobeniusNorm), cutOffShare: share)
                result.snapshots.append(snap)
                hooks.snapshot?(snap)
            }
            var g = bptt.gradient.flat
            let (before, after) = clipping.apply(to: &g)
            var record = TrainRecord(iteration: it, loss: bptt.loss, gradNorm: before, clippedNorm: after, evalLoss: nil)
            if o.layers > 1 { record.layerGradNorms = bptt.gradient.recurrentNorms }
            if !bptt.loss.isFinite || !before.isFinite {
                append(record)
                result.divergedAt = it
                break
            }
            var theta = net.flat
            optimizer.step(parameters: &theta, gradient: g)
            net.setFlat(theta)
            if !net.allFinite {
                append(record)
                result.divergedAt = it
                break
            }
            if it % o.evalEvery == 0 || it == o.iterations {
                let e = StackedBPTT.loss(net, evalBatch)
                record.evalLoss = e
                result.evaluations.append((it, e))
                if e.isFinite && e < target && result.targetReached == nil { result.targetReached = (it, elapsed()) }
                if !e.isFinite {
                    append(record)
                    result.divergedAt = it
                    break
                }
            }
            append(record)
            progress?(it, o.iterations, bptt.loss, record.evalLoss)
            if o.stopAtTarget && result.targetReached != nil { break }
        }
        result.seconds = elapsed()
        result.net = net
        return result
    }

    /// The same run with and without clipping (`o` must set --clip-norm or --clip-value).
    public static func compareClipping(_ o: TrainOptions, progress: Progress? = nil) throws -> (unclipped: TrainResult, clipped: TrainResult) {
        try o.validate()
        guard o.clipping != .none else {
            throw GradLabError.usage("--compare-clipping needs --clip-norm or --clip-value (the clipped run to compare with)")
        }
        var plain = o
        plain.clipNorm = nil
        plain.clipValue = nil
        let a = try run(plain, label: "no clipping", progress: progress)
        let b = try run(o, label: o.clipping.description, progress: progress)
        return (a, b)
    }

    /// The trained network as the analysis side's stack (zero initial states), driven by one sequence of the
    /// run's held-out stream (the first held-out sequence: the tasks draw sample by sample): what
    /// `train --save-model` writes as a state_dict for `gradlab import`.
    public static func trainedModel(_ r: TrainResult) -> StackedModel {
        var evalRNG = SeededRNG.derived(seed: r.options.seed, stream: 22)
        let one = r.options.makeTask().batch(size: 1, rng: &evalRNG)
        return r.net.stackedModel(inputs: one.inputs.map { $0.data })
    }

    // MARK: text and CSV

    /// A few lines: final loss against the baseline, time, clipping and divergence.
    public static func report(_ r: TrainResult) -> String {
        let o = r.options
        let lossName = r.lossKind == .mse ? "MSE" : "cross-entropy"
        var lines = ["\(r.label): \(o.summary)"]
        lines.append("  held-out \(lossName): \(lossText(r.evaluations.first?.loss ?? .nan)) → \(lossText(r.finalEvalLoss))"
                     + " (baseline \(Format.fixed(r.baseline, 4)))  after \(r.records.count) iterations"
                     + RunContext.timing(" in \(Format.fixed(r.seconds, 2)) s (\(Format.fixed(Double(r.records.count) / max(r.seconds, 1e-9), 1)) it/s)"))
        if let t = r.targetReached {
            lines.append("  reached \(lossName) < \(trainNumber(o.effectiveTarget)) at iteration \(t.iteration)" + RunContext.timing(" (\(Format.fixed(t.seconds, 2)) s)"))
        } else {
            lines.append("  never reached \(lossName) < \(trainNumber(o.effectiveTarget))")
        }
        if o.clipping != .none {
            lines.append("  \(o.clipping): applied in \(r.clippedIterations) of \(r.records.count) iterations;"
                         + " largest ‖g‖ before clipping \(sci(r.records.map(\.gradNorm).filter(\.isFinite).max() ?? .nan))")
        } else {
            lines.append("  largest ‖g‖: \(sci(r.records.map(\.gradNorm).filter(\.isFinite).max() ?? .nan))")
        }
        if o.layers > 1, let line = layerSummary(r) { lines.append(line) }
        if let k = o.truncation, let s = r.snapshots.last?.cutOffShare {
            lines.append("  truncation K=\(k): the dropped lags ≥ \(k) make up \(Format.fixed(100 * s, 1)) % of ‖∂L/∂W_hh‖ at the last snapshot")
        }
        if let d = r.divergedAt { lines.append("  DIVERGED at iteration \(d) (loss or gradient not finite)") }
        if let s = r.stoppedAt { lines.append("  stopped after \(s) of \(o.iterations) iterations") }
        return lines.joined(separator: "\n")
    }

    /// Stacks: "‖∂L/∂W_hh‖ per layer (geometric mean over the iterations, l0 = bottom): l0 2.1e-03 · l1 5.3e-03;
    /// bottom/top 0.4". nil for one layer or when no iteration had finite per-layer norms.
    public static func layerSummary(_ r: TrainResult) -> String? {
        let layers = r.options.layers
        guard layers > 1 else { return nil }
        let rows = r.records.map(\.layerGradNorms).filter { $0.count == layers && $0.allSatisfy { $0.isFinite && $0 > 0 } }
        guard !rows.isEmpty else { return nil }
        let means = (0..<layers).map { l in exp(rows.reduce(0.0) { $0 + log($1[l]) } / Double(rows.count)) }
        let parts = means.enumerated().map { "l\($0.offset) \(sci($0.element))" }.joined(separator: " · ")
        return "  ‖∂L/∂W_hh‖ per layer (geometric mean over \(rows.count) iterations, l0 = bottom): \(parts);"
            + " bottom/top \(sci(means[0] / means[layers - 1]))"
    }

    /// 4 decimals for ordinary losses, 3 significant digits for exploded ones.
    public static func lossText(_ v: Double) -> String {
        v.isFinite && abs(v) >= 1e4 ? String(format: "%.3g", v) : Format.fixed(v, 4)
    }

    static func sci(_ v: Double) -> String { v.isFinite ? String(format: "%.3g", v) : Format.exact(v) }

    public static let csvHeader = "run,iteration,loss,eval_loss,grad_norm,grad_norm_clipped"

    /// One row per iteration (eval_loss empty when not evaluated); iteration 0 holds the initial held-out loss.
    /// Stacks (--layers L > 1) add the columns grad_norm_hh_l0 … grad_norm_hh_l{L−1}: ‖∂L/∂W_hh^{(l)}‖_F
    /// before clipping (PyTorch's weight_hh_l{k} names); one layer keeps the six columns above.
    public static func csv(_ runs: [TrainResult]) -> String {
        let layers = runs.map(\.options.layers).max() ?? 1
        var lines = [csvHeader(layers: layers)]
        for r in runs {
            if let e0 = r.evaluations.first { lines.append(csvInitialRow(label: r.label, evalLoss: e0.loss, layers: layers)) }
            for rec in r.records { lines.append(csvRow(label: r.label, rec)) }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// The header for a run of `layers` layers (one layer: `csvHeader`).
    public static func csvHeader(layers: Int) -> String {
        layers > 1 ? csvHeader + (0..<layers).map { ",grad_norm_hh_l\($0)" }.joined() : csvHeader
    }

    /// The CSV's iteration-0 row: the held-out loss before training (the live view streams the same text).
    public static func csvInitialRow(label: String, evalLoss: Double, layers: Int = 1) -> String {
        "\(csvField(label)),0,,\(Format.exact(evalLoss)),," + String(repeating: ",", count: layers > 1 ? layers : 0)
    }

    /// One iteration's CSV row.
    public static func csvRow(label: String, _ rec: TrainRecord) -> String {
        "\(csvField(label)),\(rec.iteration),\(Format.exact(rec.loss)),\(rec.evalLoss.map(Format.exact) ?? ""),"
            + "\(Format.exact(rec.gradNorm)),\(Format.exact(rec.clippedNorm))" + rec.layerGradNorms.map { "," + Format.exact($0) }.joined()
    }

    /// Long format: run, iteration, lag, ‖C_lag‖_F, and whether truncation drops that lag.
    public static func contributionsCSV(_ runs: [TrainResult]) -> String {
        var lines = ["run,iteration,lag,norm,cut_off"]
        for r in runs {
            for s in r.snapshots {
                for (lag, v) in s.norms.enumerated() {
                    let cut = r.options.truncation.map { lag >= $0 } ?? false
                    lines.append("\(csvField(r.label)),\(s.iteration),\(lag),\(Format.exact(v)),\(cut ? 1 : 0)")
                }
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static func csvField(_ s: String) -> String {
        s.contains(",") || s.contains("\"") ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
    }
}

/// Compact number for labels: 0.01, 1e-05, 3.
func trainNumber(_ v: Double) -> String {
    if v == v.rounded() && abs(v) < 1e6 { return String(Int(v)) }
    return String(format: "%g", v)
}
