import Foundation

/// Font sizes and spacings, scaled with the figure size (1200×800 points → factor 1).
struct Style {
    let factor: Double

    init(width: Double, height: Double) {
        factor = max(0.8, min(3, (width * height / (1200 * 800)).squareRoot()))
    }

    var tick: TextStyle { TextStyle(size: 14 * factor) }
    var label: TextStyle { TextStyle(size: 16 * factor) }
    var title: TextStyle { TextStyle(size: 20 * factor) }
    var suptitle: TextStyle { TextStyle(size: 22 * factor, bold: true) }
    var legend: TextStyle { TextStyle(size: 14 * factor) }
    var note: TextStyle { TextStyle(size: 11.5 * factor, color: Color(hex: 0x555555)) }
    func annotation(_ relative: Double, bold: Bool, color: Color) -> TextStyle {
        TextStyle(size: 16 * factor * relative, bold: bold, color: color)
    }

    var pad: Double { 10 * factor }
    var tickLength: Double { 6 * factor }
    var minorTickLength: Double { 3.5 * factor }
    var tickGap: Double { 4 * factor }          // between tick mark and its label
    var colorbarWidth: Double { 20 * factor }
    var colorbarGap: Double { 16 * factor }

    static let spine = Color(hex: 0x333333)
    static let majorGrid = Color(hex: 0xE3E3E3)
    static let minorGrid = Color(hex: 0xF2F2F2)
}

/// Where a panel's parts ended up, in figure points. Returned by `Figure.layout()`.
public struct PanelLayout {
    /// The data area.
    public var plotRect: ChartRect
    /// The legend box, if a legend is drawn.
    public var legendRect: ChartRect?
    /// The legend position actually used (never `.automatic`).
    public var legendPosition: LegendPosition
    /// The colour-bar gradient, for heatmaps.
    public var colorbarRect: ChartRect?
    /// Labelled x and y ticks (plot-space positions).
    public var xTicks: [Tick]
    public var yTicks: [Tick]
}

/// Everything needed to draw one panel.
struct PanelGeometry {
    var cell: ChartRect
    var plot: ChartRect
    var xRange: ClosedRange<Double>
    var yRange: ClosedRange<Double>
    var xTicks: [Tick] = []
    var yTicks: [Tick] = []
    var xTickHeight = 0.0
    var yTickWidth = 0.0
    var legend: LegendLayout?
    var colorbar: ColorbarLayout?
    var referenceLabels: [TextPlacement] = []
    var annotationLabels: [TextPlacement] = []

    var xMap: AxisMap { AxisMap(lo: xRange.lowerBound, hi: xRange.upperBound, start: plot.minX, end: plot.maxX) }
    var yMap: AxisMap { AxisMap(lo: yRange.lowerBound, hi: yRange.upperBound, start: plot.maxY, end: plot.minY) }

    /// Figure-point position of plot-space (x, y).
    func point(_ x: Double, _ y: Double) -> Point { Point(x: xMap(x), y: yMap(y)) }

    var publicLayout: PanelLayout {
        PanelLayout(plotRect: plot, legendRect: legend?.rect, legendPosition: legend?.position ?? .hidden,
                    colorbarRect: colorbar?.rect, xTicks: xTicks.filter(\.isMajor), yTicks: yTicks.filter(\.isMajor))
    }
}

/// A colour bar: gradient rectangle, ticks and label.
struct ColorbarLayout {
    var rect: ChartRect
    var range: ClosedRange<Double>
    var scale: AxisScale
    var ticks: [Tick]
    var tickWidth: Double
    var label: RichText?
}

/// Whole-figure layout.
struct FigureLayout {
    var style: Style
    var panels: [PanelGeometry]
    var titleY: Double
    var notesY: Double
}

extension Figure {
    /// Lays out the figure with `canvas` measuring text.
    func computeLayout(_ canvas: Canvas) -> FigureLayout {
        let st = Style(width: width, height: height)
        let outer = st.pad * 1.2
        var top = outer
        let titleY = top
        if let t = title {
            top += canvas.measure(RichText(t), st.suptitle).height + st.pad
        }
        var bottom = height - outer * 0.8
        let notes = self.notes
        if !notes.isEmpty {
            bottom -= Double(notes.count) * st.note.size * 1.35 + st.pad * 0.5
        }
        let notesY = bottom + st.pad * 0.5
        let gapX = st.pad * 3, gapY = st.pad * 2.5
        let cellW = (width - 2 * outer - Double(cols - 1) * gapX) / Double(cols)
        let cellH = (bottom - top - Double(rows - 1) * gapY) / Double(rows)
        var panels: [PanelGeometry] = []
        for (i, ax) in panelAxes.enumerated() {
            let r = i / cols, c = i % cols
            let cell = ChartRect(x: outer + Double(c) * (cellW + gapX), y: top + Double(r) * (cellH + gapY),
                                 width: max(cellW, 1), height: max(cellH, 1))
            panels.append(layoutPanel(ax, cell: cell, canvas: canvas, style: st))
        }
        return FigureLayout(style: st, panels: panels, titleY: titleY, notesY: notesY)
    }

