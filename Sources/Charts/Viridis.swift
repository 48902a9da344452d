/// The viridis colour map (van der Walt & Smith, matplotlib's default; CC0).
///
/// Stored as 33 anchors of the original 256-entry table (every 8th entry plus the last),
/// linearly interpolated; the error against the full table is below one 8-bit step.
public enum Viridis {
    /// (table index 0…255, r, g, b)
    private static let anchors: [(Double, Double, Double, Double)] = [
        (0, 0.267004, 0.004874, 0.329415), (8, 0.277018, 0.050344, 0.375715),
        (16, 0.282327, 0.094955, 0.417331), (24, 0.282884, 0.135920, 0.453427),
        (32, 0.278826, 0.175490, 0.483397), (40, 0.270595, 0.214069, 0.507052),
        (48, 0.258965, 0.251537, 0.524736), (56, 0.244972, 0.287675, 0.537260),
        (64, 0.229739, 0.322361, 0.545706), (72, 0.214298, 0.355619, 0.551184),
        (80, 0.199430, 0.387607, 0.554642), (88, 0.185556, 0.418570, 0.556753),
        (96, 0.172719, 0.448791, 0.557885), (104, 0.160665, 0.478540, 0.558115),
        (112, 0.149039, 0.508051, 0.557250), (120, 0.137770, 0.537492, 0.554906),
        (128, 0.127568, 0.566949, 0.550556), (136, 0.120565, 0.596422, 0.543611),
        (144, 0.120638, 0.625828, 0.533488), (152, 0.132268, 0.655014, 0.519661),
        (160, 0.157851, 0.683765, 0.501686), (168, 0.196571, 0.711827, 0.479221),
        (176, 0.246070, 0.738910, 0.452024), (184, 0.304148, 0.764704, 0.419943),
        (192, 0.369214, 0.788888, 0.382914), (200, 0.440137, 0.811138, 0.340967),
        (208, 0.515992, 0.831158, 0.294279), (216, 0.595839, 0.848717, 0.243329),
        (224, 0.678489, 0.863742, 0.189503), (232, 0.762373, 0.876424, 0.137064),
        (240, 0.845561, 0.887322, 0.099702), (248, 0.926106, 0.897330, 0.104071),
        (255, 0.993248, 0.906157, 0.143936),
    ]

    /// Viridis at `t` ∈ [0, 1] (clamped; NaN → the lowest colour).
    public static func color(at t: Double) -> Color {
        let u = t.isNaN ? 0 : max(0, min(1, t)) * 255
        var i = 0
        while i < anchors.count - 2 && anchors[i + 1].0 < u { i += 1 }
        let a = anchors[i], b = anchors[i + 1]
        let f = max(0, min(1, (u - a.0) / (b.0 - a.0)))
        return Color(red: a.1 + (b.1 - a.1) * f, green: a.2 + (b.2 - a.2) * f, blue: a.3 + (b.3 - a.3) * f)
    }

    /// 256-entry lookup table (8-bit RGB) used when painting heatmaps.
    static let table8: [(UInt8, UInt8, UInt8)] = (0..<256).map { color(at: Double($0) / 255).rgb8 }

    /// 8-bit colour for `t` ∈ [0, 1] from the lookup table.
    static func rgb8(at t: Double) -> (UInt8, UInt8, UInt8) {
        let u = t.isNaN ? 0 : max(0, min(1, t))
        return table8[Int((u * 255).rounded())]
    }
}
