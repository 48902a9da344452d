import ArgumentParser
import Dynamics
import Foundation
import GradLab

extension TransductionTask.Mode: ExpressibleByArgument {}

/// Options both `architectures` subcommands take.
// Numeric options parse `.unconditional` so negative values reach validation with a clear message.
struct ArchitectureModelOptions: ParsableArguments {
    @Option(name: [.customLong("cell"), .customLong("cells")], help: "Cell of every network (encoder and decoder alike).") var cell: TrainCell?
    @Option(parsing: .unconditional, help: "Hidden units n (default 16; reversal 32).") var hidden: Int?
    @Option(parsing: .unconditional, help: ArgumentHelp("Source length S of the encoder–decoder (default 10).", valueName: "S")) var sourceLength = 10
    @Option(parsing: .unconditional, help: ArgumentHelp("Target length T′ ≤ S (default: paths S − 4, reversal S).", valueName: "T′")) var targetLength: Int?
    @Option(parsing: .unconditional, help: "Alphabet size K of the symbols (one-hot).") var symbols = 4
    @Option(help: "Encoder–decoder task: copy (target_j = source_j) or reverse (target_j = source_{S+1−j}).") var task: TransductionTask.Mode = .copy
    @Option(parsing: .unconditional, help: "Sequences per batch (training, and the batch the maps average over).") var batch = 32
    @Option(name: .customLong("iters"), parsing: .unconditional, help: "Training iterations (default: paths 0 = maps at initialisation; reversal 400).") var iterations: Int?
    @Option(parsing: .unconditional, help: "Adam learning rate.") var lr = 0.01
    @Option(parsing: .unconditional, help: ArgumentHelp("Norm clipping threshold (default 1).", valueName: "c")) var clipNorm: Double?
    @Flag(help: "Train without clipping.") var noClip = false
    @Option(parsing: .unconditional, help: "LSTM forget-gate bias at initialisation (as in train).") var forgetBias = 1.0
    @Option(parsing: .unconditional, help: "Random seed: the same seed gives identical numbers.") var seed: UInt64 = 0
    @Option(parsing: .unconditional, help: "Evaluate the held-out batch every this many iterations.") var evalEvery = 25
    @Option(parsing: .unconditional, help: "Sequences in the held-out batch.") var evalSize = 256

    func apply(to o: inout ArchitectureOptions, defaultCell: CellKind, defaultHidden: Int, defaultIterations: Int) throws {
        o.cell = cell?.kind ?? defaultCell
        o.hidden = hidden ?? defaultHidden
        o.sourceLength = sourceLength; o.targetLength = targetLength; o.symbols = symbols; o.task = task
        o.batchSize = batch; o.iterations = iterations ?? defaultIterations; o.learningRate = lr
        if noClip && clipNorm != nil { throw GradLabError.usage("--no-clip contradicts --clip-norm") }
        o.clipNorm = noClip ? nil : (clipNorm ?? 1)
        o.forgetBias = forgetBias; o.seed = seed; o.evalEvery = evalEvery; o.evalSize = evalSize
    }
}

struct ArchitecturesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "architectures",
        abstract: "The four RNN architectures and their gradient paths; Sutskever's source reversal.",
        discussion: """
        paths: ‖∂L_j/∂x_i‖ for every output j and input i of many-to-many,
        many-to-one, one-to-many and encoder–decoder networks: the number of
        recurrent steps between x_i and y_j is each architecture's signature.
        reversal: an encoder–decoder on the copy (or reverse) task with the
        source fed in order and reversed.

        Examples:
          gradlab architectures paths --cell tanh --out paths.png \\
            --length-chart lengths.png
          gradlab architectures reversal --cell lstm --source-length 10 \\
            --iters 400 --seeds 3 --out reversal.png --csv reversal.csv
        """,
        subcommands: [ArchitecturePathsCommand.self, ArchitectureReversalCommand.self])
}

