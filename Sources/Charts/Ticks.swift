import Foundation

/// One tick on an axis or colour bar.
public struct Tick: Sendable, Equatable {
    /// Position in plot space (log10 units on logarithmic axes).
    public var position: Double
    /// The label (nil for minor ticks).
    public var label: RichText?
    /// Major ticks get labels, longer marks and grid lines.
    public var isMajor: Bool
    /// For labelled decades on logarithmic axes: k in 10^k.
    public var exponent: Int?
    /// Label colour and weight in place of the tick style's (category labels that stand out).
    public var color: Color? = nil
    public var bold = false
}

/// Tick generation for linear and logarithmic axes.
public enum TickGenerator {
    /// Ticks for `scale` over the plot-space range `lo…hi`, at most `maxCount` labelled.
    public static func ticks(scale: AxisScale, lo: Double, hi: Double, maxCount: Int) -> [Tick] {
        scale.isLogarithmic ? logarithmic(lo: lo, hi: hi, maxCount: maxCount)
                            : linear(lo: lo, hi: hi, maxCount: maxCount)
    }

    // MARK: Linear

    /// "Nice" ticks (1, 2, 5 × 10^k) covering `lo…hi`; at most `maxCount` ticks.
    /// Labels are exact decimal strings (no 0.30000000000000004); very large or very small
    /// magnitudes are labelled m×10^k.
    public static func linear(lo: Double, hi: Double, maxCount: Int = 8) -> [Tick] {
        guard lo.isFinite, hi.isFinite, hi > lo else { return [] }
        let n = max(maxCount, 2)
        var step = niceStep(atLeast: (hi - lo) / Double(n - 1))
        while count(lo, hi, step) > n { step = niceStep(atLeast: step * 1.0001) }
        let k0 = (lo / step - 1e-9).rounded(.up), k1 = (hi / step + 1e-9).rounded(.down)
        guard k1 >= k0, k1 - k0 < 1000 else { return [] }
        let maxAbs = max(abs(lo), abs(hi))
        let scientific = maxAbs >= 1e6 || maxAbs < 1e-3
        return stride(from: k0, through: k1, by: 1).map { k in
            var v = k * step
            if abs(v) < step * 1e-9 { v = 0 }
            return Tick(position: v, label: numberLabel(v, step: step, scientific: scientific),
                        isMajor: true, exponent: nil)
        }
    }

    /// Smallest 1/2/5 × 10^k that is ≥ x.
    static func niceStep(atLeast x: Double) -> Double {
        let mag = pow(10, (Foundation.log10(x)).rounded(.down))
        for m in [1.0, 2, 5, 10] where m * mag >= x * (1 - 1e-12) { return m * mag }
        return 10 * mag
    }

    private static func count(_ lo: Double, _ hi: Double, _ step: Double) -> Int {
        let c = (hi / step + 1e-9).rounded(.down) - (lo / step - 1e-9).rounded(.up) + 1
        return c > 1e6 ? Int.max : Int(c)
    }

    /// A tick label for `v` on a grid of spacing `step`.
    static func numberLabel(_ v: Double, step: Double, scientific: Bool) -> RichText {
        let stepDigits = Int((Foundation.log10(step) + 1e-9).rounded(.down))
        guard scientific else { return RichText(fixed(v, decimals: max(0, -stepDigits))) }
        if v == 0 { return RichText("0") }
        let k = Int((Foundation.log10(abs(v)) + 1e-9).rounded(.down))
        let m = v / pow(10, Double(k))
        let mantissa = trimZeros(fixed(m, decimals: max(0, k - stepDigits)))
        switch mantissa {
        case "1": return .power(exponent: k)
        case "−1": return RichText(runs: [TextRun("−10"), TextRun(formatInteger(k), shift: .superscript)])
        default: return .power(exponent: k, mantissa: mantissa)
        }
    }

    /// `v` with `decimals` decimals, typographic minus, never "−0".
    static func fixed(_ v: Double, decimals: Int) -> String {
        var s = String(format: "%.*f", decimals, v)
        if s.hasPrefix("-") {
            s.removeFirst()
            if s.contains(where: { $0 != "0" && $0 != "." }) { s = "−" + s }
        }
        return s
    }

