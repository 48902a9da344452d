import Foundation

/// Where a legend is drawn.
public enum LegendPosition: Sendable, Equatable {
    /// The inside corner that covers the fewest data; else outside right, else below the plot in columns
    /// (shrinking the text a little before giving up on a position).
    case automatic
    case upperRight, upperLeft, lowerRight, lowerLeft
    /// To the right of the plot area (the plot shrinks to make room).
    case outsideRight
    /// Below the plot, in as many columns as fit (the plot shrinks to make room).
    case below
    /// No legend.
    case hidden

    static let insideCorners: [LegendPosition] = [.upperRight, .upperLeft, .lowerRight, .lowerLeft]
    var isInside: Bool { LegendPosition.insideCorners.contains(self) }
}

/// Which legend positions a layout may choose.
enum LegendChoice { case any, inside, below }

/// A measured legend.
struct LegendLayout {
    var rect: ChartRect
    var position: LegendPosition
    var entries: [(item: LegendItem, text: RichText)]
    var style: TextStyle
    var rowHeight: Double
    var sampleWidth: Double
    var padding: Double
    var rows: Int
    var columnWidths: [Double]
    var spacing: Double
    /// Data samples under the chosen box (for tests / diagnostics).
    var overlap: Int
}

extension Figure {
    /// Measures the legend and picks its position (see `LegendPosition.automatic`). A position asked for
    /// explicitly is kept when the legend fits there without covering text; otherwise the automatic rules apply.
    /// `only`: restrict the choice to the inside corners, or to below (a figure-wide shared legend).
    func layoutLegend(_ ax: Axes, geometry g: PanelGeometry, canvas: Canvas, style st: Style,
                      only: LegendChoice = .any) -> LegendLayout? {
        guard ax.legendPosition != .hidden else { return nil }
        let items = ax.legendItems + g.legendReferenceIndices.map { LegendItem.reference(ax.referenceLines[$0]) }
        let entries = items.compactMap { item in item.label.map { (item: item, text: RichText($0)) } }
        guard !entries.isEmpty else { return nil }
        var samples = dataSamples(ax, g)
        let labels = (g.referenceLabels + g.annotationLabels).map { box($0, canvas) }
        for b in labels { samples += boxSamples(b) }
        let inset = st.pad

        func make(_ shrink: Double, _ p: LegendPosition, columns: Int = 1) -> LegendLayout {
            var style = st.legend
            style.size *= shrink
            let f = st.factor * shrink
            let padding = st.pad * 0.8 * shrink
            let rowHeight = style.size * 1.55
            let sampleWidth = 38 * f
            let textWidths = entries.map { canvas.measure($0.text, style).width }
            let rows = (entries.count + columns - 1) / columns
            let columnWidths = stride(from: 0, to: entries.count, by: rows).map { start in
                sampleWidth + st.pad * 0.8 * shrink + (textWidths[start..<min(start + rows, entries.count)].max() ?? 0)
            }
            let spacing = st.pad * 1.5 * shrink
            let w = padding * 2 + columnWidths.reduce(0, +) + spacing * Double(columnWidths.count - 1)
            let h = padding * 1.4 + rowHeight * Double(rows)
            let plot = g.plot
            let rect: ChartRect
            switch p {
            case .upperLeft: rect = ChartRect(x: plot.minX + inset, y: plot.minY + inset, width: w, height: h)
            case .lowerRight: rect = ChartRect(x: plot.maxX - inset - w, y: plot.maxY - inset - h, width: w, height: h)
            case .lowerLeft: rect = ChartRect(x: plot.minX + inset, y: plot.maxY - inset - h, width: w, height: h)
            case .outsideRight: rect = ChartRect(x: g.cell.maxX - w, y: plot.minY, width: w, height: h)
            case .below: rect = ChartRect(x: g.cell.midX - w / 2, y: g.cell.maxY - h, width: w, height: h)
            default: rect = ChartRect(x: plot.maxX - inset - w, y: plot.minY + inset, width: w, height: h)
            }
            return LegendLayout(rect: rect, position: p, entries: entries, style: style, rowHeight: rowHeight,
                                sampleWidth: sampleWidth, padding: padding, rows: rows, columnWidths: columnWidths,
                                spacing: spacing, overlap: countSamples(samples, in: rect.insetBy(-3)))
        }
        func insideOK(_ l: LegendLayout, strict: Bool) -> Bool {
            l.rect.width < g.plot.width * 0.65 && l.rect.height < g.plot.height * 0.8
                && !labels.contains { $0.intersects(l.rect.insetBy(-2)) } && (!strict || l.overlap <= 3)
        }
        func outsideRight(_ shrink: Double) -> LegendLayout? {
            let l = make(shrink, .outsideRight)
            return l.rect.width <= g.cell.width * 0.3 && l.rect.height <= g.cell.height ? l : nil
        }
        func below(_ shrink: Double, maxShare: Double) -> LegendLayout? {
            // The most columns that fit the width, then balanced: as few columns as those rows need.
            guard let widest = (1...entries.count).reversed().lazy.map({ make(shrink, .below, columns: $0) })
                    .first(where: { $0.rect.width <= g.cell.width + 0.5 }) else { return nil }
            let l = make(shrink, .below, columns: (entries.count + widest.rows - 1) / widest.rows)
            return l.rect.width <= g.cell.width + 0.5 && l.rect.height <= g.cell.height * maxShare ? l : nil
        }

        if only == .below {
            for shrink in [1.0, 0.85, 0.72] { if let l = below(shrink, maxShare: 0.35) { return l } }
            return below(0.72, maxShare: 1) ?? make(0.72, .below)
        }
        if ax.legendPosition.isInside {
            let l = make(1, ax.legendPosition)
            if insideOK(l, strict: only == .inside) { return l }
        }
        if only == .inside {
            let corners = LegendPosition.insideCorners.map { make(1, $0) }.filter { insideOK($0, strict: true) }
            return corners.min(by: { $0.overlap < $1.overlap })
        }
        if ax.legendPosition == .outsideRight, let l = outsideRight(1) { return l }
        if ax.legendPosition == .below, let l = below(1, maxShare: 0.4) { return l }
        // Inside (a little smaller if need be) before outside: outside legends take room from the plot.
        for shrink in [1.0, 0.85] {
            let corners = LegendPosition.insideCorners.map { make(shrink, $0) }.filter { insideOK($0, strict: true) }
            if let best = corners.min(by: { $0.overlap < $1.overlap }) { return best }   // first minimum: preference order
        }
        for shrink in [1.0, 0.85, 0.72] {
            if let l = outsideRight(shrink) { return l }
            if let l = below(shrink, maxShare: 0.35) { return l }
        }
        return below(0.72, maxShare: 1) ?? make(0.72, .below)
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
        canvas.recordFrame(r)
        canvas.fill(r, Color.white.withAlpha(0.92))
        canvas.strokeRect(r, Color(hex: 0xC8C8C8), width: 1)
        canvas.textKind = .legendEntry
        defer { canvas.textKind = .text }
        let rows = legend.rows
        let shrink = legend.style.size / st.legend.size
        for (i, entry) in legend.entries.enumerated() {
            let row = i % rows, col = i / rows
            let cy = r.minY + legend.padding * 0.7 + legend.rowHeight * (Double(row) + 0.5)
            let x0 = r.minX + legend.padding + legend.columnWidths[..<col].reduce(0, +) + Double(col) * legend.spacing
            let x1 = x0 + legend.sampleWidth
            switch entry.item {
            case .line(let s):
                if s.drawsLine {
                    canvas.polylines([[Point(x: x0, y: cy), Point(x: x1, y: cy)]], s.color, width: s.lineWidth * st.lineScale,
                                     dash: s.dash.isShared ? .dashed : s.dash)
                }
                canvas.marker(s.marker, at: Point(x: (x0 + x1) / 2, y: cy), size: s.markerSize * st.lineScale, color: s.color)
            case .band(let b):
                let h = legend.rowHeight * 0.55
                let box = ChartRect(x: x0, y: cy - h / 2, width: legend.sampleWidth, height: h)
                canvas.fill(box, b.color.withAlpha(b.alpha))
                canvas.strokeRect(box, b.color.withAlpha(min(1, b.alpha * 3)), width: 1)
            case .reference(let ref):
                canvas.polylines([[Point(x: x0, y: cy), Point(x: x1, y: cy)]], ref.color, width: ref.lineWidth * st.lineScale, dash: ref.dash)
            }
            canvas.text(entry.text, legend.style, x: x1 + st.pad * 0.8 * shrink, y: cy, h: .left, v: .middle)
        }
    }
}
