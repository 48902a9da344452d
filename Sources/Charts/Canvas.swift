import CCairo
import Foundation

enum HAlign { case left, center, right }
enum VAlign { case top, middle, baseline, bottom }

/// Font size, weight and colour of a piece of text.
struct TextStyle {
    var size: Double
    var bold = false
    var color: Color = Color(hex: 0x222222)
}

/// Text broken into lines at one style.
struct FittedText {
    var lines: [RichText]
    var style: TextStyle
}

extension Array where Element == TextRun {
    /// Adjacent runs with the same shift joined.
    var merged: [TextRun] {
        var out: [TextRun] = []
        for r in self {
            if let last = out.last, last.shift == r.shift { out[out.count - 1].text += r.text } else { out.append(r) }
        }
        return out
    }
}

extension RichText {
    /// The words (split at spaces outside super/subscripts), each with its markup.
    var words: [RichText] {
        var words: [RichText] = [], current: [TextRun] = []
        for run in runs {
            guard run.shift == .none else { current.append(run); continue }
            let parts = run.text.split(separator: " ", omittingEmptySubsequences: false)
            for (i, p) in parts.enumerated() {
                if i > 0 { if !current.isEmpty { words.append(RichText(runs: current)) }; current = [] }
                if !p.isEmpty { current.append(TextRun(String(p))) }
            }
        }
        if !current.isEmpty { words.append(RichText(runs: current)) }
        return words
    }
}

/// Measured size of a piece of text; ascent/descent relative to the baseline.
struct TextBox {
    var width: Double
    var ascent: Double
    var descent: Double
    var height: Double { ascent + descent }
}

/// A piece of text (or a legend frame) the renderer drew, with the rectangle it covers in figure points.
public struct DrawnText: Sendable, CustomStringConvertible {
    public enum Kind: Sendable { case text, legendEntry, legendFrame }
    public var text: String
    public var rect: ChartRect
    public var kind: Kind
    public var description: String { "'\(text)' \(rect)" }
}

/// Collects every text box a canvas draws (layout tests).
final class TextLog {
    var items: [DrawnText] = []
}

/// Thin Swift wrapper over a cairo_t: the only place that issues drawing calls.
final class Canvas {
    let cr: OpaquePointer
    /// When set, every text drawn is recorded with its extent.
    var log: TextLog?
    /// The kind recorded for text drawn now (legend entries while the legend is drawn).
    var textKind: DrawnText.Kind = .text
    /// Device pixels per point (used to snap hairlines onto pixel centres).
    let scale: Double
    static let fontFamily = "DejaVu Sans"

