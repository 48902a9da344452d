import ArgumentParser
import Dynamics
import GradLab

struct Gradlab: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gradlab",
        abstract: "Why RNN gradients vanish or explode: Jacobian products, bounds and charts.",
        subcommands: [CurvesCommand.self, CompareCommand.self, HeatmapCommand.self, CarouselCommand.self, DemoCommand.self, ClipCommand.self, BenchCommand.self, NotebookCommand.self, TrainCommand.self, TrainSweepCommand.self, SpectrumCommand.self, LyapunovCommand.self, SweepCommand.self, ImportCommand.self])

    /// Parses a command line, naming an unknown command as such (ArgumentParser would only call it an
    /// "unexpected argument") and listing the ones that exist.
    static func parse(commandLine args: [String]) throws -> ParsableCommand {
        let names = configuration.subcommands.compactMap { $0.configuration.commandName } + ["help"]
        if let first = args.first, !first.hasPrefix("-"), !names.contains(first) {
            throw GradLabError.usage("unknown command '\(first)' (commands: \(names.dropLast().joined(separator: ", ")))")
        }
        return try parseAsRoot(args)
    }
}

extension CellKind: ExpressibleByArgument {}
extension NormKind: ExpressibleByArgument {}
extension RecurrentInit: ExpressibleByArgument {}

