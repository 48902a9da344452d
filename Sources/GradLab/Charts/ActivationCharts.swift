import Charts
import Dynamics
import Foundation

/// The "compare" experiment: activations and their derivatives side by side, with the sup of each
/// derivative (β_h) marked — the single number that decides how fast the classical bound decays.
public enum ActivationCharts {
    public static let defaultActivations: [Activation] = [.sigmoid, .tanh, .relu]

    /// Sample points on [−range, range]; ReLU's kink at 0 is included exactly.
    static func grid(_ range: Double, count: Int = 801) -> [Double] {
        (0..<count).map { -range + 2 * range * Double($0) / Double(count - 1) }
    }

    public static func table(_ acts: [Activation]) -> String {
        var t = TextTable(["activation", "f(0)", "f′(0)", "β_h = sup|f′|", "f′ at ±2", "f′ at ±5"])
        for a in acts {
            t.add([a.rawValue, Format.fixed(a.value(0), 3), Format.fixed(a.derivative(0), 3), Format.fixed(a.derivativeSup, 3),
                   "\(Format.fixed(a.derivative(-2), 3)) / \(Format.fixed(a.derivative(2), 3))",
                   "\(Format.fixed(a.derivative(-5), 4)) / \(Format.fixed(a.derivative(5), 4))"])
        }
        return t.render()
    }

    public static func figure(_ acts: [Activation], range: Double = 5, size: ChartSize = ChartSize()) -> Figure {
        let fig = size.figure(rows: 1, cols: 2)
        fig.title = "Activations and their derivatives: sup σ′ = 1/4, sup tanh′ = sup ReLU′ = 1"
        let values = fig[0, 0], slopes = fig[0, 1]
        values.title = "f(a)"
        slopes.title = "f′(a): the per-step gradient factor"
        for ax in [values, slopes] { ax.xLabel = "pre-activation a"; ax.xRange = -range...range }
        values.yLabel = "f(a)"
        slopes.yLabel = "f′(a)"
        values.yRange = -1.25...2.25
        slopes.yRange = -0.05...1.2
        let x = grid(range)
        for (i, a) in acts.enumerated() {
            let color = Palette.color(i)
            values.plot(x, x.map(a.value), label: a.rawValue, color: color)
            if a == .relu {
                // The derivative jumps at 0: draw the two pieces and mark f′(0) = 0 (PyTorch's convention).
                slopes.plot([-range, 0], [0, 0], label: "relu′", color: color)
                slopes.plot([0, range], [1, 1], color: color)
                slopes.scatter([0], [0], color: color, marker: .circle, size: 9)
            } else {
                slopes.plot(x, x.map(a.derivative), label: "\(a.rawValue)′", color: color)
            }
        }
        values.hline(0, color: .lightGray, dash: .solid, width: 1)
        slopes.hline(0.25, label: "1/4 = sup σ′", color: Palette.color(0))
        slopes.hline(1, label: "1 = sup tanh′ = sup ReLU′", color: .darkGray)
        slopes.legendPosition = .upperLeft
        return fig
    }
}

/// The "heatmap" experiment: log10‖∂h_t/∂h_k‖ over all pairs k ≤ t.
public enum HeatmapChart {
    public static func figure(_ grid: [[Double]], label: String, size: ChartSize = ChartSize()) -> Figure {
        let steps = grid.count - 1
        let fig = size.figure()
        let ax = fig.axes
        ax.title = "\(label): log-scale ‖∂h_{t}/∂h_{k}‖_{2} for every k ≤ t"
        ax.xLabel = "k (the earlier step)"
        ax.yLabel = "t (the later step)"
        let mask = grid.enumerated().map { t, row in row.indices.map { k in k > t } }
        let finite = grid.flatMap { $0 }.filter(\.isFinite)
        let lo = finite.min() ?? -1, hi = max(finite.max() ?? 0, lo + 1)
        ax.heatmap(grid, x: -0.5...(Double(steps) + 0.5), y: -0.5...(Double(steps) + 0.5), mask: mask,
                   colorScale: .log10Data, colorRange: lo...hi, colorbarLabel: "‖∂h_{t}/∂h_{k}‖_{2}")
        return fig
    }
}
