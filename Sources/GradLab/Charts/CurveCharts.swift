import Charts
import Dynamics
import Foundation

/// Charts of the curves experiment: log10‖∂h_t/∂h_k‖ against the lag.
public enum CurveCharts {
    /// Y range (log10 units) that shows every actual curve, with the bounds clipped to it when they run off:
    /// a bound at 10^+165 must not squash the curves it bounds into a line.
    static func yRange(_ series: [[Double]]) -> ClosedRange<Double> {
        let values = series.flatMap { $0 }.filter(\.isFinite)
        guard let lo = values.min(), let hi = values.max() else { return -1...1 }
        let top = max(hi, 0), span = max(top - lo, 1)
        return (lo - 0.06 * span)...(top + 0.12 * span)
    }

    /// True when two curves lie on top of each other: same lags, and within 0.2 % of the y span everywhere
    /// (or both not drawable at the same points).
    static func coincide(_ a: [Double], _ b: [Double], span: Double) -> Bool {
        guard a.count == b.count, !a.isEmpty else { return false }
        let tol = max(span, 1e-12) * 0.002
        return zip(a, b).allSatisfy { x, y in
            if x.isFinite != y.isFinite { return false }
            return !x.isFinite || abs(x - y) <= tol
        }
    }

    /// Dash patterns for bounds: a bound that runs on top of others shares the path with them, each drawing
    /// every n-th dash in its own colour (`Dash.shared`). Returns the dash per bound and the groups found.
    static func sharedDashes(_ ys: [[Double]], span: Double) -> (dashes: [Dash], groups: [[Int]]) {
        var group = Array(repeating: -1, count: ys.count)
        var groups: [[Int]] = []
        for i in ys.indices where group[i] < 0 {
            let members = [i] + ys.indices.filter { $0 > i && group[$0] < 0 && coincide(ys[i], ys[$0], span: span) }
            for m in members { group[m] = groups.count }
            groups.append(members)
        }
        var dashes = Array(repeating: Dash.dashed, count: ys.count)
        for g in groups where g.count > 1 { for (k, m) in g.enumerated() { dashes[m] = .shared(part: k, of: g.count) } }
        return (dashes, groups.filter { $0.count > 1 })
    }

    /// The bound's colour: its curve's, darkened, so a bound lying exactly on its curve (a tight bound)
    /// still shows as dashes on top of it.
    static func boundColor(_ c: Color) -> Color { c.mixed(with: .black, 0.35) }

    /// One curve per analysed model, with its classical bound dashed in a darker shade of the same colour.
    /// Bounds are drawn above all curves; bounds that coincide share their dashes (two colours alternating)
    /// and a note says so.
    /// `trajectoryBounds` adds, dotted, the bound along this very run: ∏‖J_j‖₂ over the steps between k and t.
    public static func figure(_ results: [CellCurves], norm: NormKind, bounds: Bool = true, trajectoryBounds: Bool = false,
                              title: String? = nil, size: ChartSize = ChartSize()) -> Figure {
        let fig = size.figure()
        let ax = fig.axes
        let t = results.map(\.curves.endStep).max() ?? 0
        ax.title = title ?? "Gradient norm ‖∂h_{t}/∂h_{k}‖ against the lag (t = \(t))"
        draw(results, into: ax, of: fig, norm: norm, bounds: bounds, trajectoryBounds: trajectoryBounds)
        return fig
    }

