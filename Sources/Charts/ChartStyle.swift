import Foundation

/// What a figure is made for: it sets the text size, the line widths and the default page size.
///
/// | style | text (axis labels) | lines | default size |
/// |---|---|---|---|
/// | `screen` | 16 pt at 1200×800, growing/shrinking with the canvas (11.2 pt at the smallest) | 1× | 1200×800 (PDF: 460×300 pt = 6.4×4.2 in) |
/// | `slides` | 20 pt at 960×540 (a 13.3×7.5 in 16:9 slide), growing with the canvas | 1.6× | 960×540, PNG at 2× = 1920×1080 px |
/// | `paper` | 9 pt (ticks and legend 8 pt), whatever the canvas | 0.55× | 240×180 pt (a LaTeX column, 3.3 in), PNG at 4× ≈ 300 dpi |
///
/// Tick labels are 7/8, panel titles 5/4 (paper: 1) and notes ~3/4 of the axis-label size.
public enum ChartStyle: String, Sendable, CaseIterable {
    case screen, slides, paper

    /// Default canvas in points for raster/SVG output.
    public var defaultSize: (width: Double, height: Double) {
        switch self {
        case .screen: return (1200, 800)
        case .slides: return (960, 540)
        case .paper: return (240, 180)
        }
    }

    /// Default canvas in points for PDF (a physical page): 6.4×4.2 in for the screen style.
    public var defaultPDFSize: (width: Double, height: Double) {
        self == .screen ? (460, 300) : defaultSize
    }

    /// Default PNG pixel multiplier.
    public var defaultScale: Double {
        switch self {
        case .screen: return 1
        case .slides: return 2
        case .paper: return 4
        }
    }

    /// Axis-label font size in points on a `width`×`height` canvas (the other sizes follow from it).
    public func labelSize(width: Double, height: Double) -> Double {
        let size: Double
        switch self {
        case .screen: size = 16 * max(0.7, min(3, (width * height / (1200 * 800)).squareRoot()))
        case .slides: size = 20 * max(0.7, min(3, (width * height / (960 * 540)).squareRoot()))
        case .paper: size = 9
        }
        // A tiny canvas holds only so much text, whatever the style.
        return min(size, max(8, min(width, height) / 20))
    }

    /// Multiplier for line widths and marker sizes.
    public func lineScale(width: Double, height: Double) -> Double {
        switch self {
        case .screen: return max(0.7, min(2, (width * height / (1200 * 800)).squareRoot()))
        case .slides: return 1.6 * max(0.6, min(2, (width * height / (960 * 540)).squareRoot()))
        case .paper: return 0.55
        }
    }
}
