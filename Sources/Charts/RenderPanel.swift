import Foundation

/// Where and how a piece of text is drawn.
struct TextPlacement {
    var text: RichText
    var style: TextStyle
    var x: Double
    var y: Double
    var h: HAlign
    var v: VAlign
}

extension PanelGeometry {
    /// Figure-point positions of the data points; nil where a point cannot be drawn.
    func devicePoints(_ xs: [Double], _ ys: [Double], _ ax: Axes) -> [Point?] {
        let xm = xMap, ym = yMap
        return zip(xs, ys).map { x, y in
            guard let px = ax.xScale.plotValue(x), let py = ax.yScale.plotValue(y) else { return nil }
            return Point(x: xm(px), y: ym(py))
        }
    }

    /// Contiguous runs of drawable band points.
    func bandRuns(_ b: BandSeries, _ ax: Axes) -> [[(upper: Point, lower: Point)]] {
        let upper = devicePoints(b.x, b.upper, ax), lower = devicePoints(b.x, b.lower, ax)
        var runs: [[(upper: Point, lower: Point)]] = [], run: [(upper: Point, lower: Point)] = []
        for (u, l) in zip(upper, lower) {
            if let u, let l { run.append((u, l)) } else { if run.count > 1 { runs.append(run) }; run = [] }
        }
        if run.count > 1 { runs.append(run) }
        return runs
    }

    /// End points of a reference line, nil when it lies outside the axis range.
    func referenceSegment(_ r: ReferenceLine, _ ax: Axes) -> (Point, Point)? {
        switch r.orientation {
        case .horizontal:
            guard let v = ax.yScale.plotValue(r.value), yMap.contains(v) else { return nil }
            return (Point(x: plot.minX, y: yMap(v)), Point(x: plot.maxX, y: yMap(v)))
        case .vertical:
            guard let v = ax.xScale.plotValue(r.value), xMap.contains(v) else { return nil }
            return (Point(x: xMap(v), y: plot.minY), Point(x: xMap(v), y: plot.maxY))
        }
    }
}

/// Keeps a crowded coordinate far from huge values Cairo's fixed-point maths cannot hold.
private func tame(_ p: Point, _ r: ChartRect) -> Point {
    let m = 1e4
    return Point(x: min(max(p.x, r.minX - m), r.maxX + m), y: min(max(p.y, r.minY - m), r.maxY + m))
}

extension Figure {
    /// Candidate label positions for a reference line, best-looking first.
    func referenceLabelCandidates(_ r: ReferenceLine, _ ax: Axes, _ g: PanelGeometry, canvas: Canvas,
                                  style st: Style) -> [TextPlacement] {
        guard let label = r.label, let (a, _) = g.referenceSegment(r, ax) else { return [] }
        let text = RichText(label)
        let inset = st.pad * 0.6
        let room = (r.orientation == .horizontal ? g.plot.width : g.plot.height) - 2 * inset
        let style = canvas.fitting(text, TextStyle(size: st.legend.size, color: r.color), maxWidth: room, minimum: 0.75)
        let off = 4 * st.factor + r.lineWidth * st.lineScale / 2
        switch r.orientation {
        case .horizontal:
            let w = canvas.measure(text, style).width
            let xs: [(Double, HAlign)] = [(g.plot.maxX - inset, .right), (g.plot.minX + inset, .left),
                                          (g.plot.midX, .center), (g.plot.minX + max(w / 2 + inset, g.plot.width * 0.25), .center),
                                          (g.plot.maxX - max(w / 2 + inset, g.plot.width * 0.25), .center)]
            return xs.flatMap { x, h in
                [TextPlacement(text: text, style: style, x: x, y: a.y - off, h: h, v: .bottom),
                 TextPlacement(text: text, style: style, x: x, y: a.y + off, h: h, v: .top)]
            }
        case .vertical:
            return [(g.plot.minY + inset, VAlign.top), (g.plot.maxY - inset, .bottom), (g.plot.midY, .middle)].flatMap { y, v in
                [TextPlacement(text: text, style: style, x: a.x + off + 2, y: y, h: .left, v: v),
                 TextPlacement(text: text, style: style, x: a.x - off - 2, y: y, h: .right, v: v)]
            }
        }
    }

