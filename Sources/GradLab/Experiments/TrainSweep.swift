import CMalloc
import Foundation
import Dynamics
import Linear

/// Final loss against sequence length: one short training run per (cell, T), same settings otherwise.
public struct TrainSweepOptions: Sendable {
    public var cells: [CellKind] = [.tanh, .irnn, .lstm]
    public var lengths: [Int] = [10, 25, 50, 100, 200]
    /// Everything but cell and steps; `base.iterations` is the budget of every run.
    public var base: TrainOptions
    /// Runs executed at once (each single-threaded). Defaults to the number of cores, at most 2.
    public var jobs = min(2, ProcessInfo.processInfo.activeProcessorCount)

    public init() {
        base = TrainOptions()
        // One setting for every cell, chosen so each learns where it can within ~2 minutes on 2 cores:
        // Adam at 3e-3 is gentle enough for the IRNN and fast enough for the LSTM.
        base.hidden = 32
        base.iterations = 2000
        base.learningRate = 0.003
        base.clipNorm = 1
        base.snapshots = 0
        base.evalEvery = 50
    }

    public func validate() throws {
        guard !cells.isEmpty else { throw GradLabError.usage("--cells must name at least one cell") }
        guard !lengths.isEmpty else { throw GradLabError.usage("--lengths must list at least one sequence length") }
        try Check.positive(jobs, "--jobs")
        try Check.atMost(cells.count * lengths.count, 200, "--cells × --lengths", "each pair is a full training run")
        for t in lengths {
            var o = base
            o.steps = t
            try o.validate()
        }
        for c in cells {
            var o = base
            o.cell = c
            try o.validate()
        }
    }
}

public struct TrainSweepPoint: Sendable {
    public var cell: CellKind
    public var steps: Int
    public var finalLoss: Double
    public var bestLoss: Double
    public var diverged: Bool
    public var seconds: Double
}

public struct TrainSweepResult: Sendable {
    public var options: TrainSweepOptions
    public var points: [TrainSweepPoint]
    public var baseline: Double
    public var baselineLabel: String
    public var lossKind: LossKind
    public var seconds: Double

    /// Longest T at which `cell` beats the baseline by the given factor (e.g. reaches < 0.5 · baseline).
    public func longestLearned(_ cell: CellKind, factor: Double = 0.5) -> Int? {
        points.filter { $0.cell == cell && $0.finalLoss.isFinite && $0.finalLoss < factor * baseline }.map(\.steps).max()
    }
}

public enum TrainSweep {
    /// Runs every (cell, T) pair; `done` is called (serially) as each run finishes, `progress` (serially, at
    /// every iteration of every run) with the fraction of the whole sweep done, each run weighted by its T.
    public static func run(_ o: TrainSweepOptions, progress: ((Double) -> Void)? = nil,
                           done: ((TrainSweepPoint, Int, Int) -> Void)? = nil) throws -> TrainSweepResult {
        try o.validate()
        let jobs = o.cells.flatMap { c in o.lengths.map { (c, $0) } }
        var points = [TrainSweepPoint?](repeating: nil, count: jobs.count)
        var failure: Error?
        let lock = NSLock()
        var finished = 0
        // Work of a run ∝ iterations × T: a T = 200 run takes 20 times a T = 10 one.
        let weights = jobs.map { Double($0.1) }
        let totalWeight = weights.reduce(0, +)
        var fractions = [Double](repeating: 0, count: jobs.count)
        var doneWeight = 0.0
        let start = DispatchTime.now().uptimeNanoseconds
        // Parallel over runs, each single-threaded: runs are independent, so the numbers are the same as a
        // serial sweep.
        let next = Counter()
        let workers = min(o.jobs, jobs.count)
        DispatchQueue.concurrentPerform(iterations: workers) { _ in
            while true {
                let i = next.take()
                if i >= jobs.count { return }
                var opt = o.base
                opt.cell = jobs[i].0
                opt.steps = jobs[i].1
                do {
                    let r = try TrainExperiment.run(opt, progress: progress == nil ? nil : { it, total, _, _ in
                        lock.lock(); defer { lock.unlock() }
                        let f = total > 0 ? min(1, Double(it) / Double(total)) : 1
                        doneWeight += (f - fractions[i]) * weights[i]
                        fractions[i] = f
                        progress?(min(1, doneWeight / totalWeight))
                    })
                    let finite = r.evaluations.map(\.loss).filter(\.isFinite)
                    let p = TrainSweepPoint(cell: opt.cell, steps: opt.steps,
                                            finalLoss: r.divergedAt == nil ? r.finalEvalLoss : .nan,
                                            bestLoss: finite.min() ?? .nan, diverged: r.divergedAt != nil, seconds: r.seconds)
                    lock.lock()
                    points[i] = p
                    finished += 1
                    done?(p, finished, jobs.count)
                    lock.unlock()
                } catch {
                    lock.lock(); failure = error; lock.unlock()
                    return
                }
            }
        }
        if let failure { throw failure }
        var probe = o.base
        probe.steps = o.lengths[0]
        let task = probe.makeTask()
        return TrainSweepResult(options: o, points: points.compactMap { $0 }, baseline: task.baselineLoss,
                                baselineLabel: task.baselineLabel, lossKind: task.loss,
                                seconds: Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
    }

    /// A thread-safe job counter.
    final class Counter: @unchecked Sendable {
        private var value = 0
        private let lock = NSLock()
        func take() -> Int { lock.lock(); defer { value += 1; lock.unlock() }; return value }
    }

    /// Rows = cells, columns = lengths: final held-out loss (“div” for diverged runs).
    public static func table(_ r: TrainSweepResult) -> String {
        let lengths = r.options.lengths
        var t = TextTable(["cell"] + lengths.map { "T=\($0)" } + ["learns up to"])
        for c in r.options.cells {
            var row = [c.rawValue]
            for len in lengths {
                let p = r.points.first { $0.cell == c && $0.steps == len }
                row.append(p.map { $0.diverged ? "div" : TrainExperiment.lossText($0.finalLoss) } ?? "—")
            }
            row.append(r.longestLearned(c).map { "T=\($0)" } ?? "none")
            t.add(row)
        }
        let name = r.lossKind == .mse ? "MSE" : "cross-entropy"
        return "final held-out \(name) after \(r.options.base.iterations) iterations (baseline \(Format.fixed(r.baseline, 4)); "
            + "\"learns\" = below half the baseline)\n" + t.render()
    }

    public static func csv(_ r: TrainSweepResult) -> String {
        // No wall-clock column: the same sweep gives the same bytes (timings go to the terminal only).
        var lines = ["cell,steps,final_loss,best_loss,diverged,baseline"]
        for p in r.points {
            lines.append("\(p.cell.rawValue),\(p.steps),\(Format.exact(p.finalLoss)),\(Format.exact(p.bestLoss)),\(p.diverged ? 1 : 0),"
                         + "\(Format.exact(r.baseline))")
        }
        return lines.joined(separator: "\n") + "\n"
    }
}

/// Training allocates the same few megabytes of per-step storage every iteration. By default glibc hands
/// large freed blocks back to the kernel (munmap / heap trimming), so every pass pays ~3000 fresh page
/// faults — about 15 % of an LSTM pass. Raising the mmap and trim thresholds keeps that memory in the process
/// for reuse. Process-wide, idempotent, and harmless for a command-line run.
func retainFreedMemory() {
    _ = mallopt(M_MMAP_THRESHOLD, 256 << 20)
    _ = mallopt(M_TRIM_THRESHOLD, 1 << 30)
}
