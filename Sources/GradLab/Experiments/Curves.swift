import Foundation
import Dynamics
import Linear

/// Parameters of the "curves" experiment: ‖∂h_t/∂h_k‖ against the lag t − k, one curve per cell.
public struct CurvesOptions: Sendable {
    public var cells: [CellKind] = [.sigmoid, .tanh, .relu, .irnn, .lstm]
    public var hidden = 32
    public var input = 8
    public var steps = 100
    public var gain = 1.0
    public var seed: UInt64 = 0
    public var norm: NormKind = .spectral
    public var initialization: RecurrentInit = .gaussian
    public var forgetBias = 0.0
    public var leakRange: ClosedRange<Double> = 0.02...0.2
    /// Standard deviation of the random inputs x_t (small values keep tanh units out of saturation).
    public var inputScale = 1.0
    /// Skip cells: the skip length D.
    public var skipLength = 4
    /// Extra gains: one curve per (cell, gain) when non-empty (otherwise `gain` alone).
    public var gains: [Double] = []
    /// Analyse these gradlab.model/1 files instead of random models.
    public var modelPaths: [String] = []
    /// Vanilla cells: f-of-sum (h_t = f(W h_{t−1} + U x_t + b), the default) or w-of-f (h_t = W f(h_{t−1}) + U x_t + b).
    public var form: VanillaForm = .fOfSum
    /// Random stacks of this many layers (PyTorch's layout, `RandomModels.makeStack`); 1 = one layer.
    public var layers = 1
    /// The deepest stack `--layers` builds.
    public static let maxLayers = 16
    public init() {}

    public func validate() throws {
        try Check.positive(hidden, "--hidden")
        try Check.nonNegative(input, "--input")
        try Check.positive(steps, "--steps")
        try Check.positive(gain, "--gain")
        try Check.finite(forgetBias, "--forget-bias")
        try Check.finite(inputScale, "--input-scale")
        guard inputScale >= 0 else { throw GradLabError.usage("--input-scale must be zero or positive (got \(inputScale))") }
        for g in gains { try Check.positive(g, "--gains") }
        guard skipLength >= 2 && skipLength <= 64 else { throw GradLabError.usage("--skip must lie between 2 and 64 (got \(skipLength))") }
        try Check.atMost(hidden, 4096, "--hidden", "larger state sizes do not fit this tool's dense n×n products")
        try Check.atMost(steps, 1_000_000, "--steps", "longer runs would not fit in memory")
        guard !cells.isEmpty || !modelPaths.isEmpty else { throw GradLabError.usage("--cells must name at least one cell") }
        guard layers >= 1 && layers <= CurvesOptions.maxLayers else {
            throw GradLabError.usage("--layers must lie between 1 and \(CurvesOptions.maxLayers) (got \(layers))")
        }
        if layers > 1 {
            guard modelPaths.isEmpty else {
                throw GradLabError.usage("--layers builds random stacks and does not apply to --model files (analyse a saved stack with gradlab import)")
            }
            if let bad = cells.first(where: { !RandomModels.stackable($0) }) {
                throw GradLabError.usage("--layers: \(bad.rawValue) cells cannot be stacked in PyTorch's layout (their parameters are not in a state_dict); use sigmoid, tanh, relu, linear, irnn, lstm or gru")
            }
            guard form == .fOfSum else {
                throw GradLabError.usage("--form w-of-f takes one layer: --layers builds PyTorch's stacked layout, which has only the f-of-sum form")
            }
        }
        if form == .wOfF {
            guard modelPaths.isEmpty else {
                throw GradLabError.usage("--form applies to random models; a model file states its own form (\"form\": \"w-of-f\")")
            }
            if let bad = cells.first(where: { !$0.hasVanillaForms }) {
                throw GradLabError.usage("--form w-of-f applies to the vanilla cells (sigmoid, tanh, relu, linear, irnn), not to \(bad.rawValue): pass --cells")
            }
        }
    }