    /// Places annotations (where they were asked for, moved off other text), then reference-line labels
    /// where they cover no data and no other text; a reference label that finds no such spot goes into the
    /// legend instead.
    /// `legendLines`, when given, fixes which reference lines are labelled in the legend (a second layout
    /// pass around an outside legend must keep the legend's entries).
    func placeLabels(_ g: inout PanelGeometry, _ ax: Axes, canvas: Canvas, style st: Style, legendLines: Set<Int>? = nil) {
        g.annotationLabels = []
        g.referenceLabels = []
        g.legendReferenceIndices = []
        let samples = dataSamples(ax, g)
        var placed: [ChartRect] = []
        let inside = g.plot.insetBy(-1)
        func fits(_ b: ChartRect) -> Bool { inside.contains(x: b.minX, y: b.minY) && inside.contains(x: b.maxX, y: b.maxY) }
        func free(_ b: ChartRect) -> Bool { !placed.contains { $0.intersects(b.insetBy(-1.5)) } }

        for a in ax.annotations {
            let candidates = annotationCandidates(a, ax, g, canvas: canvas, style: st)
            guard !candidates.isEmpty else { continue }
            // Optional text (decorations) must not cover data either.
            let ok = candidates.filter { free(box($0, canvas)) && (!a.optional || countSamples(samples, in: box($0, canvas).insetBy(-2)) == 0) }
            let choice: TextPlacement?
            if a.nearPoint {
                choice = ok.min { countSamples(samples, in: box($0, canvas).insetBy(-2)) < countSamples(samples, in: box($1, canvas).insetBy(-2)) }
            } else {
                choice = ok.first
            }
            if let c = choice ?? (a.optional ? nil : candidates.first) {
                g.annotationLabels.append(c)
                placed.append(box(c, canvas))
            }
        }
        for (i, r) in ax.referenceLines.enumerated() {
            if let fixed = legendLines, fixed.contains(i) { g.legendReferenceIndices.append(i); continue }
            let candidates = referenceLabelCandidates(r, ax, g, canvas: canvas, style: st)
            guard !candidates.isEmpty else { continue }
            let scored = candidates.compactMap { p -> (TextPlacement, Int)? in
                let b = box(p, canvas)
                guard fits(b), free(b) else { return nil }
                return (p, countSamples(samples, in: b.insetBy(-2)))
            }
            if let best = scored.min(by: { $0.1 < $1.1 }), best.1 == 0 || legendLines != nil {
                g.referenceLabels.append(best.0)
                placed.append(box(best.0, canvas))
            } else if legendLines == nil {
                g.legendReferenceIndices.append(i)
            }
        }
    }

    /// Where an annotation may go, best first: at its point (or, `nearPoint`, beside it), kept inside the
    /// plot and shrunk to fit its width, then moved up or down by a line at a time.
    func annotationCandidates(_ a: Annotation, _ ax: Axes, _ g: PanelGeometry, canvas: Canvas,
                              style st: Style) -> [TextPlacement] {
        guard let px = ax.xScale.plotValue(a.x), let py = ax.yScale.plotValue(a.y) else { return [] }
        let text = RichText(a.text)
        let inner = g.plot.insetBy(4)
        let style = canvas.fitting(text, st.annotation(a.relativeSize, bold: a.bold, color: a.color),
                                   maxWidth: inner.width, minimum: 0.5)
        let h: HAlign = a.alignment == .left ? .left : (a.alignment == .right ? .right : .center)
        let x0 = g.xMap(px), y0 = g.yMap(py)
        let lineHeight = canvas.measure(text, style).height
        var anchors: [(Double, Double, HAlign)]
        if a.nearPoint {
            // dy: the text box (one line high, centred) clears the point's line by half a line, so a label beside a
            // curve's end never covers the curve (or a reference line through the point).
            let dx = 6 * st.factor, dy = lineHeight * 1.05
            anchors = [(x0 + dx, y0 + dy, .left), (x0 + dx, y0 - dy, .left), (x0 - dx, y0 + dy, .right),
                       (x0 - dx, y0 - dy, .right), (x0, y0 + 1.6 * dy, .center), (x0, y0 - 1.6 * dy, .center)]
            for k in 2...4 { for sign in [1.0, -1.0] { anchors.append((x0 - dx, y0 + sign * Double(k) * lineHeight * 1.1, .right)) } }
        } else {
            anchors = [(x0, y0, h)]
            for k in 1...3 { for sign in [1.0, -1.0] { anchors.append((x0, y0 + sign * Double(k) * lineHeight * 1.1, h)) } }
        }
        return anchors.map { x, y, h in
            var p = TextPlacement(text: text, style: style, x: x, y: y, h: h, v: .middle)
            let b = canvas.bounds(text, style, x: p.x, y: p.y, h: h, v: .middle)
            if b.minX < inner.minX { p.x += inner.minX - b.minX } else if b.maxX > inner.maxX { p.x -= b.maxX - inner.maxX }
            if b.minY < inner.minY { p.y += inner.minY - b.minY } else if b.maxY > inner.maxY { p.y -= b.maxY - inner.maxY }
            return p
        }
    }

