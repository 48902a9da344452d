import Foundation

/// A chart error with a one-line, user-facing message.
public struct ChartError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// File formats a figure can be written as.
public enum OutputFormat: String, Sendable, CaseIterable {
    case png, svg, pdf

    /// The format for `path`'s extension (case-insensitive); throws for anything else.
    public init(path: String) throws {
        let ext = URL(fileURLWithPath: path).pathExtension
        guard !ext.isEmpty else {
            throw ChartError("cannot save chart to '\(path)': no file extension (use .png, .svg or .pdf)")
        }
        guard let f = OutputFormat(rawValue: ext.lowercased()) else {
            throw ChartError("cannot save chart to '\(path)': unsupported format '.\(ext)' (use .png, .svg or .pdf)")
        }
        self = f
    }
}

/// A figure: a grid of `Axes` panels, an optional overall title, and notes about omitted data.
///
/// ```swift
/// let fig = Figure(rows: 1, cols: 2)
/// let ax = fig[0, 0]
/// ax.yScale = .log10
/// let c = ax.plot(t, norms, label: "tanh")
/// ax.bound(of: c, t, bound, label: "bound")
/// try fig.save(to: "plots/curves.png")
/// ```
public final class Figure {
    public let rows: Int
    public let cols: Int
    /// Size in points (1 pt = 1 px at scale 1).
    public var width: Double
    public var height: Double
    /// Pixel multiplier for PNG / RGBA output (2 for crisp slides).
    public var scale: Double
    /// Overall title above all panels (markup allowed).
    public var title: String?
    /// The panels show the same legend entries: one legend serves them all, taken from the first panel
    /// (the others' are not drawn). It goes inside a corner of the first panel when it fits there without
    /// covering data, else below all panels, across the figure's width.
    public var sharedLegend = false
    /// Screen, slides or paper: text size and line widths (see `ChartStyle`).
    public var style: ChartStyle = .screen
    /// Axis-label font size in points; nil = from `style` and the size. Ticks, titles, legend follow.
    public var fontSize: Double?
    /// When set, PDF output uses this page size (points) instead of `width`×`height`: a chart laid out
    /// for screen pixels then gets a physical page with readable text (see `ChartStyle.defaultPDFSize`).
    public var pdfPageSize: (width: Double, height: Double)?
    /// Panels in row-major order.
    public let panelAxes: [Axes]
    private var userNotes: [String] = []

    public init(rows: Int = 1, cols: Int = 1, width: Double = 1200, height: Double = 800, scale: Double = 1) {
        self.rows = max(rows, 1)
        self.cols = max(cols, 1)
        self.width = max(width, 50)
        self.height = max(height, 50)
        self.scale = scale > 0 && scale.isFinite ? scale : 1
        panelAxes = (0..<(self.rows * self.cols)).map { _ in Axes() }
    }

    /// The panel at (row, col); both 0-based.
    public subscript(row: Int, col: Int) -> Axes {
        precondition(row >= 0 && row < rows && col >= 0 && col < cols, "panel (\(row), \(col)) outside \(rows)×\(cols) grid")
        return panelAxes[row * cols + col]
    }

    /// The first (for a 1×1 figure: the only) panel.
    public var axes: Axes { panelAxes[0] }

    /// Adds a line of small text at the bottom of the figure (e.g. parameters of the run).
    public func addNote(_ note: String) { userNotes.append(note) }

    /// Data notes ("tanh: 3 non-finite points omitted") followed by notes added with `addNote`.
    /// Shown in small text at the bottom of the figure.
    public var notes: [String] {
        let many = panelAxes.count > 1
        let data = panelAxes.enumerated().flatMap { i, ax in
            ax.notes.map { note in
                guard many else { return note }
                return "\(ax.title.map { RichText($0).plainText } ?? "panel \(i + 1)"): \(note)"
            }
        }
        return data + userNotes
    }

    /// Where each panel's parts are placed (figure points), in row-major order.
    public func layout() -> [PanelLayout] {
        Canvas.measuring(scale: scale) { computeLayout($0) }.panels.map(\.publicLayout)
    }

    /// Device-pixel position (at `scale`) of data point (x, y) in `axes`, as used by
    /// `renderRGBA()`; (NaN, NaN) if the point cannot be drawn or `axes` is not in this figure.
    public func pixelPosition(axes: Axes, x: Double, y: Double) -> (x: Double, y: Double) {
        guard let i = panelAxes.firstIndex(where: { $0 === axes }),
              let px = axes.xScale.plotValue(x), let py = axes.yScale.plotValue(y) else { return (.nan, .nan) }
        let g = Canvas.measuring(scale: scale) { computeLayout($0) }.panels[i]
        let p = g.point(px, py)
        return (p.x * scale, p.y * scale)
    }

    /// Per panel, the map from data (x, y) to figure points (nil where the point cannot be drawn), from one
    /// layout pass: what an interactive page needs to put a read-out over a rendered chart.
    public func dataToPoints() -> [(Double, Double) -> (x: Double, y: Double)?] {
        let panels = Canvas.measuring(scale: scale) { computeLayout($0) }.panels
        return zip(panelAxes, panels).map { ax, g in
            let xs = ax.xScale, ys = ax.yScale
            return { x, y in
                guard let px = xs.plotValue(x), let py = ys.plotValue(y) else { return nil }
                let p = g.point(px, py)
                return (p.x, p.y)
            }
        }
    }

    /// Every text box (and legend frame) the renderer draws, in figure points: for layout tests.
    public func drawnText() -> [DrawnText] {
        Canvas.measuring(scale: scale) { canvas in
            let log = TextLog()
            canvas.log = log
            draw(on: canvas)
            return log.items
        }
    }

    /// Draws the whole figure.
    func draw(on canvas: Canvas) {
        let layout = computeLayout(canvas)
        let st = layout.style
        canvas.fill(ChartRect(x: 0, y: 0, width: width, height: height), .white)
        if let t = layout.title { canvas.text(t, x: width / 2, y: layout.titleY, h: .center) }
        for (ax, g) in zip(panelAxes, layout.panels) { drawPanel(ax, g, canvas: canvas, style: st) }
        var y = layout.notesY
        for note in layout.notes {
            canvas.text(note, x: st.pad * 1.2, y: y, h: .left)
            y += canvas.height(note) + note.style.size * 0.35
        }
    }
}
