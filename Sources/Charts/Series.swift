/// Line dash pattern. Patterns scale with the line width.
public enum Dash: Sendable, Equatable {
    case solid, dashed, dotted, dashDot
    /// On/off lengths in points.
    case custom([Double])
    /// Dashes of one of `of` lines that run on top of each other (e.g. two bounds that coincide): line
    /// `part` draws every `of`-th dash, shifted by one dash per part, so the coinciding lines alternate their
    /// colours along the shared path instead of the last one hiding the others.
    case shared(part: Int, of: Int)

    /// On/off lengths in points for a line of width `w`.
    func pattern(width w: Double) -> [Double] {
        let u = max(w, 1)
        switch self {
        case .solid: return []
        case .dashed: return [4.5 * u, 2.5 * u]
        case .dotted: return [0.1, 2 * u]          // with round caps → dots
        case .dashDot: return [4.5 * u, 2 * u, 0.1, 2 * u]
        case .custom(let p): return p
        case .shared(_, let n):
            let on = 4.5 * u, gap = 2.5 * u
            return [on, Double(max(n, 1)) * (on + gap) - on]
        }
    }

    var isShared: Bool { if case .shared = self { return true } else { return false } }

    /// Where the pattern starts (cairo's dash offset).
    func offset(width w: Double) -> Double {
        guard case .shared(let k, let n) = self, n > 1 else { return 0 }
        let u = max(w, 1), cycle = 7 * u
        return Double(n) * cycle - Double(k % n) * cycle
    }
}

/// Marker shape drawn at each data point.
public enum Marker: Sendable, Equatable {
    case none, circle, square, triangle
}

/// A line and/or marker series. Returned by `Axes.plot` / `Axes.scatter`; its properties
/// may be changed until the figure is rendered.
public final class LineSeries {
    public let x: [Double]
    public let y: [Double]
    /// Legend label (markup allowed); nil = not in the legend.
    public var label: String?
    public var color: Color
    /// Line width in points.
    public var lineWidth: Double
    public var dash: Dash
    public var marker: Marker
    /// Marker diameter in points.
    public var markerSize: Double
    /// False for scatter series (markers only).
    public var drawsLine: Bool

    init(x: [Double], y: [Double], label: String?, color: Color, lineWidth: Double, dash: Dash,
         marker: Marker, markerSize: Double, drawsLine: Bool) {
        self.x = x; self.y = y; self.label = label; self.color = color; self.lineWidth = lineWidth
        self.dash = dash; self.marker = marker; self.markerSize = markerSize; self.drawsLine = drawsLine
    }
}

/// A shaded region between `lower` and `upper`.
public final class BandSeries {
    public let x: [Double]
    public let lower: [Double]
    public let upper: [Double]
    public var label: String?
    public var color: Color
    /// Fill opacity.
    public var alpha: Double

    init(x: [Double], lower: [Double], upper: [Double], label: String?, color: Color, alpha: Double) {
        self.x = x; self.lower = lower; self.upper = upper; self.label = label; self.color = color; self.alpha = alpha
    }
}

/// A horizontal or vertical line across the whole plot, with an optional text label.
public struct ReferenceLine {
    public enum Orientation: Sendable { case horizontal, vertical }
    public var orientation: Orientation
    /// Data value (y for horizontal, x for vertical), in the axis' data units.
    public var value: Double
    public var label: String?
    public var color: Color
    public var dash: Dash
    public var lineWidth: Double
}

/// Horizontal alignment of text relative to its anchor point.
public enum TextAlignment: Sendable { case left, center, right }

/// Free text at data coordinates (kept inside the plot area).
public struct Annotation {
    public var text: String
    public var x: Double
    public var y: Double
    public var color: Color
    public var alignment: TextAlignment
    /// Font size relative to the figure's label size (1 = axis-label size).
    public var relativeSize: Double
    public var bold: Bool
    /// Placed next to (x, y) where it covers the fewest data, rather than at (x, y) itself.
    public var nearPoint: Bool = false
    /// Left out when there is no room for it without covering other text.
    public var optional: Bool = false
}
