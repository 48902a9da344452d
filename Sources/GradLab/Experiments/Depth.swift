import Foundation
import Charts
import Dynamics
import Linear

/// The analysis of one stack: each layer's own curves (driven by the layer below) and the top layer's gradient
/// through depth and time, log10‖∂h^{(L)}_T/∂h^{(l)}_k‖. `gradlab import` analyses a loaded stack the same way
/// (plus Lyapunov exponents); `curves --layers` and `heatmap --layers` analyse random ones.
public struct StackReport: Sendable {
    /// "tanh", "tanh g=2", …
    public var label: String
    public var model: StackedModel
    /// One per layer, labelled "<label> l0", "<label> l1", …
    public var layers: [CellCurves]
    public var grid: DepthTimeGrid
    public var overflowWarning: String?
}

public enum DepthExperiment {
    /// One random stack per cell (× gains), labelled like the single-layer curves.
    public static func stacks(_ o: CurvesOptions) throws -> [(label: String, model: StackedModel)] {
        try o.validate()
        var out: [(String, StackedModel)] = []
        for k in o.cells {
            if o.gains.isEmpty {
                out.append((k.rawValue, RandomModels.makeStack(o.spec(k), layers: o.layers)))
            } else {
                for g in o.gains { out.append(("\(k.rawValue) g=\(Format.short(g))", RandomModels.makeStack(o.spec(k, gain: g), layers: o.layers))) }
            }
        }
        return out
    }

    /// Runs the stack forward once; every layer's curves (with the inputs its lower layer produced) and the grid.
    /// `curves` false: the grid alone (the heatmap).
    public static func analyse(_ m: StackedModel, label: String, curves: Bool = true) throws -> StackReport {
        let run: StackedTrajectory
        do { run = try StackedTrajectory(model: m) } catch { throw GradLabError.data("\(label): \(error)") }
        guard run.steps > 0 else { throw GradLabError.data("\(label): the forward pass overflowed at its first step") }
        var layers: [CellCurves] = []
        if curves {
            for l in 0..<run.layers.count {
                layers.append(try CurvesExperiment.analyse(run.models[l], label: "\(label) l\(l)"))
            }
        }
        var warning: String?
        if run.steps < m.inputs.count || run.layers.count < m.depth {
            warning = "\(label): the forward pass overflowed: analysing steps 0…\(run.steps) of the \(run.layers.count) layer(s) that ran"
        }
        return StackReport(label: label, model: m, layers: layers, grid: MultilayerProducts.grid(run), overflowWarning: warning)
    }

    /// Lags shown in the depth table.
    static func gridLags(_ t: Int) -> [Int] { Array(Set([0, 1, 10, t / 2, t].filter { $0 <= t })).sorted() }

    /// Each layer's summary (the curves table) and the gradient through depth.
    public static func table(_ reports: [StackReport], norm: NormKind) -> String {
        var out = CurvesExperiment.table(reports.flatMap(\.layers), norm: norm)
        for r in reports {
            let g = r.grid
            let lags = gridLags(g.endStep)
            var gt = TextTable(["∂h^top_T/∂h^l_k"] + lags.map { "lag \($0)" })
            let values = norm == .spectral ? g.log10Spectral : g.log10Frobenius
            for l in 0..<values.count {
                gt.add(["layer \(l)\(l == values.count - 1 ? " (top)" : "")"] + lags.map { CurvesExperiment.sci(values[l][$0]) })
            }
            out += "\n\n\(r.label), \(r.model.depth) layers: through depth and time (\(norm.rawValue) norm, top layer's h at T = \(g.endStep))\n" + gt.render()
        }
        return out
    }

