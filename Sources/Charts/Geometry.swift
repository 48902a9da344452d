/// An axis-aligned rectangle in figure points (origin top-left, y grows downwards).
public struct ChartRect: Equatable, Sendable, CustomStringConvertible {
    public var x: Double
    public var y: Double
    public var width: Double
    public var height: Double

    public init(x: Double, y: Double, width: Double, height: Double) {
        self.x = x; self.y = y; self.width = width; self.height = height
    }

    public var minX: Double { x }
    public var maxX: Double { x + width }
    public var minY: Double { y }
    public var maxY: Double { y + height }
    public var midX: Double { x + width / 2 }
    public var midY: Double { y + height / 2 }

    /// True when the point lies inside the rectangle (edges included).
    public func contains(x px: Double, y py: Double) -> Bool {
        px >= minX && px <= maxX && py >= minY && py <= maxY
    }

    /// The rectangle grown by `d` on every side (shrunk for negative `d`).
    public func insetBy(_ d: Double) -> ChartRect {
        ChartRect(x: x + d, y: y + d, width: max(0, width - 2 * d), height: max(0, height - 2 * d))
    }

    /// True when the two rectangles overlap.
    public func intersects(_ o: ChartRect) -> Bool {
        minX < o.maxX && o.minX < maxX && minY < o.maxY && o.minY < maxY
    }

    public var description: String { "(\(x), \(y), \(width)×\(height))" }
}

/// A point in figure points.
struct Point: Equatable {
    var x: Double
    var y: Double
}

/// Clips the segment p0→p1 to `r` (Liang–Barsky). Returns nil when nothing is inside.
func clipSegment(_ p0: Point, _ p1: Point, to r: ChartRect) -> (Point, Point)? {
    let dx = p1.x - p0.x, dy = p1.y - p0.y
    var t0 = 0.0, t1 = 1.0
    let edges: [(Double, Double)] = [(-dx, p0.x - r.minX), (dx, r.maxX - p0.x),
                                     (-dy, p0.y - r.minY), (dy, r.maxY - p0.y)]
    for (p, q) in edges {
        if p == 0 {
            if q < 0 { return nil }
        } else {
            let t = q / p
            if p < 0 { if t > t1 { return nil }; if t > t0 { t0 = t } }
            else { if t < t0 { return nil }; if t < t1 { t1 = t } }
        }
    }
    let a = t0 == 0 ? p0 : Point(x: p0.x + t0 * dx, y: p0.y + t0 * dy)
    let b = t1 == 1 ? p1 : Point(x: p0.x + t1 * dx, y: p0.y + t1 * dy)
    return (a, b)
}

/// Splits a sequence of points (nil = gap) into polylines clipped to `r`.
/// Non-finite points break the line; segments leaving `r` are cut at its edge,
/// so Cairo never sees huge coordinates.
func clippedPolylines(_ points: [Point?], to r: ChartRect) -> [[Point]] {
    var result: [[Point]] = []
    var current: [Point] = []
    func flush() { if current.count >= 2 { result.append(current) }; current = [] }
    var previous: Point? = nil
    for p in points {
        guard let p else { flush(); previous = nil; continue }
        if let q = previous {
            if let (a, b) = clipSegment(q, p, to: r) {
                if current.isEmpty || current.last! != a { flush(); current.append(a) }
                current.append(b)
            } else {
                flush()
            }
        }
        previous = p
    }
    flush()
    return result
}
