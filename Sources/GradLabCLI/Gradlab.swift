import ArgumentParser
import Dynamics
import GradLab

public struct Gradlab: ParsableCommand {
    public init() {}
    public static let configuration = CommandConfiguration(
        commandName: "gradlab",
        abstract: "Why RNN gradients vanish or explode: Jacobian products, bounds and charts.",
        subcommands: [CurvesCommand.self, CompareCommand.self, HeatmapCommand.self, CarouselCommand.self, DemoCommand.self, ClipCommand.self, BenchCommand.self, NotebookCommand.self, TrainCommand.self, TrainSweepCommand.self, SpectrumCommand.self, LyapunovCommand.self, SweepCommand.self, ImportCommand.self, ServeCommand.self, BaselinesCommand.self, ArchitecturesCommand.self, LanguageCommand.self])

    /// Parses a command line, naming an unknown command as such (ArgumentParser would only call it an
    /// "unexpected argument") and listing the ones that exist.
    public static func parse(commandLine args: [String]) throws -> ParsableCommand {
        let names = configuration.subcommands.compactMap { $0.configuration.commandName } + ["help"]
        if let first = args.first, !first.hasPrefix("-"), !names.contains(first) {
            throw GradLabError.usage("unknown command '\(first)' (commands: \(names.dropLast().joined(separator: ", ")))")
        }
        if let first = args.first, let (why, options) = notApplicable[first],
           let given = args.dropFirst().first(where: { a in options.contains { a == $0 || a.hasPrefix($0 + "=") } }) {
            throw GradLabError.usage("\(first): \(given.split(separator: "=")[0]) does not apply (\(why))")
        }
        return try parseAsRoot(args)
    }

    /// Options of the shared vocabulary that a command deliberately does not offer, with the reason: named
    /// in the error instead of ArgumentParser's "unknown option … did you mean".
    static let notApplicable: [String: (String, [String])] = [
        "carousel": ("it draws one LSTM per --forget-biases value; --skip and --leak-range set up skip and leaky cells",
                     ["--skip", "--leak-range", "--cells", "--cell"]),
    ]
}

extension CellKind: ExpressibleByArgument {}
extension VanillaForm: ExpressibleByArgument {}

/// `--form`: which textbook form the vanilla cells take (curves, heatmap, spectrum).
struct FormOption: ParsableArguments {
    @Option(help: ArgumentHelp("""
        Vanilla cells (sigmoid, tanh, relu, linear, irnn): f-of-sum is h_t = f(W h_{t−1} + U x_t + b), PyTorch's \
        form, with Jacobian diag(f′(a_t))·W; w-of-f is h_t = W f(h_{t−1}) + U x_t + b, with Jacobian W·diag(f′(h_{t−1})). \
        Same weights and inputs either way; both obey the bound (β_W β_h)^(t−k).
        """, valueName: "f-of-sum|w-of-f"))
    var form: VanillaForm = .fOfSum
}

/// `--layers`: random stacks in PyTorch's layout (curves, heatmap).
struct LayersOption: ParsableArguments {
    @Option(parsing: .unconditional, help: ArgumentHelp("""
        Stack this many layers (PyTorch's num_layers: layer l > 0 reads layer l−1's h; weight_ih_l{l} is gates·n × n). \
        Layer 0 is the one-layer model of the same seed. Up to \(CurvesOptions.maxLayers).
        """, valueName: "L"))
    var layers = 1
}
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

/// The random model every analysis command builds: sizes, gain, seed, initialisation, inputs.
// Numeric options parse `.unconditional` so "--steps -5" reaches validation ("must be positive") and
// "--forget-bias -1" works, instead of "-5" being taken for a flag.
struct BaseModelOptions: ParsableArguments {
    @Option(parsing: .unconditional, help: "Hidden units n.") var hidden = 32
    @Option(parsing: .unconditional, help: "Input size d.") var input = 8
    @Option(parsing: .unconditional, help: "Sequence length T.") var steps = 100
    @Option(parsing: .unconditional, help: ArgumentHelp(
        "Gain g of the recurrent matrix (entries N(0, g²/n), or g·orthogonal). curves, spectrum, lyapunov: also a list 0.5,1,2 or a range lo:hi:step, one model per gain.",
        valueName: "gain"))
    var gain = GainList(argument: "1")!
    @Option(parsing: .unconditional, help: "Random seed: the same seed gives identical numbers.") var seed: UInt64 = 0
    @Option(name: .customLong("init"), help: "Recurrent initialisation: gaussian or orthogonal.") var initialization: RecurrentInit = .gaussian
    @Option(parsing: .unconditional, help: "Standard deviation of the random inputs x_t.") var inputScale = 1.0

