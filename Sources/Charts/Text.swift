/// Vertical placement of a text run.
public enum BaselineShift: Sendable, Equatable {
    case none, superscript, `subscript`
}

/// A run of text drawn at one size and baseline.
public struct TextRun: Sendable, Equatable {
    public var text: String
    public var shift: BaselineShift

    public init(_ text: String, shift: BaselineShift = .none) {
        self.text = text; self.shift = shift
    }
}

/// Text with superscripts and subscripts, e.g. "10" + superscript "−3".
///
/// Every label in Charts (titles, axis labels, legend entries, annotations) accepts a tiny
/// markup: `^{…}` raises, `_{…}` lowers, e.g. `"‖∂h_{t}/∂h_{k}‖"` or `"10^{-3}"`.
/// A hyphen directly inside `^{}` is drawn as a real minus sign.
public struct RichText: Sendable, Equatable, ExpressibleByStringLiteral, CustomStringConvertible {
    public var runs: [TextRun]

    public init(runs: [TextRun]) { self.runs = runs.filter { !$0.text.isEmpty } }

    /// Parses the `^{…}` / `_{…}` markup.
    public init(_ markup: String) {
        var runs: [TextRun] = []
        var plain = ""
        var rest = Substring(markup)
        while let i = rest.firstIndex(where: { $0 == "^" || $0 == "_" }) {
            let next = rest.index(after: i)
            guard next < rest.endIndex, rest[next] == "{",
                  let close = rest[next...].firstIndex(of: "}") else {
                plain += rest[...i]; rest = rest[next...]; continue
            }
            plain += rest[..<i]
            if !plain.isEmpty { runs.append(TextRun(plain)); plain = "" }
            var inner = String(rest[rest.index(after: next)..<close])
            let shift: BaselineShift = rest[i] == "^" ? .superscript : .subscript
            if shift == .superscript, inner.hasPrefix("-") { inner = "−" + inner.dropFirst() }
            runs.append(TextRun(inner, shift: shift))
            rest = rest[rest.index(after: close)...]
        }
        plain += rest
        if !plain.isEmpty { runs.append(TextRun(plain)) }
        self.init(runs: runs)
    }

    public init(stringLiteral value: String) { self.init(value) }

    /// `mantissa×10^exponent` (or `10^exponent` when mantissa is nil), with a real minus sign.
    public static func power(exponent: Int, mantissa: String? = nil) -> RichText {
        let base = mantissa.map { $0 + "×10" } ?? "10"
        return RichText(runs: [TextRun(base), TextRun(formatInteger(exponent), shift: .superscript)])
    }

    /// Readable plain form: superscripts as `^x`, subscripts as `_x`.
    public var plainText: String {
        runs.map { run in
            switch run.shift {
            case .none: return run.text
            case .superscript: return "^" + run.text
            case .subscript: return "_" + run.text
            }
        }.joined()
    }

    public var description: String { plainText }
    public var isEmpty: Bool { runs.isEmpty }
}

/// An integer with a typographic minus sign (U+2212).
func formatInteger(_ k: Int) -> String { k < 0 ? "−\(-k)" : "\(k)" }