    public func spec(_ kind: CellKind, gain: Double? = nil) -> RandomModelSpec {
        RandomModelSpec(kind: kind, hidden: hidden, input: input, steps: steps, gain: gain ?? self.gain, seed: seed,
                        initialization: initialization, forgetBias: forgetBias, leakRange: leakRange, inputScale: inputScale,
                        skipLength: skipLength, form: form)
    }
}

public enum Regime: String, Sendable {
    case vanishing, exploding, neutral
}

/// The analysis of one model.
public struct CellCurves: Sendable {
    public var label: String
    public var model: Model
    public var curves: ProductCurves
    /// Forward pass overflowed at this step (the analysis covers the steps before it).
    public var overflowStep: Int?
    /// ‖W_hh‖₂ of the (stacked) recurrent matrix.
    public var betaW: Double
    /// sup|f′| for vanilla-type cells; nil for gated cells, whose bound is per step (see LSTMCell, GRUCell).
    public var betaH: Double?
    /// Mean per-step rate of log10‖∂h_t/∂h_k‖ (decades per step) over the lags after the warm-up
    /// (see `CurvesExperiment.rate`): the stable estimate the regime is decided on.
    public var slope: Double
    /// Half-width of the 95 % interval of `slope`, from the spread of block means.
    public var slopeHalfWidth: Double
    public var regime: Regime
    /// First lag at which the product is exactly zero (all ReLUs off somewhere), if any.
    public var zeroFromLag: Int?
    /// log10(bound) − log10(actual) at the largest lag: how many decades the classical bound overshoots.
    public var boundSlack: Double

    public var kind: CellKind { model.kind }
    /// Growth factor per step, 10^slope.
    public var perStepFactor: Double { pow(10, slope) }
    /// The 95 % interval of the growth factor per step.
    public var perStepInterval: ClosedRange<Double> {
        let h = slopeHalfWidth.isFinite ? slopeHalfWidth : 0
        return pow(10, slope - h)...pow(10, slope + h)
    }

    public func warning() -> String? {
        overflowStep.map { "\(label): the forward pass overflowed at step \($0) (the state reached ±∞); analysing steps 0…\($0 - 1) only" }
    }
}

public enum CurvesExperiment {
    /// Regime threshold in decades per step (≈ ±0.5 % per step).
    public static let neutralBand = 0.002

    /// The labelled models to analyse: loaded files, or one random model per cell.
    public static func models(_ o: CurvesOptions) throws -> [(label: String, model: Model)] {
        try o.validate()
        var out: [(String, Model)] = []
        if o.modelPaths.isEmpty {
            // Leaky cells carry their time constants 1/a in the label: the same numbers read as leak rates or
            // as retentions give very different cells.
            func name(_ k: CellKind) -> String {
                if o.form == .wOfF { return "\(k.rawValue) w-of-f" }
                guard k == .leaky else { return k.rawValue }
                let lo = 1 / o.leakRange.upperBound, hi = 1 / o.leakRange.lowerBound
                func f(_ v: Double) -> String { String(format: "%.3g", v) }      // 5, 50, 1.02, 1.25
                return "leaky τ=" + (f(lo) == f(hi) ? f(lo) : "\(f(lo))–\(f(hi))")
            }
            if o.gains.isEmpty {
                out = o.cells.map { (name($0), RandomModels.make(o.spec($0))) }
            } else {
                out = o.cells.flatMap { k in o.gains.map { g in ("\(name(k)) g=\(Format.short(g))", RandomModels.make(o.spec(k, gain: g))) } }
            }
        } else {
            for path in o.modelPaths {
                let m = try ModelFile.load(path)
                out.append((m.parameters.form == .wOfF ? "\(m.kind.rawValue) w-of-f" : m.kind.rawValue, m))
            }
        }
        // Disambiguate repeated labels ("tanh", "tanh #2").
        var seen: [String: Int] = [:]
        return out.map { label, m in
            seen[label, default: 0] += 1
            return (seen[label]! > 1 ? "\(label) #\(seen[label]!)" : label, m)
        }
    }

    public static func run(_ o: CurvesOptions) throws -> [CellCurves] {
        try models(o).map { try analyse($0.model, label: $0.label) }
    }