    /// cell, layer, lag, log10 norms of ∂h^top_T/∂h^l_{T−lag}.
    public static func gridCSV(_ reports: [StackReport]) -> String {
        var lines = ["cell,layer,lag,log10_spectral,log10_frobenius"]
        for r in reports {
            for l in 0..<r.grid.log10Spectral.count {
                for lag in r.grid.lags {
                    lines.append("\(r.label),\(l),\(lag),\(Format.exact(r.grid.log10Spectral[l][lag])),\(Format.exact(r.grid.log10Frobenius[l][lag]))")
                }
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    public static func json(_ reports: [StackReport], options o: CurvesOptions) throws -> Data {
        let stacks: [[String: Any]] = reports.map { r in
            let layers: [[String: Any]] = r.layers.map { c in
                let p = c.model.parameters
                return ["label": c.label, "cell": p.kind.rawValue, "hidden_size": p.hiddenSize, "input_size": p.inputSize,
                        "beta_w": Format.json(c.betaW), "log10_growth_per_step": Format.json(c.slope), "regime": c.regime.rawValue,
                        "log10_spectral": c.curves.log10Spectral.map(Format.json), "log10_frobenius": c.curves.log10Frobenius.map(Format.json),
                        "log10_bound": c.curves.log10Bound.map(Format.json)]
            }
            let grid: [[String: Any]] = r.grid.log10Spectral.indices.map { l in
                ["layer": l, "log10_spectral": r.grid.log10Spectral[l].map(Format.json), "log10_frobenius": r.grid.log10Frobenius[l].map(Format.json)]
            }
            return ["cell": r.label, "layers": layers, "t": r.grid.endStep, "depth_time": grid]
        }
        let params: [String: Any] = ["hidden": o.hidden, "input": o.input, "steps": o.steps, "gain": o.gains.isEmpty ? [o.gain] : o.gains,
                                     "seed": o.seed, "input_scale": o.inputScale, "init": o.initialization.rawValue,
                                     "forget_bias": o.forgetBias, "norm": o.norm.rawValue, "layers": o.layers]
        return try JSONOut.data(["format": "gradlab.curves-stack/1", "parameters": params, "stacks": stacks])
    }

    /// One row per stack. Left: each layer's own ‖∂h^l_t/∂h^l_k‖₂ with its classical bound (dashed). Right: the
    /// top layer's gradient reaching each layer, ‖∂h^top_T/∂h^l_k‖₂, through depth and time.
    public static func figure(_ reports: [StackReport], norm: NormKind, bounds: Bool = true, size: ChartSize = ChartSize()) -> Figure {
        var size = size
        // Several stacks: one row each, taller than the default canvas unless a size was given.
        if reports.count > 1 && size.width == nil && size.height == nil {
            let d = size.style.defaultSize
            size.height = min(d.height * 0.55 * Double(reports.count), 4 * d.height)
            size.width = d.width
        }
        let fig = size.figure(rows: reports.count, cols: 2)
        let depth = reports.first?.model.depth ?? 1
        let n = reports.first?.model.layers.first?.hiddenSize ?? 0
        fig.title = "Gradients in a stack of \(depth) layers (n = \(n), T = \(reports.first?.grid.endStep ?? 0))"
        let sub = norm == .spectral ? "2" : "F"
        for (i, r) in reports.enumerated() {
            let own = fig[i, 0], deep = fig[i, 1]
            own.title = "\(r.label): within each layer, ‖∂h^{l}_{t}/∂h^{l}_{k}‖_{\(sub)}"
            deep.title = "\(r.label): from the top, ‖∂h^{top}_{T}/∂h^{l}_{k}‖_{\(sub)}"
            for ax in [own, deep] { ax.xLabel = "lag t − k (steps)"; ax.yScale = .log10Data }
            deep.yLabel = "‖∂h^{top}_{T}/∂h^{l}_{k}‖"
            // The curves chart's panel: bounds clipped to the curves' range, a note where they leave it.
            CurveCharts.draw(r.layers, into: own, of: fig, norm: norm, bounds: bounds)
            own.yLabel = "‖∂h^{l}_{t}/∂h^{l}_{k}‖"
            let values = norm == .spectral ? r.grid.log10Spectral : r.grid.log10Frobenius
            for l in 0..<values.count {
                deep.plot(r.grid.lags.map(Double.init), values[l], label: "layer \(l)\(l == values.count - 1 ? " (top)" : "")", color: Palette.color(l))
            }
            deep.hline(0, label: "norm 1", color: .gray, dash: .solid, width: 1)
        }
        return fig
    }

    /// The depth × lag grid as a heatmap: row l (bottom layer at the bottom), column lag = T − k.
    public static func heatmap(_ r: StackReport, norm: NormKind, size: ChartSize = ChartSize()) -> Figure {
        let fig = size.figure()
        let ax = fig.axes
        let values = norm == .spectral ? r.grid.log10Spectral : r.grid.log10Frobenius
        let depth = values.count, t = r.grid.endStep
        let sub = norm == .spectral ? "2" : "F"
        ax.title = "\(r.label), \(depth) layers: log-scale ‖∂h^{top}_{T}/∂h^{l}_{T−lag}‖_{\(sub)} (T = \(t))"
        ax.xLabel = "lag T − k (steps back in time)"
        ax.yLabel = "layer l (0 = bottom)"
        // Exact zeros (−∞) are masked grey.
        let mask = values.map { row in row.map { !$0.isFinite } }
        let finite = values.flatMap { $0 }.filter(\.isFinite)
        let lo = finite.min() ?? -1, hi = max(finite.max() ?? 0, lo + 1)
        ax.heatmap(values, x: -0.5...(Double(t) + 0.5), y: -0.5...(Double(depth) - 0.5), mask: mask,
                   colorScale: .log10Data, colorRange: lo...hi, colorbarLabel: "‖∂h^{top}_{T}/∂h^{l}_{k}‖_{\(sub)}")
        return fig
    }
}
