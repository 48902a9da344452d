import Charts
import Foundation
import Dynamics
import Linear

/// The "spectrum" experiment: every singular value of ∂h_t/∂h_k at a few lags, per cell.
public enum SpectrumExperiment {
    public struct CellSpectra: Sendable {
        public var label: String
        public var kind: CellKind
        public var spectra: [SingularSpectrum]
        public var overflowStep: Int?
    }

    /// Default lags: 1, 10, 30% and 100% of T (distinct, sorted).
    public static func defaultLags(steps t: Int) -> [Int] {
        Array(Set([1, 10, max(1, t * 3 / 10), t].filter { $0 >= 1 && $0 <= t })).sorted()
    }

    public static func run(_ o: CurvesOptions, lags: [Int]?, block: SpectrumBlock = .hidden) throws -> [CellSpectra] {
        try run(models: CurvesExperiment.models(o), lags: lags, block: block)
    }

    /// The spectra of given models (the explorer's view of an uploaded model's layer).
    public static func run(models: [(label: String, model: Model)], lags: [Int]?, block: SpectrumBlock = .hidden) throws -> [CellSpectra] {
        try models.map { label, model in
            let traj: Trajectory
            do { traj = try Trajectory(model: model) } catch { throw GradLabError.data("\(label): \(error)") }
            let want = lags ?? defaultLags(steps: traj.steps)
            if let bad = want.first(where: { $0 < 0 || $0 > model.steps }) {
                throw GradLabError.usage("--lags: lag \(bad) is outside 0…\(model.steps) (the run has \(model.steps) steps)")
            }
            do {
                return CellSpectra(label: label, kind: model.kind, spectra: try SingularSpectra.compute(traj, lags: want, block: block),
                                   overflowStep: traj.overflowStep)
            } catch { throw GradLabError.data("\(label): \(error)") }
        }
    }

    /// Per cell and lag: σ_1, σ_n, the condition number, how many directions lie within 1 and 3 decades of
    /// σ_1, and how many are resolved above the round-off floor.
    public static func table(_ results: [CellSpectra]) -> String {
        var t = TextTable(["cell", "lag", "σ₁", "σ_min", "log10 σ₁/σ_min", "within 1 dec", "within 3 dec", "resolved"])
        for r in results {
            for s in r.spectra {
                let top = s.log10Values.first ?? .nan, bottom = s.log10Values.last ?? .nan
                let cond = s.resolvedCount == s.log10Values.count ? Format.fixed(top - bottom, 1) : "> \(Format.fixed(top - s.log10Floor, 1))"
                t.add([r.label, "\(s.lag)", CurvesExperiment.sci(top),
                       s.resolvedCount == s.log10Values.count ? CurvesExperiment.sci(bottom) : "< floor",
                       cond, "\(s.count(withinDecades: 1))", "\(s.count(withinDecades: 3))",
                       "\(s.resolvedCount)/\(s.log10Values.count)"])
            }
        }
        return "singular values of ∂h_t/∂h_k at t = T (values below σ₁·n·ε are round-off, not resolved)\n" + t.render()
    }