    /// `hiddenOnly`: only what the curves chart draws (for the LSTM, h→h without its full-state and c→c
    /// series; see `JacobianProducts.curves`).
    public static func analyse(_ model: Model, label: String, spectral: Bool = true, hiddenOnly: Bool = false) throws -> CellCurves {
        let traj: Trajectory
        do { traj = try Trajectory(model: model) } catch { throw GradLabError.data("\(label): \(error)") }
        let curves = JacobianProducts.curves(traj, spectral: spectral, hiddenOnly: hiddenOnly)
        let main = spectral ? curves.log10Spectral : curves.log10Frobenius
        let t = curves.endStep
        let zeroLag = main.firstIndex { $0 == -.infinity }
        // The regime follows a stable estimate of the rate (its 95 % interval must clear the neutral band);
        // an exact zero (ReLUs all off somewhere) is reported beside it.
        let est = rate(main)
        var slope = est.mean
        var half = est.halfWidth
        var regime = regimeOf(est)
        // Exactly zero from lag 1 on (every unit saturated or off): nothing survives even one step.
        if zeroLag != nil && main.filter(\.isFinite).count < 2 { regime = .vanishing; slope = -.infinity; half = 0 }
        let last = main[t]
        return CellCurves(label: label, model: model, curves: curves, overflowStep: traj.overflowStep,
                          betaW: model.parameters.weightHH.spectralNorm,
                          betaH: model.kind.gateCount == 1 ? model.kind.vanillaActivation?.derivativeSup : nil,
                          slope: slope, slopeHalfWidth: half, regime: regime, zeroFromLag: zeroLag,
                          boundSlack: last.isFinite ? curves.log10Bound[t] - last : .infinity)
    }

    /// Number of consecutive blocks the per-step increments are split into for the rate's interval.
    public static let rateBlocks = 5
    /// Student's t quantile (97.5 %, rateBlocks − 1 = 4 degrees of freedom) for the 95 % interval.
    static let tQuantile = 2.776

    /// The first lag the rate is averaged from: the product needs a few steps to align with its
    /// dominant direction (lag ≥ t/10, at least 1).
    public static func rateWarmup(_ t: Int) -> Int { max(1, t / 10) }

    /// A stable estimate of the per-step rate of a log10 curve (decades per step): the mean increment
    /// y[k] − y[k−1] over lags k > warm-up (= the slope between the warm-up and the last lag), with a 95 %
    /// interval from the spread of the means of `rateBlocks` consecutive blocks of increments (Student t,
    /// 4 degrees of freedom). Short or irregular curves get wide intervals, so they are called neutral rather
    /// than flipping between vanishing and exploding with T. Non-finite increments (exact zeros) are skipped.
    public static func rate(_ y: [Double]) -> (mean: Double, halfWidth: Double) {
        let t = y.count - 1
        guard t >= 1 else { return (0, .infinity) }
        func increments(from w: Int) -> [Double] {
            var d: [Double] = []
            for k in stride(from: w + 1, through: t, by: 1) where y[k].isFinite && y[k - 1].isFinite { d.append(y[k] - y[k - 1]) }
            return d
        }
        var d = increments(from: rateWarmup(t))
        // A product that became exactly zero soon after the warm-up: use every finite lag.
        if d.count < rateBlocks { d = increments(from: 0) }
        if d.count < rateBlocks {
            // Too few lags for blocks (or a product that became exactly zero early): the least-squares slope,
            // with no interval.
            return (tailSlope(y), .infinity)
        }
        let mean = d.reduce(0, +) / Double(d.count)
        var blocks: [Double] = []
        for b in 0..<rateBlocks {
            let lo = b * d.count / rateBlocks, hi = (b + 1) * d.count / rateBlocks
            blocks.append(d[lo..<hi].reduce(0, +) / Double(hi - lo))
        }
        let bm = blocks.reduce(0, +) / Double(rateBlocks)
        let v = blocks.reduce(0) { $0 + ($1 - bm) * ($1 - bm) } / Double(rateBlocks - 1)
        return (mean, tQuantile * (v / Double(rateBlocks)).squareRoot())
    }

