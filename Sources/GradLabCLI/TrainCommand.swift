import ArgumentParser
import Dynamics
import Foundation
import GradLab

extension TrainTaskKind: ExpressibleByArgument {}
extension OptimizerKind: ExpressibleByArgument {}

/// Options shared by `train` and `train-sweep` (everything but cell and length).
// Numeric options parse `.unconditional` so negative values reach validation with a clear message.
struct TrainingOptions: ParsableArguments {
    @Option(help: ArgumentHelp("""
        Task: adding (many-to-one, MSE), copy (many-to-many, cross-entropy: --copy-length symbols, answer in the \
        last steps of T) or copy-memory (Arjovsky et al. 2016: 10 of 8 symbols, a delay of --steps T, sequences \
        of T + 20, cross-entropy over every step; memoryless baseline 10·ln 8/(T+20)).
        """, valueName: "adding|copy|copy-memory")) var task: TrainTaskKind = .adding
    @Option(name: .customLong("iters"), parsing: .unconditional, help: "Training iterations (one batch each).") var iterations: Int?
    @Option(parsing: .unconditional, help: "Sequences per batch.") var batch = 32
    @Option(help: "Optimiser: adam or sgd (SGD with momentum 0.9 unless --momentum).") var optimizer: OptimizerKind = .adam
    @Option(parsing: .unconditional, help: "Learning rate (default: train 0.01, train-sweep 0.003).") var lr: Double?
    @Option(parsing: .unconditional, help: "SGD momentum in [0, 1).") var momentum: Double?
    @Option(parsing: .unconditional, help: ArgumentHelp("Norm clipping: rescale g when ‖g‖₂ > c (direction kept).", valueName: "c"))
    var clipNorm: Double?
    @Option(parsing: .unconditional, help: ArgumentHelp("Value clipping: clamp every gradient entry to [−v, v].", valueName: "v"))
    var clipValue: Double?
    @Option(parsing: .unconditional, help: ArgumentHelp("Truncated BPTT: gradients flow back at most K steps.", valueName: "K"))
    var truncate: Int?
    @Option(parsing: .unconditional, help: "Random seed: the same seed gives identical numbers.") var seed: UInt64 = 0
    @Option(parsing: .unconditional, help: "Evaluate the held-out batch every this many iterations.") var evalEvery = 25
    @Option(parsing: .unconditional, help: "Sequences in the held-out batch.") var evalSize = 256
    @Option(parsing: .unconditional, help: """
        LSTM forget-gate (GRU update-gate) bias at initialisation. Default 1, as Jozefowicz et al. (2015) \
        recommend for learning long dependencies; the analysis commands default to 0 (PyTorch's initialisation).
        """) var forgetBias = 1.0
    @Option(parsing: .unconditional, help: "Copy task: symbols to remember (default 5).") var copyLength: Int?
    @Option(parsing: .unconditional, help: "Copy task: alphabet size (default 8).") var symbols: Int?
    @Option(parsing: .unconditional, help: "Report when the held-out loss first falls below this (default 0.05 for adding).")
    var targetLoss: Double?

    func apply(to o: inout TrainOptions) {
        o.task = task
        if let i = iterations { o.iterations = i }
        if let r = lr { o.learningRate = r }
        o.batchSize = batch; o.optimizer = optimizer; o.momentum = momentum
        o.clipNorm = clipNorm; o.clipValue = clipValue; o.truncation = truncate; o.seed = seed
        o.evalEvery = evalEvery; o.evalSize = evalSize; o.forgetBias = forgetBias
        if let l = copyLength { o.copyLength = l }
        if let a = symbols { o.symbols = a }
        o.targetLoss = targetLoss
    }

    /// Usage errors for options the chosen task does not take (copy-memory is the published task: always
    /// 10 symbols from an alphabet of 8).
    func check() throws {
        if task == .copyMemory {
            if copyLength != nil { throw GradLabError.usage("--copy-length does not apply to --task copy-memory (Arjovsky et al.'s task always copies 10 symbols; --steps sets the delay T)") }
            if symbols != nil { throw GradLabError.usage("--symbols does not apply to --task copy-memory (Arjovsky et al.'s task always draws from 8 symbols)") }
        }
    }
}

struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train an RNN with BPTT on the adding, copy or copy-memory task: loss, gradient norms, per-lag gradient contributions.",
        discussion: """
        --out FILE (.png/.svg/.pdf) draws the loss chart (with --compare-clipping:
        the clipping comparison). --prefix P writes everything: P-loss.png,
        P-grad-norm.png, P-contributions.png, P.csv (per iteration) and
        P-contributions.csv (‖C_ℓ‖ per lag at each snapshot); with
        --compare-clipping P.png and P.csv. Each output can also be named on its
        own (--loss-chart, --csv, …). An --out without extension is read as
        --prefix (the old spelling). --bench times one BPTT pass instead.

        Examples:
          gradlab train --cell lstm --task adding --steps 50 --hidden 64 \\
            --iters 1500 --clip-norm 1 --prefix plots/train-adding-lstm
          gradlab train --cell irnn --steps 100 --clip-norm 1 \\
            --compare-clipping --out clipping.png
          gradlab train --cell lstm --layers 2 --steps 30 --hidden 16 \\
            --iters 600 --clip-norm 1 --prefix plots/train-adding-lstm-2layers
          gradlab train --cell lstm --task copy-memory --steps 50 --hidden 64 \\
            --iters 2000 --clip-norm 1 --prefix copy-memory
          gradlab train --bench --cell lstm --hidden 128 --steps 100 --batch 32
        """)

    @Option(name: [.customLong("cell"), .customLong("cells")], help: "Cell to train.") var cell = TrainCell(.lstm)
    @Option(parsing: .unconditional, help: "Sequence length T (default 50; 100 with --bench).") var steps: Int?
    @Option(parsing: .unconditional, help: "Hidden units n (default 64; 128 with --bench).") var hidden: Int?
    @Option(parsing: .unconditional, help: """
        Recurrent layers stacked, 1…\(TrainOptions.maxLayers) (PyTorch's num_layers: layer l reads layer l−1's h_t, \
        the readout sits on top). L > 1 adds ‖∂L/∂W_hh‖ per layer to the CSV and the gradient chart; \
        per-lag contributions are the top layer's; --truncate needs one layer.
        """) var layers = 1
    @OptionGroup var training: TrainingOptions
    @Option(parsing: .unconditional, help: "Iterations with a per-lag contribution snapshot (0 = none).") var snapshots = 4
    @Flag(help: "Stop as soon as the held-out loss is below the target.") var stopAtTarget = false
    @Flag(help: "Train with and without the clipping given by --clip-norm/--clip-value and chart both.") var compareClipping = false
    @Flag(help: "Time one BPTT pass instead of training (uses --cell, --hidden, --steps, --batch).") var bench = false
    @Option(parsing: .unconditional, help: "Benchmark repetitions (--bench).") var repetitions = 20

    @Option(help: ArgumentHelp("Main chart: the loss (the clipping comparison with --compare-clipping), .png/.svg/.pdf. Without an extension: same as --prefix.", valueName: "file"))
    var out: String?
    @Option(help: ArgumentHelp("Prefix of every output (charts .png, data .csv).", valueName: "prefix")) var prefix: String?
    @Option(help: ArgumentHelp("Per-iteration CSV (loss, held-out loss, ‖g‖ before/after clipping).", valueName: "file")) var csv: String?
    @Option(help: ArgumentHelp("Per-lag contributions CSV.", valueName: "file")) var contribCsv: String?
    @Option(help: ArgumentHelp("Loss chart (.png/.svg/.pdf).", valueName: "file")) var lossChart: String?
    @Option(help: ArgumentHelp("Gradient-norm chart.", valueName: "file")) var gradChart: String?
    @Option(help: ArgumentHelp("Per-lag contribution chart.", valueName: "file")) var contribChart: String?
    @Option(help: ArgumentHelp("Clipping comparison chart (--compare-clipping).", valueName: "file")) var clippingChart: String?
    @Option(help: ArgumentHelp("Chart title, in place of the built-in one (on every chart this run writes).", valueName: "text")) var title: String?
    @Option(help: ArgumentHelp("Write the trained network (every layer) as a PyTorch state_dict .npz, with a held-out sequence as `inputs`, for `gradlab import`.", valueName: "file.npz"))
    var saveModel: String?
    @OptionGroup var chartOptions: ChartOptions

    /// (main chart, prefix) from --out and --prefix: an --out without a chart extension is the old prefix form.
    func outputs() throws -> (chart: String?, prefix: String?) {
        guard let out else { return (nil, prefix) }
        if isChartPath(out) { return (out, prefix) }
        guard prefix == nil else { throw GradLabError.usage("--out \(out) has no chart extension (.png, .svg, .pdf) and --prefix is given too: name the chart file") }
        return (nil, out)
    }

    /// The validated training run (not yet budgeted).
    func options() throws -> TrainOptions {
        var o = TrainOptions()
        o.cell = cell.kind
        o.steps = steps ?? 50
        o.hidden = hidden ?? 64
        training.apply(to: &o)
        o.snapshots = snapshots
        o.layers = layers
        o.stopAtTarget = stopAtTarget
        try training.check()
        try o.validate()
        return o
    }

    func run() throws {
        if bench { return try runBench() }
        let o = try options()
        try Budget.admit(CostModel.training(o, runs: compareClipping ? 2 : 1), announceAfter: .infinity)
        try chartOptions.size.validate()
        let (mainChart, prefix) = try outputs()
        if let save = saveModel {
            guard save.lowercased().hasSuffix(".npz") else {
                throw GradLabError.usage("--save-model writes a PyTorch state_dict: give a .npz file name (got \(quoted(save)))")
            }
            guard o.cell != .leaky else {
                throw GradLabError.usage("--save-model: a PyTorch state_dict has no place for the leaky cell's leak rates (save sigmoid, tanh, relu, linear, irnn, lstm or gru)")
            }
            guard !compareClipping else { throw GradLabError.usage("--save-model saves one trained network: not with --compare-clipping") }
        }

        if compareClipping {
            guard o.clipping != .none else {
                throw GradLabError.usage("--compare-clipping needs --clip-norm or --clip-value (the clipped run to compare with)")
            }
            guard mainChart == nil || clippingChart == nil else { throw GradLabError.usage("--out and --clipping-chart name the same chart: give one") }
            let chart = clippingChart ?? mainChart ?? prefix.map { $0 + ".png" }
            let data = csv ?? prefix.map { $0 + ".csv" }
            try OutputFile.checkDistinct([("the clipping chart", chart), ("the CSV", data)].compactMap { o, p in p.map { (o, $0) } })
            if let chart { try FigureFile.check(chart) }
            if let data { try OutputFile.checkWritable(data) }
            let bar = TrainProgressBar(label: "train")
            let (a, b) = try TrainExperiment.compareClipping(o) { bar.update(iteration: $0, total: $1, loss: $2, evalLoss: $3) }
            bar.finish()
            print(TrainExperiment.report(a))
            print(TrainExperiment.report(b))
            if let data { try OutputFile.write(TrainExperiment.csv([a, b]), to: data); print("wrote \(data)") }
            if let chart { try TrainCharts.saveClipping(unclipped: a, clipped: b, to: chart, size: chartOptions.size, title: title); print("wrote \(chart)") }
            return
        }

        guard mainChart == nil || lossChart == nil else { throw GradLabError.usage("--out and --loss-chart name the same chart: give one") }
        let lossPath = lossChart ?? mainChart ?? prefix.map { $0 + "-loss.png" }
        let gradPath = gradChart ?? prefix.map { $0 + "-grad-norm.png" }
        let contribPath = contribChart ?? (snapshots > 0 ? prefix.map { $0 + "-contributions.png" } : nil)
        let data = csv ?? prefix.map { $0 + ".csv" }
        let contribData = contribCsv ?? (snapshots > 0 ? prefix.map { $0 + "-contributions.csv" } : nil)
        if contribChart != nil || contribCsv != nil, snapshots == 0 {
            throw GradLabError.usage("--contrib-chart/--contrib-csv need --snapshots of at least 1")
        }
        try OutputFile.checkDistinct([("the loss chart", lossPath), ("the gradient-norm chart", gradPath), ("the contribution chart", contribPath),
                                      ("the CSV", data), ("the contributions CSV", contribData), ("--save-model", saveModel)].compactMap { o, p in p.map { (o, $0) } })
        for path in [lossPath, gradPath, contribPath].compactMap({ $0 }) { try FigureFile.check(path) }
        for path in [data, contribData, saveModel].compactMap({ $0 }) { try OutputFile.checkWritable(path) }

        let bar = TrainProgressBar(label: "train \(cell.kind.rawValue)")
        let r = try TrainExperiment.run(o) { bar.update(iteration: $0, total: $1, loss: $2, evalLoss: $3) }
        bar.finish()
        print(TrainExperiment.report(r))
        if let data { try OutputFile.write(TrainExperiment.csv([r]), to: data); print("wrote \(data)") }
        if let contribData { try OutputFile.write(TrainExperiment.contributionsCSV([r]), to: contribData); print("wrote \(contribData)") }
        for path in try TrainCharts.save(r, loss: lossPath, gradNorm: gradPath, contributions: contribPath, size: chartOptions.size, title: title) {
            print("wrote \(path)")
        }
        if let save = saveModel {
            guard r.net.allFinite else {
                Console.warning("--save-model: \(save) not written: the run diverged and the weights are not finite")
                return
            }
            try OutputFile.write(try NpzWriter.stateDict(TrainExperiment.trainedModel(r)), to: save)
            let kind = r.net.kind
            let hint = kind.gateCount == 1 ? " --cell \(kind == .irnn ? "relu" : kind.rawValue)" : ""
            print("wrote \(save) (read it back with: gradlab import \(save)\(hint))")
        }
    }

    func runBench() throws {
        var o = TrainOptions()
        o.cell = cell.kind; o.hidden = hidden ?? 128; o.steps = steps ?? 100; o.batchSize = training.batch; o.layers = layers
        try o.validate()
        try Check.positive(repetitions, "--repetitions")
        try Check.atMost(repetitions, 1000, "--repetitions", "each repetition is a full BPTT pass")
        let pass = CostModel.training(cell: cell.kind, hidden: o.hidden, input: 2, output: 1, steps: o.steps, batch: o.batchSize,
                                      iterations: repetitions, evalEvery: Int.max, evalSize: 0, snapshots: 0)
        try Budget.admit(layers > 1 ? pass.times(Double(layers) * 4 / 3) : pass)
        let r = try TrainBench.run(cell: cell.kind, hidden: hidden ?? 128, steps: steps ?? 100, batch: training.batch,
                                   repetitions: repetitions, seed: training.seed, layers: layers)
        print(TrainBench.report(r))
    }
}

