/// One plot panel: scales, labels, series, reference lines, annotations, an optional heatmap.
///
/// All data values are in the axis' data units: raw positive values for `.log10` axes, log10
/// values for `.log10Data` axes (a reference line at 10^0 is `hline(1)` on a `.log10` axis and
/// `hline(0)` on a `.log10Data` axis).
public final class Axes {
    /// Panel title (markup allowed, see `RichText`).
    public var title: String?
    public var xLabel: String?
    public var yLabel: String?
    public var xScale: AxisScale = .linear
    public var yScale: AxisScale = .linear
    /// Fixed x range in data units; nil = automatic.
    public var xRange: ClosedRange<Double>?
    /// Fixed y range in data units; nil = automatic.
    public var yRange: ClosedRange<Double>?
    /// Where the legend goes; `.automatic` picks the emptiest corner.
    public var legendPosition: LegendPosition = .automatic
    /// Light grid lines at major (and faint ones at minor) ticks.
    public var showGrid = true
    /// Text labels at chosen x positions in place of the numeric x ticks (categories, e.g. the words of a
    /// sentence). Labels that would collide are left out in a regular pattern (every 2nd, 3rd, …), their tick
    /// marks kept; an emphasised label (`color`/`bold`) is never the one left out.
    public var xCategoryLabels: [CategoryLabel]?
    /// Rotation of the x tick labels in degrees: 0 (horizontal, the default) to 90 (reading upwards, ending
    /// at the tick). Long category labels fit side by side when rotated.
    public var xTickLabelRotation: Double = 0

    public private(set) var lines: [LineSeries] = []
    public private(set) var bands: [BandSeries] = []
    public private(set) var referenceLines: [ReferenceLine] = []
    public private(set) var annotations: [Annotation] = []
    public private(set) var heatmap: Heatmap?
    /// Legend order: series in the order they were added.
    var legendItems: [LegendItem] = []
    private var paletteIndex = 0

    /// Axes are created by `Figure` (use `figure[row, col]`).
    init() {}

    private func nextColor() -> Color {
        defer { paletteIndex += 1 }
        return Palette.color(paletteIndex)
    }

    /// Adds a line. Colour defaults to the next Okabe–Ito colour.
    /// - Parameters:
    ///   - width: line width in points; `dash`: pattern; `marker`: optional point markers.
    @discardableResult
    public func plot(_ x: [Double], _ y: [Double], label: String? = nil, color: Color? = nil,
                     width: Double = 2.5, dash: Dash = .solid, marker: Marker = .none,
                     markerSize: Double = 8) -> LineSeries {
        let s = LineSeries(x: x, y: y, label: label, color: color ?? nextColor(), lineWidth: width,
                           dash: dash, marker: marker, markerSize: markerSize, drawsLine: true)
        lines.append(s)
        legendItems.append(.line(s))
        return s
    }

    /// Adds a line against x = 0, 1, 2, …
    @discardableResult
    public func plot(_ y: [Double], label: String? = nil, color: Color? = nil, width: Double = 2.5,
                     dash: Dash = .solid, marker: Marker = .none) -> LineSeries {
        plot(y.indices.map(Double.init), y, label: label, color: color, width: width, dash: dash, marker: marker)
    }

    /// A bound belonging to `curve`: drawn dashed, in the curve's colour.
    @discardableResult
    public func bound(of curve: LineSeries, _ x: [Double], _ y: [Double], label: String? = nil,
                      dash: Dash = .dashed) -> LineSeries {
        plot(x, y, label: label, color: curve.color, width: max(1.5, curve.lineWidth * 0.75), dash: dash)
    }

    /// Adds markers only.
    @discardableResult
    public func scatter(_ x: [Double], _ y: [Double], label: String? = nil, color: Color? = nil,
                        marker: Marker = .circle, size: Double = 8) -> LineSeries {
        let s = LineSeries(x: x, y: y, label: label, color: color ?? nextColor(), lineWidth: 1.5,
                           dash: .solid, marker: marker == .none ? .circle : marker, markerSize: size,
                           drawsLine: false)
        lines.append(s)
        legendItems.append(.line(s))
        return s
    }

