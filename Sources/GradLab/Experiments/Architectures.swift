import Dynamics
import Foundation
import Linear

/// Options of `gradlab architectures paths|reversal`. Same options (and seed) ⇒ identical numbers.
public struct ArchitectureOptions: Sendable {
    public var cell: CellKind = .tanh
    public var hidden = 16
    /// T of the one-layer architectures (many-to-many, many-to-one, one-to-many).
    public var steps = 12
    /// Encoder–decoder: source length S and target length T′ (nil: paths S − 4 (at least 1), reversal S).
    public var sourceLength = 10
    public var targetLength: Int?
    /// Alphabet size K of every task.
    public var symbols = 4
    /// Many-to-many (delayed echo): the delay D.
    public var delay = 3
    /// One-to-many (caption): the number of classes C.
    public var classes = 4
    /// Encoder–decoder task: copy or reverse.
    public var task: TransductionTask.Mode = .copy
    public var batchSize = 32
    /// Training iterations (paths: before the map is taken; 0 = at initialisation).
    public var iterations = 0
    public var learningRate = 0.01
    public var clipNorm: Double? = 1
    public var forgetBias = 1.0
    public var seed: UInt64 = 0
    /// reversal: seeds seed, seed + 1, …
    public var seeds = 3
    public var evalEvery = 25
    public var evalSize = 256

    public init() {}

    public var effectiveTargetLength: Int { targetLength ?? sourceLength }

    public func validate(reversal: Bool) throws {
        try TrainCellKinds.require([cell], option: "--cell")
        try Check.positive(hidden, "--hidden")
        try Check.atMost(hidden, 256, "--hidden", "every architecture keeps T dense states per sample")
        try Check.positive(steps, "--steps")
        try Check.atMost(steps, 200, "--steps", "the path view runs one backward pass per output")
        guard steps >= 2 else { throw GradLabError.usage("--steps must be at least 2 (one-to-many needs an output after its input; got \(steps))") }
        try Check.positive(sourceLength, "--source-length")
        try Check.atMost(sourceLength, 200, "--source-length", "the path view runs one backward pass per output")
        if let t = targetLength {
            try Check.positive(t, "--target-length")
            guard t <= sourceLength else {
                throw GradLabError.usage("--target-length must be at most --source-length = \(sourceLength) (the target copies or reverses part of the source; got \(t))")
            }
        }
        guard symbols >= 2 else { throw GradLabError.usage("--symbols must be at least 2 (got \(symbols))") }
        try Check.atMost(symbols, 100, "--symbols", "the inputs are one-hot over the alphabet")
        try Check.nonNegative(delay, "--delay")
        guard delay < steps else { throw GradLabError.usage("--delay must be less than --steps = \(steps) (got \(delay))") }
        try Check.positive(classes, "--classes")
        try Check.atMost(classes, 100, "--classes", "the input is one-hot over the classes")
        try Check.positive(batchSize, "--batch")
        try Check.atMost(batchSize, 1024, "--batch", "BPTT stores every step of the batch")
        if reversal { try Check.positive(iterations, "--iters") } else { try Check.nonNegative(iterations, "--iters") }
        try Check.atMost(iterations, 100_000, "--iters", "each iteration is a full BPTT pass")
        try Check.positive(learningRate, "--lr")
        if let c = clipNorm { try Check.positive(c, "--clip-norm") }
        try Check.finite(forgetBias, "--forget-bias")
        try Check.positive(seeds, "--seeds")
        try Check.atMost(seeds, 20, "--seeds", "each seed trains two networks")
        try Check.positive(evalEvery, "--eval-every")
        try Check.positive(evalSize, "--eval-size")
        try Check.atMost(evalSize, 10_000, "--eval-size", "the held-out batch is evaluated in one pass")
    }

    /// The four tasks of the path view, one per architecture.
    public var pathTasks: [any ArchitectureTask] {
        [DelayedEchoTask(steps: steps, delay: delay, symbols: symbols),
         MajorityTask(steps: steps),
         CaptionTask(steps: steps, classes: classes, symbols: symbols),
         TransductionTask(sourceLength: sourceLength, targetLength: targetLength ?? max(1, sourceLength - 4), symbols: symbols, mode: task)]
    }

    /// The reversal experiment's two tasks: the source in order, and reversed.
    public func reversalTask(reversed: Bool) -> TransductionTask {
        TransductionTask(sourceLength: sourceLength, targetLength: effectiveTargetLength, symbols: symbols, mode: task, reverseSource: reversed)
    }

