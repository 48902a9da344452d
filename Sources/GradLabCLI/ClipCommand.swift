import ArgumentParser
import Dynamics
import Foundation
import GradLab
import Linear

struct ClipCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "clip",
        abstract: "Norm scaling against value clipping on one gradient vector: what each does to its length and direction.")

    @Option(help: ArgumentHelp("The gradient, e.g. 8,1,-0.5 (default: a seeded random vector).", valueName: "list"))
    var gradient: NumberList?
    @Option(parsing: .unconditional, help: "Length of the random gradient.") var size = 6
    @Option(parsing: .unconditional, help: "Scale of the random gradient's entries (log-normal spread around it).") var magnitude = 10.0
    @Option(parsing: .unconditional, help: "Random seed for the gradient.") var seed: UInt64 = 0
    @Option(parsing: .unconditional, help: "Threshold c for norm scaling (rescale when ‖g‖₂ > c).") var clipNorm = 1.0
    @Option(parsing: .unconditional, help: "Threshold v for value clipping (clamp entries to [−v, v]).") var clipValue = 1.0
    @Option(help: ArgumentHelp("Chart file: .png, .svg or .pdf (the clipped vectors and their directions).", valueName: "file")) var out: String?
    @OptionGroup var chart: ChartOptions

    func run() throws {
        try Check.positive(clipNorm, "--clip-norm")
        try Check.positive(clipValue, "--clip-value")
        try Check.positive(magnitude, "--magnitude")
        try Check.positive(size, "--size")
        try Check.atMost(size, 64, "--size", "the vectors are printed in full")
        guard magnitude <= 1e100 else { throw GradLabError.usage("--magnitude must be at most 1e100 (got \(Format.magnitude(magnitude)))") }
        try chart.size.validate()
        if let out { try FigureFile.check(out) }
        guard gradient?.values.count ?? 0 <= 64 else { throw GradLabError.usage("--gradient takes at most 64 entries (the vectors are printed in full)") }
        var g: [Double]
        if let list = gradient?.values {
            guard list.allSatisfy(\.isFinite) else { throw GradLabError.usage("--gradient entries must be finite numbers") }
            g = list
        } else {
            // Entries of very different sizes, as real gradients have: sign · magnitude · e^{N(0, 1.5²)}.
            var rng = SeededRNG(seed: seed)
            g = (0..<size).map { _ in (rng.uniform() < 0.5 ? -1 : 1) * magnitude * exp(1.5 * rng.gaussian()) }
        }
        guard Vector.norm(g) > 0 else { throw GradLabError.usage("--gradient must not be the zero vector") }
        var byNorm = g, byValue = g
        GradientClipping.norm(clipNorm).apply(to: &byNorm)
        GradientClipping.value(clipValue).apply(to: &byValue)
        // Each vector is scaled to unit length before the dot product: entries of 1e308 would overflow it.
        func unit(_ v: [Double]) -> [Double] {
            let m = v.reduce(0.0) { max($0, abs($1)) }
            let s = v.map { $0 / m }
            let n = Vector.norm(s)
            return s.map { $0 / n }
        }
        func cosine(_ a: [Double], _ b: [Double]) -> Double { Vector.dot(unit(a), unit(b)) }
        func angle(_ a: [Double], _ b: [Double]) -> String { Format.fixed(acos(min(1, max(-1, cosine(a, b)))) * 180 / .pi, 1) + "°" }
        var t = TextTable(["", "vector", "‖·‖₂", "angle to g"])
        func show(_ v: [Double]) -> String { "(" + v.map { Format.magnitude($0, 3) }.joined(separator: ", ") + ")" }
        t.add(["gradient g", show(g), Format.magnitude(Vector.norm(g), 3), "0.0°"])
        t.add(["norm scaling, c = \(Format.short(clipNorm))", show(byNorm), Format.magnitude(Vector.norm(byNorm), 3), angle(g, byNorm)])
        t.add(["value clipping, v = \(Format.short(clipValue))", show(byValue), Format.magnitude(Vector.norm(byValue), 3), angle(g, byValue)])
        print(t.render())
        print("norm scaling keeps the direction (angle 0°) and only shortens g; value clipping bends it towards the")
        print("corners of the box [−v, v]^n: the large entries lose their lead over the small ones.")
        if let out {
            try FigureFile.save(ClipChart.figure(gradient: g, byNorm: byNorm, byValue: byValue, clipNorm: clipNorm, clipValue: clipValue,
                                                 normAngle: angle(g, byNorm), valueAngle: angle(g, byValue), size: chart.size), to: out)
            print("wrote \(out)")
        }
    }
}
