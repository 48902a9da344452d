import Foundation
import Dynamics
import Linear

/// The analysis of an imported (trained) network: every layer on its own (curves, bound, top Lyapunov
/// exponents) and the gradient of the top layer's output through depth and time.
public struct ImportReport: Sendable {
    public var source: String
    public var inputSource: String
    /// One per layer, labelled like the curves experiment ("tanh" for a single layer, "l0-lstm", "l1-lstm", …).
    public var layers: [CellCurves]
    /// Top exponents of each layer's state dynamics (driven by the layer below), nats per step.
    public var exponents: [LyapunovSpectrum]
    /// log10‖∂h^L_t/∂h^l_k‖ for every layer l and lag (present for every depth; for one layer it equals the curve).
    public var grid: DepthTimeGrid
    public var overflowWarning: String?
}

public enum ImportExperiment {
    /// Runs the stack forward once and analyses every layer with the inputs its lower layer produced.
    /// - Parameters:
    ///   - exponents: how many top Lyapunov exponents per layer.
    ///   - warmup: leading steps not averaged for the exponents (nil = steps/10).
    public static func run(_ imported: WeightImport.Imported, source: String, exponents m: Int = 3,
                           warmup: Int? = nil) throws -> ImportReport {
        try Check.positive(m, "--exponents")
        let run: StackedTrajectory
        do { run = try StackedTrajectory(model: imported.model) } catch { throw GradLabError.data("\(source): \(error)") }
        let depth = run.layers.count
        var layers: [CellCurves] = [], spectra: [LyapunovSpectrum] = []
        for l in 0..<depth {
            let kind = run.models[l].kind.rawValue
            let label = imported.model.depth == 1 ? kind : "l\(l)-\(kind)"
            layers.append(try CurvesExperiment.analyse(run.models[l], label: label))
            let tr = run.layers[l]
            if tr.steps == 0 { throw GradLabError.data("\(source): layer \(l) overflowed at its first step") }
            do {
                spectra.append(try Lyapunov.exponents(tr, count: m, warmup: warmup ?? tr.steps / 10))
            } catch { throw GradLabError.data("\(source): layer \(l): \(error)") }
        }
        var warning: String?
        if run.steps < imported.model.inputs.count || depth < imported.model.depth {
            warning = "the forward pass overflowed: analysing steps 0…\(run.steps) of the \(depth) layer(s) that ran"
        }
        return ImportReport(source: source, inputSource: imported.inputSource, layers: layers, exponents: spectra,
                            grid: MultilayerProducts.grid(run), overflowWarning: warning)
    }

    public static func table(_ r: ImportReport) -> String {
        var t = TextTable(["layer", "cell", "n", "d", "β_W", "×/step (curve)", "λ₁ (dec/step)", "λ₁…λ_m (nats/step)", "regime"])
        for (l, (c, e)) in zip(r.layers, r.exponents).enumerated() {
            let p = c.model.parameters
            t.add(["\(l)", p.kind.rawValue, "\(p.hiddenSize)", "\(p.inputSize)", Format.fixed(c.betaW, 3),
                   Format.magnitude(c.perStepFactor), Format.fixed(e.decadesPerStep.first ?? .nan, 4),
                   e.exponents.map { Format.fixed($0, 3) }.joined(separator: " "), c.regime.rawValue])
        }
        var out = "\(r.source): \(r.layers.count) layer(s), inputs: \(r.inputSource), T = \(r.grid.endStep)\n" + t.render()
        let g = r.grid
        let lags = Array(Set([0, 1, 10, g.endStep / 2, g.endStep].filter { $0 <= g.endStep })).sorted()
        var gt = TextTable(["∂h^top_t/∂h^l_k"] + lags.map { "lag \($0)" })
        for l in 0..<g.log10Spectral.count {
            gt.add(["layer \(l)"] + lags.map { CurvesExperiment.sci(g.log10Spectral[l][$0]) })
        }
        out += "\n\nthrough depth and time (spectral norm, top layer's h at t = \(g.endStep))\n" + gt.render()
        return out
    }

