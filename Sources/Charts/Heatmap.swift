import Foundation

/// A matrix drawn as coloured cells with a colour bar. Created by `Axes.heatmap`.
///
/// `values[i][j]` is the cell in row i, column j. Row 0 is drawn at the BOTTOM
/// (y = `yExtent.lowerBound`), column 0 at the left (x = `xExtent.lowerBound`), so the matrix
/// reads like a plot of f(x, y). Heatmaps assume linear x and y axes.
public final class Heatmap {
    public let values: [[Double]]
    public var xExtent: ClosedRange<Double>
    public var yExtent: ClosedRange<Double>
    /// `true` = cell masked out (drawn in `maskColor`). NaN cells are masked too.
    public var mask: [[Bool]]?
    /// How values map to colours; `.log10Data` means the values are already log10.
    public var colorScale: AxisScale
    /// Colour range in data units (default: finite min…max).
    public var colorRange: ClosedRange<Double>?
    /// Colour-bar label (markup allowed).
    public var colorbarLabel: String?
    /// Colour of masked / undrawable cells.
    public var maskColor: Color

    init(values: [[Double]], xExtent: ClosedRange<Double>, yExtent: ClosedRange<Double>,
         mask: [[Bool]]?, colorScale: AxisScale, colorRange: ClosedRange<Double>?,
         colorbarLabel: String?, maskColor: Color) {
        self.values = values; self.xExtent = xExtent; self.yExtent = yExtent; self.mask = mask
        self.colorScale = colorScale; self.colorRange = colorRange; self.colorbarLabel = colorbarLabel
        self.maskColor = maskColor
    }

    public var rows: Int { values.count }
    public var cols: Int { values.map(\.count).max() ?? 0 }

    func isMasked(_ i: Int, _ j: Int) -> Bool {
        guard let mask, i < mask.count, j < mask[i].count else { return false }
        return mask[i][j]
    }

    /// Plot-space value of a cell, nil when masked, missing or undrawable.
    func plotValue(_ i: Int, _ j: Int) -> Double? {
        guard j < values[i].count, !isMasked(i, j) else { return nil }
        return colorScale.plotValue(values[i][j])
    }

    /// Colour-bar range in plot space.
    var plotColorRange: ClosedRange<Double> {
        if let r = colorRange, let a = colorScale.plotValue(r.lowerBound),
           let b = colorScale.plotValue(r.upperBound), b > a {
            return a...b
        }
        var lo = Double.infinity, hi = -Double.infinity
        for i in 0..<rows { for j in 0..<values[i].count { if let v = plotValue(i, j) { lo = min(lo, v); hi = max(hi, v) } } }
        if lo > hi { return 0...1 }
        if lo == hi { return (lo - 0.5)...(hi + 0.5) }
        return lo...hi
    }

    /// Number of cells that are not masked yet cannot be drawn (NaN, ±∞, ≤ 0 on log).
    var undrawableCount: Int {
        var n = 0
        for i in 0..<rows { for j in 0..<values[i].count where !isMasked(i, j) && !values[i][j].isNaN {
            if colorScale.plotValue(values[i][j]) == nil { n += 1 }
        } }
        return n
    }

    /// Premultiplied ARGB32 pixels (row 0 of the image = top row = last matrix row).
    func argbPixels() -> [UInt32] {
        let range = plotColorRange
        let m = maskColor.rgb8
        let maskPixel = 0xFF00_0000 | UInt32(m.r) << 16 | UInt32(m.g) << 8 | UInt32(m.b)
        let w = cols
        var pixels = [UInt32](repeating: maskPixel, count: rows * w)
        for i in 0..<rows {
            let imageRow = rows - 1 - i
            for j in 0..<values[i].count {
                guard let v = plotValue(i, j) else { continue }
                let (r, g, b) = Viridis.rgb8(at: (v - range.lowerBound) / (range.upperBound - range.lowerBound))
                pixels[imageRow * w + j] = 0xFF00_0000 | UInt32(r) << 16 | UInt32(g) << 8 | UInt32(b)
            }
        }
        return pixels
    }
}
