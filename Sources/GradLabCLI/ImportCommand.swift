import ArgumentParser
import Dynamics
import Foundation
import GradLab

struct ImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Analyse trained weights: a PyTorch state_dict saved as .npz (RNN/LSTM/GRU, any depth) or a gradlab.model/1 file.",
        discussion: """
        Export from PyTorch in two lines:
          import numpy as np
          np.savez("rnn.npz", **{k: v.detach().cpu().numpy()
                                 for k, v in rnn.state_dict().items()})
        Names weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0 (…_l1 for deeper
        layers) are read; the cell type comes from the gate count (4n rows: LSTM,
        3n: GRU, n: plain RNN, which needs --cell tanh or relu). A trained network
        stores no inputs: it is driven from h0 = 0 by Gaussian inputs (--steps,
        --seed, --input-scale; 0 for zero inputs), or by an array named "inputs"
        (T × input_size) saved in the same .npz.

        Example:
          gradlab import rnn.npz --cell tanh --steps 300 --out rnn.png \\
            --grid-csv depth.csv
        """)

    @Argument(help: ArgumentHelp("The .npz (or gradlab.model/1 .json) file.", valueName: "file")) var file: String
    @Option(name: [.customLong("cell"), .customLong("cells")], help: "Nonlinearity of plain nn.RNN layers (PyTorch does not store it; LSTM and GRU layers need none): tanh or relu, or sigmoid and linear for stacks gradlab saved.")
    var cell: ImportCell?
    @Option(help: ArgumentHelp("state_dict key prefix to use when the file holds several modules (e.g. 'encoder.').", valueName: "prefix"))
    var prefix: String?
    @Option(parsing: .unconditional, help: "Steps T to drive the network for.") var steps = 200
    @Option(parsing: .unconditional, help: "Seed of the Gaussian inputs.") var seed: UInt64 = 0
    @Option(parsing: .unconditional, help: "Standard deviation of the inputs (0: zero inputs).") var inputScale = 1.0
    @Option(parsing: .unconditional, help: "Top Lyapunov exponents per layer.") var exponents = 3
    @Option(parsing: .unconditional, help: "Leading steps not averaged for the exponents (default T/10).") var warmup: Int?
    @Option(help: ArgumentHelp("Chart file: .png, .svg or .pdf.", valueName: "file")) var out: String?
    @Option(help: ArgumentHelp("Write each layer's curves as CSV (the columns of `gradlab curves --csv`).", valueName: "file")) var csv: String?
    @Option(help: ArgumentHelp("Write ‖∂h^top_t/∂h^l_k‖ for every layer and lag as CSV.", valueName: "file")) var gridCsv: String?
    @Option(help: ArgumentHelp("Write the analysis as JSON.", valueName: "file")) var json: String?
    @Option(help: ArgumentHelp("Write each layer, with the inputs it was driven by, as gradlab.model/1 ('{cell}' or -l0… before the extension).", valueName: "file"))
    var saveModel: String?
    @Option(help: ArgumentHelp("Chart title (replaces the built-in one).", valueName: "text")) var title: String?
    @OptionGroup var chart: ChartOptions

    func run() throws {
        let drive = DriveOptions(steps: steps, seed: seed, inputScale: inputScale)
        try drive.validate()
        try Check.positive(exponents, "--exponents")
        if let warmup {
            try Check.nonNegative(warmup, "--warmup")
            guard warmup < steps else { throw GradLabError.usage("--warmup must be less than --steps (\(warmup) ≥ \(steps))") }
        }
        try chart.size.validate()
        if let out { try FigureFile.check(out) }
        for p in [csv, gridCsv, json].compactMap({ $0 }) { try OutputFile.checkWritable(p) }

        try OutputFile.checkDistinct([("--out", out), ("--csv", csv), ("--grid-csv", gridCsv), ("--json", json), ("the input file", file)]
            .compactMap { o, p in p.map { (o, $0) } })
        let imported = try WeightImport.load(file, cell: cell?.kind, prefix: prefix, drive: drive)
        // The sizes come from the file, T from --steps unless the file carries its inputs.
        let cost = CostModel.importAnalysis(imported.model, exponents: exponents)
        do { try Budget.active().check(cost) } catch {
            var one = imported.model
            one.inputs = Array(one.inputs.prefix(1))
            let fileIsTooLarge = imported.inputSource == "file" || (try? Budget.active().check(CostModel.importAnalysis(one, exponents: exponents))) == nil
            try Budget.admit(cost, origin: fileIsTooLarge ? .file(file) : .options)
        }
        try Budget.admit(cost)
        // Per-layer model files: paths checked before the analysis runs.
        let depth = imported.model.depth
        let savePaths: [String] = saveModel.map { save in
            (0..<depth).map { l in OutputFile.expand(save, name: depth > 1 ? "l\(l)" : imported.model.layers[0].kind.rawValue, multiple: depth > 1) }
        } ?? []
        try OutputFile.checkDistinct([("--out", out), ("--csv", csv), ("--grid-csv", gridCsv), ("--json", json), ("the input file", file)]
            .compactMap { o, p in p.map { (o, $0) } } + savePaths.map { ("--save-model", $0) })
        for p in savePaths { try OutputFile.checkWritable(p) }
        let report = try ImportExperiment.run(imported, source: file, exponents: exponents, warmup: warmup)
        if let w = report.overflowWarning { Console.warning("\(w)") }
        for (p, c) in zip(savePaths, report.layers) { try ModelFile.save(c.model, to: p); print("wrote \(p)") }
        print(ImportExperiment.table(report))
        if let csv { try OutputFile.write(CurvesExperiment.csv(report.layers), to: csv); print("wrote \(csv)") }
        if let gridCsv { try OutputFile.write(ImportExperiment.gridCSV(report), to: gridCsv); print("wrote \(gridCsv)") }
        if let json { try OutputFile.write(try ImportExperiment.json(report), to: json); print("wrote \(json)") }
        if let out { try FigureFile.save(ImportExperiment.figure(report, size: chart.size), to: out, title: title); print("wrote \(out)") }
    }
}
