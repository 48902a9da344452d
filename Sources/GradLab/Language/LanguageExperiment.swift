import Foundation
import Dynamics
import Linear

/// Parameters of `gradlab language`: word-level RNNs trained on the story corpus. Same options ⇒ identical
/// numbers on every CPU (DetLinear/DetMath only, each run single-threaded).
public struct LanguageOptions: Sendable {
    public var cells: [CellKind] = [.tanh, .gru, .lstm]
    public var hidden = 32
    public var iterations = 1000
    public var batchSize = 32
    public var learningRate = 0.003
    public var clipNorm: Double? = 1
    public var seed: UInt64 = 0
    public var minDistance = 8
    public var maxDistance = 39
    /// How many of `StoryCorpus.defaultNames` the stories use.
    public var nameCount = 8
    /// LSTM forget-gate bias at initialisation (as `train`).
    public var forgetBias = 1.0
    /// Width of a distance bucket of the held-out accuracy (words).
    public var bucketWidth = 4
    /// Held-out stories per bucket.
    public var evalPerBucket = 64
    /// Distance of the story whose saliency is shown (nil: maxDistance).
    public var saliencyDistance: Int?
    /// Runs at once (each single-threaded); the numbers do not depend on it.
    public var jobs = min(2, ProcessInfo.processInfo.activeProcessorCount)

    public init() {}

    public static let maxDistanceLimit = 400

    public var corpus: StoryCorpus {
        StoryCorpus(names: Array(StoryCorpus.defaultNames.prefix(nameCount)), minDistance: minDistance, maxDistance: maxDistance)
    }

    public var effectiveSaliencyDistance: Int { saliencyDistance ?? maxDistance }

    /// The distance buckets [lo, hi] of the held-out evaluation, from minDistance up in steps of bucketWidth.
    public var buckets: [ClosedRange<Int>] {
        stride(from: minDistance, through: maxDistance, by: bucketWidth).map { $0...($0 + min(bucketWidth - 1, maxDistance - $0)) }
    }

    public func validate() throws {
        guard !cells.isEmpty else { throw GradLabError.usage("--cells must name at least one cell") }
        try TrainCellKinds.require(cells, option: "--cells")
        try Check.positive(hidden, "--hidden")
        try Check.atMost(hidden, 1024, "--hidden", "training keeps T dense states per story")
        try Check.positive(iterations, "--iters")
        try Check.positive(batchSize, "--batch")
        try Check.atMost(batchSize, 4096, "--batch", "BPTT stores every step of the batch")
        try Check.positive(learningRate, "--lr")
        if let c = clipNorm { try Check.positive(c, "--clip-norm") }
        try Check.finite(forgetBias, "--forget-bias")
        guard minDistance >= StoryCorpus.shortestDistance else {
            throw GradLabError.usage("--min-distance must be at least \(StoryCorpus.shortestDistance) (\"walked in too .\" and \"A said hi to\" lie between B and the blank; got \(minDistance))")
        }
        guard maxDistance >= minDistance else {
            throw GradLabError.usage("--max-distance must be at least --min-distance (got \(maxDistance) < \(minDistance))")
        }
        try Check.atMost(maxDistance, LanguageOptions.maxDistanceLimit, "--max-distance", "every story is padded to the longest")
        guard nameCount >= 2 && nameCount <= StoryCorpus.defaultNames.count else {
            throw GradLabError.usage("--names must be between 2 and \(StoryCorpus.defaultNames.count) (got \(nameCount))")
        }
        try Check.positive(bucketWidth, "--bucket")
        try Check.positive(evalPerBucket, "--eval-per-bucket")
        try Check.atMost(evalPerBucket, 10_000, "--eval-per-bucket", "the held-out stories are evaluated in one pass")
        if let d = saliencyDistance {
            guard (minDistance...maxDistance).contains(d) else {
                throw GradLabError.usage("--saliency-distance must lie in --min-distance…--max-distance = \(minDistance)…\(maxDistance) (got \(d))")
            }
        }
        try Check.positive(jobs, "--jobs")
    }

    /// "n=32, batch 32, adam lr 0.01, clip-norm 1, distances 8–40, 8 names, seed 0".
    public var summary: String {
        var s = "n=\(hidden), \(iterations) iterations, batch \(batchSize), adam lr \(trainNumber(learningRate))"
        if let c = clipNorm { s += ", clip-norm \(trainNumber(c))" }
        return s + ", distances \(minDistance)–\(maxDistance), \(nameCount) names, seed \(seed)"
    }
}

