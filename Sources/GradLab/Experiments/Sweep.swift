import Foundation
import Dispatch
import Dynamics
import Linear

/// A list of gains: "0.5:2.0:0.05" (start:stop:step, stop included), "0.5,1,1.5", or one value.
public struct GainRange: Sendable, Equatable {
    public var values: [Double]

    public init(values: [Double]) { self.values = values }

    /// Parses the text; errors name `flag`.
    public init(parsing text: String, flag: String = "--gain") throws {
        func number(_ s: Substring) throws -> Double {
            guard let v = Double(s.trimmingCharacters(in: .whitespaces)), v.isFinite else {
                throw GradLabError.usage("\(flag): \(quoted(String(s))) is not a number (expected start:stop:step like 0.5:2.0:0.05, or a list 0.5,1,2)")
            }
            return v
        }
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        if parts.count == 3 {
            let a = try number(parts[0]), b = try number(parts[1]), step = try number(parts[2])
            guard step > 0 else { throw GradLabError.usage("\(flag): the step must be positive (got \(step))") }
            guard b >= a else { throw GradLabError.usage("\(flag): stop \(b) is below start \(a)") }
            // Count from the rounded ratio so 0.5:2.0:0.05 gives exactly 31 gains; each is a + i·step (no drift).
            // The count is checked as a Double before it becomes an Int: (1e300 − 1e-300)/1e-300 is +∞.
            let exactCount = ((b - a) / step + 1e-9).rounded(.down) + 1
            guard exactCount.isFinite, exactCount <= 10_000 else {
                throw GradLabError.usage("\(flag): \(exactCount.isFinite ? Format.magnitude(exactCount, 0) : "more than 10^308") gains is too many (at most 10,000)")
            }
            let count = Int(exactCount)
            values = (0..<count).map { a + Double($0) * step }
        } else if parts.count == 1 {
            values = try text.split(separator: ",").map(number)
        } else {
            throw GradLabError.usage("\(flag) must look like start:stop:step (e.g. 0.5:2.0:0.05) or a comma list (got \(quoted(text)))")
        }
        guard !values.isEmpty else { throw GradLabError.usage("\(flag) must name at least one gain") }
        guard values.allSatisfy({ $0 > 0 }) else { throw GradLabError.usage("\(flag): gains must be positive") }
    }
}

/// Parameters of a gain sweep: the top Lyapunov exponent per cell, gain and seed.
public struct SweepOptions: Sendable {
    public var cells: [CellKind] = [.tanh, .relu, .lstm]
    public var gains = GainRange(values: (0..<31).map { 0.5 + Double($0) * 0.05 })
    public var seeds = 10
    public var seed: UInt64 = 0
    public var hidden = 64
    public var input = 8
    public var steps = 500
    /// Leading steps not averaged (transient from h_0 = 0); nil = steps/10.
    public var warmup: Int?
    public var initialization: RecurrentInit = .gaussian
    public var forgetBias = 0.0
    /// Standard deviation of the inputs. Small inputs probe the autonomous dynamics (tanh's edge near g = 1);
    /// strong inputs suppress chaos and push the edge to larger gains.
    public var inputScale = 0.01
    /// Worker threads; nil = every core.
    public var jobs: Int?
    public init() {}

    public var effectiveWarmup: Int { warmup ?? steps / 10 }
    public var effectiveJobs: Int { max(1, jobs ?? ProcessInfo.processInfo.activeProcessorCount) }
    public var pointCount: Int { cells.count * gains.values.count * seeds }

    public func validate() throws {
        guard !cells.isEmpty else { throw GradLabError.usage("--cells must name at least one cell") }
        try Check.positive(seeds, "--seeds")
        try Check.positive(hidden, "--hidden")
        try Check.nonNegative(input, "--input")
        try Check.positive(steps, "--steps")
        try Check.atMost(hidden, 1024, "--hidden", "a sweep runs thousands of models")
        try Check.atMost(steps, 1_000_000, "--steps", "longer runs would not fit in memory")
        try Check.atMost(seeds, 10_000, "--seeds", "that many models would take too long")
        if let w = warmup {
            try Check.nonNegative(w, "--warmup")
            guard w < steps else { throw GradLabError.usage("--warmup must be less than --steps (\(w) ≥ \(steps))") }
        }
        if let j = jobs { try Check.positive(j, "--jobs") }
        try Check.finite(forgetBias, "--forget-bias")
        try Check.finite(inputScale, "--input-scale")
        guard inputScale >= 0 else { throw GradLabError.usage("--input-scale must be zero or positive (got \(inputScale))") }
    }

