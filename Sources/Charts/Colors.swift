import Foundation

/// An sRGB colour with straight (non-premultiplied) alpha; components in 0…1.
public struct Color: Hashable, Sendable, CustomStringConvertible {
    public var red: Double
    public var green: Double
    public var blue: Double
    public var alpha: Double

    public init(red: Double, green: Double, blue: Double, alpha: Double = 1) {
        self.red = red; self.green = green; self.blue = blue; self.alpha = alpha
    }

    /// A colour from a 24-bit `0xRRGGBB` literal.
    public init(hex: UInt32, alpha: Double = 1) {
        self.init(red: Double((hex >> 16) & 0xFF) / 255,
                  green: Double((hex >> 8) & 0xFF) / 255,
                  blue: Double(hex & 0xFF) / 255, alpha: alpha)
    }

    /// A colour from `"#RRGGBB"` or `"RRGGBB"`; nil when malformed.
    public init?(hex string: String) {
        let s = string.hasPrefix("#") ? String(string.dropFirst()) : string
        guard s.count == 6, let v = UInt32(s, radix: 16) else { return nil }
        self.init(hex: v)
    }

    /// The same colour with a different alpha.
    public func withAlpha(_ a: Double) -> Color { Color(red: red, green: green, blue: blue, alpha: a) }

    /// Linear blend towards `other` (t = 0 → self, t = 1 → other).
    public func mixed(with other: Color, _ t: Double) -> Color {
        Color(red: red + (other.red - red) * t, green: green + (other.green - green) * t,
              blue: blue + (other.blue - blue) * t, alpha: alpha + (other.alpha - alpha) * t)
    }

    /// 8-bit components (rounded).
    public var rgb8: (r: UInt8, g: UInt8, b: UInt8) {
        func c(_ v: Double) -> UInt8 { UInt8(max(0, min(255, (v * 255).rounded()))) }
        return (c(red), c(green), c(blue))
    }

    /// `"#RRGGBB"`.
    public var hexString: String {
        let (r, g, b) = rgb8
        return String(format: "#%02X%02X%02X", r, g, b)
    }

    public var description: String { alpha < 1 ? "\(hexString)@\(alpha)" : hexString }

    public static let black = Color(hex: 0x000000)
    public static let white = Color(hex: 0xFFFFFF)
    /// Dark grey used for reference lines and annotations.
    public static let darkGray = Color(hex: 0x444444)
    public static let gray = Color(hex: 0x777777)
    public static let lightGray = Color(hex: 0xDDDDDD)
}

/// Default series colours.
public enum Palette {
    /// Okabe–Ito's colour-blind-safe colours, reordered so that the first five have clearly different hues
    /// (blue, vermillion, bluish green, reddish purple, black: Okabe–Ito's orange and vermillion side by
    /// side looked alike); then sky blue, orange and yellow, which pair with earlier ones by hue but not
    /// by lightness.
    public static let okabeIto: [Color] = [0x0072B2, 0xD55E00, 0x009E73, 0xCC79A7,
                                           0x000000, 0x56B4E9, 0xE69F00, 0xF0E442].map { Color(hex: $0) }

    /// The `index`-th palette colour (wrapping around).
    public static func color(_ index: Int) -> Color { okabeIto[((index % okabeIto.count) + okabeIto.count) % okabeIto.count] }

    /// `count` colours in time order (early → late) that stay distinct from each other: viridis from
    /// dark purple through blue and green to yellow-green (the pale end left out: it vanishes on white).
    public static func sequential(_ count: Int) -> [Color] {
        guard count > 1 else { return [Viridis.color(at: 0.35)] }
        return (0..<count).map { Viridis.color(at: 0.82 * Double($0) / Double(count - 1)) }
    }
}
