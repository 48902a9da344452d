import ArgumentParser
import Dynamics
import Foundation
import GradLab

struct CurvesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "curves",
        abstract: "‖∂h_t/∂h_k‖ against the lag t−k for several cells, with the classical bound.")

    @Option(help: ArgumentHelp("Comma-separated cells: \(CellKind.allCases.map(\.rawValue).joined(separator: ", ")).",
                               valueName: "list"))
    var cells = CellList(argument: "sigmoid,tanh,relu,irnn,lstm")!
    @OptionGroup var model: ModelOptions
    @Option(help: "Norm for the summary: spectral or frobenius (files hold both).") var norm: NormKind = .spectral
    @Option(name: .customLong("model"), help: ArgumentHelp("Analyse this gradlab.model/1 file instead of random models (repeatable).", valueName: "file"))
    var modelPaths: [String] = []
    @Option(help: ArgumentHelp("Write each model as gradlab.model/1 ('{cell}' in the name, or -cell before the extension).", valueName: "file"))
    var saveModel: String?
    @Option(help: ArgumentHelp("Write every curve as CSV.", valueName: "file")) var csv: String?
    @Option(help: ArgumentHelp("Write every curve and summary as JSON.", valueName: "file")) var json: String?

    func run() throws {
        var o = CurvesOptions()
        o.cells = try cells.kinds()
        model.apply(to: &o)
        o.norm = norm
        o.modelPaths = modelPaths
        try o.validate()
        let outputs = [csv, json].compactMap { $0 }
        for path in outputs { try OutputFile.checkWritable(path) }

        let labelled = try CurvesExperiment.models(o)
        if let save = saveModel {
            let paths = labelled.map { OutputFile.expand(save, name: $0.label.replacingOccurrences(of: " #", with: "-"), multiple: labelled.count > 1) }
            for p in paths { try OutputFile.checkWritable(p) }
            for (p, m) in zip(paths, labelled) { try ModelFile.save(m.model, to: p) }
        }
        let results = try labelled.map { try CurvesExperiment.analyse($0.model, label: $0.label) }
        for w in results.compactMap({ $0.warning() }) { FileHandle.standardError.write(Data("warning: \(w)\n".utf8)) }
        print(CurvesExperiment.table(results, norm: norm))
        if let csv { try OutputFile.write(CurvesExperiment.csv(results), to: csv); print("wrote \(csv)") }
        if let json { try OutputFile.write(try CurvesExperiment.json(results, options: o), to: json); print("wrote \(json)") }
    }
}
