import Charts
import Foundation

/// Example figures used by the gallery test and the timing check.
enum Gallery {
    /// (a) log-y: five curves from 10^−40 to 10^+20, dashed bounds, reference line, annotations.
    static func logCurves() -> Figure {
        let fig = Figure()
        fig.title = "Gradient norms ‖∂h_{T}/∂h_{T−k}‖ over lag k"
        let ax = fig.axes
        ax.yScale = .log10
        ax.xLabel = "lag k (time steps)"
        ax.yLabel = "‖∂h_{T}/∂h_{T−k}‖"
        let k = (0...100).map(Double.init)
        func curve(_ rate: Double, wobble: Double = 0) -> [Double] {
            k.map { pow(10, rate * $0 + wobble * sin($0 / 4)) }
        }
        let tanh = ax.plot(k, curve(-0.4, wobble: 0.3), label: "tanh, σ_{w} = 0.5")
        ax.bound(of: tanh, k, curve(-0.35), label: "bound (tanh)")
        ax.plot(k, curve(-0.15, wobble: 0.5), label: "sigmoid")
        let relu = ax.plot(k, curve(0.2, wobble: 0.4), label: "ReLU, σ_{w} = 2")
        ax.bound(of: relu, k, curve(0.22), label: "bound (ReLU)")
        ax.plot(k, curve(0.0, wobble: 0.6), label: "orthogonal", marker: .circle)
        ax.plot(k, curve(-0.05, wobble: 0.2), label: "LSTM (c→c)", dash: .dotted)
        ax.hline(1, label: "‖·‖ = 1")
        ax.annotate("vanishing", x: 80, y: 1e-28, color: Palette.color(0), bold: true)
        ax.annotate("exploding", x: 75, y: 1e12, color: Palette.color(2), bold: true)
        return fig
    }

    /// (b) two linear panels: activations and their derivatives.
    static func functions() -> Figure {
        let fig = Figure(rows: 1, cols: 2)
        let x = stride(from: -5.0, through: 5.0, by: 0.05).map { $0 }
        let sig = { (v: Double) in 1 / (1 + exp(-v)) }
        let f = fig[0, 0], d = fig[0, 1]
        f.title = "Activation φ(a)"; d.title = "Derivative φ′(a)"
        for ax in [f, d] { ax.xLabel = "pre-activation a" }
        f.plot(x, x.map(tanh), label: "tanh")
        f.plot(x, x.map(sig), label: "sigmoid")
        f.plot(x, x.map { max(0, $0) }, label: "ReLU")
        f.yRange = -1.5...2
        d.plot(x, x.map { 1 - tanh($0) * tanh($0) }, label: "tanh′ ≤ 1")
        d.plot(x, x.map { sig($0) * (1 - sig($0)) }, label: "sigmoid′ ≤ 1/4")
        d.plot(x, x.map { $0 > 0 ? 1 : 0 }, label: "ReLU′ ∈ {0, 1}")
        d.hline(0.25, label: "1/4")
        return fig
    }

    /// (c) heatmap of log10 norms with the k > t triangle masked.
    static func heatmap() -> Figure {
        let fig = Figure(width: 1000, height: 800)
        let ax = fig.axes
        ax.title = "log‖∂h_{t}/∂h_{k}‖ for all pairs k ≤ t"
        ax.xLabel = "k (source step)"; ax.yLabel = "t (target step)"
        let n = 60
        var values = [[Double]](repeating: [Double](repeating: .nan, count: n), count: n)
        var mask = [[Bool]](repeating: [Bool](repeating: false, count: n), count: n)
        for t in 0..<n { for k in 0..<n {
            if k > t { mask[t][k] = true } else {
                values[t][k] = -0.18 * Double(t - k) + 0.4 * sin(Double(k) / 5)
            }
        } }
        ax.heatmap(values, x: 0...Double(n), y: 0...Double(n), mask: mask, colorScale: .log10Data,
                   colorbarLabel: "‖∂h_{t}/∂h_{k}‖")
        return fig
    }

    /// (d) `.log10Data` axis from 10^−3000 to 10^0, with a NaN and a −∞.
    static func hugeRange() -> Figure {
        let fig = Figure()
        let ax = fig.axes
        ax.title = "Norms far below Double's range (values given as log10)"
        ax.yScale = .log10Data
        ax.xLabel = "lag k"; ax.yLabel = "‖∂h_{T}/∂h_{T−k}‖"
        let k = (0...1000).map(Double.init)
        var a = k.map { -3.0 * $0 }
        a[500] = .nan
        a[700] = -.infinity
        ax.plot(k, a, label: "tanh, 3 decades per step")
        ax.plot(k, k.map { -2800 * (1 - exp(-$0 / 200)) }, label: "saturating")
        ax.plot(k, k.map { -0.5 * $0 }, label: "slow decay")
        ax.hline(0, label: "‖·‖ = 1")
        return fig
    }

    /// (e) bands, scatter, markers, a vertical line, a legend pushed outside, scale 2.
    static func bandsAndScatter() -> Figure {
        let fig = Figure(rows: 2, cols: 1, width: 900, height: 900, scale: 2)
        fig.title = "Spread of gradient norms over 20 random initialisations"
        let ax = fig[0, 0]
        ax.yScale = .log10
        ax.yLabel = "norm"
        let t = (0...60).map(Double.init)
        let mid = t.map { pow(10, -0.08 * $0) }
        ax.band(t, lower: mid.map { $0 / 30 }, upper: mid.map { $0 * 30 }, label: "10–90 % range", color: Palette.color(0))
        ax.plot(t, mid, label: "median", color: Palette.color(0))
        ax.scatter(stride(from: 0.0, through: 60, by: 5).map { $0 }, stride(from: 0.0, through: 60, by: 5).map { pow(10, -0.1 * $0 + 0.5) },
                   label: "measured", marker: .triangle)
        ax.vline(30, label: "truncation k = 30")
        let b = fig[1, 0]
        b.xLabel = "training step"; b.yLabel = "loss"
        let s = (0..<200).map(Double.init)
        for k in 0..<8 {
            b.plot(s, s.map { 2 * exp(-$0 / Double(30 + 15 * k)) + 0.1 * sin($0 / 5 + Double(k)) + 0.2 }, label: "lr = \(k + 1)×10^{-3}",
                   marker: k == 0 ? .square : .none)
        }
        return fig
    }

    /// (f) twelve lines through every corner: the legend moves outside the plot.
    static func crowded() -> Figure {
        let fig = Figure(width: 800, height: 600)
        let ax = fig.axes
        ax.title = "Twelve modes"
        let x = (0...200).map { Double($0) / 20 }
        for k in 0..<12 {
            ax.plot(x, x.map { sin($0 * Double(k + 1) / 3) * 10 + Double(k) - 6 }, label: "mode \(k)")
        }
        return fig
    }
}

