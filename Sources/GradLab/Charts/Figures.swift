import Charts
import Foundation

/// Size options shared by every chart-writing command.
public struct ChartSize: Sendable {
    public var width = 1200.0
    public var height = 800.0
    /// Pixel multiplier for PNG (2 for crisp slides).
    public var scale = 1.0
    public init() {}
    public init(width: Double, height: Double, scale: Double) { self.width = width; self.height = height; self.scale = scale }

    public func validate() throws {
        try Check.positive(width, "--width")
        try Check.positive(height, "--height")
        try Check.positive(scale, "--scale")
        guard width >= 300, height >= 200, width <= 10_000, height <= 10_000 else {
            throw GradLabError.usage("--width and --height must be between 300×200 and 10000×10000 points (got \(Format.short(width))×\(Format.short(height)))")
        }
        guard scale <= 8 else { throw GradLabError.usage("--scale must be at most 8 (got \(Format.short(scale)))") }
    }

    public func figure(rows: Int = 1, cols: Int = 1) -> Figure {
        Figure(rows: rows, cols: cols, width: width, height: height, scale: scale)
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
}