    /// Adds a shaded band between `lower` and `upper` (drawn beneath lines).
    @discardableResult
    public func band(_ x: [Double], lower: [Double], upper: [Double], label: String? = nil,
                     color: Color? = nil, alpha: Double = 0.2) -> BandSeries {
        let b = BandSeries(x: x, lower: lower, upper: upper, label: label, color: color ?? nextColor(), alpha: alpha)
        bands.append(b)
        legendItems.append(.band(b))
        return b
    }

    /// Horizontal reference line at data value `y`, with an optional label drawn above it at the right.
    public func hline(_ y: Double, label: String? = nil, color: Color = .darkGray, dash: Dash = .dashed,
                      width: Double = 1.5) {
        referenceLines.append(ReferenceLine(orientation: .horizontal, value: y, label: label, color: color,
                                            dash: dash, lineWidth: width))
    }

    /// Vertical reference line at data value `x`, with an optional label at the top.
    public func vline(_ x: Double, label: String? = nil, color: Color = .darkGray, dash: Dash = .dashed,
                      width: Double = 1.5) {
        referenceLines.append(ReferenceLine(orientation: .vertical, value: x, label: label, color: color,
                                            dash: dash, lineWidth: width))
    }

    /// Text at data coordinates (x, y), anchored by `alignment`; moved inwards if it would
    /// stick out of the plot area, and up or down if it would cover other text.
    /// - Parameters:
    ///   - nearPoint: place the text beside (x, y), on the side that covers the fewest data.
    ///   - optional: leave it out when there is no room without covering other text (decorations).
    public func annotate(_ text: String, x: Double, y: Double, color: Color = .darkGray,
                         alignment: TextAlignment = .center, relativeSize: Double = 1, bold: Bool = false,
                         nearPoint: Bool = false, optional: Bool = false) {
        annotations.append(Annotation(text: text, x: x, y: y, color: color, alignment: alignment,
                                      relativeSize: relativeSize, bold: bold, nearPoint: nearPoint, optional: optional))
    }

    /// Shows a matrix as a heatmap with a viridis colour bar (replaces any previous heatmap).
    /// See `Heatmap` for orientation. The axis ranges default to the extents.
    @discardableResult
    public func heatmap(_ values: [[Double]], x: ClosedRange<Double>, y: ClosedRange<Double>,
                        mask: [[Bool]]? = nil, colorScale: AxisScale = .linear,
                        colorRange: ClosedRange<Double>? = nil, colorbarLabel: String? = nil,
                        maskColor: Color = Color(hex: 0xE4E4E4)) -> Heatmap {
        let h = Heatmap(values: values, xExtent: x, yExtent: y, mask: mask, colorScale: colorScale,
                        colorRange: colorRange, colorbarLabel: colorbarLabel, maskColor: maskColor)
        heatmap = h
        return h
    }

    /// Whether anything at all was added.
    var isEmpty: Bool { lines.isEmpty && bands.isEmpty && referenceLines.isEmpty && heatmap == nil }

    // MARK: Notes and ranges

