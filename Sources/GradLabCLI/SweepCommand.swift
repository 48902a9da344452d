import ArgumentParser
import Dynamics
import Foundation
import GradLab

struct SweepCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sweep",
        abstract: "Top Lyapunov exponent against the gain for several cells: the vanishing/exploding phase diagram.",
        discussion: """
        Every (cell, gain, seed) is one random model run for --steps steps; its top
        Lyapunov exponent λ₁ is the asymptotic slope of log‖∂h_t/∂h_k‖. Points run
        in parallel on --jobs threads (default: every core); results do not depend
        on the number of jobs.

        Example:
          gradlab sweep --cells tanh,relu,lstm --gain 0.5:2.0:0.05 --seeds 10 \\
            --out sweep.png --csv sweep.csv
        """)

    @Option(name: [.customLong("cells"), .customLong("cell")], help: ArgumentHelp("Comma-separated cells: \(CellKind.allCases.map(\.rawValue).joined(separator: ", ")).", valueName: "list"))
    var cells = CellList(argument: "tanh,relu,lstm")!
    @Option(parsing: .unconditional, help: ArgumentHelp("Gains: a range lo:hi:step (hi included), a comma list or one value.", valueName: "gain"))
    var gain = GainList(argument: "0.5:2.0:0.05")!
    @Option(name: .customLong("gains"), parsing: .unconditional, help: .hidden) var gainsAlias: GainList?
    @Option(parsing: .unconditional, help: "Seeds (random models) per gain.") var seeds = 10
    @Option(parsing: .unconditional, help: "First seed; seed s of a point is seed + s.") var seed: UInt64 = 0
    @Option(parsing: .unconditional, help: "Hidden units n.") var hidden = 64
    @Option(parsing: .unconditional, help: "Input size d.") var input = 8
    @Option(parsing: .unconditional, help: "Steps T per model.") var steps = 500
    @Option(parsing: .unconditional, help: "Leading steps not averaged (default T/10).") var warmup: Int?
    @Option(name: .customLong("init"), help: "Recurrent initialisation: gaussian or orthogonal.") var initialization: RecurrentInit = .gaussian
    @Option(parsing: .unconditional, help: "LSTM forget-gate bias (0: PyTorch's initialisation, as in every analysis command).") var forgetBias = 0.0
    @Option(parsing: .unconditional, help: "Standard deviation of the inputs x_t: small (default) shows the autonomous edge; larger inputs suppress chaos and move it up.") var inputScale = 0.01
    @Option(parsing: .unconditional, help: "Worker threads (default: every core).") var jobs: Int?
    @Option(help: "Units of the table and chart: decades or nats (files hold both).") var units: ExponentUnits = .decades
    @Option(help: ArgumentHelp("Chart file: .png, .svg or .pdf.", valueName: "file")) var out: String?
    @Option(help: ArgumentHelp("Write mean/std/min/max per cell and gain as CSV.", valueName: "file")) var csv: String?
    @Option(help: ArgumentHelp("Write every point, the statistics and the edges as JSON.", valueName: "file")) var json: String?
    @Option(help: ArgumentHelp("Chart title (replaces the built-in one).", valueName: "text")) var title: String?
    @OptionGroup var chart: ChartOptions

    /// The validated sweep (not yet budgeted).
    func options() throws -> SweepOptions {
        var o = SweepOptions()
        o.cells = try cells.kinds()
        o.gains = GainRange(values: try (gainsAlias ?? gain).values(flag: gainsAlias == nil ? "--gain" : "--gains"))
        o.seeds = seeds; o.seed = seed; o.hidden = hidden; o.input = input; o.steps = steps; o.warmup = warmup
        o.initialization = initialization; o.forgetBias = forgetBias; o.inputScale = inputScale; o.jobs = jobs
        try o.validate()
        try chart.size.validate()
        return o
    }

    func run() throws {
        let o = try options()
        try Budget.admit(CostModel.sweep(o), announceAfter: .infinity)
        try OutputFile.checkDistinct([("--out", out), ("--csv", csv), ("--json", json)].compactMap { o, p in p.map { (o, $0) } })
        if let out { try FigureFile.check(out) }
        for p in [csv, json].compactMap({ $0 }) { try OutputFile.checkWritable(p) }

        let bar = SweepProgressBar()
        let result = try SweepExperiment.run(o) { done, total in bar.update(done, total) }
        bar.finish()
        print(SweepExperiment.table(result, decades: units == .decades))
        print("\(o.pointCount) models (\(o.cells.count) cells × \(o.gains.values.count) gains × \(o.seeds) seeds)"
              + RunContext.timing(" in \(Format.fixed(result.wallSeconds, 2)) s on \(result.jobs) job(s)"))
        if let csv { try OutputFile.write(SweepExperiment.csv(result), to: csv); print("wrote \(csv)") }
        if let json { try OutputFile.write(try SweepExperiment.json(result), to: json); print("wrote \(json)") }
        if let out {
            let fig = SweepExperiment.figure(result, decades: units == .decades, size: chart.size)
            try FigureFile.save(fig, to: out, title: title)
            print("wrote \(out)")
        }
    }
}

enum ExponentUnits: String, ExpressibleByArgument, CaseIterable {
    case decades, nats
}

/// "sweep [████····] 45% 420/930  12.3 s, ~15 s left" on stderr, only when stderr is a terminal (pipes and
/// logs get nothing); redrawn at most ten times a second. Used by `sweep` and `train-sweep`.
final class SweepProgressBar: @unchecked Sendable {
    private let enabled = isatty(STDERR_FILENO) == 1
    private let label: String
    private var last: UInt64 = 0
    private var drawn = false
    private let start = DispatchTime.now().uptimeNanoseconds
    init(label: String = "sweep") { self.label = label }

    /// Called serialised by the sweep (under its lock).
    func update(_ done: Int, _ total: Int) {
        update(fraction: total > 0 ? Double(done) / Double(total) : 1, detail: "\(done)/\(total)")
    }

    /// `fraction` of the whole job done, with a short detail after the percentage.
    func update(fraction: Double, detail: String = "") {
        guard enabled else { return }
        let now = DispatchTime.now().uptimeNanoseconds
        guard fraction >= 1 || now - last > 100_000_000 else { return }
        last = now
        let f = min(1, max(0, fraction))
        let width = 30
        let filled = Int(Double(width) * f)
        let elapsed = Double(now - start) / 1e9
        let remaining = f > 0 ? elapsed * (1 - f) / f : .infinity
        let eta = f > 0 && f < 1 ? (remaining < 1 ? ", <1 s left" : ", ~\(Budget.durationText(remaining)) left") : ""
        let text = "\r\u{1B}[2K\(label) [\(String(repeating: "█", count: filled))\(String(repeating: "·", count: width - filled))] \(Int(100 * f))%"
            + (detail.isEmpty ? "" : " \(detail)") + "  \(Format.fixed(elapsed, 1)) s\(eta)"
        Console.writeError(text)
        drawn = true
    }

    /// Clears the bar's line so a line of ordinary output can be printed; the next update redraws it.
    func clearLine() {
        if drawn { Console.writeError("\r\u{1B}[2K"); last = 0; drawn = false }
    }

    func finish() {
        if drawn { Console.writeError("\n"); drawn = false }
    }
}
