import Charts
import Foundation

/// Size and style options shared by every chart-writing command.
///
/// Width and height left out (nil) mean "the style's default": 1200×800 for the screen style, except PDF,
/// which gets a physical 6.4×4.2 in page (460×300 pt) with 10–11 pt text; 960×540 for slides; 240×180 pt
/// (a LaTeX column) for paper. See `ChartStyle`.
public struct ChartSize: Sendable {
    /// Width in points; nil = the style's default.
    public var width: Double?
    /// Height in points; nil = the style's default.
    public var height: Double?
    /// Pixel multiplier for PNG (2 for crisp slides); nil = the style's default (1, 2 for slides, 4 for paper).
    public var scale: Double?
    public var style: ChartStyle = .screen
    /// Axis-label font size in points (ticks, titles and legend follow); nil = from the style and size.
    public var fontSize: Double?

    public init() {}
    public init(width: Double?, height: Double?, scale: Double?, style: ChartStyle = .screen, fontSize: Double? = nil) {
        self.width = width; self.height = height; self.scale = scale; self.style = style; self.fontSize = fontSize
    }

    /// The same, with the style given by name (`screen`, `slides`, `paper`), as typed on the command line.
    public init(width: Double?, height: Double?, scale: Double?, style name: String, fontSize: Double? = nil) throws {
        guard let style = ChartStyle(rawValue: name.lowercased()) else {
            throw GradLabError.usage("--style must be one of \(ChartStyle.allCases.map(\.rawValue).joined(separator: ", ")) (got '\(name)')")
        }
        self.init(width: width, height: height, scale: scale, style: style, fontSize: fontSize)
    }

    /// Style names for help texts.
    public static let styleNames = ChartStyle.allCases.map(\.rawValue)

    /// The canvas for PNG/SVG: the given dimensions, a missing one from the style's aspect ratio.
    public var resolved: (width: Double, height: Double, scale: Double) {
        let d = style.defaultSize
        let w = width ?? height.map { $0 * d.width / d.height } ?? d.width
        let h = height ?? width.map { $0 * d.height / d.width } ?? d.height
        return (w, h, scale ?? style.defaultScale)
    }

    public func validate() throws {
        let r = resolved
        if let width { try Check.positive(width, "--width") }
        if let height { try Check.positive(height, "--height") }
        if let scale { try Check.positive(scale, "--scale") }
        guard r.width >= 200, r.height >= 120, r.width <= 10_000, r.height <= 10_000 else {
            throw GradLabError.usage("--width and --height must be between 200×120 and 10000×10000 points (got \(Format.short(r.width))×\(Format.short(r.height)))")
        }
        guard r.scale <= 8 else { throw GradLabError.usage("--scale must be at most 8 (got \(Format.short(r.scale)))") }
        if let f = fontSize {
            guard f.isFinite, f >= 4, f <= 72 else {
                throw GradLabError.usage("--font-size must be between 4 and 72 points (got \(Format.short(f)))")
            }
        }
    }

    public func figure(rows: Int = 1, cols: Int = 1) -> Figure {
        let r = resolved
        let fig = Figure(rows: rows, cols: cols, width: r.width, height: r.height, scale: r.scale)
        fig.style = style
        fig.fontSize = fontSize
        if width == nil && height == nil {
            let page = style.defaultPDFSize
            if page != style.defaultSize { fig.pdfPageSize = page }
        }
        return fig
    }
}

/// Saving figures through `OutputFile`, so chart output is atomic, sandboxed in lessons and logged.
public enum FigureFile {
    /// Throws a usage error unless `path` ends in .png, .svg or .pdf, and a creation error unless writable.
    public static func check(_ path: String) throws {
        do { _ = try OutputFormat(path: path) } catch { throw GradLabError.usage("\(error)") }
        try OutputFile.checkWritable(path)
    }

    public static func save(_ figure: Figure, to path: String) throws {
        try check(path)
        try OutputFile.write(to: path) { dest in try figure.save(to: dest) }
    }

    /// Saves with `title` (when given) in place of the built-in one: the panel's title on a one-panel chart,
    /// the overall title above the panels otherwise (`--title` of the chart commands).
    public static func save(_ figure: Figure, to path: String, title: String?) throws {
        if let title { retitle(figure, title) }
        try save(figure, to: path)
    }

    /// `title` in place of the built-in one: the panel's title on a one-panel chart, the overall title otherwise.
    public static func retitle(_ figure: Figure, _ title: String) {
        if figure.panelAxes.count == 1 { figure.axes.title = title } else { figure.title = title }
    }
}
