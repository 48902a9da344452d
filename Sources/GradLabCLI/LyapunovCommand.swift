import ArgumentParser
import Dynamics
import Foundation
import GradLab

struct LyapunovCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lyapunov",
        abstract: "Lyapunov exponents of the linearised dynamics (QR method): the asymptotic slopes of the curves.",
        discussion: """
        λ₁ is the rate (nats per step; ÷ ln 10 for decades) at which ‖∂h_t/∂h_k‖
        grows or decays at long lags; λ₁ + … + λ_m is the growth rate of
        m-dimensional volumes. With --iid, the step matrices are i.i.d. N(0, 1/n)
        instead and the result is compared with Newman's formula.

        Examples:
          gradlab lyapunov --cells tanh,lstm --hidden 64 --steps 2000 \\
            --out lyapunov.png
          gradlab lyapunov --iid --hidden 64 --steps 10000
        """)

    @Option(name: [.customLong("cells"), .customLong("cell")], help: ArgumentHelp("Comma-separated cells: \(CellKind.allCases.map(\.rawValue).joined(separator: ", ")).", valueName: "list"))
    var cells = CellList(argument: "tanh,lstm,gru")!
    @OptionGroup var model: ModelOptions
    @Option(parsing: .unconditional, help: "How many top exponents (default: all).") var count: Int?
    @Option(parsing: .unconditional, help: "Leading steps not averaged (default T/10; none for --iid).") var warmup: Int?
    @Flag(help: "Products of i.i.d. Gaussian N(0, 1/n) matrices instead of an RNN, against Newman's formula.") var iid = false
    @OptionGroup var modelFiles: ModelFileOptions
    @Option(help: ArgumentHelp("Chart file: .png, .svg or .pdf.", valueName: "file")) var out: String?
    @Option(help: ArgumentHelp("Write the exponents as CSV.", valueName: "file")) var csv: String?
    @Option(help: ArgumentHelp("Write the exponents as JSON.", valueName: "file")) var json: String?
    @Option(help: ArgumentHelp("Chart title (replaces the built-in one).", valueName: "text")) var title: String?
    @OptionGroup var chart: ChartOptions

    func run() throws {
        let o = try model.curvesOptions(cells, modelFiles)
        try o.validate()
        if let count { try Check.positive(count, "--count") }
        if let warmup { try Check.nonNegative(warmup, "--warmup") }
        if iid {
            try Budget.admit(CostModel.gaussianProducts(n: o.hidden, steps: o.steps, count: count))
        } else {
            try Budget.admit(CostModel.lyapunov(o, count: count))
            for path in o.modelPaths {
                try Budget.admit(CostModel.lyapunov(CostModel.layer(try ModelFile.load(path)), count: count), origin: .file(path))
            }
        }
        try chart.size.validate()
        try OutputFile.checkDistinct([("--out", out), ("--csv", csv), ("--json", json)].compactMap { o, p in p.map { (o, $0) } })
        if let out { try FigureFile.check(out) }
        for p in [csv, json].compactMap({ $0 }) { try OutputFile.checkWritable(p) }

        let results: [LyapunovExperiment.CellExponents]
        if iid {
            guard modelFiles.paths.isEmpty else { throw GradLabError.usage("--iid and --model cannot be combined") }
            results = [try LyapunovExperiment.gaussianProducts(n: o.hidden, steps: o.steps, seed: o.seed, count: count)]
        } else {
            results = try LyapunovExperiment.run(o, count: count, warmup: warmup)
        }
        print(LyapunovExperiment.table(results))
        if let csv { try OutputFile.write(LyapunovExperiment.csv(results), to: csv); print("wrote \(csv)") }
        if let json { try OutputFile.write(try LyapunovExperiment.json(results), to: json); print("wrote \(json)") }
        if let out { try FigureFile.save(LyapunovExperiment.figure(results, size: chart.size), to: out, title: title); print("wrote \(out)") }
    }
}
