import ArgumentParser
import Dynamics
import Foundation
import GradLab

extension SpectrumBlock: ExpressibleByArgument {}

struct SpectrumCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "spectrum",
        abstract: "All singular values of ∂h_t/∂h_k at chosen lags: how many directions survive.",
        discussion: """
        The norm of ∂h_t/∂h_k is only its largest singular value; the rest say how
        many independent directions a gradient can still travel along after t − k
        steps.

        Example:
          gradlab spectrum --cells tanh,lstm --hidden 64 --steps 200 \\
            --lags 1,10,50,200 --out spectrum.png
        """)

    @Option(name: [.customLong("cells"), .customLong("cell")], help: ArgumentHelp("Comma-separated cells: \(CellKind.allCases.map(\.rawValue).joined(separator: ", ")).", valueName: "list"))
    var cells = CellList(argument: "tanh,lstm")!
    @OptionGroup var model: ModelOptions
    @Option(help: ArgumentHelp("Comma-separated lags t − k (default: 1, 10, 0.3·T, T).", valueName: "list")) var lags: String?
    @Option(help: "Decompose the h→h block (hidden) or the full state product (state; (h, c) for the LSTM).") var block: SpectrumBlock = .hidden
    @OptionGroup var modelFiles: ModelFileOptions
    @Option(help: ArgumentHelp("Chart file: .png, .svg or .pdf.", valueName: "file")) var out: String?
    @Option(help: ArgumentHelp("Write every singular value as CSV.", valueName: "file")) var csv: String?
    @Option(help: ArgumentHelp("Write the spectra as JSON.", valueName: "file")) var json: String?
    @Option(help: ArgumentHelp("Chart title (replaces the built-in one).", valueName: "text")) var title: String?
    @OptionGroup var chart: ChartOptions

    func run() throws {
        let o = try model.curvesOptions(cells, modelFiles)
        try o.validate()
        try Check.atMost(o.hidden, 2048, "--hidden", "each lag needs a full SVD")
        var lagList: [Int]?
        if let lags {
            let parts = lags.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            let ints = parts.compactMap { Int($0) }
            guard !parts.isEmpty, ints.count == parts.count else {
                throw GradLabError.usage("--lags must be a comma list of whole numbers (got \(quoted(lags)))")
            }
            guard ints.count <= 50 else { throw GradLabError.usage("--lags: at most 50 lags (got \(ints.count))") }
            lagList = ints
        }
        try Budget.admit(CostModel.spectrum(o, lags: lagList?.count ?? 4, fullState: block == .state))
        for path in o.modelPaths {
            try Budget.admit(CostModel.spectrum(CostModel.layer(try ModelFile.load(path)), lags: lagList?.count ?? 4, fullState: block == .state),
                             origin: .file(path))
        }
        try chart.size.validate()
        try OutputFile.checkDistinct([("--out", out), ("--csv", csv), ("--json", json)].compactMap { o, p in p.map { (o, $0) } })
        if let out { try FigureFile.check(out) }
        for p in [csv, json].compactMap({ $0 }) { try OutputFile.checkWritable(p) }

        let results = try SpectrumExperiment.run(o, lags: lagList, block: block)
        for r in results where r.overflowStep != nil {
            Console.warning("\(r.label): the forward pass overflowed at step \(r.overflowStep!)")
        }
        print(SpectrumExperiment.table(results))
        if let csv { try OutputFile.write(SpectrumExperiment.csv(results), to: csv); print("wrote \(csv)") }
        if let json { try OutputFile.write(try SpectrumExperiment.json(results, options: o), to: json); print("wrote \(json)") }
        if let out { try FigureFile.save(SpectrumExperiment.figure(results, size: chart.size), to: out, title: title); print("wrote \(out)") }
    }
}
