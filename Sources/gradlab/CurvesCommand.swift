import ArgumentParser
import Dynamics
import Foundation
import GradLab

struct CurvesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "curves",
        abstract: "‖∂h_t/∂h_k‖ against the lag t−k for several cells, with the classical bound.")

    @Option(name: [.customLong("cells"), .customLong("cell")], help: ArgumentHelp("Comma-separated cells: \(CellKind.allCases.map(\.rawValue).joined(separator: ", ")).", valueName: "list"))
    var cells = CellList(argument: "sigmoid,tanh,relu,irnn,lstm")!
    @OptionGroup var model: ModelOptions
    @Option(help: "Norm for the summary: spectral or frobenius (files hold both).") var norm: NormKind = .spectral
    @OptionGroup var modelFiles: ModelFileOptions
    @Option(help: ArgumentHelp("Write each model as gradlab.model/1 ('{cell}' in the name, or -cell before the extension).", valueName: "file"))
    var saveModel: String?
    @Option(help: ArgumentHelp("Write every curve as CSV.", valueName: "file")) var csv: String?
    @Option(help: ArgumentHelp("Write every curve and summary as JSON.", valueName: "file")) var json: String?
    @Option(help: ArgumentHelp("Draw the curves: .png, .svg or .pdf.", valueName: "file")) var out: String?
    @Flag(help: "Do not draw the dashed bounds.") var noBounds = false
    // Old spelling of `--gain LIST`; kept hidden. Unlike --gain, one value still labels the curve with its gain.
    @Option(parsing: .unconditional, help: .hidden) var gains: GainList?
    @Option(help: "Chart title.") var title: String?
    @OptionGroup var chart: ChartOptions

    var outputs: [(option: String, path: String)] {
        [("--csv", csv), ("--json", json), ("--out", out)].compactMap { o, p in p.map { (o, $0) } }
    }

    func run() throws {
        var o = try model.curvesOptions(cells, modelFiles)
        o.norm = norm
        if let gains { o.gains = try gains.values(flag: "--gains") }
        try o.validate()
        try Budget.admit(CostModel.curves(o))
        try chart.size.validate()
        try OutputFile.checkDistinct(outputs)
        for path in [csv, json].compactMap({ $0 }) { try OutputFile.checkWritable(path) }
        if let out { try FigureFile.check(out) }

        let labelled = try CurvesExperiment.models(o)
        // Models from files: their own sizes go through the same budget (a 10^6-step file is not a 100-step run).
        for (path, m) in zip(o.modelPaths, labelled.map(\.model)) {
            try Budget.admit(CostModel.curves(CostModel.layer(m)), origin: .file(path))
        }
        if let save = saveModel {
            let paths = labelled.map { OutputFile.expand(save, name: $0.label.replacingOccurrences(of: " #", with: "-"), multiple: labelled.count > 1) }
            try OutputFile.checkDistinct(outputs + paths.map { ("--save-model", $0) } + o.modelPaths.map { ("--model", $0) })
            for p in paths { try OutputFile.checkWritable(p) }
            for (p, m) in zip(paths, labelled) { try ModelFile.save(m.model, to: p) }
        }
        let results = try labelled.map { try CurvesExperiment.analyse($0.model, label: $0.label) }
        for w in results.compactMap({ $0.warning() }) { Console.warning("\(w)") }
        print(CurvesExperiment.table(results, norm: norm))
        if let csv { try OutputFile.write(CurvesExperiment.csv(results), to: csv); print("wrote \(csv)") }
        if let json { try OutputFile.write(try CurvesExperiment.json(results, options: o), to: json); print("wrote \(json)") }
        if let out {
            let fig = CurveCharts.figure(results, norm: norm, bounds: !noBounds, title: title, size: chart.size)
            try FigureFile.save(fig, to: out)
            print("wrote \(out)")
        }
    }
}