    /// Vanishing or exploding only when the whole 95 % interval lies beyond ∓`neutralBand`; otherwise neutral.
    public static func regimeOf(_ r: (mean: Double, halfWidth: Double)) -> Regime {
        if r.mean + r.halfWidth < -neutralBand { return .vanishing }
        if r.mean - r.halfWidth > neutralBand { return .exploding }
        return .neutral
    }

    /// How the table's regime column is decided, in one line.
    public static let regimeRule = "×/step = mean rate over lags ≥ t/10, 95 % interval from 5 block means; regime: vanishing/exploding only if\nthe whole interval lies below ×0.995 / above ×1.005 per step (∓0.002 decades), neutral otherwise"

    /// Least-squares slope of a log10 curve over its second half (lags t/2 … t; all lags when t < 4),
    /// ignoring exact zeros (over every finite lag when the second half has none): the asymptotic
    /// decades-per-step rate.
    public static func tailSlope(_ y: [Double]) -> Double {
        let t = y.count - 1
        guard t >= 1 else { return 0 }
        let lo = t >= 4 ? max(1, t / 2) : 0
        var lags = (lo...t).filter { y[$0].isFinite }
        // A product that became exactly zero early: fit the part that is still finite.
        if lags.count < 2 { lags = (0...t).filter { y[$0].isFinite } }
        guard lags.count >= 2 else { return 0 }
        let xs = lags.map(Double.init), ys = lags.map { y[$0] }
        let mx = xs.reduce(0, +) / Double(xs.count), my = ys.reduce(0, +) / Double(ys.count)
        let sxy = zip(xs, ys).reduce(0) { $0 + ($1.0 - mx) * ($1.1 - my) }
        let sxx = xs.reduce(0) { $0 + ($1 - mx) * ($1 - mx) }
        return sxx > 0 ? sxy / sxx : 0
    }

    /// Lags shown in the summary table.
    static func tableLags(_ t: Int) -> [Int] {
        Array(Set([1, 10, t / 2, t].filter { $0 >= 1 && $0 <= t })).sorted()
    }

    /// A readable summary, one row per cell.
    public static func table(_ results: [CellCurves], norm: NormKind) -> String {
        let t = results.map(\.curves.endStep).max() ?? 0
        let lags = tableLags(t)
        var table = TextTable(["cell", "β_W", "β_h", "×/step", "95 % interval"] + lags.map { "lag \($0)" } + ["regime", "bound slack"])
        for r in results {
            let curve = r.curves.log10Norm(norm)
            var row = [r.label, Format.magnitude(r.betaW), r.betaH.map { Format.fixed($0, 2) } ?? "gated",
                       Format.magnitude(r.perStepFactor), interval(r)]
            row += lags.map { $0 < curve.count ? sci(curve[$0]) : "—" }
            var regime = r.regime.rawValue
            if let z = r.zeroFromLag { regime += " (0 from lag \(z))" }
            row += [regime, r.boundSlack.isFinite ? "\(Format.fixed(abs(r.boundSlack) < 0.05 ? 0 : r.boundSlack, 1)) dec" : "∞"]
            table.add(row)
        }
        let title = "‖∂h_t/∂h_k‖ (\(norm.rawValue) norm) at t = \(t) for a few lags; ×/step = growth factor per step; bound slack = decades between (β_W β_h)^(t−k) and the actual norm at the largest lag"
        return title + "\n" + table.render() + "\n" + regimeRule
    }

    public static func interval(_ r: CellCurves) -> String {
        guard r.slope.isFinite else { return "—" }
        guard r.slopeHalfWidth.isFinite else { return "too short" }
        let i = r.perStepInterval
        return "\(Format.magnitude(i.lowerBound))–\(Format.magnitude(i.upperBound))"
    }

    /// 10^x as text: "3.2e-5" for moderate x, "10^-412.3" beyond Double's range.
    public static func sci(_ log10v: Double) -> String {
        if log10v == -.infinity { return "0" }
        guard log10v.isFinite else { return "—" }
        if abs(log10v) < 300 { return String(format: "%.2e", pow(10, log10v)) }
        return "10^\(Format.fixed(log10v, 1))"
    }