/// Held-out accuracy of one cell on one distance bucket.
public struct DistanceAccuracy: Sendable, Equatable {
    public var distances: ClosedRange<Int>
    public var stories: Int
    public var correct: Int
    /// Mean cross-entropy of these stories.
    public var loss: Double
    public var accuracy: Double { stories > 0 ? Double(correct) / Double(stories) : .nan }
}

/// ‖∂L/∂x_t‖ for every word of one story: how much the loss at the blank reacts to each input.
public struct Saliency: Sendable, Equatable {
    public var story: Story
    /// One per word of the story (the padding is left out), in order.
    public var norms: [Double]
    /// The loss at the blank for this story.
    public var loss: Double
}

public struct LanguageRun: Sendable {
    public var cell: CellKind
    /// Training-batch loss per iteration.
    public var losses: [Double]
    /// Held-out loss (all buckets) before and after training.
    public var initialLoss: Double
    public var finalLoss: Double
    public var buckets: [DistanceAccuracy]
    /// The saliency story through the trained network, and through the untrained one (iteration 0).
    public var saliency: Saliency
    public var initialSaliency: Saliency
    public var divergedAt: Int?
    public var seconds: Double
    public var net: RNN

    /// Accuracy over every held-out story.
    public var accuracy: Double {
        let n = buckets.reduce(0) { $0 + $1.stories }, c = buckets.reduce(0) { $0 + $1.correct }
        return n > 0 ? Double(c) / Double(n) : .nan
    }
}

public struct LanguageResult: Sendable {
    public var options: LanguageOptions
    public var runs: [LanguageRun]
    public var baseline: Double
    /// Accuracy of the best guess without memory: 1/(names − 1).
    public var chance: Double
    public var seconds: Double
}

public enum LanguageExperiment {
    /// Random streams of a seed: initial weights are `RNN.initialized`'s own; these are the data.
    static let trainStream: UInt64 = 31, evalStream: UInt64 = 32, saliencyStream: UInt64 = 33

    /// The held-out stories: `evalPerBucket` per bucket, distances cycling through the bucket, from their own
    /// stream of the seed (changing --iters or --cells never changes them).
    public static func heldOut(_ o: LanguageOptions) -> [(bucket: ClosedRange<Int>, stories: [Story])] {
        let corpus = o.corpus
        var rng = SeededRNG.derived(seed: o.seed, stream: evalStream)
        return o.buckets.map { b in
            (b, (0..<o.evalPerBucket).map { i in corpus.story(distance: b.lowerBound + i % b.count, rng: &rng) })
        }
    }

    /// The story whose saliency is charted (same for every cell).
    public static func saliencyStory(_ o: LanguageOptions) -> Story {
        var rng = SeededRNG.derived(seed: o.seed, stream: saliencyStream)
        return o.corpus.story(distance: o.effectiveSaliencyDistance, rng: &rng)
    }

    /// ‖∂L/∂x_t‖ of `story` through `net` (the loss at the blank), per word, from BPTT's input gradients.
    public static func saliency(_ net: RNN, corpus: StoryCorpus, story: Story) -> Saliency {
        let batch = corpus.tensors([story])
        let fp = ForwardPass(net: net, batch: batch)
        let r = BPTT.backward(fp, options: BPTTOptions(recordInputGradients: true))
        let grads = r.inputGradients ?? []
        let pad = batch.steps - story.words.count
        return Saliency(story: story, norms: (pad..<batch.steps).map { DetLinear.norm(grads[$0].data) }, loss: fp.loss)
    }

    /// Argmax of each row of the readout (first index on ties).
    static func predictions(_ y: Matrix) -> [Int] {
        (0..<y.rows).map { r in
            var best = 0
            for j in 1..<y.cols where y[r, j] > y[r, best] { best = j }
            return best
        }
    }

    /// Accuracy and loss of `net` on each bucket's stories.
    static func evaluate(_ net: RNN, corpus: StoryCorpus, _ sets: [(bucket: ClosedRange<Int>, stories: [Story])]) -> [DistanceAccuracy] {
        sets.map { b, stories in
            let fp = ForwardPass(net: net, batch: corpus.tensors(stories))
            let pred = predictions(fp.outputs[0])
            let correct = zip(pred, stories).filter { $0 == $1.answer }.count
            return DistanceAccuracy(distances: b, stories: stories.count, correct: correct, loss: fp.loss)
        }
    }

