import Foundation

/// Where a legend is drawn.
public enum LegendPosition: Sendable, Equatable {
    /// The inside corner that covers the fewest data; outside right if every corner is crowded.
    case automatic
    case upperRight, upperLeft, lowerRight, lowerLeft
    /// To the right of the plot area (the plot shrinks to make room).
    case outsideRight
    /// No legend.
    case hidden

    static let insideCorners: [LegendPosition] = [.upperRight, .upperLeft, .lowerRight, .lowerLeft]
}

/// A measured legend.
struct LegendLayout {
    var rect: ChartRect
    var position: LegendPosition
    var entries: [(item: LegendItem, text: RichText)]
    var rowHeight: Double
    var sampleWidth: Double
    var padding: Double
    /// Data samples under the chosen box (for tests / diagnostics).
    var overlap: Int
}

extension Figure {
    /// Measures the legend and picks its position (see `LegendPosition.automatic`).
    func layoutLegend(_ ax: Axes, geometry g: PanelGeometry, canvas: Canvas, style st: Style) -> LegendLayout? {
        guard ax.legendPosition != .hidden else { return nil }
        let entries = ax.legendItems.compactMap { item in item.label.map { (item: item, text: RichText($0)) } }
        guard !entries.isEmpty else { return nil }
        let padding = st.pad * 0.8
        let rowHeight = st.legend.size * 1.55
        let sampleWidth = 38 * st.factor
        let textWidth = entries.map { canvas.measure($0.text, st.legend).width }.max() ?? 0
        let size = (w: padding * 2 + sampleWidth + st.pad * 0.8 + textWidth,
                    h: padding * 1.4 + rowHeight * Double(entries.count))
        let inset = st.pad
        func rect(_ p: LegendPosition) -> ChartRect {
            let plot = g.plot
            switch p {
            case .upperLeft: return ChartRect(x: plot.minX + inset, y: plot.minY + inset, width: size.w, height: size.h)
            case .lowerRight:
                return ChartRect(x: plot.maxX - inset - size.w, y: plot.maxY - inset - size.h, width: size.w, height: size.h)
            case .lowerLeft: return ChartRect(x: plot.minX + inset, y: plot.maxY - inset - size.h, width: size.w, height: size.h)
            case .outsideRight: return ChartRect(x: plot.maxX + st.pad * 1.5, y: plot.minY, width: size.w, height: size.h)
            default: return ChartRect(x: plot.maxX - inset - size.w, y: plot.minY + inset, width: size.w, height: size.h)
            }
        }
        var position = ax.legendPosition
        var overlap = 0
        if position == .automatic {
            var samples = dataSamples(ax, g)
            for p in g.referenceLabels + g.annotationLabels { samples += boxSamples(box(p, canvas)) }
            let scored = LegendPosition.insideCorners.map { (p: $0, s: countSamples(samples, in: rect($0).insetBy(-3))) }
            let best = scored.min { $0.s < $1.s }!        // first minimum keeps corner preference order
            let fitsInside = size.w < g.plot.width * 0.6 && size.h < g.plot.height * 0.8
            if best.s > 3 || !fitsInside { position = .outsideRight } else { position = best.p; overlap = best.s }
        }
        return LegendLayout(rect: rect(position), position: position, entries: entries, rowHeight: rowHeight,
                            sampleWidth: sampleWidth, padding: padding, overlap: overlap)
    }

    /// Points (in figure points) along everything the panel draws from data: lines, markers,
    /// bands and reference lines. Used to keep legends and labels off the data.
    func dataSamples(_ ax: Axes, _ g: PanelGeometry) -> [Point] {
        var out: [Point] = []
        let step = 4.0
        func sample(_ lines: [[Point]]) {
            for l in lines {
                for (a, b) in zip(l, l.dropFirst()) {
                    let n = max(1, Int((hypot(b.x - a.x, b.y - a.y) / step).rounded(.up)))
                    for k in 0..<n {
                        let t = Double(k) / Double(n)
                        out.append(Point(x: a.x + (b.x - a.x) * t, y: a.y + (b.y - a.y) * t))
                    }
                }
                if let last = l.last { out.append(last) }
            }
        }
        let clip = g.plot
        for s in ax.lines {
            let pts = g.devicePoints(s.x, s.y, ax)
            if s.drawsLine { sample(clippedPolylines(pts, to: clip)) }
            if s.marker != .none { out += pts.compactMap { $0 }.filter { clip.contains(x: $0.x, y: $0.y) } }
        }
        for b in ax.bands {
            for run in g.bandRuns(b, ax) {
                sample(clippedPolylines(run.map { Optional($0.upper) }, to: clip))
                sample(clippedPolylines(run.map { Optional($0.lower) }, to: clip))
                for p in run {   // the shaded interior counts too
                    for f in [0.25, 0.5, 0.75] {
                        let q = Point(x: p.upper.x, y: p.upper.y + (p.lower.y - p.upper.y) * f)
                        if clip.contains(x: q.x, y: q.y) { out.append(q) }
                    }
                }
            }
        }
        for r in ax.referenceLines {
            if let seg = g.referenceSegment(r, ax) { sample([[seg.0, seg.1]]) }
        }
        return out
    }

    /// A 5×5 grid of points covering `r` (text boxes as obstacles).
    func boxSamples(_ r: ChartRect) -> [Point] {
        (0...4).flatMap { i in (0...4).map { j in
            Point(x: r.minX + r.width * Double(i) / 4, y: r.minY + r.height * Double(j) / 4)
        } }
    }

    func countSamples(_ samples: [Point], in r: ChartRect) -> Int {
        samples.reduce(0) { $0 + (r.contains(x: $1.x, y: $1.y) ? 1 : 0) }
    }

    /// Draws the legend box and its entries.
    func drawLegend(_ legend: LegendLayout, canvas: Canvas, style st: Style) {
        let r = legend.rect
        canvas.fill(r, Color.white.withAlpha(0.92))
        canvas.strokeRect(r, Color(hex: 0xC8C8C8), width: 1)
        for (i, entry) in legend.entries.enumerated() {
            let cy = r.minY + legend.padding * 0.7 + legend.rowHeight * (Double(i) + 0.5)
            let x0 = r.minX + legend.padding, x1 = x0 + legend.sampleWidth
            switch entry.item {
            case .line(let s):
                if s.drawsLine {
                    canvas.polylines([[Point(x: x0, y: cy), Point(x: x1, y: cy)]], s.color, width: s.lineWidth, dash: s.dash)
                }
                canvas.marker(s.marker, at: Point(x: (x0 + x1) / 2, y: cy), size: s.markerSize, color: s.color)
            case .band(let b):
                let h = legend.rowHeight * 0.55
                let box = ChartRect(x: x0, y: cy - h / 2, width: legend.sampleWidth, height: h)
                canvas.fill(box, b.color.withAlpha(b.alpha))
                canvas.strokeRect(box, b.color.withAlpha(min(1, b.alpha * 3)), width: 1)
            }
            canvas.text(entry.text, st.legend, x: x1 + st.pad * 0.8, y: cy, h: .left, v: .middle)
        }
    }
}