    /// Notes about data that could not be drawn, e.g. "tanh: 3 non-finite points omitted".
    public var notes: [String] {
        var notes: [String] = []
        func name(_ label: String?, _ kind: String, _ index: Int) -> String {
            label.map { RichText($0).plainText } ?? "\(kind) \(index + 1)"
        }
        func describe(_ who: String, _ values: [[Double]], _ scales: [AxisScale]) {
            var nonFinite = 0, nonPositive = 0
            let n = values.map(\.count).min() ?? 0
            for i in 0..<n {
                var bad = false, badPositive = false
                for (v, s) in zip(values, scales) where s.plotValue(v[i]) == nil {
                    if v[i].isFinite { badPositive = true } else { bad = true }
                }
                if bad { nonFinite += 1 } else if badPositive { nonPositive += 1 }
            }
            let lengths = Set(values.map(\.count))
            if lengths.count > 1 { notes.append("\(who): arrays of different lengths, extra points ignored") }
            if nonFinite > 0 { notes.append("\(who): \(nonFinite) non-finite point\(nonFinite == 1 ? "" : "s") omitted") }
            if nonPositive > 0 {
                notes.append("\(who): \(nonPositive) non-positive point\(nonPositive == 1 ? "" : "s") omitted (log axis)")
            }
        }
        for (i, s) in lines.enumerated() {
            describe(name(s.label, "series", i), [s.x, s.y], [xScale, yScale])
        }
        for (i, b) in bands.enumerated() {
            describe(name(b.label, "band", i), [b.x, b.lower, b.upper], [xScale, yScale, yScale])
        }
        for r in referenceLines where (r.orientation == .horizontal ? yScale : xScale).plotValue(r.value) == nil {
            notes.append("reference line \(r.label.map { RichText($0).plainText } ?? "") at \(r.value) cannot be drawn")
        }
        if let h = heatmap, h.undrawableCount > 0 {
            notes.append("heatmap: \(h.undrawableCount) undrawable cell\(h.undrawableCount == 1 ? "" : "s") shown in grey")
        }
        return notes
    }

    /// Plot-space ranges (explicit or automatic).
    func plotRanges() -> (x: ClosedRange<Double>, y: ClosedRange<Double>) {
        var xs: [Double] = [], ys: [Double] = []
        for s in lines {
            for (x, y) in zip(s.x, s.y) {
                if let px = xScale.plotValue(x), let py = yScale.plotValue(y) { xs.append(px); ys.append(py) }
            }
        }
        for b in bands {
            for i in 0..<min(b.x.count, b.lower.count, b.upper.count) {
                guard let px = xScale.plotValue(b.x[i]) else { continue }
                for v in [b.lower[i], b.upper[i]] { if let py = yScale.plotValue(v) { xs.append(px); ys.append(py) } }
            }
        }
        for r in referenceLines {
            if r.orientation == .horizontal { if let v = yScale.plotValue(r.value) { ys.append(v) } }
            else { if let v = xScale.plotValue(r.value) { xs.append(v) } }
        }
        var padded = true
        if let h = heatmap {
            padded = false
            for v in [h.xExtent.lowerBound, h.xExtent.upperBound] { if let p = xScale.plotValue(v) { xs.append(p) } }
            for v in [h.yExtent.lowerBound, h.yExtent.upperBound] { if let p = yScale.plotValue(v) { ys.append(p) } }
        }
        func resolve(_ fixed: ClosedRange<Double>?, _ scale: AxisScale, _ values: [Double]) -> ClosedRange<Double> {
            if let f = fixed, let a = scale.plotValue(f.lowerBound), let b = scale.plotValue(f.upperBound), b > a {
                return a...b
            }
            return scale.autoRange(values, padded: padded)
        }
        return (resolve(xRange, xScale, xs), resolve(yRange, yScale, ys))
    }
}

/// A text tick label at an x position (`Axes.xCategoryLabels`).
public struct CategoryLabel: Sendable, Equatable {
    /// Position in data units of the x axis.
    public var position: Double
    /// The label (markup allowed, see `RichText`).
    public var text: String
    /// Colour in place of the tick labels' (nil: theirs).
    public var color: Color?
    public var bold: Bool
    public init(_ text: String, at position: Double, color: Color? = nil, bold: Bool = false) {
        self.text = text; self.position = position; self.color = color; self.bold = bold
    }
}

/// Something that appears in a legend.
enum LegendItem {
    case line(LineSeries)
    case band(BandSeries)
    /// A reference line whose label found no free spot on the plot.
    case reference(ReferenceLine)

    var label: String? {
        switch self {
        case .line(let s): return s.label
        case .band(let b): return b.label
        case .reference(let r): return r.label
        }
    }
}