    public var summary: String {
        "\(cell.rawValue), n=\(hidden), batch \(batchSize), adam lr \(trainNumber(learningRate))"
            + (clipNorm.map { ", clip-norm \(trainNumber($0))" } ?? "") + ", seed \(seed)"
    }
}

/// log10 through `DetMath.log`: the path view's numbers come from training code, and their logarithms must
/// be the same bits on every CPU too (the C library's log10 may differ in the last bit between machines).
func detLog10(_ v: Double) -> Double { DetMath.log(v) / DetMath.log(10) }

/// The cells BPTT trains (all but skip).

/// Training of one architecture on its task: Adam, optional norm clipping, a fixed held-out batch.
public struct ArchitectureTraining: Sendable {
    public var taskName: String
    public var baseline: Double
    public var baselineLabel: String
    /// Held-out loss at iteration 0 and every `evalEvery` iterations (and the last).
    public var evaluations: [(iteration: Int, loss: Double)]
    public var divergedAt: Int?
    public var model: ArchitectureModel
    public var finalLoss: Double { evaluations.last?.loss ?? .nan }
}

/// ‖∂L_j/∂x_i‖ for every output j and input i of one architecture.
public struct PathMap: Sendable {
    public var architecture: Architecture
    public var taskName: String
    /// Input steps 1 … inputSteps (the encoder's for an encoder–decoder).
    public var inputSteps: Int
    /// The steps of the outputs (loss steps; the decoder's for an encoder–decoder), one per row.
    public var outputSteps: [Int]
    /// Steps that carry an input (one-to-many: only step 1; the others are zeros).
    public var inputsPresent: [Int]
    /// norms[row][i − 1] = √B‖∂L_j/∂X_i‖_F (see `GradientPaths.norms`).
    public var norms: [[Double]]
    /// Encoder–decoder: S (for path lengths).
    public var sourceLength: Int
    /// Encoder–decoder: the source position (1-based) each output must reproduce, and whether the source is
    /// fed reversed.
    public var matchingInput: [Int]?
    public var reversedSource = false
    /// The loss the map was taken at (held-out), nil when untrained.
    public var trainedLoss: Double?

    public func pathLength(row: Int, input i: Int) -> Int? {
        architecture.pathLength(input: i, output: outputSteps[row], sourceLength: sourceLength)
    }

    /// (path length, log10 norm) of every pair that has a path, an input and a non-zero norm.
    public var lengthPoints: [(length: Int, log10: Double, value: Double)] {
        var out: [(Int, Double, Double)] = []
        for (r, row) in norms.enumerated() {
            for i in inputsPresent {
                if let l = pathLength(row: r, input: i), row[i - 1] > 0, row[i - 1].isFinite { out.append((l, detLog10(row[i - 1]), row[i - 1])) }
            }
        }
        return out
    }
}

public struct PathsResult: Sendable {
    public var options: ArchitectureOptions
    public var maps: [PathMap]
}

/// Normal against reversed source order, over seeds.
public struct ReversalResult: Sendable {
    public var options: ArchitectureOptions
    public var normal: [ArchitectureTraining]
    public var reversed: [ArchitectureTraining]
    /// The first seed's maps at initialisation, normal and reversed.
    public var mapNormal: PathMap
    public var mapReversed: PathMap
    /// Path lengths of the matching (source symbol, output) pairs, per target step j.
    public var pathsNormal: [Int]
    public var pathsReversed: [Int]
    public var baseline: Double
    public var baselineLabel: String
}

public enum ArchitectureExperiment {
    /// Trains `task`'s network (Adam, clipping): data from stream 21 of the seed, the held-out batch from 22.
    public static func train(_ task: any ArchitectureTask, _ o: ArchitectureOptions, seed: UInt64, iterations: Int) -> ArchitectureTraining {
        retainFreedMemory()
        var model = task.initialModel(kind: o.cell, hidden: o.hidden, seed: seed, init: TrainingInit(forgetBias: o.forgetBias))
        var dataRNG = SeededRNG.derived(seed: seed, stream: 21), evalRNG = SeededRNG.derived(seed: seed, stream: 22)
        let evalBatch = task.batch(size: o.evalSize, rng: &evalRNG)
        var r = ArchitectureTraining(taskName: task.name, baseline: task.baselineLoss, baselineLabel: task.baselineLabel,
                                     evaluations: [(0, model.loss(evalBatch))], divergedAt: nil, model: model)
        var adam = Adam(learningRate: o.learningRate)
        let clipping: GradientClipping = o.clipNorm.map { .norm($0) } ?? .none
        if iterations > 0 {
            for it in 1...iterations {
                let (loss, g0) = model.gradient(task.batch(size: o.batchSize, rng: &dataRNG))
                var g = g0
                let (before, _) = clipping.apply(to: &g)
                guard loss.isFinite && before.isFinite else { r.divergedAt = it; break }
                var theta = model.flat
                adam.step(parameters: &theta, gradient: g)
                model.setFlat(theta)
                guard model.allFinite else { r.divergedAt = it; break }
                if it % o.evalEvery == 0 || it == iterations {
                    let e = model.loss(evalBatch)
                    r.evaluations.append((it, e))
                    if !e.isFinite { r.divergedAt = it; break }
                }
            }
        }
        r.model = model
        return r
    }