    /// The depth × lag grid: layer, lag, log10 spectral and Frobenius norms.
    public static func gridCSV(_ r: ImportReport) -> String {
        var lines = ["layer,lag,log10_spectral,log10_frobenius"]
        for l in 0..<r.grid.log10Spectral.count {
            for lag in r.grid.lags {
                lines.append("\(l),\(lag),\(Format.exact(r.grid.log10Spectral[l][lag])),\(Format.exact(r.grid.log10Frobenius[l][lag]))")
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    public static func json(_ r: ImportReport) throws -> Data {
        let layers: [[String: Any]] = zip(r.layers, r.exponents).map { c, e in
            let p = c.model.parameters
            return ["label": c.label, "cell": p.kind.rawValue, "hidden_size": p.hiddenSize, "input_size": p.inputSize,
                    "beta_w": Format.json(c.betaW), "log10_growth_per_step": Format.json(c.slope), "regime": c.regime.rawValue,
                    "lyapunov_nats": e.exponents.map(Format.json), "lyapunov_decades": e.decadesPerStep.map(Format.json),
                    "log10_spectral": c.curves.log10Spectral.map(Format.json), "log10_bound": c.curves.log10Bound.map(Format.json)]
        }
        let grid: [[String: Any]] = r.grid.log10Spectral.indices.map { l in
            ["layer": l, "log10_spectral": r.grid.log10Spectral[l].map(Format.json), "log10_frobenius": r.grid.log10Frobenius[l].map(Format.json)]
        }
        return try JSONOut.data(["format": "gradlab.import/1", "source": r.source, "inputs": r.inputSource,
                                 "t": r.grid.endStep, "layers": layers, "depth_time": grid])
    }
}

import Charts

extension ImportExperiment {
    /// Left: each layer's own ‖∂h^l_t/∂h^l_k‖ with its classical bound. Right: the top layer's gradient reaching
    /// each layer, ‖∂h^L_t/∂h^l_k‖, through depth and time.
    public static func figure(_ r: ImportReport, size: ChartSize = ChartSize()) -> Figure {
        let fig = size.figure(rows: 1, cols: 2)
        fig.title = "\(URL(fileURLWithPath: r.source).lastPathComponent): gradients of an imported network (inputs: \(r.inputSource))"
        let own = fig[0, 0], deep = fig[0, 1]
        own.title = "Within each layer: ‖∂h^{l}_{t}/∂h^{l}_{k}‖_{2}"
        deep.title = "From the top layer: ‖∂h^{top}_{t}/∂h^{l}_{k}‖_{2}"
        for ax in [own, deep] { ax.xLabel = "lag t − k (steps)"; ax.yScale = .log10Data }
        own.yLabel = "‖∂h_{t}/∂h_{k}‖_{2}"
        deep.yLabel = "‖∂h^{top}_{t}/∂h^{l}_{k}‖_{2}"
        for (l, c) in r.layers.enumerated() {
            let lags = c.curves.lags.map(Double.init)
            let line = own.plot(lags, c.curves.log10Spectral, label: c.label, color: Palette.color(l))
            let bound = c.curves.log10Bound
            // The worst-case bound grows without limit for gated cells; draw it while it stays within 30 decades.
            let keep = bound.indices.filter { bound[$0].isFinite && bound[$0] < 30 }
            own.bound(of: line, keep.map { lags[$0] }, keep.map { bound[$0] }, label: "\(c.label): classical bound")
        }
        for l in 0..<r.grid.log10Spectral.count {
            deep.plot(r.grid.lags.map(Double.init), r.grid.log10Spectral[l], label: "layer \(l)\(l == r.grid.log10Spectral.count - 1 ? " (top)" : "")",
                      color: Palette.color(l))
        }
        own.hline(0, color: .gray); deep.hline(0, color: .gray)
        return fig
    }
}
