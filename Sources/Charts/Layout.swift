import Foundation

/// Font sizes, spacings and line widths of one figure, from its `ChartStyle`, its size and an optional
/// explicit axis-label size. Everything is a multiple of `factor` (= label size / 16 pt).
struct Style {
    let factor: Double
    /// Multiplier for line widths and marker sizes.
    let lineScale: Double
    let titleRatio: Double

    init(width: Double, height: Double, style: ChartStyle = .screen, fontSize: Double? = nil) {
        let label = fontSize ?? style.labelSize(width: width, height: height)
        factor = label / 16
        lineScale = style.lineScale(width: width, height: height)
        titleRatio = style == .paper ? 0.8 : 1
    }

    var tick: TextStyle { TextStyle(size: 14 * factor) }
    var label: TextStyle { TextStyle(size: 16 * factor) }
    var title: TextStyle { TextStyle(size: 20 * factor * titleRatio) }
    var suptitle: TextStyle { TextStyle(size: 22 * factor * titleRatio, bold: true) }
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
    /// Category x labels: their size factor, and the longest extent across the axis they are shortened to.
    var xTickScale = 1.0
    var xTickMaxExtent: Double?
    var yTickWidth = 0.0
    var legend: LegendLayout?
    var colorbar: ColorbarLayout?
    var referenceLabels: [TextPlacement] = []
    var annotationLabels: [TextPlacement] = []
    /// Reference lines whose label went into the legend (no free spot on the plot).
    var legendReferenceIndices: [Int] = []
    var title: FittedText?
    var xLabel: FittedText?
    var yLabel: FittedText?
    /// How far the y label may run up and down.
    var yLabelSpan: ClosedRange<Double> = 0...0
    var colorbarLabel: FittedText?

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
}

/// Whole-figure layout.
struct FigureLayout {
    var style: Style
    var panels: [PanelGeometry]
    var titleY: Double
    var notesY: Double
    var title: FittedText?
    var notes: [FittedText]
}

extension Figure {
    /// Lays out the figure with `canvas` measuring text.
    func computeLayout(_ canvas: Canvas) -> FigureLayout {
        let st = Style(width: width, height: height, style: style, fontSize: fontSize)
        let outer = st.pad * 1.2
        var top = outer
        let titleY = top
        let title = self.title.map { canvas.fitLines(RichText($0), st.suptitle, maxWidth: width - 2 * outer, maxLines: 2, oneLine: 0.65) }
        if let title { top += canvas.height(title) + st.pad }
        var bottom = height - outer * 0.8
        // Notes wrap; when they would take more than a fifth of the height, their text shrinks (to 75 %).
        var noteStyle = st.note
        var notes: [FittedText] = []
        for shrink in [1.0, 0.9, 0.8, 0.75] {
            noteStyle.size = st.note.size * shrink
            notes = self.notes.map {
                canvas.fitLines(RichText(runs: [TextRun($0)]), noteStyle, maxWidth: width - 2 * outer, wrapOnly: true)
            }
            if notes.reduce(0, { $0 + canvas.height($1) + noteStyle.size * 0.35 }) <= height * 0.2 { break }
        }
        if !notes.isEmpty {
            bottom -= notes.reduce(0) { $0 + canvas.height($1) + noteStyle.size * 0.35 } + st.pad * 0.5
        }
        let notesY = bottom + st.pad * 0.5
        let gapX = st.pad * 3, gapY = st.pad * 2.5
        func layoutPanels(bottom: Double, legends: LegendChoice?, firstLegendLines: Set<Int>? = nil) -> [PanelGeometry] {
            let cellW = (width - 2 * outer - Double(cols - 1) * gapX) / Double(cols)
            let cellH = (bottom - top - Double(rows - 1) * gapY) / Double(rows)
            return panelAxes.enumerated().map { i, ax in
                let r = i / cols, c = i % cols
                let cell = ChartRect(x: outer + Double(c) * (cellW + gapX), y: top + Double(r) * (cellH + gapY),
                                     width: max(cellW, 1), height: max(cellH, 1))
                let choice: LegendChoice? = sharedLegend ? (i == 0 ? legends : nil) : .any
                return layoutPanel(ax, cell: cell, legend: choice, legendLines: i == 0 ? firstLegendLines : nil,
                                   canvas: canvas, style: st)
            }
        }
        var panels = layoutPanels(bottom: bottom, legends: .inside)
        if sharedLegend, panels[0].legend == nil, !panelAxes[0].legendItems.isEmpty, panelAxes[0].legendPosition != .hidden {
            // No room inside the first panel: one legend below all panels, across the figure.
            let strip = ChartRect(x: outer, y: top, width: width - 2 * outer, height: max(bottom - top, 1))
            var g = panels[0]
            g.cell = strip
            if var legend = layoutLegend(panelAxes[0], geometry: g, canvas: canvas, style: st, only: .below) {
                legend.rect.y = bottom - legend.rect.height
                panels = layoutPanels(bottom: bottom - legend.rect.height - st.pad, legends: nil,
                                      firstLegendLines: Set(g.legendReferenceIndices))
                panels[0].legend = legend
            }
        }
        return FigureLayout(style: st, panels: panels, titleY: titleY, notesY: notesY, title: title, notes: notes)
    }

