import Charts
import Foundation
import Dynamics

extension SweepExperiment {
    /// The phase diagram: mean top exponent against the gain, one line per cell with its min–max band over
    /// seeds, the line λ₁ = 0, "vanishing"/"exploding" labels and each cell's edge marked.
    public static func figure(_ r: SweepResult, decades: Bool = true, size: ChartSize = ChartSize()) -> Figure {
        let unit = decades ? 1 / M_LN10 : 1
        let fig = size.figure()
        let ax = fig.axes
        let o = r.options
        fig.title = "Where gradients vanish or explode: top Lyapunov exponent against the gain"
        ax.xLabel = "gain g (recurrent weights N(0, g^{2}/n)\(o.initialization == .orthogonal ? ", orthogonal" : ""))"
        ax.yLabel = decades ? "λ_{1} (decades per step)" : "λ_{1} (nats per step)"
        let gains = o.gains.values
        var lo = 0.0, hi = 0.0
        let intervals = r.edgeIntervals
        for (k, (cell, edge)) in r.edges.enumerated() {
            let s = r.stats(for: cell).filter { $0.mean.isFinite }
            guard !s.isEmpty else { fig.addNote("\(cell.rawValue): no finite exponent (the product was exactly zero)"); continue }
            let color = Palette.color(k)
            let x = s.map(\.gain)
            ax.band(x, lower: s.map { $0.min * unit }, upper: s.map { $0.max * unit }, color: color, alpha: 0.18)
            let iv = intervals[k]
            ax.plot(x, s.map { $0.mean * unit }, label: "\(cell.rawValue) (edge \(intervalText(iv.lower, iv.upper, gains: gains)))", color: color)
            lo = min(lo, s.map { $0.min * unit }.min()!)
            hi = max(hi, s.map { $0.max * unit }.max()!)
            if let e = edge {
                ax.scatter([e], [0], color: color, marker: .circle, size: 11)
            }

            let zeros = r.stats(for: cell).filter { $0.zeroCount > 0 }.count
            if zeros > 0 { fig.addNote("\(cell.rawValue): at \(zeros) gain(s) some seeds had an exactly zero product (λ₁ = −∞), left out of the band") }
        }
        ax.hline(0, label: "λ_{1} = 0", color: .darkGray, dash: .dashed)
        if r.edges.contains(where: { $0.cell == .tanh }) {
            // Theory: tanh without input, linearised at h = 0, λ₁ = log g; valid below g = 1 (solid), where the
            // zero state is stable; above it the state leaves 0 (dotted: what the zero state would give).
            let below = gains.filter { $0 <= 1 }, above = gains.filter { $0 >= 1 }
            if below.count >= 2 {
                ax.plot(below, below.map { zeroStateExponent(gain: $0) * unit }, label: "theory (tanh, no input): log g",
                        color: .black, width: 1.8, dash: .dashDot)
            }
            if above.count >= 2 {
                let ys = above.map { zeroStateExponent(gain: $0) * unit }
                ax.plot(above, ys, label: "log g, g > 1: unstable zero state", color: .gray, width: 1.5, dash: .dotted)
                hi = max(hi, ys.max()!)
            }
            if let m = below.min() { lo = min(lo, zeroStateExponent(gain: m) * unit) }
        }
        let span = max(hi - lo, 1e-3)
        // The edge intervals: one thick bar per cell just below λ₁ = 0, stacked so that none hides another,
        // from the largest seed's crossing to the smallest seed's.
        for (k, iv) in intervals.enumerated() {
            guard let l = iv.lower else { continue }
            let y = -0.03 * Double(k + 1) * span
            ax.plot([l, iv.upper ?? gains.last ?? l], [y, y], color: Palette.color(k), width: 6)
        }
        ax.yRange = (lo - 0.08 * span)...(hi + 0.12 * span)
        ax.xRange = (gains.first ?? 0)...(gains.last ?? 1)
        let xl = gains.first ?? 0, xr = gains.last ?? 1
        ax.annotate("exploding: λ_{1} > 0, gradients grow with the lag", x: xl + 0.03 * (xr - xl), y: hi + 0.06 * span,
                    color: Color(hex: 0xB2182B), alignment: .left, bold: true)
        ax.annotate("vanishing: λ_{1} < 0, gradients shrink with the lag", x: xl + 0.03 * (xr - xl), y: lo - 0.03 * span,
                    color: Color(hex: 0x2166AC), alignment: .left, bold: true)
        ax.legendPosition = .lowerRight
        fig.addNote("n = \(o.hidden), T = \(o.steps) (first \(o.effectiveWarmup) steps not averaged), inputs N(0, \(Format.fixed(o.inputScale, o.inputScale < 0.1 ? 3 : 2))²), \(o.seeds) seeds per point; band = min–max over seeds; dot: mean λ₁ = 0; bar: edge interval (seeds' crossings)")
        return fig
    }
}