    init(cr: OpaquePointer, scale: Double) {
        self.cr = cr
        self.scale = scale
        let options = cairo_font_options_create()
        cairo_font_options_set_hint_metrics(options, CAIRO_HINT_METRICS_OFF)   // same layout on every backend
        cairo_font_options_set_hint_style(options, CAIRO_HINT_STYLE_SLIGHT)
        cairo_font_options_set_antialias(options, CAIRO_ANTIALIAS_GRAY)
        cairo_set_font_options(cr, options)
        cairo_font_options_destroy(options)
        cairo_set_antialias(cr, CAIRO_ANTIALIAS_DEFAULT)
        cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND)
    }

    /// Runs `body` with a canvas on a throw-away 1×1 surface, for text measurement.
    static func measuring<T>(scale: Double, _ body: (Canvas) -> T) -> T {
        let surface = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, 1, 1)
        let cr = cairo_create(surface)!
        defer { cairo_destroy(cr); cairo_surface_destroy(surface) }
        cairo_scale(cr, scale, scale)
        return body(Canvas(cr: cr, scale: scale))
    }

    // MARK: State

    func setColor(_ c: Color) { cairo_set_source_rgba(cr, c.red, c.green, c.blue, c.alpha) }

    func save() { cairo_save(cr) }
    func restore() { cairo_restore(cr) }

    func clip(to r: ChartRect) {
        cairo_rectangle(cr, r.x, r.y, r.width, r.height)
        cairo_clip(cr)
    }

    /// Rounds a coordinate so that a horizontal/vertical line of `width` points is crisp.
    func snap(_ v: Double, width: Double) -> Double {
        let px = max(1, (width * scale).rounded())
        let d = v * scale
        let s = px.truncatingRemainder(dividingBy: 2) == 1 ? d.rounded(.down) + 0.5 : d.rounded()
        return s / scale
    }

    // MARK: Shapes

    /// Records a legend frame (layout tests).
    func recordFrame(_ r: ChartRect) { log?.items.append(DrawnText(text: "legend", rect: r, kind: .legendFrame)) }

    func fill(_ r: ChartRect, _ color: Color) {
        setColor(color)
        cairo_rectangle(cr, r.x, r.y, r.width, r.height)
        cairo_fill(cr)
    }

    /// Rectangle outline, snapped to pixels.
    func strokeRect(_ r: ChartRect, _ color: Color, width: Double) {
        let x0 = snap(r.minX, width: width), x1 = snap(r.maxX, width: width)
        let y0 = snap(r.minY, width: width), y1 = snap(r.maxY, width: width)
        setColor(color)
        cairo_set_line_width(cr, width)
        cairo_set_dash(cr, nil, 0, 0)
        cairo_rectangle(cr, x0, y0, x1 - x0, y1 - y0)
        cairo_stroke(cr)
    }

    private func setStroke(_ color: Color, width: Double, dash: Dash) {
        setColor(color)
        cairo_set_line_width(cr, width)
        let pattern = dash.pattern(width: width)
        cairo_set_line_cap(cr, dash == .dotted || dash == .dashDot ? CAIRO_LINE_CAP_ROUND : CAIRO_LINE_CAP_BUTT)
        let offset = dash.offset(width: width)
        pattern.withUnsafeBufferPointer { cairo_set_dash(cr, $0.baseAddress, Int32($0.count), offset) }
    }

    /// A straight line; axis-parallel lines are snapped to pixels.
    func line(_ a: Point, _ b: Point, _ color: Color, width: Double, dash: Dash = .solid) {
        var a = a, b = b
        if a.x == b.x { a.x = snap(a.x, width: width); b.x = a.x }
        if a.y == b.y { a.y = snap(a.y, width: width); b.y = a.y }
        setStroke(color, width: width, dash: dash)
        cairo_move_to(cr, a.x, a.y)
        cairo_line_to(cr, b.x, b.y)
        cairo_stroke(cr)
    }

    /// Strokes each polyline (dash pattern continues across vertices).
    func polylines(_ lines: [[Point]], _ color: Color, width: Double, dash: Dash) {
        guard !lines.isEmpty else { return }
        setStroke(color, width: width, dash: dash)
        for l in lines {
            cairo_move_to(cr, l[0].x, l[0].y)
            for p in l.dropFirst() { cairo_line_to(cr, p.x, p.y) }
            cairo_stroke(cr)
        }
    }

    /// Fills the closed polygon.
    func polygon(_ points: [Point], _ color: Color) {
        guard points.count >= 3 else { return }
        setColor(color)
        cairo_move_to(cr, points[0].x, points[0].y)
        for p in points.dropFirst() { cairo_line_to(cr, p.x, p.y) }
        cairo_close_path(cr)
        cairo_fill(cr)
    }

    /// A filled marker with a thin white rim so overlapping markers stay distinguishable.
    func marker(_ m: Marker, at p: Point, size: Double, color: Color) {
        let r = size / 2
        switch m {
        case .none: return
        case .circle: cairo_new_sub_path(cr); cairo_arc(cr, p.x, p.y, r, 0, 2 * Double.pi)
        case .square: cairo_rectangle(cr, p.x - r * 0.88, p.y - r * 0.88, 1.76 * r, 1.76 * r)
        case .triangle:
            let h = r * 1.15
            cairo_move_to(cr, p.x, p.y - h)
            cairo_line_to(cr, p.x + h * 0.866, p.y + h * 0.5)
            cairo_line_to(cr, p.x - h * 0.866, p.y + h * 0.5)
            cairo_close_path(cr)
        }
        setColor(color)
        cairo_fill_preserve(cr)
        setColor(Color.white.withAlpha(0.9))
        cairo_set_line_width(cr, max(0.75, size / 10))
        cairo_set_dash(cr, nil, 0, 0)
        cairo_stroke(cr)
    }

    /// Paints premultiplied ARGB32 pixels (`width`×`height`, top row first) stretched into `r`
    /// without smoothing (each matrix cell stays a sharp rectangle).
    func image(_ pixels: [UInt32], width: Int, height: Int, in r: ChartRect) {
        guard width > 0, height > 0, pixels.count >= width * height else { return }
        guard let surface = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, Int32(width), Int32(height)),
              cairo_surface_status(surface) == CAIRO_STATUS_SUCCESS else { return }
        defer { cairo_surface_destroy(surface) }
        cairo_surface_flush(surface)
        let stride = Int(cairo_image_surface_get_stride(surface))
        let data = cairo_image_surface_get_data(surface)!
        pixels.withUnsafeBufferPointer { src in
            for row in 0..<height {
                let dst = UnsafeMutableRawPointer(data + row * stride).assumingMemoryBound(to: UInt32.self)
                dst.update(from: src.baseAddress! + row * width, count: width)
            }
        }
        cairo_surface_mark_dirty(surface)
        save()
        clip(to: r)
        cairo_translate(cr, r.x, r.y)
        cairo_scale(cr, r.width / Double(width), r.height / Double(height))
        cairo_set_source_surface(cr, surface, 0, 0)
        let pattern = cairo_get_source(cr)
        cairo_pattern_set_filter(pattern, CAIRO_FILTER_NEAREST)
        cairo_pattern_set_extend(pattern, CAIRO_EXTEND_PAD)
        cairo_paint(cr)
        restore()
    }

    // MARK: Text

    private func setFont(size: Double, bold: Bool) {
        cairo_select_font_face(cr, Canvas.fontFamily, CAIRO_FONT_SLANT_NORMAL,
                               bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL)
        cairo_set_font_size(cr, size)
    }

    private func runSize(_ run: TextRun, _ size: Double) -> Double { run.shift == .none ? size : size * 0.7 }

    private func runRise(_ run: TextRun, _ size: Double) -> Double {
        switch run.shift {
        case .none: return 0
        case .superscript: return size * 0.42
        case .subscript: return -size * 0.2
        }
    }

    private func advance(_ text: String) -> Double {
        var e = cairo_text_extents_t()
        cairo_text_extents(cr, text, &e)
        return e.x_advance
    }

    /// `style` shrunk (to at least `minimum` of its size) so that `text` fits in `maxWidth`.
    func fitting(_ text: RichText, _ style: TextStyle, maxWidth: Double, minimum: Double = 0.6) -> TextStyle {
        let w = measure(text, style).width
        guard w > maxWidth, w > 0 else { return style }
        var s = style
        s.size = style.size * max(minimum, maxWidth / w)
        return s
    }

    /// `text` fitted into `maxWidth`: on one line shrunk to no less than 80 %, else wrapped at spaces into at
    /// most `maxLines` lines (shrinking step by step to 60 %), else wrapped at 60 % (more lines if need be) and shrunk until
    /// the widest word fits.
    /// Text is never clipped.
    /// `wrapOnly`: never shrink, wrap into as many lines as it takes (notes).
    /// `oneLine`: how far it may shrink on one line before it wraps.
    func fitLines(_ text: RichText, _ style: TextStyle, maxWidth: Double, maxLines: Int = 3, wrapOnly: Bool = false,
                  oneLine: Double = 0.8) -> FittedText {
        let width = measure(text, style).width
        if width <= maxWidth || maxWidth <= 0 { return FittedText(lines: [text], style: style) }
        if wrapOnly {
            let lines = wrap(text.words, style, maxWidth: maxWidth)
            let widest = lines.map { measure($0, style).width }.max() ?? 0
            var s = style
            if widest > maxWidth { s.size *= maxWidth / widest }     // a single word wider than the line
            return FittedText(lines: lines, style: s)
        }
        if width * oneLine <= maxWidth { return FittedText(lines: [text], style: fitting(text, style, maxWidth: maxWidth, minimum: oneLine)) }
        let words = text.words
        var lines: [RichText] = [text]
        var s = style
        for shrink in [1.0, 0.9, 0.8, 0.7, 0.6] {
            s.size = style.size * shrink
            lines = wrap(words, s, maxWidth: maxWidth)
            if lines.count <= maxLines && lines.allSatisfy({ measure($0, s).width <= maxWidth }) {
                return FittedText(lines: lines, style: s)
            }
        }
        let widest = lines.map { measure($0, s).width }.max() ?? 0
        if widest > maxWidth, widest > 0 { s.size *= maxWidth / widest }
        return FittedText(lines: lines, style: s)
    }

    /// Greedy line filling of `words` (each keeps its own markup) within `maxWidth`.
    private func wrap(_ words: [RichText], _ style: TextStyle, maxWidth: Double) -> [RichText] {
        var lines: [RichText] = [], current: [TextRun] = []
        for w in words {
            let candidate = current.isEmpty ? w.runs : current + [TextRun(" ")] + w.runs
            if !current.isEmpty && measure(RichText(runs: candidate), style).width > maxWidth {
                lines.append(RichText(runs: current)); current = w.runs
            } else {
                current = candidate
            }
        }
        if !current.isEmpty { lines.append(RichText(runs: current)) }
        return lines.map { RichText(runs: $0.runs.merged) }
    }

    /// Height of `n` lines of fitted text (line spacing 1.2).
    func height(_ f: FittedText) -> Double {
        guard let first = f.lines.first else { return 0 }
        let one = f.lines.map { measure($0, f.style).height }.max() ?? measure(first, f.style).height
        return one + Double(f.lines.count - 1) * f.style.size * 1.2
    }

    /// Draws fitted lines; (x, y) is the top of the first line, or for `angle` −π/2 its top in reading
    /// direction (the lines then stack to the right).
    func text(_ f: FittedText, x: Double, y: Double, h: HAlign = .center, angle: Double = 0) {
        for (i, line) in f.lines.enumerated() {
            let d = Double(i) * f.style.size * 1.2
            if angle == 0 { text(line, f.style, x: x, y: y + d, h: h, v: .top) }
            else { text(line, f.style, x: x + d, y: y, h: h, v: .top, angle: angle) }
        }
    }

    /// Width, ascent and descent of `text` (font metrics, so equal-height labels align).
    func measure(_ text: RichText, _ style: TextStyle) -> TextBox {
        var box = TextBox(width: 0, ascent: 0, descent: 0)
        for run in text.runs {
            let size = runSize(run, style.size), rise = runRise(run, style.size)
            setFont(size: size, bold: style.bold)
            var fe = cairo_font_extents_t()
            cairo_font_extents(cr, &fe)
            box.width += advance(run.text)
            box.ascent = max(box.ascent, fe.ascent * 0.85 + rise)   // 0.85: DejaVu's ascent includes accent room
            box.descent = max(box.descent, fe.descent - rise)
        }
        if text.isEmpty { box.ascent = style.size * 0.8; box.descent = style.size * 0.2 }
        return box
    }

    /// The rectangle `text` occupies when drawn at (x, y) with the given alignment (unrotated).
    func bounds(_ text: RichText, _ style: TextStyle, x: Double, y: Double, h: HAlign, v: VAlign) -> ChartRect {
        let box = measure(text, style)
        let left = x - offsetX(box, h)
        let baseline = y + offsetBaseline(box, style, v)
        return ChartRect(x: left, y: baseline - box.ascent, width: box.width, height: box.height)
    }

    private func offsetX(_ box: TextBox, _ h: HAlign) -> Double {
        switch h { case .left: return 0; case .center: return box.width / 2; case .right: return box.width }
    }

    private func offsetBaseline(_ box: TextBox, _ style: TextStyle, _ v: VAlign) -> Double {
        switch v {
        case .top: return box.ascent
        case .middle: return style.size * 0.36     // half the cap height of the main runs
        case .baseline: return 0
        case .bottom: return -box.descent
        }
    }

    /// Draws `text` anchored at (x, y); `angle` in radians (−π/2 = reading upwards).
    func text(_ text: RichText, _ style: TextStyle, x: Double, y: Double, h: HAlign = .left,
              v: VAlign = .baseline, angle: Double = 0) {
        let box = measure(text, style)
        if let log {
            let u0 = -offsetX(box, h), v0 = offsetBaseline(box, style, v) - box.ascent
            let corners = [(u0, v0), (u0 + box.width, v0), (u0, v0 + box.height), (u0 + box.width, v0 + box.height)]
                .map { u, w in (x + u * cos(angle) - w * sin(angle), y + u * sin(angle) + w * cos(angle)) }
            let xs = corners.map(\.0), ys = corners.map(\.1)
            log.items.append(DrawnText(text: text.plainText,
                                       rect: ChartRect(x: xs.min()!, y: ys.min()!, width: xs.max()! - xs.min()!,
                                                       height: ys.max()! - ys.min()!), kind: textKind))
        }
        save()
        cairo_translate(cr, x, y)
        if angle != 0 { cairo_rotate(cr, angle) }
        var pen = -offsetX(box, h)
        let baseline = offsetBaseline(box, style, v)
        setColor(style.color)
        for run in text.runs {
            setFont(size: runSize(run, style.size), bold: style.bold)
            cairo_move_to(cr, pen, baseline - runRise(run, style.size))
            cairo_show_text(cr, run.text)
            pen += advance(run.text)
        }
        restore()
    }
}
