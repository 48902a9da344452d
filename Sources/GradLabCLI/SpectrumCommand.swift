import ArgumentParser
import Dynamics
import Foundation
import Explorer
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
    @OptionGroup var formOption: FormOption
    @Option(help: ArgumentHelp("Comma-separated lags t − k (default: 1, 10, 0.3·T, T).", valueName: "list")) var lags: String?
    @Option(help: "Decompose the h→h block (hidden) or the full state product (state; (h, c) for the LSTM).") var block: SpectrumBlock = .hidden
    @OptionGroup var modelFiles: ModelFileOptions
    @Option(help: ArgumentHelp("Chart file: .png, .svg or .pdf.", valueName: "file")) var out: String?
    @Option(help: ArgumentHelp("Write every singular value as CSV.", valueName: "file")) var csv: String?
    @Option(help: ArgumentHelp("Write the spectra as JSON.", valueName: "file")) var json: String?
    @Option(help: ArgumentHelp("Chart title (replaces the built-in one).", valueName: "text")) var title: String?
    @OptionGroup var chart: ChartOptions

    /// Validated options and lags, admitted by the budget.
    func admitted() throws -> (CurvesOptions, [Int]?) {
        var o = try model.curvesOptions(cells, modelFiles)
        o.form = formOption.form
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
        return (o, lagList)
    }

    /// The table, chart, CSV and JSON, in memory (the explorer's spectrum view).
    /// `models`: given models (an uploaded model's layer) in place of the options' random ones.
    func result(_ o: CurvesOptions, models: [(label: String, model: Model)]? = nil, lags lagList: [Int]?) throws -> ViewResult {
        let results = try models.map { try SpectrumExperiment.run(models: $0, lags: lagList, block: block) }
            ?? SpectrumExperiment.run(o, lags: lagList, block: block)
        let warnings = results.compactMap { r in r.overflowStep.map { "\(r.label): the forward pass overflowed at step \($0)" } }
        let fig = SpectrumExperiment.figure(results, size: chart.size)
        if let title { FigureFile.retitle(fig, title) }
        let panels = results.enumerated().map { i, r -> Hover.LinePanel in
            let n = r.spectra.map(\.log10Values.count).max() ?? 0
            return Hover.LinePanel(panel: i, xName: "i", x: (1...max(n, 1)).map(Double.init),
                                   series: r.spectra.map { s in ("\(r.label) σ_i at lag \(s.lag)", s.log10Values.map { $0 > s.log10Floor ? $0 : .nan }, true) })
        }
        var summary: [[(String, String)]] = []
        for r in results {
            for s in r.spectra {
                let v = s.log10Values
                summary.append([("cell", r.label), ("lag", "\(s.lag)"), ("σ₁", CurvesExperiment.sci(v.first ?? -.infinity)),
                                ("within 1 decade", "\(v.filter { $0 >= (v.first ?? 0) - 1 }.count) of \(v.count)"),
                                ("resolved", "\(s.resolvedCount)")])
            }
        }
        return ViewResult(text: SpectrumExperiment.table(results), warnings: warnings, figure: fig,
                          files: ["csv": { Array(SpectrumExperiment.csv(results).utf8) },
                                  "json": { Array(try SpectrumExperiment.json(results, options: o)) }],
                          summary: summary, hover: .lines(panels))
    }

    func run() throws {
        let (o, lagList) = try admitted()
        try OutputFile.checkDistinct([("--out", out), ("--csv", csv), ("--json", json)].compactMap { o, p in p.map { (o, $0) } })
        if let out { try FigureFile.check(out) }
        for p in [csv, json].compactMap({ $0 }) { try OutputFile.checkWritable(p) }
        let r = try result(o, lags: lagList)
        for w in r.warnings { Console.warning(w) }
        print(r.text)
        if let csv { try OutputFile.write(try r.files["csv"]!(), to: csv); print("wrote \(csv)") }
        if let json { try OutputFile.write(try r.files["json"]!(), to: json); print("wrote \(json)") }
        if let out { try FigureFile.save(r.figure, to: out); print("wrote \(out)") }
    }
}
