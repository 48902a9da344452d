import ArgumentParser
import Dynamics
import Foundation
import Explorer
import GradLab

struct CurvesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "curves",
        abstract: "‖∂h_t/∂h_k‖ against the lag t−k for several cells, with the classical bound.")

    @Option(name: [.customLong("cells"), .customLong("cell")], help: ArgumentHelp("Comma-separated cells: \(CellKind.allCases.map(\.rawValue).joined(separator: ", ")).", valueName: "list"))
    var cells = CellList(argument: "sigmoid,tanh,relu,irnn,lstm")!
    @OptionGroup var model: ModelOptions
    @OptionGroup var formOption: FormOption
    @OptionGroup var layersOption: LayersOption
    @Option(help: "Norm for the summary: spectral or frobenius (files hold both).") var norm: NormKind = .spectral
    @OptionGroup var modelFiles: ModelFileOptions
    @Option(help: ArgumentHelp("Write each model as gradlab.model/1 ('{cell}' in the name, or -cell before the extension). With --layers: each stack as a PyTorch state_dict .npz (weight_ih_l0 …, and its inputs), which `gradlab import` reads back exactly.", valueName: "file"))
    var saveModel: String?
    @Option(help: ArgumentHelp("With --layers: write ‖∂h^top_T/∂h^l_k‖ for every stack, layer and lag as CSV.", valueName: "file"))
    var gridCsv: String?
    @Option(help: ArgumentHelp("Write every curve as CSV.", valueName: "file")) var csv: String?
    @Option(help: ArgumentHelp("Write every curve and summary as JSON.", valueName: "file")) var json: String?
    @Option(help: ArgumentHelp("Draw the curves: .png, .svg or .pdf.", valueName: "file")) var out: String?
    @Flag(help: "Do not draw the dashed bounds (the same as --bounds none).") var noBounds = false
    @Option(help: ArgumentHelp("Bounds to draw: classical ((β_W β_h)^(t−k), dashed), trajectory (∏‖J_j‖₂ along this run, dotted), both (classical,trajectory) or none.", valueName: "list"))
    var bounds = "classical"
    // Old spelling of `--gain LIST`; kept hidden. Unlike --gain, one value still labels the curve with its gain.
    @Option(parsing: .unconditional, help: .hidden) var gains: GainList?
    @Option(help: "Chart title.") var title: String?
    @OptionGroup var chart: ChartOptions

    var outputs: [(option: String, path: String)] {
        [("--csv", csv), ("--json", json), ("--out", out), ("--grid-csv", gridCsv)].compactMap { o, p in p.map { (o, $0) } }
    }

    /// The bounds `--bounds` and `--no-bounds` ask for.
    func boundKinds() throws -> (classical: Bool, trajectory: Bool) {
        if noBounds { return (false, false) }
        var c = false, t = false
        for w in bounds.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces).lowercased() }) {
            switch w {
            case "classical": c = true
            case "trajectory": t = true
            case "none": break
            case "both": c = true; t = true
            default: throw GradLabError.usage("--bounds takes classical, trajectory, both or none (got '\(w)')")
            }
        }
        return (c, t)
    }

    /// Validated options, admitted by the budget (before any file is looked at).
    func admitted() throws -> CurvesOptions {
        var o = try model.curvesOptions(cells, modelFiles)
        o.norm = norm
        o.form = formOption.form
        o.layers = layersOption.layers
        if let gains { o.gains = try gains.values(flag: "--gains") }
        try o.validate()
        if gridCsv != nil && o.layers == 1 { throw GradLabError.usage("--grid-csv needs --layers 2 or more (the gradient through depth)") }
        try Budget.admit(o.layers > 1 ? CostModel.stackedCurves(o) : CostModel.curves(o))
        try chart.size.validate()
        _ = try boundKinds()
        return o
    }

    /// Everything the command prints and writes, in memory: the explorer's curves view is this.
    /// `parallel`: analyse the models on all cores at once (the explorer, whose BLAS runs single-threaded);
    /// each model's numbers are the same either way.
    /// `chartOnly`: compute only what the chart draws (the explorer's live view: an LSTM's full-state and
    /// c→c series are left out); the CSV and JSON then recompute the full analysis when asked for.
    func result(_ o: CurvesOptions, models labelled: [(label: String, model: Model)], parallel: Bool = false,
                chartOnly: Bool = false, stop: @escaping () -> Bool = { false }) throws -> ViewResult {
        var results: [CellCurves]
        if parallel && labelled.count > 1 {
            let slots = UnsafeMutableBufferPointer<Result<CellCurves, Error>?>.allocate(capacity: labelled.count)
            slots.initialize(repeating: nil)
            defer { slots.deallocate() }
            // Longest first, so the cores finish together: the LSTM and GRU (wider state, more series), then the
            // IRNN (identity-like products: every lag needs the Gram certificate), then the rest.
            func cost(_ k: CellKind) -> Int { k == .irnn ? 2 : k.gateCount > 1 ? 2 + k.gateCount : 1 }
            let order = labelled.indices.sorted { cost(labelled[$0].model.kind) > cost(labelled[$1].model.kind) }
            DispatchQueue.concurrentPerform(iterations: labelled.count) { j in
                let i = order[j]
                if stop() { slots[i] = .failure(ExplorerCancelled()); return }
                slots[i] = Result { try CurvesExperiment.analyse(labelled[i].model, label: labelled[i].label, hiddenOnly: chartOnly) }
            }
            results = try slots.map { try $0!.get() }
        } else {
            results = []
            for m in labelled {
                if stop() { throw ExplorerCancelled() }
                results.append(try CurvesExperiment.analyse(m.model, label: m.label, hiddenOnly: chartOnly))
            }
        }
        let full = results
        let complete: () throws -> [CellCurves] = chartOnly
            ? { try labelled.map { try CurvesExperiment.analyse($0.model, label: $0.label) } }
            : { full }
        let b = try boundKinds()
        let fig = CurveCharts.figure(results, norm: norm, bounds: b.classical, trajectoryBounds: b.trajectory, title: title, size: chart.size)
        var files: [String: () throws -> [UInt8]] = [
            "csv": { Array(CurvesExperiment.csv(try complete()).utf8) },
            "json": { Array(try CurvesExperiment.json(try complete(), options: o)) },
        ]
        for m in labelled { files["model:" + m.label] = { Array(try ModelFile.encode(m.model)) } }
        let summary: [[(String, String)]] = results.map { r in
            var row: [(String, String)] = [("cell", r.label), ("regime", r.regime.rawValue + (r.zeroFromLag.map { " (0 from lag \($0))" } ?? "")),
                                          ("×/step", Format.magnitude(r.perStepFactor)), ("95 % interval", CurvesExperiment.interval(r)),
                                          ("β_W", Format.magnitude(r.betaW)), ("β_h", r.betaH.map { Format.fixed($0, 2) } ?? "gated")]
            row.append(("bound slack", r.boundSlack.isFinite ? "\(Format.fixed(abs(r.boundSlack) < 0.05 ? 0 : r.boundSlack, 1)) decades" : "∞"))
            return row
        }
        var panel = Hover.LinePanel(panel: 0, xName: "lag", x: (0...(results.map(\.curves.endStep).max() ?? 0)).map(Double.init), series: [])
        for r in results {
            let y = r.curves.log10Norm(norm)
            func pad(_ v: [Double]) -> [Double] { v + [Double](repeating: .nan, count: max(0, panel.x.count - v.count)) }
            panel.series.append((r.label, pad(y), true))
            if b.classical { panel.series.append(("\(r.label) bound", pad(r.curves.log10Bound), true)) }
            if b.trajectory { panel.series.append(("\(r.label) trajectory bound", pad(r.curves.log10TrajectoryBound), true)) }
        }
        return ViewResult(text: CurvesExperiment.table(results, norm: norm), warnings: results.compactMap { $0.warning() },
                          figure: fig, files: files, summary: summary, hover: .lines([panel]))
    }

    func run() throws {
        let o = try admitted()
        try OutputFile.checkDistinct(outputs)
        for path in [csv, json, gridCsv].compactMap({ $0 }) { try OutputFile.checkWritable(path) }
        if let out { try FigureFile.check(out) }
        if o.layers > 1 { return try runStacks(o) }

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
        let r = try result(o, models: labelled)
        for w in r.warnings { Console.warning("\(w)") }
        print(r.text)
        if let csv { try OutputFile.write(try r.files["csv"]!(), to: csv); print("wrote \(csv)") }
        if let json { try OutputFile.write(try r.files["json"]!(), to: json); print("wrote \(json)") }
        if let out {
            try FigureFile.save(r.figure, to: out)
            print("wrote \(out)")
        }
    }

    /// `--layers L > 1`: one random stack per cell, each layer's own curves and the gradient through depth and time.
    func runStacks(_ o: CurvesOptions) throws {
        let stacks = try DepthExperiment.stacks(o)
        if let save = saveModel {
            guard save.lowercased().hasSuffix(".npz") else {
                throw GradLabError.usage("--save-model with --layers writes a PyTorch state_dict: give a .npz file name (got \(quoted(save)))")
            }
            let paths = stacks.map { OutputFile.expand(save, name: $0.label.replacingOccurrences(of: " ", with: "-"), multiple: stacks.count > 1) }
            try OutputFile.checkDistinct(outputs + paths.map { ("--save-model", $0) })
            for p in paths { try OutputFile.checkWritable(p) }
            for (p, s) in zip(paths, stacks) {
                try OutputFile.write(try NpzWriter.stateDict(s.model), to: p)
                let kind = s.model.layers[0].kind
                let hint = kind.gateCount == 1 ? " --cell \(kind == .irnn ? "relu" : kind.rawValue)" : ""
                print("wrote \(p) (read it back with: gradlab import \(p)\(hint))")
            }
        }
        let r = try stackResult(o, stacks: stacks)
        for w in r.warnings { Console.warning(w) }
        print(r.text)
        if let csv { try OutputFile.write(try r.files["csv"]!(), to: csv); print("wrote \(csv)") }
        if let gridCsv { try OutputFile.write(try r.files["grid-csv"]!(), to: gridCsv); print("wrote \(gridCsv)") }
        if let json { try OutputFile.write(try r.files["json"]!(), to: json); print("wrote \(json)") }
        if let out {
            try FigureFile.save(r.figure, to: out)
            print("wrote \(out)")
        }
    }

    /// `--layers L > 1` in memory (the explorer's curves view with layers is this): each stack's layers'
    /// curves and the depth × lag panel, the table, and the files.
    func stackResult(_ o: CurvesOptions, stacks: [(label: String, model: StackedModel)], stop: @escaping () -> Bool = { false }) throws -> ViewResult {
        var reports: [StackReport] = []
        for s in stacks {
            if stop() { throw ExplorerCancelled() }
            reports.append(try DepthExperiment.analyse(s.model, label: s.label))
        }
        var warnings: [String] = []
        for r in reports {
            if let w = r.overflowWarning { warnings.append(w) }
            for c in r.layers { if let w = c.warning() { warnings.append(w) } }
        }
        let b = try boundKinds()
        let fig = DepthExperiment.figure(reports, norm: norm, bounds: b.classical, size: chart.size)
        if let title { FigureFile.retitle(fig, title) }
        let files: [String: () throws -> [UInt8]] = [
            "csv": { Array(CurvesExperiment.csv(reports.flatMap(\.layers)).utf8) },
            "grid-csv": { Array(DepthExperiment.gridCSV(reports).utf8) },
            "json": { Array(try DepthExperiment.json(reports, options: o)) },
        ]
        let summary: [[(String, String)]] = reports.flatMap { r in
            r.layers.map { c in
                [("cell", c.label), ("regime", c.regime.rawValue), ("×/step", Format.magnitude(c.perStepFactor)),
                 ("β_W", Format.magnitude(c.betaW)), ("β_h", c.betaH.map { Format.fixed($0, 2) } ?? "gated")]
            }
        }
        var panel = Hover.LinePanel(panel: 0, xName: "lag", x: (0...(reports.flatMap(\.layers).map(\.curves.endStep).max() ?? 0)).map(Double.init), series: [])
        for c in reports.flatMap(\.layers) {
            let y = c.curves.log10Norm(norm)
            panel.series.append((c.label, y + [Double](repeating: .nan, count: max(0, panel.x.count - y.count)), true))
        }
        return ViewResult(text: DepthExperiment.table(reports, norm: norm), warnings: warnings, figure: fig, files: files,
                          summary: summary, hover: .lines([panel]))
    }
}