/// "sigmoid,tanh,lstm" → [CellKind]. Parsing keeps the names; `kinds()` rejects an unknown one with a
/// usage error that lists the valid names (ArgumentParser's own message would not).
struct CellList: ExpressibleByArgument {
    var names: [String]
    init?(argument: String) {
        names = argument.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
    }
    func kinds(flag: String = "--cells") throws -> [CellKind] {
        var kinds: [CellKind] = []
        for n in names {
            guard let k = CellKind(rawValue: n) else {
                throw GradLabError.usage("unknown cell '\(n)' in \(flag) (expected: \(CellKind.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            if !kinds.contains(k) { kinds.append(k) }
        }
        guard !kinds.isEmpty else { throw GradLabError.usage("\(flag) must name at least one cell") }
        return kinds
    }
    static var defaultCompletionKind: CompletionKind { .list(CellKind.allCases.map(\.rawValue)) }
    var defaultValueDescription: String { names.joined(separator: ",") }
}

/// Options every random-model experiment shares.
// Numeric options parse `.unconditional` so "--steps -5" reaches validation ("must be positive") and
// "--forget-bias -1" works, instead of "-5" being taken for a flag.
struct ModelOptions: ParsableArguments {
    @Option(parsing: .unconditional, help: "Hidden units n.") var hidden = 32
    @Option(parsing: .unconditional, help: "Input size d.") var input = 8
    @Option(parsing: .unconditional, help: "Sequence length T.") var steps = 100
    @Option(parsing: .unconditional, help: "Gain g of the recurrent matrix (entries N(0, g²/n), or g·orthogonal).") var gain = 1.0
    @Option(parsing: .unconditional, help: "Random seed: the same seed gives identical numbers.") var seed: UInt64 = 0
    @Option(name: .customLong("init"), help: "Recurrent initialisation: gaussian or orthogonal.") var initialization: RecurrentInit = .gaussian
    @Option(parsing: .unconditional, help: "Bias of the gate that keeps the past: the LSTM forget gate f, the GRU update gate z.") var forgetBias = 0.0
    @Option(parsing: .unconditional, help: "Standard deviation of the random inputs x_t.") var inputScale = 1.0
    @Option(parsing: .unconditional, help: "Skip cells: connect h_{t−D} to h_t, with this D.") var skip = 4
    @Option(name: [.customLong("leak-rate"), .customLong("leak-range")],
            help: ArgumentHelp("Leaky units h_t = (1−a)⊙h_{t−1} + a⊙tanh(·): per-unit leak rates a (the share of new input taken in per step, time constant 1/a) drawn uniformly from lo:hi, 0 < lo ≤ hi ≤ 1 (default 0.02:0.2, time constants 5–50 steps). --leak-range is an alias.", valueName: "lo:hi"))
    var leakRate: String?
    @Option(help: ArgumentHelp("Leaky units, the other convention: per-unit retentions α = 1 − a (the share of the old state kept per step) drawn uniformly from lo:hi, 0 ≤ lo ≤ hi < 1; e.g. 0.9:0.99 is leak rates 0.01:0.1.", valueName: "lo:hi"))
    var retention: String?

    /// The leak-rate range a (per unit) these options ask for.
    func leakBounds() throws -> ClosedRange<Double> {
        func parse(_ s: String) -> (Double, Double)? {
            let p = s.split(separator: ":", omittingEmptySubsequences: false).map { Double($0) }
            guard p.count == 2, let lo = p[0], let hi = p[1], lo.isFinite, hi.isFinite, lo <= hi else { return nil }
            return (lo, hi)
        }
        switch (leakRate, retention) {
        case (.some, .some):
            throw GradLabError.usage("give either --leak-rate (a) or --retention (α = 1 − a), not both")
        case (nil, let r?):
            guard let (lo, hi) = parse(r), lo >= 0, hi < 1 else {
                throw GradLabError.usage("--retention must look like 0.9:0.99 with 0 ≤ lo ≤ hi < 1 (got '\(r)')")
            }
            return (1 - hi)...(1 - lo)
        default:
            let r = leakRate ?? "0.02:0.2"
            guard let (lo, hi) = parse(r), lo > 0, hi <= 1 else {
                throw GradLabError.usage("--leak-rate must look like 0.02:0.2 with 0 < lo ≤ hi ≤ 1 (got '\(r)')")
            }
            return lo...hi
        }
    }

    func apply(to o: inout CurvesOptions) throws {
        o.hidden = hidden; o.input = input; o.steps = steps; o.gain = gain; o.seed = seed
        o.initialization = initialization; o.forgetBias = forgetBias; o.inputScale = inputScale
        o.leakRange = try leakBounds()
        o.skipLength = skip
    }
}

/// `--model FILE` (repeatable), shared by the commands that analyse random models or given ones.
struct ModelFileOptions: ParsableArguments {
    @Option(name: .customLong("model"), help: ArgumentHelp("Analyse this gradlab.model/1 file instead of random models (repeatable).", valueName: "file"))
    var paths: [String] = []
}

extension ModelOptions {
    /// The analysis options of `cells` with these model options and model files (not yet validated:
    /// callers add their own fields first).
    func curvesOptions(_ cells: CellList, _ files: ModelFileOptions) throws -> CurvesOptions {
        var o = CurvesOptions()
        o.cells = try cells.kinds()
        try apply(to: &o)
        o.modelPaths = files.paths
        return o
    }
}

/// Chart size and style options shared by every command that draws.
struct ChartOptions: ParsableArguments {
    @Option(parsing: .unconditional, help: "Chart width in points (default 1200; PDF 460 = 6.4 in; slides 960; paper 240).") var width: Double?
    @Option(parsing: .unconditional, help: "Chart height in points (default 800; PDF 300; slides 540; paper 180).") var height: Double?
    @Option(parsing: .unconditional, help: "Pixel multiplier for PNG (default 1; slides 2; paper 4).") var scale: Double?
    @Option(help: ArgumentHelp("screen, slides (large text, thick lines) or paper (LaTeX column, 9 pt text).", valueName: "style"))
    var style = "screen"
    @Option(parsing: .unconditional, help: "Axis-label font size in points; ticks, titles and legend follow (default: from --style and the size).")
    var fontSize: Double?

    var size: ChartSize {
        (try? ChartSize(width: width, height: height, scale: scale, style: style, fontSize: fontSize))
            ?? ChartSize(width: width, height: height, scale: scale)
    }

    func validate() throws {
        do { _ = try ChartSize(width: width, height: height, scale: scale, style: style, fontSize: fontSize) }
        catch { throw ValidationError("\(error)") }
    }
}

/// "0.5,1,2" → [0.5, 1, 2].
struct NumberList: ExpressibleByArgument {
    var values: [Double]
    init?(argument: String) {
        let parts = argument.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
        guard !parts.isEmpty, parts.allSatisfy({ $0 != nil }) else { return nil }
        values = parts.map { $0! }
    }
}