    /// The curves chart's content drawn into one panel `ax` of `fig` (notes go to the figure): the curves, their
    /// bounds clipped to the curves' range, the norm-1 line and the regime labels.
    public static func draw(_ results: [CellCurves], into ax: Axes, of fig: Figure, norm: NormKind, bounds: Bool = true,
                            trajectoryBounds: Bool = false) {
        let t = results.map(\.curves.endStep).max() ?? 0
        ax.xLabel = "lag t − k (steps back in time)"
        ax.yLabel = norm == .spectral ? "‖∂h_{t}/∂h_{k}‖_{2}" : "‖∂h_{t}/∂h_{k}‖_{F}"
        ax.yScale = .log10Data
        ax.xRange = 0...Double(max(t, 1))
        var shown: [[Double]] = []
        var drawn: [(x: [Double], y: [Double])] = []
        var lines: [LineSeries] = []
        for r in results {
            let x = r.curves.lags.map(Double.init)
            let y = r.curves.log10Norm(norm)
            shown.append(y)
            drawn.append((x, y))
            // An exactly-zero tail (log = −∞) is not drawn; the note below says so instead.
            let tailIsZero = r.zeroFromLag.map { z in y[z...].allSatisfy { $0 == -.infinity } } ?? false
            let n = tailIsZero ? r.zeroFromLag! : y.count
            let line = ax.plot(Array(x[..<n]), Array(y[..<n]), label: r.label)
            lines.append(line)
            if tailIsZero, let z = r.zeroFromLag, z > 0, y[z - 1].isFinite {
                // log 0 = −∞ cannot be drawn: say where the curve stops and why, beside the point, off the data.
                ax.scatter([Double(z - 1)], [y[z - 1]], color: line.color, marker: .circle, size: 9)
                ax.annotate("exactly 0 from lag \(z)", x: Double(z - 1), y: y[z - 1], color: line.color, relativeSize: 0.9, nearPoint: true)
                fig.addNote("\(r.label): ∂h_t/∂h_k is exactly 0 from lag \(z) on (every path through a switched-off ReLU)")
            }
        }
        ax.yRange = yRange(shown)
        let span = ax.yRange!.upperBound - ax.yRange!.lowerBound
        if bounds {
            let ys = results.map(\.curves.log10Bound)
            let (dashes, groups) = sharedDashes(ys, span: span)
            let top = ax.yRange!.upperBound
            for (i, r) in results.enumerated() {
                let x = r.curves.lags.map(Double.init)
                let tight = coincide(ys[i], shown[i], span: span)
                // A tight bound lies on its curve: full width and a darker shade, so its dashes show on it.
                ax.plot(x, ys[i], color: tight ? lines[i].color.mixed(with: .black, 0.55) : boundColor(lines[i].color),
                        width: tight ? lines[i].lineWidth : max(1.6, lines[i].lineWidth * 0.75), dash: dashes[i])
                drawn.append((x, ys[i]))
                if tight { fig.addNote("\(r.label): the bound is tight (its dashes lie on the curve)") }
                // A bound that leaves the chart at the top: say where it goes.
                if let exit = ys[i].firstIndex(where: { $0.isFinite && $0 > top }), let peak = ys[i].filter(\.isFinite).max() {
                    let end = ys[i].lastIndex(where: \.isFinite) ?? exit
                    ax.annotate("\(r.label) bound ↑ 10^{\(Int(peak.rounded()))} at lag \(end)", x: x[exit], y: top,
                                color: boundColor(lines[i].color), relativeSize: 0.8, nearPoint: true, optional: true)
                }
            }
            for g in groups {
                fig.addNote("the bounds of " + g.map { results[$0].label }.joined(separator: " and ") + " coincide: alternating dashes")
            }
            // Gated cells have no single β_h: their dashed line is the per-step worst-case block bound.
            let gated = results.contains { $0.betaH == nil }
            ax.plot([], [], label: gated ? "dashed: worst-case bound" : "dashed: bound (β_{W} β_{h})^{t−k}",
                    color: .gray, width: 1.5, dash: .dashed)
        }
        if trajectoryBounds {
            let top = ax.yRange!.upperBound
            for (i, r) in results.enumerated() {
                let x = r.curves.lags.map(Double.init)
                // The dots stop just above the chart (it is clipped there); only finite values are drawn.
                let yb = r.curves.log10TrajectoryBound
                var n = yb.prefix { $0.isFinite }.count
                if let exit = yb[..<n].firstIndex(where: { $0 > top + 0.05 * span }) { n = exit + 1 }
                ax.plot(Array(x[..<n]), Array(yb[..<n]), color: boundColor(lines[i].color), width: max(1.8, lines[i].lineWidth * 0.8), dash: .dotted)
                drawn.append((x, r.curves.log10TrajectoryBound))
            }
            ax.plot([], [], label: "dotted: bound along this run ∏‖J_{j}‖_{2}", color: .gray, width: 1.8, dash: .dotted)
        }
        ax.hline(0, label: "norm 1", color: .gray, dash: .solid, width: 1)
        annotateRegimes(ax, range: ax.yRange!, t: t, curves: drawn)
    }

    /// "exploding" above the norm-1 line and "vanishing" below, each placed where no curve passes
    /// (skipped when there is no free spot or no room).
    static func annotateRegimes(_ ax: Axes, range: ClosedRange<Double>, t: Int, curves: [(x: [Double], y: [Double])]) {
        let xSpan = Double(max(t, 1)), ySpan = range.upperBound - range.lowerBound
        func free(_ x0: Double, _ y0: Double) -> Bool {
            let x1 = x0 + 0.2 * xSpan, yLo = y0 - 0.05 * ySpan, yHi = y0 + 0.05 * ySpan
            return !curves.contains { c in zip(c.x, c.y).contains { $0 >= x0 && $0 <= x1 && $1 >= yLo && $1 <= yHi } }
        }
        func place(_ text: String, band: ClosedRange<Double>) {
            guard band.upperBound - band.lowerBound > 0.12 * ySpan else { return }
            for fx in [0.03, 0.4, 0.75] {
                for fy in [0.5, 0.3, 0.7] {
                    let x = fx * xSpan, y = band.lowerBound + fy * (band.upperBound - band.lowerBound)
                    if free(x, y) {
                        ax.annotate(text, x: x, y: y, color: .gray, alignment: .left, relativeSize: 1.1, bold: true, optional: true)
                        return
                    }
                }
            }
        }
        if range.upperBound > 0 { place("exploding ↑", band: max(0, range.lowerBound)...range.upperBound) }
        if range.lowerBound < 0 { place("vanishing ↓", band: range.lowerBound...min(0, range.upperBound)) }
    }