    /// Sets sizes, seed, inputs and the gain(s). With `allowList` false a list of gains is a usage error.
    func apply(to o: inout CurvesOptions, allowList: Bool = true) throws {
        o.hidden = hidden; o.input = input; o.steps = steps; o.seed = seed
        o.initialization = initialization; o.inputScale = inputScale
        let gains = try gain.values()
        if gains.count == 1 {
            o.gain = gains[0]; o.gains = []
        } else {
            guard allowList else { throw GradLabError.usage("--gain takes one value here (got \(gains.count): \(gain.text))") }
            o.gain = gains[0]; o.gains = gains
        }
    }
}

/// Options every random-model experiment shares: the base model and the options of particular cells.
struct ModelOptions: ParsableArguments {
    @OptionGroup var base: BaseModelOptions
    @Option(parsing: .unconditional, help: """
        Bias of the gate that keeps the past: the LSTM forget gate f, the GRU update gate z. Default 0 (PyTorch's \
        initialisation, the untrained network); `train` defaults to 1 (Jozefowicz et al. 2015, for learning).
        """) var forgetBias = 0.0
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

    func apply(to o: inout CurvesOptions, allowList: Bool = true) throws {
        try base.apply(to: &o, allowList: allowList)
        o.forgetBias = forgetBias
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

/// "0.5,1,2" → [0.5, 1, 2]. Help shows the list as typed ("0,1"), not the Swift value.
struct NumberList: ExpressibleByArgument {
    var values: [Double]
    var text: String
    init?(argument: String) {
        let parts = argument.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
        guard !parts.isEmpty, parts.allSatisfy({ $0 != nil }) else { return nil }
        values = parts.map { $0! }
        text = argument
    }
    var defaultValueDescription: String { text }
}

/// The one grammar of `--gain` in every command: a value (1.5), a comma list (0.5,1,2) or a range
/// lo:hi:step with hi included (0.5:2:0.05). Range points are a + i·step rounded to the decimals written in
/// the range, so 0.5:2:0.05 gives 0.85 (not 0.8500000000000001) — the model then uses exactly the gain
/// its CSV row names.
struct GainList: ExpressibleByArgument {
    var text: String
    init?(argument: String) {
        guard !argument.trimmingCharacters(in: .whitespaces).isEmpty else { return nil }
        text = argument
    }
    var defaultValueDescription: String { text }

    func values(flag: String = "--gain") throws -> [Double] {
        if let v = Double(text.trimmingCharacters(in: .whitespaces)), !v.isFinite {
            throw GradLabError.usage("\(flag) must be a finite number (got \(text))")
        }
        let range = try GainRange(parsing: text, flag: flag)
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 3 else { return range.values }
        // Decimals written in start and step (exponent notation: no snapping, the values stay a + i·step).
        let texts = [parts[0], parts[2]].map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        guard !texts.contains(where: { $0.contains("e") }) else { return range.values }
        let decimals = texts.map { t in t.firstIndex(of: ".").map { t.distance(from: $0, to: t.endIndex) - 1 } ?? 0 }.max() ?? 0
        guard decimals <= 15 else { return range.values }
        return range.values.map { v in Double(String(format: "%.\(decimals)f", v)) ?? v }
    }
}

/// Cells `train` and `train-sweep` can train (every cell but skip, which is for analysis only).
struct TrainCell: ExpressibleByArgument {
    var kind: CellKind
    static let valid = TrainCellKinds.trainable
    init?(argument: String) {
        guard let k = CellKind(rawValue: argument.lowercased()), TrainCell.valid.contains(k) else { return nil }
        kind = k
    }
    init(_ kind: CellKind) { self.kind = kind }
    static var allValueStrings: [String] { valid.map(\.rawValue) }
    static var defaultCompletionKind: CompletionKind { .list(allValueStrings) }
    var defaultValueDescription: String { kind.rawValue }
}

/// The nonlinearity of a plain PyTorch `nn.RNN` layer, which the state_dict does not store.
/// sigmoid and linear are not PyTorch's, but stacks gradlab saved (`curves --layers … --save-model x.npz`) may use them.
enum ImportCell: String, ExpressibleByArgument, CaseIterable {
    case tanh, relu, sigmoid, linear
    var kind: CellKind { CellKind(rawValue: rawValue)! }
}