    /// Lays out one panel, then its legend; a legend outside the plot (right or below) takes its room
    /// from the plot and the panel is laid out again around it.
    /// `legend` nil: the panel draws no legend.
    /// `legendLines`: reference lines already labelled in a legend drawn elsewhere (a shared one).
    private func layoutPanel(_ ax: Axes, cell: ChartRect, legend choice: LegendChoice?, legendLines: Set<Int>? = nil,
                             canvas: Canvas, style st: Style) -> PanelGeometry {
        if let legendLines {
            return layoutPanel(ax, cell: cell, reserveRight: 0, reserveBottom: 0, legendLines: legendLines, canvas: canvas, style: st)
        }
        var g = layoutPanel(ax, cell: cell, reserveRight: 0, reserveBottom: 0, canvas: canvas, style: st)
        if (choice == nil || ax.legendPosition == .hidden) && !g.legendReferenceIndices.isEmpty {
            // No legend to take labels that find no free spot: keep them on the plot.
            g = layoutPanel(ax, cell: cell, reserveRight: 0, reserveBottom: 0, legendLines: [], canvas: canvas, style: st)
        }
        guard let choice, var legend = layoutLegend(ax, geometry: g, canvas: canvas, style: st, only: choice) else { return g }
        let inLegend = Set(g.legendReferenceIndices)
        switch legend.position {
        case .outsideRight:
            g = layoutPanel(ax, cell: cell, reserveRight: legend.rect.width + st.pad * 1.5, reserveBottom: 0,
                            legendLines: inLegend, canvas: canvas, style: st)
            legend.rect.x = cell.maxX - legend.rect.width
            legend.rect.y = g.plot.minY
        case .below:
            g = layoutPanel(ax, cell: cell, reserveRight: 0, reserveBottom: legend.rect.height + st.pad * 0.8,
                            legendLines: inLegend, canvas: canvas, style: st)
            legend.rect.x = min(max(g.plot.midX - legend.rect.width / 2, cell.minX), cell.maxX - legend.rect.width)
            legend.rect.y = cell.maxY - legend.rect.height
        default:
            break
        }
        g.legend = legend
        return g
    }

