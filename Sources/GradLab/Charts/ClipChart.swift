import Charts
import Foundation

/// The `clip` chart: what norm scaling and value clipping do to one gradient vector.
public enum ClipChart {
    /// Two panels over the entries i = 1…n. Left: the clipped vectors themselves (both bounded, so they share
    /// a scale; g, usually far longer, is named in the title). Right: each vector divided by its own length
    /// (its direction): norm scaling lies on g, value clipping leaves it.
    public static func figure(gradient g: [Double], byNorm: [Double], byValue: [Double], clipNorm: Double, clipValue: Double,
                              normAngle: String, valueAngle: String, size: ChartSize = ChartSize()) -> Figure {
        let fig = size.figure(rows: 1, cols: 2)
        fig.title = "Norm scaling keeps the direction, value clipping bends it"
        let x = (1...g.count).map(Double.init)
        func norm(_ v: [Double]) -> Double {
            let m = v.reduce(0.0) { max($0, abs($1)) }
            guard m > 0 else { return 0 }
            return m * v.reduce(0.0) { $0 + ($1 / m) * ($1 / m) }.squareRoot()
        }
        let ng = norm(g), nn = norm(byNorm), nv = norm(byValue)
        let normLabel = "norm scaling, c = \(Format.short(clipNorm)) (‖·‖ = \(Format.magnitude(nn, 3)))"
        let valueLabel = "value clipping, v = \(Format.short(clipValue)) (‖·‖ = \(Format.magnitude(nv, 3)))"
        let left = fig[0, 0]
        left.title = "the clipped steps (g itself has ‖g‖ = \(Format.magnitude(ng, 3)))"
        left.xLabel = "entry i"
        left.yLabel = "value"
        left.plot(x, byNorm, label: normLabel, color: Palette.color(0), width: 3, marker: .circle)
        left.plot(x, byValue, label: valueLabel, color: Palette.color(1), width: 3, dash: .dashed, marker: .square)
        left.hline(clipValue, color: .gray, dash: .dotted, width: 1)
        left.hline(-clipValue, color: .gray, dash: .dotted, width: 1)
        left.hline(0, color: .gray, dash: .solid, width: 1)
        left.xRange = 0.5...(Double(g.count) + 0.5)
        let right = fig[0, 1]
        right.title = "directions v/‖v‖: angle to g \(normAngle) (norm), \(valueAngle) (value)"
        right.xLabel = "entry i"
        right.yLabel = "entry of v/‖v‖₂"
        right.plot(x, g.map { $0 / ng }, label: "gradient g (wide, pale)", color: Palette.color(2).withAlpha(0.5), width: 10)
        right.plot(x, byNorm.map { $0 / nn }, label: "norm scaling (on g)", color: Palette.color(0), width: 3, marker: .circle)
        right.plot(x, byValue.map { $0 / nv }, label: "value clipping", color: Palette.color(1), width: 3, dash: .dashed, marker: .square)
        right.hline(0, color: .gray, dash: .solid, width: 1)
        right.xRange = 0.5...(Double(g.count) + 0.5)
        return fig
    }
}