    static func meanLoss(_ b: [DistanceAccuracy]) -> Double {
        let n = b.reduce(0) { $0 + $1.stories }
        return b.reduce(0) { $0 + $1.loss * Double($1.stories) } / Double(max(n, 1))
    }

    /// Trains one cell: Adam on fresh batches of stories (uniform distances), norm clipping, full BPTT.
    public static func train(_ o: LanguageOptions, cell: CellKind, heldOut sets: [(bucket: ClosedRange<Int>, stories: [Story])],
                             progress: ((Int) -> Void)? = nil) -> LanguageRun {
        let corpus = o.corpus, task = StoryTask(corpus: corpus)
        var net = RNN.initialized(kind: cell, input: task.inputSize, hidden: o.hidden, output: task.outputSize, seed: o.seed,
                                  init: TrainingInit(forgetBias: o.forgetBias))
        var rng = SeededRNG.derived(seed: o.seed, stream: trainStream)
        var optimizer = OptimizerKind.adam.make(learningRate: o.learningRate)
        let clipping: GradientClipping = o.clipNorm.map { .norm($0) } ?? .none
        let start = DispatchTime.now().uptimeNanoseconds
        let initial = meanLoss(evaluate(net, corpus: corpus, sets))
        let story = saliencyStory(o)
        let initialSaliency = saliency(net, corpus: corpus, story: story)
        var losses: [Double] = []
        losses.reserveCapacity(o.iterations)
        var diverged: Int? = nil
        for it in 1...o.iterations {
            let batch = task.batch(size: o.batchSize, rng: &rng)
            let r = BPTT.backward(ForwardPass(net: net, batch: batch))
            losses.append(r.loss)
            var g = r.gradient.flat
            let (before, _) = clipping.apply(to: &g)
            guard r.loss.isFinite && before.isFinite else { diverged = it; break }
            var theta = net.flat
            optimizer.step(parameters: &theta, gradient: g)
            net.setFlat(theta)
            guard net.allFinite else { diverged = it; break }
            progress?(it)
        }
        let buckets = evaluate(net, corpus: corpus, sets)
        let sal = saliency(net, corpus: corpus, story: story)
        return LanguageRun(cell: cell, losses: losses, initialLoss: initial, finalLoss: meanLoss(buckets), buckets: buckets,
                           saliency: sal, initialSaliency: initialSaliency, divergedAt: diverged,
                           seconds: Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9, net: net)
    }