    private func layoutPanel(_ ax: Axes, cell: ChartRect, reserveRight: Double, reserveBottom: Double,
                             legendLines: Set<Int>? = nil, canvas: Canvas, style st: Style) -> PanelGeometry {
        let ranges = ax.plotRanges()
        var g = PanelGeometry(cell: cell, plot: cell, xRange: ranges.x, yRange: ranges.y)

        // Vertical margins do not depend on which ticks are chosen.
        let sample: RichText = ax.xScale.isLogarithmic ? .power(exponent: -8) : "0"
        g.xTickHeight = canvas.measure(sample, st.tick).height
        if let labels = ax.xCategoryLabels, !labels.isEmpty {
            // Rotated labels need their extent across the axis: w·sin θ + h·cos θ. They may take at most 30 % of
            // the panel's height: beyond that they shrink (to 60 %), then the longest are shortened with "…".
            let (sinT, cosT) = Self.rotation(ax)
            func extent(_ scale: Double) -> Double {
                labels.map { l -> Double in
                    let b = canvas.measure(RichText(l.text), Self.tickStyle(st, color: l.color, bold: l.bold, scale: scale))
                    return b.width * sinT + b.height * cosT * 1.5
                }.max() ?? 0
            }
            let allowed = cell.height * 0.3, full = extent(1)
            g.xTickScale = full > allowed ? max(0.6, allowed / full) : 1
            let fitted = extent(g.xTickScale)
            g.xTickMaxExtent = fitted > allowed ? allowed : nil
            g.xTickHeight = min(fitted, allowed)
        }
        let yTickHalf = canvas.measure(ax.yScale.isLogarithmic ? .power(exponent: -8) : "0", st.tick).height / 2
        var top = cell.minY + yTickHalf
        if let t = ax.title {
            // In a row of panels a title shrinks (to 60 %) before it takes a second line from the plot.
            let fitted = canvas.fitLines(RichText(t), st.title, maxWidth: cell.width - 8, maxLines: cols > 1 ? 1 : 2)
            g.title = fitted
            top = cell.minY + canvas.height(fitted) + st.pad
        }
        var bottom = cell.maxY - reserveBottom - (st.tickLength + st.tickGap + g.xTickHeight)
        if let l = ax.xLabel {
            let fitted = canvas.fitLines(RichText(l), st.label, maxWidth: cell.width - reserveRight, maxLines: 2)
            g.xLabel = fitted
            bottom -= canvas.height(fitted) + st.pad * 0.5
        }
        let plotHeight = max(bottom - top, 10)

        g.yTicks = fitTicks(ax.yScale, ranges.y, length: plotHeight, canvas: canvas, style: st, vertical: true)
        g.yTickWidth = g.yTicks.compactMap { $0.label.map { canvas.measure($0, st.tick).width } }.max() ?? 0
        var left = cell.minX + g.yTickWidth + st.tickLength + st.tickGap
        if let l = ax.yLabel {
            // It may run past the plot's ends (centred on it, within the panel) before it shrinks or wraps.
            // (down beside the x tick labels, never up into the title or down into a legend below).
            let spanEnd = top + plotHeight + st.tickLength + st.tickGap + g.xTickHeight   // above the x label
            g.yLabelSpan = top...spanEnd
            let fitted = canvas.fitLines(RichText(l), st.label, maxWidth: min((spanEnd - top) * 0.98, plotHeight * 1.5),
                                         maxLines: 2)
            g.yLabel = fitted
            left += canvas.height(fitted) + st.pad * 0.6
        }
        var right = cell.maxX - reserveRight

        if let h = ax.heatmap {
            let range = h.plotColorRange
            let ticks = fitTicks(h.colorScale, range, length: plotHeight, canvas: canvas, style: st, vertical: true)
            let tickWidth = ticks.compactMap { $0.label.map { canvas.measure($0, st.tick).width } }.max() ?? 0
            var reserve = st.colorbarGap + st.colorbarWidth + st.tickLength + st.tickGap + tickWidth
            if let label = h.colorbarLabel {
                let fitted = canvas.fitLines(RichText(label), st.label, maxWidth: plotHeight, maxLines: 2)
                g.colorbarLabel = fitted
                reserve += st.pad * 0.6 + canvas.height(fitted)
            }
            right -= reserve
            g.colorbar = ColorbarLayout(rect: ChartRect(x: right + st.colorbarGap, y: top, width: st.colorbarWidth,
                                                        height: plotHeight),
                                        range: range, scale: h.colorScale, ticks: ticks, tickWidth: tickWidth)
        }

        g.plot = ChartRect(x: left, y: top, width: max(right - left, 10), height: plotHeight)
        fitXTicks(&g, ax, limit: right, canvas: canvas, style: st)
        placeLabels(&g, ax, canvas: canvas, style: st, legendLines: legendLines)
        return g
    }

    /// Chooses x ticks for the current plot width, then shrinks the plot if the last label
    /// would stick out beyond `limit`, and chooses again.
    private func fitXTicks(_ g: inout PanelGeometry, _ ax: Axes, limit: Double, canvas: Canvas, style st: Style) {
        let (sinT, _) = Self.rotation(ax)
        for _ in 0..<2 {
            if let labels = ax.xCategoryLabels, !labels.isEmpty {
                g.xTicks = categoryTicks(labels, ax, g, canvas: canvas, style: st)
            } else {
                g.xTicks = fitTicks(ax.xScale, g.xRange, length: g.plot.width, canvas: canvas, style: st, vertical: false)
            }
            let map = g.xMap
            var overflow = 0.0
            for t in g.xTicks { if let l = t.label {
                let b = canvas.measure(l, Self.tickStyle(st, color: t.color, bold: t.bold, scale: g.xTickScale))
                // Unrotated labels are centred on their tick; rotated ones end there and lean left.
                let right = sinT == 0 ? b.width / 2 : b.height * sinT / 2
                overflow = max(overflow, map(t.position) + right - limit)
            } }
            if overflow <= 0 { return }
            g.plot.width = max(g.plot.width - overflow - 2, 10)
        }
    }