    /// The ∂L_j/∂x_i map of `model` on a batch of `o.batchSize` sequences (stream 23 of the seed).
    public static func map(_ task: any ArchitectureTask, _ model: ArchitectureModel, _ o: ArchitectureOptions, seed: UInt64) -> PathMap {
        var rng = SeededRNG.derived(seed: seed, stream: 23)
        let batch = task.batch(size: o.batchSize, rng: &rng)
        let norms = GradientPaths.norms(model, batch)
        switch batch {
        case .single(let s):
            let present = task.architecture == .oneToMany ? [1] : Array(1...s.steps)
            return PathMap(architecture: task.architecture, taskName: task.name, inputSteps: s.steps, outputSteps: s.lossSteps,
                           inputsPresent: present, norms: norms, sourceLength: s.steps)
        case .encoderDecoder(let e):
            let t = task as! TransductionTask
            return PathMap(architecture: .encoderDecoder, taskName: task.name, inputSteps: e.source.steps, outputSteps: e.target.lossSteps,
                           inputsPresent: Array(1...e.source.steps), norms: norms, sourceLength: e.source.steps,
                           matchingInput: e.target.lossSteps.map { t.fedStep(ofSource: t.sourcePosition(forTarget: $0)) },
                           reversedSource: t.reverseSource)
        }
    }

    /// The four path maps (after `o.iterations` of training each; 0 = at initialisation).
    public static func paths(_ o: ArchitectureOptions) throws -> PathsResult {
        try o.validate(reversal: false)
        let maps = o.pathTasks.map { task -> PathMap in
            if o.iterations == 0 { return map(task, task.initialModel(kind: o.cell, hidden: o.hidden, seed: o.seed,
                                                                      init: TrainingInit(forgetBias: o.forgetBias)), o, seed: o.seed) }
            let t = train(task, o, seed: o.seed, iterations: o.iterations)
            var m = map(task, t.model, o, seed: o.seed)
            m.trainedLoss = t.finalLoss
            return m
        }
        return PathsResult(options: o, maps: maps)
    }

    /// Sutskever et al.'s reversal: the same encoder–decoder task with the source in order and reversed,
    /// trained from the same seeds; maps at initialisation.
    public static func reversal(_ o: ArchitectureOptions, progress: ((Int, Int) -> Void)? = nil) throws -> ReversalResult {
        try o.validate(reversal: true)
        let plain = o.reversalTask(reversed: false), rev = o.reversalTask(reversed: true)
        var normal: [ArchitectureTraining] = [], reversed: [ArchitectureTraining] = []
        for k in 0..<o.seeds {
            let seed = o.seed &+ UInt64(k)
            normal.append(train(plain, o, seed: seed, iterations: o.iterations))
            progress?(2 * k + 1, 2 * o.seeds)
            reversed.append(train(rev, o, seed: seed, iterations: o.iterations))
            progress?(2 * k + 2, 2 * o.seeds)
        }
        let init0 = TrainingInit(forgetBias: o.forgetBias)
        let m0 = plain.initialModel(kind: o.cell, hidden: o.hidden, seed: o.seed, init: init0)
        let tt = o.effectiveTargetLength
        return ReversalResult(options: o, normal: normal, reversed: reversed,
                              mapNormal: map(plain, m0, o, seed: o.seed), mapReversed: map(rev, m0, o, seed: o.seed),
                              pathsNormal: (1...tt).map(plain.matchingPathLength), pathsReversed: (1...tt).map(rev.matchingPathLength),
                              baseline: plain.baselineLoss, baselineLabel: plain.baselineLabel)
    }

    // MARK: reports, CSV, JSON