    public static let csvHeader = ["cell", "lag", "log10_spectral", "log10_frobenius", "log10_bound", "log10_trajectory_bound",
                                   "log10_spectral_state", "log10_frobenius_state", "log10_spectral_cell", "log10_frobenius_cell",
                                   "log10_spectral_carousel", "log10_frobenius_carousel"]

    /// One row per cell and lag; LSTM rows fill the state, cell (every path into c: ∂c_t/∂c_k) and carousel
    /// (the direct path ∏ diag(f_j)) columns. −∞ (exact zero) is written "-inf".
    public static func csv(_ results: [CellCurves]) -> String {
        var lines = [csvHeader.joined(separator: ",")]
        for r in results {
            let c = r.curves
            for lag in c.lags {
                var cols = [r.label, "\(lag)", Format.exact(c.log10Spectral[lag]), Format.exact(c.log10Frobenius[lag]),
                            Format.exact(c.log10Bound[lag]), Format.exact(c.log10TrajectoryBound[lag])]
                for extra in [c.log10SpectralState, c.log10FrobeniusState, c.log10SpectralCell, c.log10FrobeniusCell,
                              c.log10SpectralCarousel, c.log10FrobeniusCarousel] {
                    cols.append(extra.map { Format.exact($0[lag]) } ?? "")
                }
                lines.append(cols.joined(separator: ","))
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// JSON with the run's parameters, a summary per cell and its series (null for exact zeros).
    public static func json(_ results: [CellCurves], options o: CurvesOptions) throws -> Data {
        let cells: [[String: Any]] = results.map { r in
            let c = r.curves
            let series: [[String: Any]] = c.lags.map { lag in
                var row: [String: Any] = ["lag": lag, "log10_spectral": Format.json(c.log10Spectral[lag]),
                                          "log10_frobenius": Format.json(c.log10Frobenius[lag]),
                                          "log10_bound": Format.json(c.log10Bound[lag]),
                                          "log10_trajectory_bound": Format.json(c.log10TrajectoryBound[lag])]
                if let s = c.log10SpectralState, let f = c.log10FrobeniusState, let sc = c.log10SpectralCell, let fc = c.log10FrobeniusCell {
                    row["log10_spectral_state"] = Format.json(s[lag]); row["log10_frobenius_state"] = Format.json(f[lag])
                    row["log10_spectral_cell"] = Format.json(sc[lag]); row["log10_frobenius_cell"] = Format.json(fc[lag])
                }
                if let s = c.log10SpectralCarousel, let f = c.log10FrobeniusCarousel {
                    row["log10_spectral_carousel"] = Format.json(s[lag]); row["log10_frobenius_carousel"] = Format.json(f[lag])
                }
                return row
            }
            return ["cell": r.label, "kind": r.kind.rawValue, "hidden_size": r.model.parameters.hiddenSize,
                    "t": c.endStep, "beta_w": Format.json(r.betaW), "beta_h": r.betaH.map { $0 as Any } ?? NSNull(),
                    "log10_growth_per_step": Format.json(r.slope),
                    "log10_growth_per_step_95ci_half_width": Format.json(r.slopeHalfWidth), "regime": r.regime.rawValue,
                    "zero_from_lag": r.zeroFromLag.map { $0 as Any } ?? NSNull(),
                    "overflow_step": r.overflowStep.map { $0 as Any } ?? NSNull(),
                    "bound_slack_decades": Format.json(r.boundSlack), "series": series]
        }
        let params: [String: Any] = o.modelPaths.isEmpty
            ? ["hidden": o.hidden, "input": o.input, "steps": o.steps, "gain": o.gains.isEmpty ? [o.gain] : o.gains, "seed": o.seed,
               "input_scale": o.inputScale,
               "init": o.initialization.rawValue, "forget_bias": o.forgetBias, "norm": o.norm.rawValue]
                .merging(o.form == .fOfSum ? [:] : ["form": o.form.rawValue]) { a, _ in a }
                .merging(o.layers == 1 ? [:] : ["layers": o.layers]) { a, _ in a }
            : ["models": o.modelPaths, "norm": o.norm.rawValue]
        return try JSONOut.data(["format": "gradlab.curves/1", "parameters": params, "cells": cells])
    }
}