struct ArchitecturePathsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "paths",
        abstract: "‖∂L_j/∂x_i‖ for every output j and input i of the four architectures.",
        discussion: """
        One backward pass per output j, with the loss at j only; the number is
        the root mean square over a batch of ‖∂ℓ_j/∂x_i‖. Tasks: delayed echo
        (many-to-many), majority (many-to-one), a caption per class
        (one-to-many: input at step 1 only, zeros after), copy or reverse
        (encoder–decoder, teacher forcing). --iters N trains each first.

        Example:
          gradlab architectures paths --cell lstm --steps 12 --source-length 10 \\
            --target-length 6 --out paths.png --length-chart lengths.png --csv paths.csv
        """)

    @OptionGroup var common: ArchitectureModelOptions
    @Option(parsing: .unconditional, help: "Length T of the one-layer architectures.") var steps = 12
    @Option(parsing: .unconditional, help: ArgumentHelp("Many-to-many (delayed echo): output x_{t−D} at step t.", valueName: "D")) var delay = 3
    @Option(parsing: .unconditional, help: "One-to-many: the number of classes (one caption each).") var classes = 4
    @Option(help: ArgumentHelp("Chart: the four maps (.png/.svg/.pdf).", valueName: "file")) var out: String?
    @Option(help: ArgumentHelp("Chart: ‖∂L_j/∂x_i‖ against the path length, all four.", valueName: "file")) var lengthChart: String?
    @Option(help: ArgumentHelp("Every (architecture, j, i) with its path length and norm.", valueName: "file")) var csv: String?
    @Option(help: ArgumentHelp("The maps and parameters as JSON.", valueName: "file")) var json: String?
    @Option(help: ArgumentHelp("Chart title (replaces the built-in one).", valueName: "text")) var title: String?
    @OptionGroup var chart: ChartOptions

    func admitted() throws -> ArchitectureOptions {
        var o = ArchitectureOptions()
        try common.apply(to: &o, defaultCell: .tanh, defaultHidden: 16, defaultIterations: 0)
        o.steps = steps; o.delay = delay; o.classes = classes
        try o.validate(reversal: false)
        try Budget.admit(CostModel.architecturePaths(o))
        try chart.size.validate()
        return o
    }

    func run() throws {
        let o = try admitted()
        try OutputFile.checkDistinct([("--out", out), ("--length-chart", lengthChart), ("--csv", csv), ("--json", json)].compactMap { o, p in p.map { (o, $0) } })
        for p in [out, lengthChart].compactMap({ $0 }) { try FigureFile.check(p) }
        for p in [csv, json].compactMap({ $0 }) { try OutputFile.checkWritable(p) }
        let r = try ArchitectureExperiment.paths(o)
        print(ArchitectureExperiment.report(r))
        if let csv { try OutputFile.write(ArchitectureExperiment.pathsCSV(r.maps), to: csv); print("wrote \(csv)") }
        if let json { try OutputFile.write(try ArchitectureExperiment.json(r), to: json); print("wrote \(json)") }
        if let out { try FigureFile.save(ArchitectureCharts.pathsFigure(r, size: chart.size), to: out, title: title); print("wrote \(out)") }
        if let lengthChart { try FigureFile.save(ArchitectureCharts.lengthFigure(r, size: chart.size), to: lengthChart, title: title); print("wrote \(lengthChart)") }
    }
}

struct ArchitectureReversalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reversal",
        abstract: "Encoder–decoder with the source in order and reversed (Sutskever et al. 2014): paths and loss.",
        discussion: """
        Both orders train from the same seeds on the same data. Reports the
        path length between each source symbol and the output that needs it
        (in order: S for every pair of the copy task; reversed: 1, 3, …, 2S − 1,
        the same mean), the final held-out loss per seed, and draws the loss
        curves (--out) and the ∂L_j/∂x_i maps both ways (--maps-chart).

        Example:
          gradlab architectures reversal --cell lstm --source-length 10 --iters 400 \\
            --seeds 3 --out reversal.png --maps-chart reversal-maps.png
        """)

    @OptionGroup var common: ArchitectureModelOptions
    @Option(parsing: .unconditional, help: "Seeds: --seed, --seed + 1, … (each trains both orders).") var seeds = 3
    @Option(help: ArgumentHelp("Chart: held-out loss, in order against reversed (.png/.svg/.pdf).", valueName: "file")) var out: String?
    @Option(help: ArgumentHelp("Chart: the ∂L_j/∂x_i maps at initialisation, both orders.", valueName: "file")) var mapsChart: String?
    @Option(help: ArgumentHelp("Held-out loss per order, seed and evaluation.", valueName: "file")) var csv: String?
    @Option(help: ArgumentHelp("Parameters, path lengths, final losses and maps as JSON.", valueName: "file")) var json: String?
    @Option(help: ArgumentHelp("Chart title (replaces the built-in one).", valueName: "text")) var title: String?
    @OptionGroup var chart: ChartOptions

    func admitted() throws -> ArchitectureOptions {
        var o = ArchitectureOptions()
        try common.apply(to: &o, defaultCell: .lstm, defaultHidden: 32, defaultIterations: 400)
        o.seeds = seeds
        try o.validate(reversal: true)
        try Budget.admit(CostModel.architectureReversal(o), announceAfter: .infinity)
        try chart.size.validate()
        return o
    }

    func run() throws {
        let o = try admitted()
        try OutputFile.checkDistinct([("--out", out), ("--maps-chart", mapsChart), ("--csv", csv), ("--json", json)].compactMap { o, p in p.map { (o, $0) } })
        for p in [out, mapsChart].compactMap({ $0 }) { try FigureFile.check(p) }
        for p in [csv, json].compactMap({ $0 }) { try OutputFile.checkWritable(p) }
        let bar = TrainProgressBar(label: "reversal")
        let r = try ArchitectureExperiment.reversal(o) { done, total in bar.update(iteration: done, total: total, loss: .nan, evalLoss: nil) }
        bar.finish()
        print(ArchitectureExperiment.report(r))
        if let csv { try OutputFile.write(ArchitectureExperiment.reversalCSV(r), to: csv); print("wrote \(csv)") }
        if let json { try OutputFile.write(try ArchitectureExperiment.json(r), to: json); print("wrote \(json)") }
        if let out { try FigureFile.save(ArchitectureCharts.reversalFigure(r, size: chart.size), to: out, title: title); print("wrote \(out)") }
        if let mapsChart { try FigureFile.save(ArchitectureCharts.reversalMapsFigure(r, size: chart.size), to: mapsChart, title: title); print("wrote \(mapsChart)") }
    }
}