    private static func trimZeros(_ s: String) -> String {
        guard s.contains(".") else { return s }
        var t = s
        while t.hasSuffix("0") { t.removeLast() }
        if t.hasSuffix(".") { t.removeLast() }
        return t
    }

    // MARK: Logarithmic

    /// Ticks for a logarithmic axis whose plot-space range is `lo…hi` (in decades).
    ///
    /// Major ticks sit on decades 10^k, every `step` decades where step ∈ {1, 2, 5, 10, 20, 50, …}
    /// is the smallest giving at most `maxCount` labels (10^−300…10^0 → every 50 decades).
    /// Minor ticks: 2…9 × 10^k when labelled decades are consecutive and the span is ≤ 12
    /// decades, otherwise a subdivision of the step. Ranges containing fewer than two decades
    /// fall back to linear ticks on the mantissa (labels like 2×10^−5).
    public static func logarithmic(lo: Double, hi: Double, maxCount: Int = 10) -> [Tick] {
        guard lo.isFinite, hi.isFinite, hi > lo, abs(lo) < 1e12, abs(hi) < 1e12 else { return [] }
        let firstDecade = (lo - 1e-9).rounded(.up), lastDecade = (hi + 1e-9).rounded(.down)
        if lastDecade - firstDecade < 1 { return subDecade(lo: lo, hi: hi, maxCount: maxCount) }

        var step = 1.0
        while count(lo, hi, step) > max(maxCount, 2) { step = niceStep(atLeast: step * 1.0001) }
        let k0 = (lo / step - 1e-9).rounded(.up), k1 = (hi / step + 1e-9).rounded(.down)
        var ticks = stride(from: k0, through: k1, by: 1).map { k -> Tick in
            let e = Int(k * step)
            return Tick(position: Double(e), label: .power(exponent: e), isMajor: true, exponent: e)
        }
        if step == 1 && hi - lo <= 12 {
            for d in stride(from: lo.rounded(.down), through: hi.rounded(.down), by: 1) {
                for m in 2...9 {
                    let p = d + Foundation.log10(Double(m))
                    if p >= lo && p <= hi { ticks.append(Tick(position: p, label: nil, isMajor: false)) }
                }
            }
        } else {
            let s = Int(step)
            let minor = Double(s % 5 == 0 ? s / 5 : (s % 4 == 0 ? s / 4 : max(1, s / 2)))
            if minor < step {
                for k in stride(from: (lo / minor).rounded(.up), through: (hi / minor).rounded(.down), by: 1) {
                    let p = k * minor
                    if p.truncatingRemainder(dividingBy: step) != 0 {
                        ticks.append(Tick(position: p, label: nil, isMajor: false))
                    }
                }
            }
        }
        return ticks
    }

    /// Less than two decades: linear ticks on the values themselves, scaled by 10^K.
    private static func subDecade(lo: Double, hi: Double, maxCount: Int) -> [Tick] {
        let K = lo.rounded(.down)
        let a = pow(10, lo - K), b = pow(10, hi - K)      // 1 ≤ a < b < 1000
        let lin = linear(lo: a, hi: b, maxCount: maxCount)
        guard lin.count >= 2 else { return [] }
        let step = lin[1].position - lin[0].position
        let plainDecimals = Int(K) >= -3 && Int(K) <= 4
        return lin.compactMap { t in
            guard t.position > 0 else { return nil }
            let position = K + Foundation.log10(t.position)
            let label: RichText
            if plainDecimals {
                let v = t.position * pow(10, K)
                label = numberLabel(v, step: step * pow(10, K), scientific: false)
            } else {
                // normalise the mantissa into [1, 10)
                var m = t.position, e = Int(K)
                while m >= 10 * (1 - 1e-12) { m /= 10; e += 1 }
                let digits = max(0, -Int((Foundation.log10(step) - Double(e) + Double(K) + 1e-9).rounded(.down)))
                let mantissa = trimZeros(fixed(m, decimals: digits))
                label = mantissa == "1" ? .power(exponent: e) : .power(exponent: e, mantissa: mantissa)
            }
            let isDecade = abs(position - position.rounded()) < 1e-9
            return Tick(position: position, label: label, isMajor: true,
                        exponent: isDecade ? Int(position.rounded()) : nil)
        }
    }
}