    /// The model of one sweep point. Seed s uses stream `seed + s`, the same for every gain and cell, so
    /// neighbouring gains rescale the same random matrix (common random numbers: smooth curves in the gain).
    public func spec(_ kind: CellKind, gain: Double, seedIndex: Int) -> RandomModelSpec {
        RandomModelSpec(kind: kind, hidden: hidden, input: input, steps: steps, gain: gain, seed: seed &+ UInt64(seedIndex),
                        initialization: initialization, forgetBias: forgetBias, inputScale: inputScale)
    }
}

/// One model of the sweep.
public struct SweepPoint: Sendable, Equatable {
    public var cell: CellKind
    public var gain: Double
    public var seedIndex: Int
    /// Top Lyapunov exponent λ_1, nats per step (−∞ when the product became exactly zero).
    public var exponent: Double
    /// Step at which the forward pass overflowed (the exponent then covers the steps before it).
    public var overflowStep: Int?
}

/// The spread over seeds at one (cell, gain).
public struct SweepStat: Sendable, Equatable {
    public var cell: CellKind
    public var gain: Double
    /// Over the seeds with a finite exponent, nats per step.
    public var mean: Double
    public var std: Double
    public var min: Double
    public var max: Double
    /// Seeds whose product became exactly zero (λ_1 = −∞), excluded from the statistics above.
    public var zeroCount: Int
    public var overflowCount: Int

    public init(cell: CellKind, gain: Double, mean: Double, std: Double, min: Double, max: Double, zeroCount: Int, overflowCount: Int) {
        self.cell = cell; self.gain = gain; self.mean = mean; self.std = std; self.min = min; self.max = max
        self.zeroCount = zeroCount; self.overflowCount = overflowCount
    }
}

public struct SweepResult: Sendable {
    public var options: SweepOptions
    /// Every point, in (cell, gain, seed) order whatever the scheduling.
    public var points: [SweepPoint]
    public var stats: [SweepStat]
    /// Per cell: the gain where the mean exponent first crosses 0 upwards (linear interpolation), if any.
    public var edges: [(cell: CellKind, gain: Double?)]
    /// Per cell: the edge as an interval from the seeds' spread: from the gain where the largest seed's λ₁
    /// first reaches 0 to the gain where the smallest seed's does (nil ends: not in the swept range).
    public var edgeIntervals: [(cell: CellKind, lower: Double?, upper: Double?)] {
        edges.map { e in
            let s = stats(for: e.cell)
            return (e.cell, SweepExperiment.crossing(s, \.max), SweepExperiment.crossing(s, \.min))
        }
    }
    public var wallSeconds: Double
    public var jobs: Int

    public func stats(for cell: CellKind) -> [SweepStat] { stats.filter { $0.cell == cell } }
}

/// A sweep ended early because `stop()` said so.
public struct SweepCancelled: Error {
    public var done: Int
}

