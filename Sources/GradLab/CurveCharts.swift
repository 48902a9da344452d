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

    /// One curve per analysed model, with its classical bound dashed in the same colour.
    public static func figure(_ results: [CellCurves], norm: NormKind, bounds: Bool = true, title: String? = nil,
                              size: ChartSize = ChartSize()) -> Figure {
        let fig = size.figure()
        let ax = fig.axes
        let t = results.map(\.curves.endStep).max() ?? 0
        ax.title = title ?? "Gradient norm ‖∂h_{t}/∂h_{k}‖ against the lag (t = \(t))"
        ax.xLabel = "lag t − k (steps back in time)"
        ax.yLabel = norm == .spectral ? "‖∂h_{t}/∂h_{k}‖_{2}" : "‖∂h_{t}/∂h_{k}‖_{F}"
        ax.yScale = .log10Data
        ax.xRange = 0...Double(max(t, 1))
        var shown: [[Double]] = []
        for r in results {
            let x = r.curves.lags.map(Double.init)
            let y = r.curves.log10Norm(norm)
            shown.append(y)
            let line = ax.plot(x, y, label: r.label)
            if bounds { ax.bound(of: line, x, r.curves.log10Bound) }
        }
        ax.yRange = yRange(shown)
        ax.hline(0, label: "norm 1")
        if bounds {
            // Gated cells have no single β_h: their dashed line is the per-step worst-case block bound.
            let gated = results.contains { $0.betaH == nil }
            ax.plot([], [], label: gated ? "dashed: worst-case bound" : "dashed: bound (β_{W} β_{h})^{t−k}",
                    color: .gray, width: 1.5, dash: .dashed)
        }
        annotateRegimes(ax, range: ax.yRange!, t: t)
        return fig
    }

    /// "exploding" above the norm-1 line and "vanishing" below, when there is room for them.
    static func annotateRegimes(_ ax: Axes, range: ClosedRange<Double>, t: Int) {
        let x = Double(t) * 0.03
        if range.upperBound > 0.5 { ax.annotate("exploding ↑", x: x, y: min(range.upperBound, 0) + 0.35 * (range.upperBound - 0), color: .gray, alignment: .left, relativeSize: 1.1, bold: true) }
        if range.lowerBound < -0.5 { ax.annotate("vanishing ↓", x: x, y: 0.3 * range.lowerBound, color: .gray, alignment: .left, relativeSize: 1.1, bold: true) }
    }

    /// Actual norms against both bounds for each result, one panel per result.
    public static func boundFigure(_ results: [CellCurves], size: ChartSize = ChartSize()) -> Figure {
        let fig = size.figure(rows: 1, cols: results.count)
        fig.title = "How tight is the bound ‖∂h_{t}/∂h_{k}‖ ≤ (β_{W} β_{h})^{t−k}?"
        for (i, r) in results.enumerated() {
            let ax = fig[0, i]
            let x = r.curves.lags.map(Double.init)
            ax.title = "\(r.label): β_{W} = \(Format.fixed(r.betaW, 2)), β_{h} = \(r.betaH.map { Format.short($0) } ?? "–")"
            ax.xLabel = "lag t − k"
            ax.yLabel = "norm"
            ax.yScale = .log10Data
            ax.plot(x, r.curves.log10Bound, label: "classical bound (β_{W} β_{h})^{t−k}", color: Palette.color(1), dash: .dashed)
            ax.plot(x, r.curves.log10TrajectoryBound, label: "trajectory bound ∏ ‖W‖ max|f′(a_{j})|", color: Palette.color(3), dash: .dashDot)
            ax.plot(x, r.curves.log10Frobenius, label: "actual, Frobenius", color: Palette.color(2))
            ax.plot(x, r.curves.log10Spectral, label: "actual, spectral", color: Palette.color(0), width: 3)
            ax.xRange = 0...Double(max(r.curves.endStep, 1))
            // Every curve starts at the top left and falls or rises from there: the lower left is free.
            ax.legendPosition = .lowerLeft
        }
        return fig
    }

    /// LSTM paths: h→h, c→c and full state, one panel per model (e.g. forget bias 0 and 1).
    public static func lstmPathsFigure(_ results: [CellCurves], titles: [String], size: ChartSize = ChartSize()) -> Figure {
        let fig = size.figure(rows: 1, cols: results.count)
        fig.title = "LSTM: the cell path c→c (constant error carousel) against h→h"
        var all: [[Double]] = []
        for r in results {
            all += [r.curves.log10Spectral] + [r.curves.log10SpectralCell, r.curves.log10SpectralState].compactMap { $0 }
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
            if let cc = r.curves.log10SpectralCell { ax.plot(x, cc, label: "c→c: ∂c_{t}/∂c_{k}", color: Palette.color(2), width: 3) }
            ax.plot(x, r.curves.log10Spectral, label: "h→h: ∂h_{t}/∂h_{k}", color: Palette.color(0), width: 3)
            if let s = r.curves.log10SpectralState { ax.plot(x, s, label: "full state (h, c)", color: Palette.color(3), dash: .dashed) }
            ax.hline(0, label: "norm 1")
        }
        return fig
    }
}
