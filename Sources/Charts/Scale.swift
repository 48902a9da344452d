import Foundation

/// How data values map onto an axis (or a colour bar).
public enum AxisScale: Sendable, Equatable {
    /// Values drawn as they are.
    case linear
    /// Positive raw values on a logarithmic axis; values ≤ 0 cannot be drawn and are omitted.
    case log10
    /// Values that are ALREADY log10 of the quantity (e.g. −4000 for 10^−4000, which a Double
    /// cannot hold). Drawn on a logarithmic axis labelled 10^k.
    case log10Data

    /// True for both logarithmic variants.
    public var isLogarithmic: Bool { self != .linear }

    /// The position of data value `v` in "plot space" (log10 units for log axes), or nil when
    /// it cannot be drawn (NaN, ±∞, or ≤ 0 on a `.log10` axis).
    public func plotValue(_ v: Double) -> Double? {
        switch self {
        case .linear, .log10Data: return v.isFinite ? v : nil
        case .log10: return v.isFinite && v > 0 ? Foundation.log10(v) : nil
        }
    }

    /// Automatic plot-space range covering `values` (plot-space), with padding:
    /// ~5 % for linear axes; on log axes whole decades when the span is small, ~5 % otherwise.
    func autoRange(_ values: [Double], padded: Bool = true) -> ClosedRange<Double> {
        guard var lo = values.min(), var hi = values.max() else {
            return 0...1
        }
        if !padded && hi > lo { return lo...hi }
        if isLogarithmic {
            let span = hi - lo
            let pad = 0.05 * max(span, 1)
            lo -= pad; hi += pad
            if span <= 3 { lo = lo.rounded(.down); hi = hi.rounded(.up) }
        } else {
            if hi == lo {
                let d = lo == 0 ? 1 : abs(lo) * 0.1
                lo -= d; hi += d
            } else {
                let pad = 0.05 * (hi - lo)
                lo -= pad; hi += pad
            }
        }
        return lo...hi
    }
}

/// Maps plot-space values on one axis to figure points.
struct AxisMap {
    var lo: Double, hi: Double          // plot-space range
    var start: Double, end: Double      // points (for y: start = bottom, end = top)

    func callAsFunction(_ t: Double) -> Double {
        start + (t - lo) / (hi - lo) * (end - start)
    }

    func contains(_ t: Double) -> Bool {
        t >= min(lo, hi) - 1e-9 * abs(hi - lo) && t <= max(lo, hi) + 1e-9 * abs(hi - lo)
    }
}