    /// Actual norms against both bounds for each result, one panel per result.
    public static func boundFigure(_ results: [CellCurves], size: ChartSize = ChartSize()) -> Figure {
        let fig = size.figure(rows: 1, cols: results.count)
        fig.title = "How tight is the bound ‖∂h_{t}/∂h_{k}‖ ≤ (β_{W} β_{h})^{t−k}?"
        fig.sharedLegend = true       // the same four lines in every panel: one legend
        for (i, r) in results.enumerated() {
            let ax = fig[0, i]
            let x = r.curves.lags.map(Double.init)
            ax.title = "\(r.label): β_{W} = \(Format.fixed(r.betaW, 2)), β_{h} = \(r.betaH.map { Format.short($0) } ?? "–")"
            ax.xLabel = "lag t − k"
            ax.yLabel = "norm"
            ax.yScale = .log10Data
            // Actual norms first, bounds above them: a bound lying on a curve stays visible.
            ax.plot(x, r.curves.log10Frobenius, label: "actual, Frobenius", color: Palette.color(2))
            ax.plot(x, r.curves.log10Spectral, label: "actual, spectral", color: Palette.color(0), width: 3)
            let span = (r.curves.log10Bound + r.curves.log10Spectral).filter(\.isFinite).reduce(into: (lo: Double.infinity, hi: -Double.infinity)) {
                $0 = (min($0.lo, $1), max($0.hi, $1))
            }
            let same = coincide(r.curves.log10Bound, r.curves.log10TrajectoryBound, span: span.hi - span.lo)
            ax.plot(x, r.curves.log10Bound, label: "classical bound (β_{W} β_{h})^{t−k}", color: Palette.color(1), width: 2.2,
                    dash: same ? .shared(part: 0, of: 2) : .dashed)
            ax.plot(x, r.curves.log10TrajectoryBound,
                    label: "trajectory bound ∏ ‖W‖ max|f′(a_{j})|" + (same ? " (= classical here)" : ""),
                    color: Palette.color(3), width: 2.2, dash: same ? .shared(part: 1, of: 2) : .dashDot)
            if same {
                fig.addNote("\(r.label): the trajectory bound coincides with the classical one (max|f′| ≈ β_h at every step), drawn as alternating dashes")
            }
            ax.xRange = 0...Double(max(r.curves.endStep, 1))
            // Every curve starts at the top left and falls or rises from there: the lower left is free.
            ax.legendPosition = .lowerLeft
        }
        return fig
    }

    /// LSTM paths, one panel per model (e.g. forget bias 0 and 1): the carousel ∏ diag(f_j) (the direct path
    /// c→c), every path into c (the block ∂c_t/∂c_k), h→h and the full state (h, c).
    /// The full state is at least as large as every block and often lies on one of them, so it is drawn first,
    /// wide and pale, and the blocks go on top of it; the carousel is dashed so it stays visible on
    /// the c-block where the two agree.
    public static func lstmPathsFigure(_ results: [CellCurves], titles: [String], size: ChartSize = ChartSize()) -> Figure {
        let fig = size.figure(rows: 1, cols: results.count)
        fig.title = "LSTM: the carousel ∏ diag(f_{j}), all paths into c, and h→h"
        fig.sharedLegend = true       // the same paths in every panel: one legend
        var all: [[Double]] = []
        for r in results {
            all += [r.curves.log10Spectral] + [r.curves.log10SpectralCell, r.curves.log10SpectralState,
                                               r.curves.log10SpectralCarousel].compactMap { $0 }
        }
        let range = yRange(all)
        for (i, r) in results.enumerated() {
            let ax = fig[0, i]
            let x = r.curves.lags.map(Double.init)
            ax.title = titles[i]
            ax.xLabel = "lag t − k"
            ax.yLabel = "‖·‖_{2}"
            ax.yScale = .log10Data
            ax.yRange = range
            ax.xRange = 0...Double(max(r.curves.endStep, 1))
            if let s = r.curves.log10SpectralState {
                ax.plot(x, s, label: "full state (h, c) (wide, pale)", color: Palette.color(3).withAlpha(0.45), width: 9)
            }
            if let cc = r.curves.log10SpectralCell { ax.plot(x, cc, label: "all paths into c: ∂c_{t}/∂c_{k}", color: Palette.color(2), width: 3) }
            ax.plot(x, r.curves.log10Spectral, label: "h→h: ∂h_{t}/∂h_{k}", color: Palette.color(0), width: 3)
            if let pf = r.curves.log10SpectralCarousel {
                ax.plot(x, pf, label: "carousel ∏ diag(f_{j}) (direct c→c)", color: Palette.color(1), width: 3, dash: .dashed)
            }
            ax.hline(0, label: "norm 1", color: .gray, dash: .solid, width: 1)
        }
        return fig
    }
}