    func box(_ p: TextPlacement, _ canvas: Canvas) -> ChartRect {
        canvas.bounds(p.text, p.style, x: p.x, y: p.y, h: p.h, v: p.v)
    }

    /// Text on a translucent white patch so it stays legible over grid and data.
    private func drawHaloText(_ p: TextPlacement, canvas: Canvas) {
        canvas.fill(box(p, canvas).insetBy(-2), Color.white.withAlpha(0.8))
        canvas.text(p.text, p.style, x: p.x, y: p.y, h: p.h, v: p.v)
    }

    /// Draws one panel.
    func drawPanel(_ ax: Axes, _ g: PanelGeometry, canvas: Canvas, style st: Style) {
        let plot = g.plot
        if ax.showGrid && ax.heatmap == nil { drawGrid(g, canvas: canvas) }

        canvas.save()
        canvas.clip(to: plot)
        if let h = ax.heatmap, let x0 = ax.xScale.plotValue(h.xExtent.lowerBound),
           let x1 = ax.xScale.plotValue(h.xExtent.upperBound), let y0 = ax.yScale.plotValue(h.yExtent.lowerBound),
           let y1 = ax.yScale.plotValue(h.yExtent.upperBound) {
            let a = g.point(x0, y1), b = g.point(x1, y0)
            canvas.image(h.argbPixels(), width: h.cols, height: h.rows,
                         in: ChartRect(x: a.x, y: a.y, width: b.x - a.x, height: b.y - a.y))
        }
        for b in ax.bands {
            for run in g.bandRuns(b, ax) {
                canvas.polygon((run.map(\.upper) + run.reversed().map(\.lower)).map { tame($0, plot) },
                               b.color.withAlpha(b.alpha))
            }
        }
        for r in ax.referenceLines {
            if let (a, b) = g.referenceSegment(r, ax) { canvas.line(a, b, r.color, width: r.lineWidth * st.lineScale, dash: r.dash) }
        }
        let lineClip = plot.insetBy(-20)
        for s in ax.lines {
            let pts = g.devicePoints(s.x, s.y, ax)
            if s.drawsLine {
                canvas.polylines(clippedPolylines(pts, to: lineClip), s.color, width: s.lineWidth * st.lineScale, dash: s.dash)
            }
            if s.marker != .none {
                let area = plot.insetBy(-s.markerSize * st.lineScale)
                for p in pts { if let p, area.contains(x: p.x, y: p.y) {
                    canvas.marker(s.marker, at: p, size: s.markerSize * st.lineScale, color: s.color)
                } }
            }
        }
        canvas.restore()

        for p in g.referenceLabels + g.annotationLabels { drawHaloText(p, canvas: canvas) }
        if ax.isEmpty {
            canvas.text("no data", TextStyle(size: st.label.size, color: .gray), x: plot.midX, y: plot.midY,
                        h: .center, v: .middle)
        }

        canvas.strokeRect(plot, Style.spine, width: 1.2)
        drawAxisTicks(g, ax, canvas: canvas, style: st)

        if let t = g.title {
            // Centred on the plot when it fits there, else on the panel's cell.
            let w = t.lines.map { canvas.measure($0, t.style).width }.max() ?? 0
            let x = min(max(plot.midX, g.cell.minX + 4 + w / 2), g.cell.maxX - 4 - w / 2)
            canvas.text(t, x: x, y: g.cell.minY, h: .center)
        }
        if let l = g.xLabel {
            let w = l.lines.map { canvas.measure($0, l.style).width }.max() ?? 0
            let x = min(max(plot.midX, g.cell.minX + w / 2), g.cell.maxX - w / 2)
            canvas.text(l, x: x, y: plot.maxY + st.tickLength + st.tickGap + g.xTickHeight + st.pad * 0.5, h: .center)
        }
        if let l = g.yLabel {
            let w = l.lines.map { canvas.measure($0, l.style).width }.max() ?? 0
            let y = min(max(plot.midY, g.yLabelSpan.lowerBound + w / 2), g.yLabelSpan.upperBound - w / 2)
            canvas.text(l, x: plot.minX - st.tickLength - st.tickGap - g.yTickWidth - st.pad * 0.6 - canvas.height(l),
                        y: y, h: .center, angle: -Double.pi / 2)
        }
        if let legend = g.legend { drawLegend(legend, canvas: canvas, style: st) }
        if let cb = g.colorbar { drawColorbar(cb, label: g.colorbarLabel, canvas: canvas, style: st) }
    }