    /// Every cell, `o.jobs` at a time (each run single-threaded: the numbers are those of a serial run).
    /// `progress` gets the fraction of all iterations done (serially, from any thread).
    public static func run(_ o: LanguageOptions, progress: ((Double) -> Void)? = nil) throws -> LanguageResult {
        try o.validate()
        let start = DispatchTime.now().uptimeNanoseconds
        let sets = heldOut(o)
        var runs = [LanguageRun?](repeating: nil, count: o.cells.count)
        let lock = NSLock()
        var done = 0
        let total = Double(o.cells.count * o.iterations)
        let next = LanguageCounter()
        DispatchQueue.concurrentPerform(iterations: min(o.jobs, o.cells.count)) { _ in
            while true {
                let i = next.take()
                if i >= o.cells.count { return }
                let r = train(o, cell: o.cells[i], heldOut: sets, progress: progress == nil ? nil : { _ in
                    lock.lock(); defer { lock.unlock() }
                    done += 1
                    if done % 10 == 0 { progress?(Double(done) / total) }
                })
                lock.lock(); runs[i] = r; lock.unlock()
            }
        }
        let corpus = o.corpus
        return LanguageResult(options: o, runs: runs.map { $0! }, baseline: StoryTask(corpus: corpus).baselineLoss,
                              chance: 1 / Double(corpus.names.count - 1),
                              seconds: Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
    }

    // MARK: text, CSV, JSON

    /// The corpus in a few lines and three stories of the training stream's kind (shortest, middle, longest).
    public static func samples(_ o: LanguageOptions) -> String {
        let c = o.corpus
        var rng = SeededRNG.derived(seed: o.seed, stream: 34)
        let mid = (o.minDistance + o.maxDistance) / 2
        var lines = ["names (the classes): \(c.names.joined(separator: ", "))",
                     "vocabulary: \(c.vocabulary.count) words (one-hot inputs, \(StoryCorpus.pad) pads the front); T = \(c.steps) steps",
                     "no memory: ln \(c.names.count - 1) ≈ \(Format.fixed(StoryTask(corpus: c).baselineLoss, 3)), accuracy 1/\(c.names.count - 1)"]
        var distances: [Int] = []
        for d in [o.minDistance, mid, o.maxDistance] where !distances.contains(d) { distances.append(d) }
        for d in distances {
            let s = c.story(distance: d, rng: &rng)
            lines.append("distance \(d): \(s.text)   → \(c.names[s.answer])")
        }
        return lines.joined(separator: "\n")
    }


    static func bucketName(_ b: ClosedRange<Int>) -> String { b.count == 1 ? "\(b.lowerBound)" : "\(b.lowerBound)–\(b.upperBound)" }

    /// Accuracy (%) per distance bucket and cell, then one line per cell with the held-out loss.
    public static func report(_ r: LanguageResult) -> String {
        let o = r.options
        var t = TextTable(["distance"] + r.runs.map { TrainCharts.cellName($0.cell) })
        for (i, b) in o.buckets.enumerated() {
            t.add([bucketName(b)] + r.runs.map { Format.fixed(100 * $0.buckets[i].accuracy, 1) + " %" })
        }
        t.add(["all"] + r.runs.map { Format.fixed(100 * $0.accuracy, 1) + " %" })
        var lines = ["held-out accuracy at the blank (\(o.evalPerBucket) stories per bucket; no memory: \(Format.fixed(100 * r.chance, 1)) %)",
                     t.render()]
        for run in r.runs {
            var s = "\(run.cell.rawValue): held-out cross-entropy \(Format.fixed(run.initialLoss, 4)) → \(Format.fixed(run.finalLoss, 4))"
                + " (no memory \(Format.fixed(r.baseline, 4)))" + RunContext.timing(" in \(Format.fixed(run.seconds, 1)) s")
            if let d = run.divergedAt { s += "; DIVERGED at iteration \(d)" }
            lines.append(s)
        }
        return lines.joined(separator: "\n")
    }

    /// The saliency story and, per cell, ‖∂L/∂x‖ at B against the largest one over the last 8 words.
    public static func saliencyReport(_ r: LanguageResult) -> String {
        guard let first = r.runs.first else { return "" }
        let s = first.saliency.story
        var lines = ["saliency story (distance \(s.distance)): \(s.text)"]
        lines.append("‖∂L/∂x‖ at \(s.words[s.answerPosition]) (B) / the largest over the query \"\(s.words.suffix(4).joined(separator: " "))\":")
        for run in r.runs {
            func ratio(_ n: [Double]) -> String {
                String(format: "%.2e / %.2e = %.1e", n[s.answerPosition], n.suffix(4).max() ?? .nan, n[s.answerPosition] / (n.suffix(4).max() ?? .nan))
            }
            lines.append("  \(run.cell.rawValue): before training \(ratio(run.initialSaliency.norms)); after \(ratio(run.saliency.norms))")
        }
        return lines.joined(separator: "\n")
    }

    public static let accuracyCSVHeader = "cell,distance_min,distance_max,stories,correct,accuracy,loss"

    public static func accuracyCSV(_ r: LanguageResult) -> String {
        var lines = [accuracyCSVHeader]
        for run in r.runs {
            for b in run.buckets {
                lines.append("\(run.cell.rawValue),\(b.distances.lowerBound),\(b.distances.upperBound),\(b.stories),\(b.correct),"
                             + "\(Format.exact(b.accuracy)),\(Format.exact(b.loss))")
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Long format: cell, position in the story, word, ‖∂L/∂x‖, whether it is the answer B.
    public static func saliencyCSV(_ r: LanguageResult) -> String {
        var lines = ["cell,position,word,grad_norm_untrained,grad_norm,is_answer"]
        for run in r.runs {
            let s = run.saliency.story
            for (i, w) in s.words.enumerated() {
                lines.append("\(run.cell.rawValue),\(i + 1),\(w),\(Format.exact(run.initialSaliency.norms[i])),"
                             + "\(Format.exact(run.saliency.norms[i])),\(i == s.answerPosition ? 1 : 0)")
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    public static func json(_ r: LanguageResult) throws -> Data {
        let o = r.options
        let corpus = o.corpus
        let story = saliencyStory(o)
        let object: [String: Any] = [
            "format": "gradlab.language/1",
            "parameters": [
                "cells": o.cells.map(\.rawValue), "hidden": o.hidden, "iterations": o.iterations, "batch": o.batchSize,
                "optimizer": "adam", "lr": o.learningRate, "clip_norm": o.clipNorm.map { $0 as Any } ?? NSNull(),
                "seed": o.seed, "min_distance": o.minDistance, "max_distance": o.maxDistance, "forget_bias": o.forgetBias,
                "bucket_width": o.bucketWidth, "eval_per_bucket": o.evalPerBucket, "steps": corpus.steps,
            ] as [String: Any],
            "names": corpus.names,
            "vocabulary": corpus.vocabulary,
            "baseline_loss": r.baseline,
            "chance_accuracy": r.chance,
            "saliency_story": ["words": story.words, "answer": corpus.names[story.answer], "answer_position": story.answerPosition + 1,
                               "distance": story.distance] as [String: Any],
            "runs": r.runs.map { run -> [String: Any] in
                [
                    "cell": run.cell.rawValue,
                    "initial_loss": Format.json(run.initialLoss), "final_loss": Format.json(run.finalLoss),
                    "accuracy": Format.json(run.accuracy),
                    "diverged_at": run.divergedAt.map { $0 as Any } ?? NSNull(),
                    "buckets": run.buckets.map { b -> [String: Any] in
                        ["distance_min": b.distances.lowerBound, "distance_max": b.distances.upperBound, "stories": b.stories,
                         "correct": b.correct, "accuracy": Format.json(b.accuracy), "loss": Format.json(b.loss)]
                    },
                    "saliency": run.saliency.norms.map(Format.json),
                    "saliency_untrained": run.initialSaliency.norms.map(Format.json),
                    "saliency_loss": Format.json(run.saliency.loss),
                ]
            },
        ]
        return try JSONOut.data(object)
    }
}

/// A shared next-index counter for the worker threads.
private final class LanguageCounter: @unchecked Sendable {
    private var value = 0
    private let lock = NSLock()
    func take() -> Int { lock.lock(); defer { lock.unlock() }; value += 1; return value - 1 }
}

public extension CostModel {
    /// `gradlab language`: one training run per cell (batch × T = maxDistance + 7 over the one-hot vocabulary),
    /// the held-out stories evaluated twice (one bucket at a time), two saliency passes.
    static func language(_ o: LanguageOptions) -> CostEstimate {
        let corpus = o.corpus
        let d = Double(corpus.vocabulary.count), t = Double(corpus.steps), n = Double(o.hidden)
        let evalSize = Double(o.buckets.count) * Double(o.evalPerBucket)
        var e = CostEstimate()
        var evalOps = 0.0, evalBytes = 0.0
        for c in o.cells {
            e += training(cell: c, hidden: o.hidden, input: corpus.vocabulary.count, output: corpus.names.count, steps: corpus.steps,
                          batch: o.batchSize, iterations: o.iterations, evalEvery: Int.max, evalSize: 0, snapshots: 0)
            let g = Double(c.gateCount)
            evalOps += 2 * evalSize * t * (2 * g * n * (n + d) + 20 * g * n + 4000)
            evalBytes = max(evalBytes, Double(o.evalPerBucket) * t * (d + g * n + 3 * n) * double)
        }
        // The stories themselves (every held-out one is drawn first): about 24 bytes per word.
        evalBytes += evalSize * t * 24
        // T is set by --max-distance here.
        e = CostEstimate(e.parts.map { .init($0.name, bytes: $0.bytes, operations: $0.operations,
                                              advice: $0.advice.replacingOccurrences(of: "--steps", with: "--max-distance")) })
        return e + CostEstimate([.init("the held-out stories (\(o.buckets.count) bucket(s) × \(o.evalPerBucket) × T = \(corpus.steps))",
                                       bytes: evalBytes, operations: evalOps,
                                       advice: "lower --eval-per-bucket or --max-distance, or raise --bucket")])
    }
}