    /// Per architecture: the path lengths it has, and the mean log10 norm at the shortest and the longest.
    public static func report(_ r: PathsResult) -> String {
        var t = TextTable(["architecture", "task", "outputs × inputs", "path lengths", "log10 ‖∂L_j/∂x_i‖ at shortest", "at longest"] + (r.maps.contains { $0.trainedLoss != nil } ? ["held-out loss"] : []))
        for m in r.maps {
            let pts = m.lengthPoints
            let lengths = pts.map(\.length)
            func mean(_ l: Int?) -> String {
                guard let l else { return "—" }
                let v = pts.filter { $0.length == l }.map(\.log10)
                return v.isEmpty ? "—" : Format.fixed(v.reduce(0, +) / Double(v.count), 2)
            }
            var row = [m.architecture.rawValue, m.taskName, "\(m.outputSteps.count) × \(m.inputsPresent.count)",
                       lengths.isEmpty ? "—" : "\(lengths.min()!)–\(lengths.max()!)", mean(lengths.min()), mean(lengths.max())]
            if r.maps.contains(where: { $0.trainedLoss != nil }) { row.append(m.trainedLoss.map(TrainExperiment.lossText) ?? "—") }
            t.add(row)
        }
        return "\(r.options.cell.rawValue) RNN, n = \(r.options.hidden), \(r.options.iterations == 0 ? "at initialisation" : "after \(r.options.iterations) iterations"); "
            + "√B‖∂L_j/∂X_i‖_F over a batch of \(r.options.batchSize)\n" + t.render()
    }

    public static func report(_ r: ReversalResult) -> String {
        let o = r.options
        let mean = { (v: [Int]) in Double(v.reduce(0, +)) / Double(max(v.count, 1)) }
        var lines = ["encoder–decoder \(o.task.rawValue), S = \(o.sourceLength), T′ = \(o.effectiveTargetLength), K = \(o.symbols): \(o.summary), \(o.iterations) iterations, \(o.seeds) seed(s)"]
        lines.append("  path source symbol → its output: in order shortest \(r.pathsNormal.min()!), mean \(Format.fixed(mean(r.pathsNormal), 1)); "
                     + "reversed shortest \(r.pathsReversed.min()!), mean \(Format.fixed(mean(r.pathsReversed), 1)) (recurrent steps)")
        var t = TextTable(["seed", "in order: final loss", "reversed: final loss"])
        for (a, b) in zip(r.normal, r.reversed) {
            func text(_ x: ArchitectureTraining) -> String { x.divergedAt != nil ? "diverged" : TrainExperiment.lossText(x.finalLoss) }
            t.add(["\(o.seed &+ UInt64(t.rows.count))", text(a), text(b)])
        }
        let fn = r.normal.map(\.finalLoss), fr = r.reversed.map(\.finalLoss)
        t.add(["mean", TrainExperiment.lossText(fn.reduce(0, +) / Double(fn.count)), TrainExperiment.lossText(fr.reduce(0, +) / Double(fr.count))])
        lines.append(t.render().split(separator: "\n").map { "  " + $0 }.joined(separator: "\n"))
        lines.append("  held-out cross-entropy; \(r.baselineLabel)")
        return lines.joined(separator: "\n")
    }