public enum SweepExperiment {
    /// Runs every point, in parallel on `options.jobs` threads. OpenBLAS is set to one thread meanwhile
    /// (its own threads would compete with the workers); results are stored by index, so the output does
    /// not depend on scheduling. `progress(done, total)` is called (serialised) after each point.
    /// - Parameters:
    ///   - point: called (serialised, in finishing order) with each point as it is done, and the count done.
    ///   - stop: asked before each point; true ends the sweep with `SweepCancelled`.
    ///   - singleThreadedBLAS: set OpenBLAS to one thread meanwhile (the CLI); the explorer's BLAS already is.
    public static func run(_ o: SweepOptions, progress: (@Sendable (Int, Int) -> Void)? = nil,
                           point: ((SweepPoint, _ done: Int, _ total: Int) -> Void)? = nil,
                           stop: (() -> Bool)? = nil, singleThreadedBLAS: Bool = true) throws -> SweepResult {
        try o.validate()
        let g = o.gains.values, cells = o.cells, seeds = o.seeds
        let total = o.pointCount
        let jobs = min(o.effectiveJobs, total)
        let warmup = o.effectiveWarmup
        let results = UnsafeMutableBufferPointer<SweepPoint?>.allocate(capacity: total)
        results.initialize(repeating: nil)
        defer { results.deallocate() }
        let lock = NSLock()
        var next = 0, done = 0
        var firstError: Error?

        func compute(_ i: Int) throws -> SweepPoint {
            let s = i % seeds, gi = (i / seeds) % g.count, ci = i / (seeds * g.count)
            let model = RandomModels.make(o.spec(cells[ci], gain: g[gi], seedIndex: s))
            let traj = try Trajectory(model: model)
            let lambda: Double
            if traj.steps == 0 {
                lambda = .infinity
            } else {
                lambda = try Lyapunov.exponents(traj, count: 1, warmup: warmup).top
            }
            return SweepPoint(cell: cells[ci], gain: g[gi], seedIndex: s, exponent: lambda, overflowStep: traj.overflowStep)
        }

        let savedThreads = BLAS.threads
        if singleThreadedBLAS { BLAS.threads = 1 }
        defer { if singleThreadedBLAS { BLAS.threads = savedThreads } }
        var cancelled = false
        let start = DispatchTime.now().uptimeNanoseconds
        DispatchQueue.concurrentPerform(iterations: jobs) { _ in
            while true {
                lock.lock()
                let i = next
                next += 1
                if !cancelled, let stop, stop() { cancelled = true }
                let end = i >= total || firstError != nil || cancelled
                lock.unlock()
                if end { return }
                do {
                    let p = try compute(i)
                    results[i] = p   // each index is written by exactly one worker
                } catch {
                    lock.lock(); if firstError == nil { firstError = error }; lock.unlock()
                    return
                }
                lock.lock()
                done += 1
                let d = done
                progress?(d, total)
                point?(results[i]!, d, total)
                lock.unlock()
            }
        }
        let wall = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        if let e = firstError { throw GradLabError.failed("sweep failed: \(e)") }
        if cancelled { throw SweepCancelled(done: done) }
        let points = results.map { $0! }
        let stats = summarize(points, options: o)
        let edges = cells.map { c in (cell: c, gain: edge(stats.filter { $0.cell == c })) }
        return SweepResult(options: o, points: points, stats: stats, edges: edges, wallSeconds: wall, jobs: jobs)
    }

    static func summarize(_ points: [SweepPoint], options o: SweepOptions) -> [SweepStat] {
        var out: [SweepStat] = []
        var i = 0
        while i < points.count {
            let group = points[i..<(i + o.seeds)]
            let finite = group.map(\.exponent).filter(\.isFinite)
            let zeros = group.filter { $0.exponent == -.infinity }.count
            let mean = finite.isEmpty ? (zeros > 0 ? -.infinity : .nan) : finite.reduce(0, +) / Double(finite.count)
            let std = finite.count > 1 ? (finite.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(finite.count - 1)).squareRoot() : 0
            out.append(SweepStat(cell: group.first!.cell, gain: group.first!.gain, mean: mean, std: std,
                                 min: finite.min() ?? mean, max: finite.max() ?? mean, zeroCount: zeros,
                                 overflowCount: group.filter { $0.overflowStep != nil }.count))
            i += o.seeds
        }
        return out
    }

    /// The first upward zero crossing of the mean exponent, linearly interpolated between gains.
    public static func edge(_ stats: [SweepStat]) -> Double? { crossing(stats, \.mean) }

    /// The first upward zero crossing of one statistic (mean, min or max over seeds), linearly interpolated.
    public static func crossing(_ stats: [SweepStat], _ key: KeyPath<SweepStat, Double>) -> Double? {
        guard stats.count >= 2 else { return nil }
        if let first = stats.first, first[keyPath: key] >= 0 { return nil }
        for k in 0..<(stats.count - 1) {
            let a = stats[k][keyPath: key], b = stats[k + 1][keyPath: key]
            let ya = a == -.infinity ? -1e300 : a
            guard ya.isFinite, b.isFinite else { continue }
            if ya < 0 && b >= 0 {
                if a == -.infinity { return stats[k + 1].gain }
                return stats[k].gain + (stats[k + 1].gain - stats[k].gain) * (-ya) / (b - ya)
            }
        }
        return nil
    }

    /// Theory for a discrete-time tanh network without input, linearised at its zero state: every
    /// Jacobian is W_hh, so λ₁ = log ρ(W_hh) ≈ log g (nats per step) for N(0, g²/n) weights. Below g = 1 the
    /// zero state is stable and the trajectory stays there; above it the state leaves zero, tanh saturates,
    /// and the measured λ₁ falls below log g.
    public static func zeroStateExponent(gain g: Double) -> Double { log(g) }