    private func drawGrid(_ g: PanelGeometry, canvas: Canvas) {
        let plot = g.plot
        let xs = g.xTicks.map { (g.xMap($0.position), $0.isMajor) }
        let ys = g.yTicks.map { (g.yMap($0.position), $0.isMajor) }
        for major in [false, true] {
            let color = major ? Style.majorGrid : Style.minorGrid
            if major || !isCrowded(xs.map(\.0)) {
                for (x, m) in xs where m == major {
                    canvas.line(Point(x: x, y: plot.minY), Point(x: x, y: plot.maxY), color, width: 1)
                }
            }
            if major || !isCrowded(ys.map(\.0)) {
                for (y, m) in ys where m == major {
                    canvas.line(Point(x: plot.minX, y: y), Point(x: plot.maxX, y: y), color, width: 1)
                }
            }
        }
    }

    /// Minor grid lines closer than 6 pt (e.g. 8×, 9×10^k over many decades) would only add noise.
    private func isCrowded(_ positions: [Double]) -> Bool {
        let p = positions.sorted()
        return zip(p, p.dropFirst()).contains { $1 - $0 < 6 }
    }

    private func drawAxisTicks(_ g: PanelGeometry, _ ax: Axes, canvas: Canvas, style st: Style) {
        let plot = g.plot
        let (sinT, cosT) = Figure.rotation(ax)
        for t in g.xTicks {
            let x = g.xMap(t.position), len = t.isMajor ? st.tickLength : st.minorTickLength
            canvas.line(Point(x: x, y: plot.maxY), Point(x: x, y: plot.maxY + len), Style.spine, width: 1)
            if let l = t.label {
                let style = Figure.tickStyle(st, color: t.color, bold: t.bold, scale: g.xTickScale)
                if sinT == 0 {
                    canvas.text(l, style, x: x, y: plot.maxY + st.tickLength + st.tickGap, h: .center, v: .top)
                } else {
                    // Rotated: the label ends at the tick and reads upwards towards it.
                    // (Lowered by half a line's cos θ so its upper corner clears the tick mark.)
                    canvas.text(l, style, x: x, y: plot.maxY + st.tickLength + st.tickGap + style.size * 0.5 * cosT,
                                h: .right, v: .middle, angle: -atan2(sinT, cosT))
                }
            }
        }
        for t in g.yTicks {
            let y = g.yMap(t.position), len = t.isMajor ? st.tickLength : st.minorTickLength
            canvas.line(Point(x: plot.minX - len, y: y), Point(x: plot.minX, y: y), Style.spine, width: 1)
            if let l = t.label {
                canvas.text(l, st.tick, x: plot.minX - st.tickLength - st.tickGap, y: y, h: .right, v: .middle)
            }
        }
    }

    private func drawColorbar(_ cb: ColorbarLayout, label: FittedText?, canvas: Canvas, style st: Style) {
        let r = cb.rect
        let gradient = (0..<256).map { row -> UInt32 in
            let (red, green, blue) = Viridis.rgb8(at: 1 - Double(row) / 255)
            return 0xFF00_0000 | UInt32(red) << 16 | UInt32(green) << 8 | UInt32(blue)
        }
        canvas.image(gradient, width: 1, height: 256, in: r)
        canvas.strokeRect(r, Style.spine, width: 1)
        let map = AxisMap(lo: cb.range.lowerBound, hi: cb.range.upperBound, start: r.maxY, end: r.minY)
        for t in cb.ticks {
            let y = map(t.position), len = t.isMajor ? st.tickLength : st.minorTickLength
            canvas.line(Point(x: r.maxX, y: y), Point(x: r.maxX + len, y: y), Style.spine, width: 1)
            if let l = t.label {
                canvas.text(l, st.tick, x: r.maxX + st.tickLength + st.tickGap, y: y, h: .left, v: .middle)
            }
        }
        if let label {
            canvas.text(label, x: r.maxX + st.tickLength + st.tickGap + cb.tickWidth + st.pad * 0.6,
                        y: r.midY, h: .center, angle: -Double.pi / 2)
        }
    }
}