struct TrainSweepCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train-sweep",
        abstract: "Final loss against sequence length T for several cells: where does each stop learning?",
        discussion: """
        One training run per (cell, T), identical otherwise, two at a time
        (defaults: 2000 iterations, n = 32, batch 32, adam lr 0.003, clip-norm 1).
        --out FILE draws the chart; --prefix P writes P.png and P.csv. An --out
        without extension is read as --prefix (the old spelling).

        Example:
          gradlab train-sweep --cells tanh,irnn,lstm --lengths 10,25,50,100,200 \\
            --out lengths.png --csv lengths.csv
        """)

    @Option(name: [.customLong("cells"), .customLong("cell")], help: ArgumentHelp("Comma-separated cells: \(TrainCell.allValueStrings.joined(separator: ", ")).", valueName: "list"))
    var cells = CellList(argument: "tanh,irnn,lstm")!
    @Option(help: ArgumentHelp("Comma-separated sequence lengths T.", valueName: "list")) var lengths = "10,25,50,100,200"
    @Option(parsing: .unconditional, help: "Hidden units n.") var hidden = 32
    @OptionGroup var training: TrainingOptions
    @Option(parsing: .unconditional, help: "Runs at once (default: cores, at most 2).") var jobs: Int?
    @Flag(help: "Train without clipping (default: --clip-norm 1 unless a clipping is given).") var noClip = false
    @Option(help: ArgumentHelp("Chart file: .png, .svg or .pdf (without an extension: same as --prefix).", valueName: "file")) var out: String?
    @Option(help: ArgumentHelp("Prefix of the outputs (P.png, P.csv).", valueName: "prefix")) var prefix: String?
    // Old spelling of --out FILE.
    @Option(help: .hidden) var chart: String?
    @Option(help: ArgumentHelp("CSV file (final and best held-out loss per cell and T).", valueName: "file")) var csv: String?
    @Option(help: ArgumentHelp("Chart title, in place of the built-in one.", valueName: "text")) var title: String?
    @OptionGroup var chartOptions: ChartOptions

    func run() throws {
        var s = TrainSweepOptions()
        s.cells = try cells.kinds()
        try TrainCellKinds.require(s.cells, option: "--cells")
        var ts: [Int] = []
        for part in lengths.split(separator: ",", omittingEmptySubsequences: false) {
            let text = part.trimmingCharacters(in: .whitespaces)
            guard let t = Int(text) else { throw GradLabError.usage("--lengths must be comma-separated integers (got \(quoted(text)))") }
            try Check.positive(t, "--lengths")
            if !ts.contains(t) { ts.append(t) }
        }
        s.lengths = ts
        var base = s.base
        try training.check()
        training.apply(to: &base)
        base.hidden = hidden
        if training.clipNorm == nil && training.clipValue == nil && !noClip { base.clipNorm = 1 }
        if noClip && (training.clipNorm != nil || training.clipValue != nil) {
            throw GradLabError.usage("--no-clip contradicts --clip-norm/--clip-value")
        }
        if noClip { base.clipNorm = nil }
        base.snapshots = 0
        s.base = base
        if let j = jobs { s.jobs = j }
        try s.validate()
        try Budget.admit(CostModel.trainingSweep(s), announceAfter: .infinity)
        try chartOptions.size.validate()
        var prefix = self.prefix, mainChart = chart
        if let out {
            if isChartPath(out) {
                guard chart == nil else { throw GradLabError.usage("--out and --chart name the same chart: give one") }
                mainChart = out
            } else {
                guard prefix == nil else { throw GradLabError.usage("--out \(out) has no chart extension (.png, .svg, .pdf) and --prefix is given too: name the chart file") }
                prefix = out
            }
        }
        let chartPath = mainChart ?? prefix.map { $0 + ".png" }
        let csvPath = csv ?? prefix.map { $0 + ".csv" }
        try OutputFile.checkDistinct([("the chart", chartPath), ("the CSV", csvPath)].compactMap { o, p in p.map { (o, $0) } })
        if let chartPath { try FigureFile.check(chartPath) }
        if let csvPath { try OutputFile.checkWritable(csvPath) }

        // Live progress finishes in whatever order the workers do: not part of a reproducible report.
        let bar = SweepProgressBar(label: "train-sweep")
        let runs = s.cells.count * s.lengths.count
        var finished = 0
        let r = try TrainSweep.run(s, progress: RunContext.reproducible ? nil : { f in
            bar.update(fraction: f, detail: "\(finished)/\(runs) runs")
        }) { p, done, total in
            finished = done
            guard !RunContext.reproducible else { return }
            bar.clearLine()
            print("  [\(done)/\(total)] \(p.cell.rawValue) T=\(p.steps): final loss \(p.diverged ? "diverged" : Format.fixed(p.finalLoss, 4)) (\(Format.fixed(p.seconds, 1)) s)")
            fflush(stdout)
        }
        bar.finish()
        print(TrainSweep.table(r))
        if !RunContext.reproducible { print("sweep took \(Format.fixed(r.seconds, 1)) s") }
        if let csvPath { try OutputFile.write(TrainSweep.csv(r), to: csvPath); print("wrote \(csvPath)") }
        if let chartPath { try TrainCharts.saveSweep(r, to: chartPath, size: chartOptions.size, title: title); print("wrote \(chartPath)") }
    }
}

/// True when `path` names a chart file (.png, .svg, .pdf): `--out` of `train`/`train-sweep` is then the chart,
/// otherwise the old name prefix.
func isChartPath(_ path: String) -> Bool {
    ["png", "svg", "pdf"].contains(URL(fileURLWithPath: path).pathExtension.lowercased())
}