    /// Summary: per cell the exponent at a few gains and the edge.
    public static func table(_ r: SweepResult, decades: Bool) -> String {
        let unit = decades ? 1 / M_LN10 : 1
        let gains = r.options.gains.values
        let shown = Array(Set([0, gains.count / 4, gains.count / 2, 3 * gains.count / 4, gains.count - 1])).sorted()
        var t = TextTable(["cell"] + shown.map { "g=\(Format.fixed(gains[$0], 2))" } + ["edge (mean λ₁ = 0)", "edge interval (seeds' spread)"])
        let intervals = r.edgeIntervals
        for (k, (cell, edge)) in r.edges.enumerated() {
            let s = r.stats(for: cell)
            var row = [cell.rawValue]
            row += shown.map { i in
                let m = s[i].mean * unit, sd = s[i].std * unit
                return m.isFinite ? "\(Format.fixed(m, 3))±\(Format.fixed(sd, 3))" : Format.fixed(m)
            }
            row.append(edge.map { "g ≈ \(Format.fixed($0, 3))" } ?? "none in range")
            row.append(intervalText(intervals[k].lower, intervals[k].upper, gains: gains))
            t.add(row)
        }
        let o = r.options
        let title = "top Lyapunov exponent λ₁ (\(decades ? "decades" : "nats") per step, mean±std over \(o.seeds) seeds; n=\(o.hidden), T=\(o.steps), warm-up \(o.effectiveWarmup))"
        return title + "\n" + t.render()
            + "\nedge interval: from where the largest seed's λ₁ reaches 0 to where the smallest seed's does; theory for tanh without input: λ₁ = log g below g = 1"
    }

    /// "1.02–1.31", with open ends when a crossing lies outside the swept gains.
    public static func intervalText(_ lo: Double?, _ hi: Double?, gains: [Double]) -> String {
        switch (lo, hi) {
        case let (l?, h?): return "g ∈ \(Format.fixed(l, 2))–\(Format.fixed(h, 2))"
        case let (l?, nil): return "g ≥ \(Format.fixed(l, 2)) (beyond \(Format.fixed(gains.last ?? l, 2)))"
        default: return "none in range"
        }
    }

    public static let csvHeader = ["cell", "gain", "seeds", "mean_nats", "std_nats", "min_nats", "max_nats",
                                   "mean_decades", "std_decades", "min_decades", "max_decades", "zero_seeds", "overflow_seeds"]

    /// One row per (cell, gain) with the spread over seeds.
    public static func csv(_ r: SweepResult) -> String {
        var lines = [csvHeader.joined(separator: ",")]
        for s in r.stats {
            let nats = [s.mean, s.std, s.min, s.max]
            lines.append(([s.cell.rawValue, Format.exact(s.gain), "\(r.options.seeds)"] + nats.map(Format.exact)
                          + nats.map { Format.exact($0 / M_LN10) } + ["\(s.zeroCount)", "\(s.overflowCount)"]).joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Everything: parameters, per-point exponents, statistics and edges. Timing is left out so that the
    /// same seed gives byte-identical files.
    public static func json(_ r: SweepResult) throws -> Data {
        let o = r.options
        let params: [String: Any] = ["cells": o.cells.map(\.rawValue), "gains": o.gains.values, "seeds": o.seeds, "seed": o.seed,
                                     "hidden": o.hidden, "input": o.input, "steps": o.steps, "warmup": o.effectiveWarmup,
                                     "init": o.initialization.rawValue, "forget_bias": o.forgetBias, "input_scale": o.inputScale]
        let stats: [[String: Any]] = r.stats.map { s in
            ["cell": s.cell.rawValue, "gain": s.gain, "mean_nats": Format.json(s.mean), "std_nats": Format.json(s.std),
             "min_nats": Format.json(s.min), "max_nats": Format.json(s.max), "mean_decades": Format.json(s.mean / M_LN10),
             "zero_seeds": s.zeroCount, "overflow_seeds": s.overflowCount]
        }
        let points: [[String: Any]] = r.points.map { p in
            ["cell": p.cell.rawValue, "gain": p.gain, "seed": p.seedIndex, "lambda_nats": Format.json(p.exponent),
             "overflow_step": p.overflowStep.map { $0 as Any } ?? NSNull()]
        }
        let intervals = r.edgeIntervals
        let edges: [[String: Any]] = r.edges.enumerated().map { k, e in
            ["cell": e.cell.rawValue, "gain": e.gain.map { $0 as Any } ?? NSNull(),
             "interval_lower": intervals[k].lower.map { $0 as Any } ?? NSNull(),
             "interval_upper": intervals[k].upper.map { $0 as Any } ?? NSNull()]
        }
        return try JSONOut.data(["format": "gradlab.sweep/1", "parameters": params, "stats": stats, "points": points, "edges": edges])
    }
}
