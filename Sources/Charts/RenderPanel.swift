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
    func referenceLabelCandidates(_ r: ReferenceLine, _ ax: Axes, _ g: PanelGeometry,
                                  style st: Style) -> [TextPlacement] {
        guard let label = r.label, let (a, _) = g.referenceSegment(r, ax) else { return [] }
        let text = RichText(label)
        let style = TextStyle(size: st.legend.size, color: r.color)
        let off = 4 + r.lineWidth / 2, inset = st.pad * 0.6
        switch r.orientation {
        case .horizontal:
            return [(g.plot.maxX - inset, HAlign.right), (g.plot.minX + inset, .left)].flatMap { x, h in
                [TextPlacement(text: text, style: style, x: x, y: a.y - off, h: h, v: .bottom),
                 TextPlacement(text: text, style: style, x: x, y: a.y + off, h: h, v: .top)]
            }
        case .vertical:
            return [(g.plot.minY + inset, VAlign.top), (g.plot.maxY - inset, .bottom)].flatMap { y, v in
                [TextPlacement(text: text, style: style, x: a.x + off + 2, y: y, h: .left, v: v),
                 TextPlacement(text: text, style: style, x: a.x - off - 2, y: y, h: .right, v: v)]
            }
        }
    }

    /// Places reference-line labels where they cover the fewest data (and each other),
    /// and annotations where they were asked for.
    func placeLabels(_ g: inout PanelGeometry, _ ax: Axes, canvas: Canvas, style st: Style) {
        g.annotationLabels = ax.annotations.compactMap { annotationPlacement($0, ax, g, canvas: canvas, style: st) }
        g.referenceLabels = []
        let candidatesPerLine = ax.referenceLines.map { referenceLabelCandidates($0, ax, g, style: st) }
        guard candidatesPerLine.contains(where: { !$0.isEmpty }) else { return }
        var samples = dataSamples(ax, g)
        for p in g.annotationLabels { samples += boxSamples(box(p, canvas)) }
        let inside = g.plot.insetBy(-1)
        for candidates in candidatesPerLine where !candidates.isEmpty {
            let scored = candidates.map { p -> (TextPlacement, Int) in
                let b = box(p, canvas)
                let fits = inside.contains(x: b.minX, y: b.minY) && inside.contains(x: b.maxX, y: b.maxY)
                return (p, fits ? countSamples(samples, in: b.insetBy(-2)) : Int.max)
            }
            let best = scored.min { $0.1 < $1.1 }!.0
            g.referenceLabels.append(best)
            samples += boxSamples(box(best, canvas))
        }
    }

    func annotationPlacement(_ a: Annotation, _ ax: Axes, _ g: PanelGeometry, canvas: Canvas,
                             style st: Style) -> TextPlacement? {
        guard let px = ax.xScale.plotValue(a.x), let py = ax.yScale.plotValue(a.y) else { return nil }
        let text = RichText(a.text)
        let style = st.annotation(a.relativeSize, bold: a.bold, color: a.color)
        let h: HAlign = a.alignment == .left ? .left : (a.alignment == .right ? .right : .center)
        var p = TextPlacement(text: text, style: style, x: g.xMap(px), y: g.yMap(py), h: h, v: .middle)
        // Nudge inside the plot area.
        let inner = g.plot.insetBy(4)
        let b = canvas.bounds(text, style, x: p.x, y: p.y, h: h, v: .middle)
        if b.minX < inner.minX { p.x += inner.minX - b.minX } else if b.maxX > inner.maxX { p.x -= b.maxX - inner.maxX }
        if b.minY < inner.minY { p.y += inner.minY - b.minY } else if b.maxY > inner.maxY { p.y -= b.maxY - inner.maxY }
        return p
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
            if let (a, b) = g.referenceSegment(r, ax) { canvas.line(a, b, r.color, width: r.lineWidth, dash: r.dash) }
        }
        let lineClip = plot.insetBy(-20)
        for s in ax.lines {
            let pts = g.devicePoints(s.x, s.y, ax)
            if s.drawsLine {
                canvas.polylines(clippedPolylines(pts, to: lineClip), s.color, width: s.lineWidth, dash: s.dash)
            }
            if s.marker != .none {
                let area = plot.insetBy(-s.markerSize)
                for p in pts { if let p, area.contains(x: p.x, y: p.y) {
                    canvas.marker(s.marker, at: p, size: s.markerSize, color: s.color)
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
        drawAxisTicks(g, canvas: canvas, style: st)

        if let t = ax.title {
            // Centred on the plot when it fits there, else on the panel's cell, shrunk if still too wide.
            let rich = RichText(t)
            let style = canvas.fitting(rich, st.title, maxWidth: g.cell.width - 8)
            let w = canvas.measure(rich, style).width
            let x = min(max(plot.midX, g.cell.minX + 4 + w / 2), g.cell.maxX - 4 - w / 2)
            canvas.text(rich, style, x: x, y: g.cell.minY, h: .center, v: .top)
        }
        if let l = ax.xLabel {
            canvas.text(RichText(l), st.label, x: plot.midX,
                        y: plot.maxY + st.tickLength + st.tickGap + g.xTickHeight + st.pad * 0.5, h: .center, v: .top)
        }
        if let l = ax.yLabel {
            canvas.text(RichText(l), st.label, x: plot.minX - st.tickLength - st.tickGap - g.yTickWidth - st.pad * 0.6,
                        y: plot.midY, h: .center, v: .bottom, angle: -Double.pi / 2)
        }
        if let legend = g.legend { drawLegend(legend, canvas: canvas, style: st) }
        if let cb = g.colorbar { drawColorbar(cb, canvas: canvas, style: st) }
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

    private func drawAxisTicks(_ g: PanelGeometry, canvas: Canvas, style st: Style) {
        let plot = g.plot
        for t in g.xTicks {
            let x = g.xMap(t.position), len = t.isMajor ? st.tickLength : st.minorTickLength
            canvas.line(Point(x: x, y: plot.maxY), Point(x: x, y: plot.maxY + len), Style.spine, width: 1)
            if let l = t.label {
                canvas.text(l, st.tick, x: x, y: plot.maxY + st.tickLength + st.tickGap, h: .center, v: .top)
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

    private func drawColorbar(_ cb: ColorbarLayout, canvas: Canvas, style st: Style) {
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
        if let label = cb.label {
            canvas.text(label, st.label, x: r.maxX + st.tickLength + st.tickGap + cb.tickWidth + st.pad * 0.6,
                        y: r.midY, h: .center, v: .top, angle: -Double.pi / 2)
        }
    }
}
