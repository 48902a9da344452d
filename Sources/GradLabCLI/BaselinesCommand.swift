import ArgumentParser
import Dynamics
import Foundation
import GradLab

struct BaselinesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "baselines",
        abstract: "Success over seeds against the published baselines (adding: MSE 1/6 and |error| < 0.04; copy-memory: 10·ln 8/(T+20)), and ‖∂L/∂h_t‖ against t.",
        discussion: """
        Trains every (cell, seed) with the same options as `gradlab train` and judges
        each run. adding: it passes when its final held-out MSE is below
        --pass-loss-ratio × 1/6 (default 0.1) and at least --pass-accuracy (default
        0.5) of the held-out sequences are solved, |error| < 0.04 (Hochreiter &
        Schmidhuber 1997). copy-memory (Arjovsky, Shah & Bengio 2016): its final
        held-out cross-entropy is below --pass-loss-ratio × 10·ln 8/(T+20) and at least
        --pass-accuracy (default 0.9) of the 10 recalled symbols are right.
        Also trains each cell's first seed for --gradient-iters iterations (default
        100) and measures ‖∂L_b/∂h_t‖ (each sequence's own loss, mean over the
        held-out batch) at initialisation and then: --gradient-chart draws it.
        Defaults: --task adding, T = 50, n = 32, 600 iterations, adam lr 0.01,
        clip-norm 1 (--no-clip for none), seeds 0, 1, 2.

        Examples:
          gradlab baselines --task adding --cells tanh,lstm,gru --seeds 3 \\
            --steps 30 --iters 800 --out success.png \\
            --gradient-chart gradients.png --csv runs.csv
          gradlab baselines --task copy-memory --cells tanh,lstm \\
            --steps 5 --iters 2000 --out copy.png --json copy.json
        """)

    @Option(name: [.customLong("cells"), .customLong("cell")], help: ArgumentHelp("Comma-separated cells: \(TrainCell.allValueStrings.joined(separator: ", ")).", valueName: "list"))
    var cells = CellList(argument: "tanh,lstm")!
    @Option(parsing: .unconditional, help: "Seeds per cell: --seed, --seed + 1, …") var seeds = 3
    @Option(parsing: .unconditional, help: "Sequence length T (copy-memory: the delay; sequences have T + 20 steps).") var steps = 50
    @Option(parsing: .unconditional, help: "Hidden units n.") var hidden = 32
    @OptionGroup var training: TrainingOptions
    @Flag(help: "Train without clipping (default: --clip-norm 1 unless a clipping is given).") var noClip = false
    @Option(parsing: .unconditional, help: "Runs at once (default: cores, at most 2).") var jobs: Int?
    @Option(parsing: .unconditional, help: ArgumentHelp("A pass needs a final held-out loss below this fraction of the baseline.", valueName: "r"))
    var passLossRatio = 0.1
    @Option(parsing: .unconditional, help: ArgumentHelp("A pass needs at least this accuracy (adding: share of sequences solved, default 0.5; copy-memory: recalled-symbol accuracy, default 0.9).", valueName: "a"))
    var passAccuracy: Double?
    @Option(parsing: .unconditional, help: "Iterations before the second ‖∂L/∂h_t‖ profile.") var gradientIters = 100

    @Option(help: ArgumentHelp("Success chart (every seed's held-out loss per cell, baseline and pass line): .png/.svg/.pdf.", valueName: "file"))
    var out: String?
    @Option(help: ArgumentHelp("‖∂L/∂h_t‖ against t at initialisation and after --gradient-iters: .png/.svg/.pdf.", valueName: "file"))
    var gradientChart: String?
    @Option(help: ArgumentHelp("One row per run: final loss, baseline, accuracy, pass.", valueName: "file")) var csv: String?
    @Option(help: ArgumentHelp("Parameters, criteria, runs with their held-out losses, success rates and gradient profiles.", valueName: "file"))
    var json: String?
    @Option(help: ArgumentHelp("‖∂L/∂h_t‖ per cell, iteration and t.", valueName: "file")) var gradientCsv: String?
    @Option(help: ArgumentHelp("Chart title, in place of the built-in one (both charts).", valueName: "text")) var title: String?
    @OptionGroup var chartOptions: ChartOptions

    func options() throws -> BaselinesOptions {
        var b = BaselinesOptions()
        b.cells = try cells.kinds()
        try TrainCellKinds.require(b.cells, option: "--cells")
        b.seeds = seeds
        try training.check()
        var base = b.base
        training.apply(to: &base)
        base.steps = steps
        base.hidden = hidden
        if noClip && (training.clipNorm != nil || training.clipValue != nil) {
            throw GradLabError.usage("--no-clip contradicts --clip-norm/--clip-value")
        }
        if training.clipNorm == nil && training.clipValue == nil { base.clipNorm = noClip ? nil : 1 }
        base.snapshots = 0
        b.base = base
        if let j = jobs { b.jobs = j }
        b.passLossRatio = passLossRatio
        b.passAccuracy = passAccuracy
        b.gradientIterations = gradientIters
        try b.validate()
        return b
    }

    func run() throws {
        let b = try options()
        try Budget.admit(CostModel.baselines(b), announceAfter: .infinity)
        try chartOptions.size.validate()
        let outputs = [("--out", out), ("--gradient-chart", gradientChart), ("--csv", csv), ("--json", json), ("--gradient-csv", gradientCsv)]
            .compactMap { o, p in p.map { (o, $0) } }
        try OutputFile.checkDistinct(outputs)
        for path in [out, gradientChart].compactMap({ $0 }) { try FigureFile.check(path) }
        for path in [csv, json, gradientCsv].compactMap({ $0 }) { try OutputFile.checkWritable(path) }

        let r = try BaselinesExperiment.run(b) { run, done, total in
            guard !RunContext.reproducible else { return }
            print("  [\(done)/\(total)] \(run.cell.rawValue) seed \(run.seed): final loss "
                  + (run.diverged ? "diverged" : TrainExperiment.lossText(run.finalLoss)) + (run.passed ? " (pass)" : " (fail)")
                  + " (\(Format.fixed(run.seconds, 1)) s)")
            fflush(stdout)
        }
        print(BaselinesExperiment.report(r))
        if !RunContext.reproducible { print("baselines took \(Format.fixed(r.seconds, 1)) s") }
        if let csv { try OutputFile.write(BaselinesExperiment.csv(r), to: csv); print("wrote \(csv)") }
        if let json { try OutputFile.write(BaselinesExperiment.json(r), to: json); print("wrote \(json)") }
        if let gradientCsv { try OutputFile.write(BaselinesExperiment.gradientCSV(r), to: gradientCsv); print("wrote \(gradientCsv)") }
        if let out { try BaselineCharts.saveSuccess(r, to: out, size: chartOptions.size, title: title); print("wrote \(out)") }
        if let gradientChart { try BaselineCharts.saveGradients(r, to: gradientChart, size: chartOptions.size, title: title); print("wrote \(gradientChart)") }
    }
}