    public static func pathsCSV(_ maps: [PathMap]) -> String {
        var lines = ["architecture,reversed_source,output_step,input_step,path_length,grad_norm,log10_grad_norm,matching"]
        for m in maps {
            for (r, row) in m.norms.enumerated() {
                for i in m.inputsPresent {
                    let l = m.pathLength(row: r, input: i).map(String.init) ?? ""
                    let match = m.matchingInput.map { $0[r] == i ? "1" : "0" } ?? ""
                    let v = row[i - 1]
                    lines.append("\(m.architecture.rawValue),\(m.reversedSource ? 1 : 0),\(m.outputSteps[r]),\(i),\(l),\(Format.exact(v)),\(Format.exact(v > 0 ? detLog10(v) : -.infinity)),\(match)")
                }
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    public static func reversalCSV(_ r: ReversalResult) -> String {
        var lines = ["order,seed,iteration,eval_loss"]
        for (label, runs) in [("in-order", r.normal), ("reversed", r.reversed)] {
            for (k, run) in runs.enumerated() {
                for e in run.evaluations { lines.append("\(label),\(r.options.seed &+ UInt64(k)),\(e.iteration),\(Format.exact(e.loss))") }
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static func parameters(_ o: ArchitectureOptions) -> [String: Any] {
        ["cell": o.cell.rawValue, "hidden": o.hidden, "steps": o.steps, "source_length": o.sourceLength,
         "target_length": o.targetLength.map { $0 as Any } ?? NSNull(), "symbols": o.symbols, "delay": o.delay, "classes": o.classes,
         "task": o.task.rawValue, "batch": o.batchSize, "iters": o.iterations, "lr": o.learningRate,
         "clip_norm": o.clipNorm.map { $0 as Any } ?? NSNull(), "forget_bias": o.forgetBias, "seed": o.seed]
    }

    static func mapJSON(_ m: PathMap) -> [String: Any] {
        ["architecture": m.architecture.rawValue, "task": m.taskName, "reversed_source": m.reversedSource,
         "output_steps": m.outputSteps, "input_steps": m.inputsPresent,
         "grad_norm": m.norms.map { row in m.inputsPresent.map { Format.json(row[$0 - 1]) } },
         "path_length": m.norms.indices.map { r in m.inputsPresent.map { i in m.pathLength(row: r, input: i).map { $0 as Any } ?? NSNull() } },
         "trained_loss": m.trainedLoss.map(Format.json) ?? NSNull()]
    }

    public static func json(_ r: PathsResult) throws -> Data {
        try JSONOut.data(["format": "gradlab.architectures-paths/1", "parameters": parameters(r.options), "maps": r.maps.map(mapJSON)])
    }

    public static func json(_ r: ReversalResult) throws -> Data {
        var p = parameters(r.options)
        p["seeds"] = r.options.seeds
        func runs(_ v: [ArchitectureTraining]) -> [[String: Any]] {
            v.enumerated().map { k, t in ["seed": r.options.seed &+ UInt64(k), "final_loss": Format.json(t.finalLoss),
                                          "diverged_at": t.divergedAt.map { $0 as Any } ?? NSNull()] }
        }
        return try JSONOut.data(["format": "gradlab.architectures-reversal/1", "parameters": p, "baseline": Format.json(r.baseline),
                                 "path_lengths_in_order": r.pathsNormal, "path_lengths_reversed": r.pathsReversed,
                                 "in_order": runs(r.normal), "reversed": runs(r.reversed),
                                 "maps": [mapJSON(r.mapNormal), mapJSON(r.mapReversed)]])
    }
}

public extension CostModel {
    /// `architectures paths`: per architecture, optional training and one backward pass per output.
    static func architecturePaths(_ o: ArchitectureOptions) -> CostEstimate {
        var e = CostEstimate()
        for task in o.pathTasks {
            let (steps, outputs) = task.architecture == .encoderDecoder
                ? (o.sourceLength + (o.targetLength ?? max(1, o.sourceLength - 4)), o.targetLength ?? max(1, o.sourceLength - 4))
                : (o.steps, o.steps)
            let one = training(cell: o.cell, hidden: o.hidden, input: max(task.inputSize, task.targetInputSize), output: task.outputSize, steps: steps,
                               batch: o.batchSize, iterations: o.iterations + outputs,
                               evalEvery: o.iterations > 0 ? o.evalEvery : Int.max, evalSize: o.iterations > 0 ? o.evalSize : 0, snapshots: 0)
            e += task.architecture == .encoderDecoder ? naming(encoderDecoder: one) : one
        }
        return e
    }

    /// The same estimate with its advice in the encoder–decoder's words (--source-length, not --steps).
    static func naming(encoderDecoder e: CostEstimate) -> CostEstimate {
        CostEstimate(e.parts.map { p in
            .init(p.name, bytes: p.bytes, operations: p.operations,
                  advice: p.advice.replacingOccurrences(of: "--steps", with: "--source-length").replacingOccurrences(of: "--snapshots or ", with: ""))
        })
    }

    /// `architectures reversal`: 2 × seeds trainings of the encoder–decoder (the source's and target's steps).
    static func architectureReversal(_ o: ArchitectureOptions) -> CostEstimate {
        let e = naming(encoderDecoder: training(cell: o.cell, hidden: o.hidden, input: o.symbols + 1, output: o.symbols,
                                                steps: o.sourceLength + o.effectiveTargetLength, batch: o.batchSize, iterations: o.iterations,
                                                evalEvery: o.evalEvery, evalSize: o.evalSize, snapshots: 0, runs: 2 * o.seeds))
        return CostEstimate(e.parts.map { p in
            .init(p.name, bytes: p.bytes, operations: p.operations, advice: p.advice.replacingOccurrences(of: " or --iters", with: ", --iters or --seeds"))
        })
    }
}