    /// (sin θ, cos θ) of the x tick labels' rotation, θ clamped to 0…90°.
    static func rotation(_ ax: Axes) -> (Double, Double) {
        let deg = ax.xTickLabelRotation.isFinite ? min(max(ax.xTickLabelRotation, 0), 90) : 0
        if deg == 0 { return (0, 1) }
        if deg == 90 { return (1, 0) }
        let r = deg * Double.pi / 180
        return (sin(r), cos(r))
    }

    /// The tick style with a category label's own colour, weight and size factor.
    static func tickStyle(_ st: Style, color: Color?, bold: Bool, scale: Double = 1) -> TextStyle {
        var t = st.tick
        if let color { t.color = color }
        t.bold = bold
        t.size *= scale
        return t
    }

    /// `text` shortened with "…" until its extent across the x axis (rotated) is at most `limit`.
    static func shortened(_ text: String, _ style: TextStyle, limit: Double?, sinT: Double, cosT: Double, canvas: Canvas) -> String {
        guard let limit else { return text }
        func extent(_ s: String) -> Double {
            let b = canvas.measure(RichText(s), style)
            return b.width * sinT + b.height * cosT * 1.5
        }
        var t = text
        while extent(t) > limit && t.count > 1 {
            t = String(t.dropLast(t.hasSuffix("…") ? 2 : 1)) + "…"
        }
        return t
    }

    /// Category labels as ticks inside the x range. When neighbours collide along the axis, only every k-th
    /// keeps its label (smallest k that fits), counted so that emphasised labels keep theirs; every tick mark stays.
    func categoryTicks(_ labels: [CategoryLabel], _ ax: Axes, _ g: PanelGeometry, canvas: Canvas, style st: Style) -> [Tick] {
        let (sinT, cosT) = Self.rotation(ax)
        let map = g.xMap
        let inside = labels.compactMap { l -> (CategoryLabel, Double)? in
            guard let p = ax.xScale.plotValue(l.position), map.contains(p) else { return nil }
            return (l, p)
        }.sorted { $0.1 < $1.1 }
        let texts = inside.map { l, _ in
            Self.shortened(l.text, Self.tickStyle(st, color: l.color, bold: l.bold, scale: g.xTickScale), limit: g.xTickMaxExtent,
                           sinT: sinT, cosT: cosT, canvas: canvas)
        }
        // Extent of each label along the axis: w·cos θ + h·sin θ.
        let extents = inside.indices.map { i -> Double in
            let l = inside[i].0
            let b = canvas.measure(RichText(texts[i]), Self.tickStyle(st, color: l.color, bold: l.bold, scale: g.xTickScale))
            return b.width * cosT + b.height * sinT
        }
        let gap = st.tick.size * (sinT > 0.5 ? 0.15 : 0.6)
        let anchor = inside.firstIndex { $0.0.color != nil || $0.0.bold } ?? 0
        var step = 1
        while step < max(inside.count, 1) {
            let kept = inside.indices.filter { ($0 - anchor) % step == 0 }
            let fits = zip(kept, kept.dropFirst()).allSatisfy { a, b in
                map(inside[b].1) - map(inside[a].1) >= (extents[a] + extents[b]) / 2 + gap
            }
            if fits { break }
            step += 1
        }
        return inside.enumerated().map { i, item in
            let (l, p) = item
            let labelled = (i - anchor) % step == 0
            return Tick(position: p, label: labelled ? RichText(texts[i]) : nil, isMajor: true, exponent: nil,
                        color: l.color, bold: l.bold)
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
        // Even two labels collide (a very short axis): keep every tick mark, label only those that fit.
        var lastEnd = -Double.infinity
        let gap = vertical ? st.tick.size * 0.3 : st.tick.size * 0.6
        return ticks.sorted { $0.position < $1.position }.map { t in
            guard let label = t.label else { return t }
            let b = canvas.measure(label, st.tick)
            let extent = vertical ? b.height : b.width
            let center = (t.position - lo) / (hi - lo) * length
            if center - extent / 2 >= lastEnd + gap { lastEnd = center + extent / 2; return t }
            var unlabelled = t
            unlabelled.label = nil
            return unlabelled
        }
    }
}