    private func layoutPanel(_ ax: Axes, cell: ChartRect, canvas: Canvas, style st: Style) -> PanelGeometry {
        let ranges = ax.plotRanges()
        var g = PanelGeometry(cell: cell, plot: cell, xRange: ranges.x, yRange: ranges.y)

        // Vertical margins do not depend on which ticks are chosen.
        let sample: RichText = ax.xScale.isLogarithmic ? .power(exponent: -8) : "0"
        g.xTickHeight = canvas.measure(sample, st.tick).height
        let yTickHalf = canvas.measure(ax.yScale.isLogarithmic ? .power(exponent: -8) : "0", st.tick).height / 2
        var top = cell.minY + yTickHalf
        if let t = ax.title { top = cell.minY + canvas.measure(RichText(t), st.title).height + st.pad }
        var bottom = cell.maxY - (st.tickLength + st.tickGap + g.xTickHeight)
        if let l = ax.xLabel { bottom -= canvas.measure(RichText(l), st.label).height + st.pad * 0.5 }
        let plotHeight = max(bottom - top, 10)

        g.yTicks = fitTicks(ax.yScale, ranges.y, length: plotHeight, canvas: canvas, style: st, vertical: true)
        g.yTickWidth = g.yTicks.compactMap { $0.label.map { canvas.measure($0, st.tick).width } }.max() ?? 0
        var left = cell.minX + g.yTickWidth + st.tickLength + st.tickGap
        if let l = ax.yLabel { left += canvas.measure(RichText(l), st.label).height + st.pad * 0.6 }
        var right = cell.maxX

        if let h = ax.heatmap {
            let range = h.plotColorRange
            let ticks = fitTicks(h.colorScale, range, length: plotHeight, canvas: canvas, style: st, vertical: true)
            let tickWidth = ticks.compactMap { $0.label.map { canvas.measure($0, st.tick).width } }.max() ?? 0
            let label = h.colorbarLabel.map { RichText($0) }
            var reserve = st.colorbarGap + st.colorbarWidth + st.tickLength + st.tickGap + tickWidth
            if let label { reserve += st.pad * 0.6 + canvas.measure(label, st.label).height }
            right -= reserve
            g.colorbar = ColorbarLayout(rect: ChartRect(x: right + st.colorbarGap, y: top, width: st.colorbarWidth,
                                                        height: plotHeight),
                                        range: range, scale: h.colorScale, ticks: ticks, tickWidth: tickWidth, label: label)
        }

        g.plot = ChartRect(x: left, y: top, width: max(right - left, 10), height: plotHeight)
        fitXTicks(&g, ax, limit: right, canvas: canvas, style: st)

        placeLabels(&g, ax, canvas: canvas, style: st)
        g.legend = layoutLegend(ax, geometry: g, canvas: canvas, style: st)
        if let legend = g.legend, legend.position == .outsideRight {
            let shift = legend.rect.width + st.pad * 1.5
            g.plot.width = max(g.plot.width - shift, 10)
            g.legend!.rect.x = g.plot.maxX + st.pad * 1.5
            fitXTicks(&g, ax, limit: g.legend!.rect.minX, canvas: canvas, style: st)
            g.legend!.rect.x = g.plot.maxX + st.pad * 1.5
            placeLabels(&g, ax, canvas: canvas, style: st)
        }
        return g
    }

    /// Chooses x ticks for the current plot width, then shrinks the plot if the last label
    /// would stick out beyond `limit`, and chooses again.
    private func fitXTicks(_ g: inout PanelGeometry, _ ax: Axes, limit: Double, canvas: Canvas, style st: Style) {
        for _ in 0..<2 {
            g.xTicks = fitTicks(ax.xScale, g.xRange, length: g.plot.width, canvas: canvas, style: st, vertical: false)
            let map = g.xMap
            var overflow = 0.0
            for t in g.xTicks { if let l = t.label {
                overflow = max(overflow, map(t.position) + canvas.measure(l, st.tick).width / 2 - limit)
            } }
            if overflow <= 0 { return }
            g.plot.width = max(g.plot.width - overflow - 2, 10)
        }
    }

    /// The densest tick set whose labels do not collide along an axis of `length` points.
    func fitTicks(_ scale: AxisScale, _ range: ClosedRange<Double>, length: Double, canvas: Canvas,
                  style st: Style, vertical: Bool) -> [Tick] {
        let lo = range.lowerBound, hi = range.upperBound
        var ticks: [Tick] = []
        for n in stride(from: scale.isLogarithmic ? 10 : 8, through: 2, by: -1) {
            ticks = TickGenerator.ticks(scale: scale, lo: lo, hi: hi, maxCount: n)
            let labelled = ticks.filter { $0.label != nil }.sorted { $0.position < $1.position }
            let extents = labelled.map { t -> Double in
                let b = canvas.measure(t.label!, st.tick)
                return vertical ? b.height : b.width
            }
            let gap = vertical ? st.tick.size * 0.6 : st.tick.size * 1.2
            var fits = true
            for i in labelled.indices.dropFirst() {
                let d = (labelled[i].position - labelled[i - 1].position) / (hi - lo) * length
                if d < (extents[i] + extents[i - 1]) / 2 + gap { fits = false; break }
            }
            if fits { return ticks }
        }
        return ticks
    }
}