    public static func csv(_ results: [CellSpectra]) -> String {
        var lines = ["cell,lag,index,log10_sigma,resolved"]
        for r in results {
            for s in r.spectra {
                for (i, v) in s.log10Values.enumerated() {
                    lines.append("\(r.label),\(s.lag),\(i + 1),\(Format.exact(v)),\(v.isFinite && v > s.log10Floor ? 1 : 0)")
                }
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    public static func json(_ results: [CellSpectra], options o: CurvesOptions) throws -> Data {
        let cells: [[String: Any]] = results.map { r in
            ["cell": r.label, "kind": r.kind.rawValue,
             "spectra": r.spectra.map { s -> [String: Any] in
                ["lag": s.lag, "log10_sigma": s.log10Values.map(Format.json), "log10_floor": Format.json(s.log10Floor),
                 "resolved": s.resolvedCount, "within_1_decade": s.count(withinDecades: 1)]
             }]
        }
        let params: [String: Any] = o.modelPaths.isEmpty
            ? ["hidden": o.hidden, "input": o.input, "steps": o.steps, "gain": o.gain, "seed": o.seed, "init": o.initialization.rawValue]
            : ["models": o.modelPaths]
        return try JSONOut.data(["format": "gradlab.spectrum/1", "parameters": params, "cells": cells])
    }

    /// One panel per cell: log10 σ_i against the index i, one line per lag; resolved values only.
    public static func figure(_ results: [CellSpectra], size: ChartSize = ChartSize()) -> Figure {
        let cols = min(results.count, 3), rows = (results.count + cols - 1) / max(cols, 1)
        let fig = size.figure(rows: max(rows, 1), cols: max(cols, 1))
        fig.title = "How many directions survive: singular values of ∂h_{t}/∂h_{k} at several lags"
        fig.sharedLegend = true        // the same lags in every panel: one legend
        for (i, r) in results.enumerated() {
            let ax = fig[i / cols, i % cols]
            ax.title = r.label
            ax.xLabel = "index i (largest first)"
            ax.yLabel = "σ_{i}(∂h_{t}/∂h_{k})"
            ax.yScale = .log10Data
            var hidden = 0
            for (j, s) in r.spectra.enumerated() {
                let pts = s.log10Values.enumerated().filter { $0.element.isFinite && $0.element > s.log10Floor }
                hidden += s.log10Values.count - pts.count
                guard !pts.isEmpty else { continue }
                ax.plot(pts.map { Double($0.offset + 1) }, pts.map(\.element), label: "lag \(s.lag)", color: Palette.color(j),
                        marker: s.log10Values.count <= 32 ? .circle : .none)
            }
            ax.hline(0, label: "σ = 1", color: .gray)
            ax.xRange = 0.5...(Double(r.spectra.first?.log10Values.count ?? 1) + 0.5)
            if hidden > 0 { fig.addNote("\(r.label): \(hidden) singular values below the round-off floor σ₁·n·ε are not drawn") }
        }
        return fig
    }
}

/// The "lyapunov" experiment: Lyapunov spectra of random models (or model files), or of i.i.d. Gaussian
/// products against Newman's formula.
public enum LyapunovExperiment {
    public struct CellExponents: Sendable {
        public var label: String
        public var spectrum: LyapunovSpectrum
        /// Newman's prediction (i.i.d. Gaussian products only).
        public var newman: [Double]?
        /// The curve slope for comparison (decades per step), random models only.
        public var curveSlope: Double?
    }

    public static func run(_ o: CurvesOptions, count: Int?, warmup: Int?) throws -> [CellExponents] {
        try CurvesExperiment.models(o).map { label, model in
            let traj: Trajectory
            do { traj = try Trajectory(model: model) } catch { throw GradLabError.data("\(label): \(error)") }
            if let w = warmup, w >= model.steps { throw GradLabError.usage("--warmup must be less than the number of steps (\(w) ≥ \(model.steps))") }
            do {
                let s = try Lyapunov.exponents(traj, count: count, warmup: warmup ?? traj.steps / 10)
                let c = try CurvesExperiment.analyse(model, label: label, spectral: false)
                return CellExponents(label: label, spectrum: s, newman: nil, curveSlope: c.slope)
            } catch let e as GradLabError { throw e } catch { throw GradLabError.data("\(label): \(error)") }
        }
    }

    /// Products of n×n matrices with i.i.d. N(0, 1/n) entries (seeded), against Newman's formula.
    public static func gaussianProducts(n: Int, steps: Int, seed: UInt64, count: Int?) throws -> CellExponents {
        try Check.positive(n, "--hidden")
        try Check.positive(steps, "--steps")
        try Check.atMost(n, 1024, "--hidden", "each step is an n×n QR")
        var rng = SeededRNG.derived(seed: seed, stream: 7)
        let std = 1 / Double(n).squareRoot()
        let m = min(count ?? n, n)
        let s = try Lyapunov.exponents(dimension: n, count: m, steps: steps) { _, j in
            for i in 0..<(n * n) { j.data[i] = std * rng.gaussian() }
        }
        return CellExponents(label: "i.i.d. N(0, 1/n)", spectrum: s, newman: Array(Lyapunov.newman(n: n, variance: 1 / Double(n)).prefix(m)), curveSlope: nil)
    }

    public static func table(_ results: [CellExponents]) -> String {
        var out: [String] = []
        var t = TextTable(["model", "dim", "λ₁ (nats)", "λ₁ (dec/step)", "×/step", "λ₂", "λ₃", "λ_m", "Σλ", "curve slope (dec)"])
        for r in results {
            let e = r.spectrum.exponents
            func at(_ i: Int) -> String { i < e.count ? Format.fixed(e[i], 4) : "—" }
            t.add([r.label, "\(r.spectrum.dimension)", at(0), Format.fixed(r.spectrum.decadesPerStep[0], 4),
                   Format.fixed(exp(e[0]), 4), at(1), at(2), at(e.count - 1), Format.fixed(r.spectrum.sum, 3),
                   r.curveSlope.map { Format.fixed($0, 4) } ?? "—"])
        }
        out.append("Lyapunov exponents by the QR method (nats per step unless noted; \(results.first.map { "\($0.spectrum.steps) steps averaged after \($0.spectrum.warmup) warm-up" } ?? ""))")
        out.append(t.render())
        for r in results {
            guard let nm = r.newman else { continue }
            let e = r.spectrum.exponents
            let num = zip(e, nm).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }, den = nm.reduce(0) { $0 + $1 * $1 }
            let maxAbs = zip(e, nm).map { abs($0 - $1) }.max() ?? 0
            out.append("Newman: relative ℓ2 error \(Format.fixed(100 * (num / den).squareRoot(), 2))%, largest |λ_i − Newman_i| = \(Format.fixed(maxAbs, 4)) nats; λ₁ = \(Format.fixed(e[0], 4)) vs \(Format.fixed(nm[0], 4)), λ_m = \(Format.fixed(e[e.count - 1], 4)) vs \(Format.fixed(nm[nm.count - 1], 4))")
        }
        return out.joined(separator: "\n")
    }

    public static func csv(_ results: [CellExponents]) -> String {
        var lines = ["model,index,lambda_nats,lambda_decades,newman_nats"]
        for r in results {
            for (i, v) in r.spectrum.exponents.enumerated() {
                lines.append("\(r.label),\(i + 1),\(Format.exact(v)),\(Format.exact(v / M_LN10)),\(r.newman.map { Format.exact($0[i]) } ?? "")")
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    public static func json(_ results: [CellExponents]) throws -> Data {
        try JSONOut.data(["format": "gradlab.lyapunov/1", "models": results.map { r -> [String: Any] in
            var d: [String: Any] = ["model": r.label, "dimension": r.spectrum.dimension, "steps": r.spectrum.steps,
                                    "warmup": r.spectrum.warmup, "lambda_nats": r.spectrum.exponents.map(Format.json),
                                    "lambda_decades": r.spectrum.decadesPerStep.map(Format.json)]
            if let n = r.newman { d["newman_nats"] = n }
            if let c = r.curveSlope { d["curve_slope_decades"] = Format.json(c) }
            return d
        }])
    }

    /// Left: the exponents against their index (Newman's curve when present). Right: the running estimate
    /// of λ₁ converging over the steps, with a ±2 standard-error band from the per-step stretches.
    public static func figure(_ results: [CellExponents], size: ChartSize = ChartSize()) -> Figure {
        let fig = size.figure(rows: 1, cols: 2)
        let iid = results.contains { $0.newman != nil }
        fig.title = iid ? "Lyapunov spectrum of products of i.i.d. Gaussian matrices vs Newman's formula"
                        : "Lyapunov exponents: the per-step growth rates of 1, 2, 3 … directions"
        let spec = fig[0, 0], conv = fig[0, 1]
        fig.sharedLegend = !iid        // both panels: one line per model, same labels
        spec.title = "Lyapunov spectrum"
        spec.xLabel = "index i"
        spec.yLabel = "λ_{i} (nats per step)"
        conv.title = "Convergence of the top exponent λ_{1}"
        conv.xLabel = "steps averaged"
        conv.yLabel = "running estimate of λ_{1} (nats per step)"
        let markers = results.allSatisfy { $0.spectrum.exponents.count <= 40 }
        for (k, r) in results.enumerated() {
            let e = r.spectrum.exponents
            let minusInf = e.filter { $0 == -.infinity }.count
            if minusInf > 0 { fig.addNote("\(r.label): \(minusInf) exponent(s) are −∞ (directions mapped exactly to zero, e.g. ReLU units off) and not drawn") }
            let color = Palette.color(k)
            let idx = e.indices.map { Double($0 + 1) }
            let ok = e.indices.filter { e[$0].isFinite }
            if let nm = r.newman {
                spec.plot(idx, nm, label: "Newman's formula", color: .darkGray, width: 2, dash: .dashed)
                spec.scatter(ok.map { idx[$0] }, ok.map { e[$0] }, label: "QR method, \(r.spectrum.steps) steps", color: color,
                             marker: .circle, size: 6)
            } else {
                spec.plot(ok.map { idx[$0] }, ok.map { e[$0] }, label: r.label, color: color, marker: markers ? .circle : .none)
            }
            let run = r.spectrum.runningTop
            // Skip the first few noisy estimates so the axis shows the convergence, not step 1's jitter.
            let from = min(run.count - 1, max(0, run.count / 50))
            let pts = (from..<run.count).filter { run[$0].isFinite }
            // ±2 standard errors of the running mean: per-step stretches l_K = K·r_K − (K−1)·r_{K−1}, their
            // running standard deviation s_K, band r_K ± 2 s_K/√K. A converged estimate keeps the true value
            // inside a band that narrows like 1/√K.
            var mean = 0.0, m2 = 0.0, prev = 0.0
            var se = [Double](repeating: .nan, count: run.count)
            for i in run.indices where run[i].isFinite {
                let k = Double(i + 1)
                let l = k * run[i] - (k - 1) * prev
                prev = run[i]
                let d = l - mean
                mean += d / k
                m2 += d * (l - mean)
                if i >= 1 { se[i] = (m2 / (k - 1)).squareRoot() / k.squareRoot() }
            }
            let bandPts = pts.filter { se[$0].isFinite }
            if bandPts.count >= 2 {
                conv.band(bandPts.map { Double($0 + 1) }, lower: bandPts.map { run[$0] - 2 * se[$0] },
                          upper: bandPts.map { run[$0] + 2 * se[$0] }, label: k == 0 ? "± 2 standard errors" : nil, color: color, alpha: 0.2)
            }
            conv.plot(pts.map { Double($0 + 1) }, pts.map { run[$0] }, label: r.label, color: color, width: 2)
            if let nm = r.newman { conv.hline(nm[0], label: "Newman λ_{1} = \(Format.fixed(nm[0], 4))", color: .darkGray) }
        }
        spec.hline(0, color: .gray, dash: .solid, width: 1)
        if !iid { conv.hline(0, label: "λ_{1} = 0: the edge", color: .gray) }
        return fig
    }
}
