import ArgumentParser
import Dynamics
import Foundation
import Explorer
import GradLab

struct CompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Activations and their derivatives side by side (sup σ′ = 1/4, sup tanh′ = 1, ReLU′ ∈ {0, 1}).")

    @Option(help: ArgumentHelp("Comma-separated activations: sigmoid, tanh, relu, linear.", valueName: "list"))
    var activations = "sigmoid,tanh,relu"
    @Option(parsing: .unconditional, help: "Draw a ∈ [−range, range].") var range = 5.0
    @Option(help: ArgumentHelp("Chart file: .png, .svg or .pdf.", valueName: "file")) var out: String?
    @Option(help: ArgumentHelp("Chart title (replaces the built-in one).", valueName: "text")) var title: String?
    @OptionGroup var chart: ChartOptions

    func activationList() throws -> [Activation] {
        var acts: [Activation] = []
        for name in activations.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces).lowercased() }) {
            guard let a = Activation(rawValue: name) else {
                throw GradLabError.usage("unknown activation '\(name)' in --activations (expected: sigmoid, tanh, relu, linear)")
            }
            if !acts.contains(a) { acts.append(a) }
        }
        guard !acts.isEmpty else { throw GradLabError.usage("--activations must name at least one activation") }
        try Check.positive(range, "--range")
        // Tick labels are whole multiples of the step: an axis to 1e308 has no sensible ticks (nor activations).
        guard range <= 1e6 else { throw GradLabError.usage("--range must be at most 1e6 (got \(Format.magnitude(range)))") }
        try chart.size.validate()
        return acts
    }

    /// The table and the chart, in memory (the explorer's activations view).
    func result(_ acts: [Activation]) -> ViewResult {
        let fig = ActivationCharts.figure(acts, range: range, size: chart.size)
        if let title { FigureFile.retitle(fig, title) }
        let x = (0...400).map { -range + 2 * range * Double($0) / 400 }
        let values = Hover.LinePanel(panel: 0, xName: "a", x: x, series: acts.map { a in (a.rawValue, x.map(a.value), false) })
        let slopes = Hover.LinePanel(panel: 1, xName: "a", x: x, series: acts.map { a in ("\(a.rawValue)′", x.map(a.derivative), false) })
        let summary: [[(String, String)]] = acts.map { a in [("activation", a.rawValue), ("sup |f′|", a.derivativeSup == 0.25 ? "1/4" : Format.short(a.derivativeSup))] }
        return ViewResult(text: ActivationCharts.table(acts), figure: fig, summary: summary, hover: .lines([values, slopes]))
    }

    func run() throws {
        let acts = try activationList()
        if let out { try FigureFile.check(out) }
        let r = result(acts)
        print(r.text)
        if let out {
            try FigureFile.save(r.figure, to: out)
            print("wrote \(out)")
        }
    }
}

struct HeatmapCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "heatmap",
        abstract: "log10‖∂h_t/∂h_k‖ over every pair k ≤ t, as a heatmap.")

    @Option(name: [.customLong("cell"), .customLong("cells")], help: "Cell (one).") var cell: CellKind = .tanh
    @OptionGroup var model: ModelOptions
    @OptionGroup var formOption: FormOption
    @OptionGroup var layersOption: LayersOption
    @Option(help: "Norm: spectral or frobenius.") var norm: NormKind = .spectral
    @Option(name: .customLong("model"), help: ArgumentHelp("Analyse this gradlab.model/1 file instead.", valueName: "file"))
    var modelPath: String?
    @Option(help: ArgumentHelp("Chart file: .png, .svg or .pdf.", valueName: "file")) var out: String?
    @Option(help: ArgumentHelp("Write the grid as CSV (t, k, log10 norm).", valueName: "file")) var csv: String?
    @Option(help: ArgumentHelp("Write the grid as JSON (row t holds k = 0…t; −∞ as null).", valueName: "file")) var json: String?
    @Option(help: ArgumentHelp("Chart title (replaces the built-in one).", valueName: "text")) var title: String?
    @OptionGroup var chart: ChartOptions

    /// Validated options, admitted by the budget.
    func admitted() throws -> CurvesOptions {
        var o = CurvesOptions()
        o.cells = [cell]
        try model.apply(to: &o, allowList: false)
        o.form = formOption.form
        o.layers = layersOption.layers
        if modelPath != nil && o.form != .fOfSum {
            throw GradLabError.usage("--form applies to random models; a model file states its own form (\"form\": \"w-of-f\")")
        }
        if modelPath != nil && o.layers > 1 {
            throw GradLabError.usage("--layers builds random stacks and does not apply to --model files (analyse a saved stack with gradlab import)")
        }
        try o.validate()
        if o.layers > 1 {
            // The depth × lag grid costs T·L products: one column per lag.
            try Check.atMost(o.steps, 20_000, "--steps", "a depth × lag heatmap has one column per lag; use `curves --layers` for long horizons")
            try Budget.admit(CostModel.stackedHeatmap(o, cell))
        } else {
            // All pairs cost O(T²) products: keep it to what a heatmap can show.
            try Check.atMost(o.steps, 2000, "--steps", "a heatmap needs T² products; use `curves` for long horizons")
            if modelPath == nil { try Budget.admit(CostModel.heatmap(o)) }
        }
        try chart.size.validate()
        return o
    }

    /// Everything the command prints and writes, in memory (the explorer's heatmap view).
    /// `parallel`: the start steps on every core (the explorer, with OpenBLAS single-threaded); same numbers.
    func result(_ o: CurvesOptions, model m: Model, parallel: Bool = false, stop: @escaping () -> Bool = { false }) throws -> ViewResult {
        let traj: Trajectory
        do { traj = try Trajectory(model: m) } catch { throw GradLabError.data("\(error)") }
        var warnings: [String] = []
        if let step = traj.overflowStep {
            warnings.append("the forward pass overflowed at step \(step); showing steps 0…\(step - 1)")
        }
        let grid = JacobianProducts.allPairs(traj, norm: norm, parallel: parallel, shouldStop: stop)
        if stop() { throw ExplorerCancelled() }
        let t = grid.count - 1
        let text = "\(m.kind.rawValue): \(t + 1)×\(t + 1) pairs; log10‖∂h_\(t)/∂h_0‖ = \(Format.fixed(grid[t][0], 2)), log10‖∂h_\(t)/∂h_\(t - 1)‖ = \(Format.fixed(t > 0 ? grid[t][t - 1] : 0, 2))"
        let modelPath = self.modelPath
        let files: [String: () throws -> [UInt8]] = [
            "csv": {
                var lines = ["t,k,log10_norm"]
                for (ti, row) in grid.enumerated() { for k in 0...ti { lines.append("\(ti),\(k),\(Format.exact(row[k]))") } }
                return Array((lines.joined(separator: "\n") + "\n").utf8)
            },
            "json": { [norm] in
                var doc: [String: Any] = ["cell": m.kind.rawValue, "hidden_size": m.parameters.hiddenSize, "norm": norm.rawValue,
                                          "log10_norm": grid.enumerated().map { ti, row in row.prefix(ti + 1).map(Format.json) }]
                doc["parameters"] = modelPath.map { ["model": $0] as [String: Any] }
                    ?? ["steps": o.steps, "gain": o.gain, "seed": o.seed, "input": o.input, "input_scale": o.inputScale,
                        "init": o.initialization.rawValue, "forget_bias": o.forgetBias]
                let data = try JSONSerialization.data(withJSONObject: doc, options: [.sortedKeys])
                return Array((String(decoding: data, as: UTF8.self) + "\n").utf8)
            },
        ]
        let form = m.parameters.form == .wOfF ? ", w-of-f" : ""
        let label = modelPath == nil ? "\(m.kind.rawValue) RNN (n = \(m.parameters.hiddenSize), gain \(Format.short(o.gain))\(form))" : m.kind.rawValue + form
        let fig = HeatmapChart.figure(grid, label: label, size: chart.size)
        if let title { FigureFile.retitle(fig, title) }
        let masked = grid.enumerated().map { ti, row in row.enumerated().map { k, v in k <= ti ? v : .nan } }
        let summary: [[(String, String)]] = [[("cell", m.kind.rawValue), ("pairs", "\(t + 1)×\(t + 1)"),
                                              ("log10‖∂h_T/∂h_0‖", Format.fixed(grid[t][0], 2)),
                                              ("log10‖∂h_T/∂h_T−1‖", Format.fixed(t > 0 ? grid[t][t - 1] : 0, 2))]]
        return ViewResult(text: text, warnings: warnings, figure: fig, files: files, summary: summary,
                          hover: .grid(panel: 0, values: masked, xName: "k", yName: "t", valueName: "log10 norm"))
    }

    func run() throws {
        let o = try admitted()
        try OutputFile.checkDistinct([("--out", out), ("--csv", csv), ("--json", json), ("--model", modelPath)].compactMap { o, p in p.map { (o, $0) } })
        if let out { try FigureFile.check(out) }
        for p in [csv, json].compactMap({ $0 }) { try OutputFile.checkWritable(p) }
        if o.layers > 1 { return try runStack(o) }
        let m = try modelPath.map { try ModelFile.load($0) } ?? RandomModels.make(o.spec(cell))
        // A model file's T is its own: the T² pairs are budgeted like the --steps of a random model.
        if let modelPath { try Budget.admit(CostModel.heatmap(CostModel.layer(m)), origin: .file(modelPath)) }
        let r = try result(o, model: m)
        for w in r.warnings { Console.warning(w) }
        print(r.text)
        if let csv { try OutputFile.write(try r.files["csv"]!(), to: csv); print("wrote \(csv)") }
        if let json { try OutputFile.write(try r.files["json"]!(), to: json); print("wrote \(json)") }
        if let out { try FigureFile.save(r.figure, to: out); print("wrote \(out)") }
    }
}

extension HeatmapCommand {
    /// `--layers L > 1`: the depth × lag grid log10‖∂h^top_T/∂h^l_{T−lag}‖ of one random stack, as a heatmap.
    func runStack(_ o: CurvesOptions) throws {
        let r = try stackResult(o)
        for w in r.warnings { Console.warning(w) }
        print(r.text)
        if let csv { try OutputFile.write(try r.files["csv"]!(), to: csv); print("wrote \(csv)") }
        if let json { try OutputFile.write(try r.files["json"]!(), to: json); print("wrote \(json)") }
        if let out { try FigureFile.save(r.figure, to: out); print("wrote \(out)") }
    }

    /// `--layers L > 1` in memory (the explorer's heatmap view with layers is this).
    func stackResult(_ o: CurvesOptions, stop: @escaping () -> Bool = { false }) throws -> ViewResult {
        let stack = RandomModels.makeStack(o.spec(cell), layers: o.layers)
        let label = "\(cell.rawValue) RNN (n = \(o.hidden), gain \(Format.short(o.gain)))"
        if stop() { throw ExplorerCancelled() }
        let r = try DepthExperiment.analyse(stack, label: label, curves: false)
        let values = norm == .spectral ? r.grid.log10Spectral : r.grid.log10Frobenius
        let t = r.grid.endStep
        let text = "\(cell.rawValue), \(o.layers) layers: log10‖∂h^top_\(t)/∂h^l_0‖ = " + values.indices.map { "\(Format.fixed(values[$0][t], 2)) (layer \($0))" }.joined(separator: ", ")
        let csv: () throws -> [UInt8] = {
            var lines = ["layer,lag,log10_norm"]
            for (l, row) in values.enumerated() { for (lag, v) in row.enumerated() { lines.append("\(l),\(lag),\(Format.exact(v))") } }
            return Array((lines.joined(separator: "\n") + "\n").utf8)
        }
        let json: () throws -> [UInt8] = {
            let doc: [String: Any] = ["cell": cell.rawValue, "hidden_size": o.hidden, "layers": o.layers, "norm": norm.rawValue, "t": t,
                                      "log10_norm": values.map { $0.map(Format.json) },
                                      "parameters": ["steps": o.steps, "gain": o.gain, "seed": o.seed, "input": o.input, "input_scale": o.inputScale,
                                                     "init": o.initialization.rawValue, "forget_bias": o.forgetBias]]
            let data = try JSONSerialization.data(withJSONObject: doc, options: [.sortedKeys])
            return Array((String(decoding: data, as: UTF8.self) + "\n").utf8)
        }
        let fig = DepthExperiment.heatmap(r, norm: norm, size: chart.size)
        if let title { FigureFile.retitle(fig, title) }
        let summary: [[(String, String)]] = [[("cell", cell.rawValue), ("layers", "\(o.layers)"),
                                              ("lag T, bottom layer", "10^" + Format.fixed(values[0][t], 2)),
                                              ("lag T, top layer", "10^" + Format.fixed(values[values.count - 1][t], 2))]]
        return ViewResult(text: text, warnings: r.overflowWarning.map { [$0] } ?? [], figure: fig, files: ["csv": csv, "json": json],
                          summary: summary, hover: .grid(panel: 0, values: values, xName: "lag", yName: "layer", valueName: "log10 norm"))
    }
}

struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Render the default gallery into plots/ and say what each chart shows.")

    @Option(help: ArgumentHelp("Folder for the gallery.", valueName: "dir")) var dir = "plots"
    @OptionGroup var chart: ChartOptions

    func run() throws {
        var isDir: ObjCBool = false
        if !FileManager.default.fileExists(atPath: dir, isDirectory: &isDir) {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        } else if !isDir.boolValue {
            throw GradLabError.cannotCreate("--dir \(dir) is a file, not a folder")
        }
        let start = Date()
        let items = try Gallery.render(into: dir, size: chart.size)
        for item in items { print("\(item.file): \(item.summary)") }
        print("\(items.count) charts in \(dir)/ (\(Format.fixed(Date().timeIntervalSince(start), 2)) s)")
    }
}

struct CarouselCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "carousel",
        abstract: "LSTM: the carousel ∏ diag(f_j), all paths into c (∂c_t/∂c_k), h→h and the full state, for several forget-gate biases.")

    // Only the options an LSTM uses: --forget-bias is --forget-biases here, --skip and --leak-range do not apply.
    @Option(name: [.customLong("forget-biases"), .customLong("forget-bias")], parsing: .unconditional,
            help: ArgumentHelp("Forget-gate biases, one panel each, e.g. 0,1,3 (at most 4).", valueName: "list"))
    var forgetBiases = NumberList(argument: "0,1")!
    @OptionGroup var model: BaseModelOptions
    @Option(help: ArgumentHelp("Chart file: .png, .svg or .pdf.", valueName: "file")) var out: String?
    @Option(help: ArgumentHelp("Write the curves as CSV.", valueName: "file")) var csv: String?
    @Option(help: ArgumentHelp("Chart title (replaces the built-in one).", valueName: "text")) var title: String?
    @OptionGroup var chart: ChartOptions

    /// Validated options, admitted by the budget.
    func admitted() throws {
        guard forgetBiases.values.count <= 4 else { throw GradLabError.usage("--forget-biases takes at most 4 values (one panel each)") }
        for b in forgetBiases.values { try Check.finite(b, "--forget-biases") }
        var probe = CurvesOptions()
        try model.apply(to: &probe, allowList: false)
        probe.cells = [.lstm]
        try probe.validate()
        try Budget.admit(CostModel.curves(probe).times(Double(forgetBiases.values.count)))
        try chart.size.validate()
    }

    /// The table, the chart and the CSV, in memory (the explorer's LSTM-paths view).
    func result(stop: () -> Bool = { false }) throws -> ViewResult {
        var results: [CellCurves] = []
        for b in forgetBiases.values {
            if stop() { throw ExplorerCancelled() }
            var o = CurvesOptions()
            try model.apply(to: &o, allowList: false)
            o.cells = [.lstm]
            o.forgetBias = b
            let r = try CurvesExperiment.run(o)[0]
            var labelled = r
            labelled.label = "lstm fb=\(Format.short(b))"
            results.append(labelled)
        }
        var table = TextTable(["forget bias", "resting f", "∏f ×/step", "all into c ×/step", "h→h ×/step",
                               "‖∏f‖ at T", "‖∂c_T/∂c_0‖", "‖∂h_T/∂h_0‖"])
        var summary: [[(String, String)]] = []
        for (b, r) in zip(forgetBiases.values, results) {
            let c = r.curves
            let meanF = 1 / (1 + exp(-b))
            let row = [Format.short(b), "≈\(Format.fixed(meanF, 2))",
                       Format.fixed(pow(10, CurvesExperiment.tailSlope(c.log10SpectralCarousel!)), 3),
                       Format.fixed(pow(10, CurvesExperiment.tailSlope(c.log10SpectralCell!)), 3),
                       Format.fixed(pow(10, CurvesExperiment.tailSlope(c.log10Spectral)), 3),
                       CurvesExperiment.sci(c.log10SpectralCarousel!.last!),
                       CurvesExperiment.sci(c.log10SpectralCell!.last!), CurvesExperiment.sci(c.log10Spectral.last!)]
            table.add(row)
            summary.append(zip(["forget bias", "resting f", "∏f ×/step", "all into c ×/step", "h→h ×/step"], row).map { ($0, $1) })
        }
        let text = [table.render(),
                    "∏f = ‖∏_j diag(f_j)‖₂, the direct path c→c (the constant error carousel): never above 1",
                    "all into c = ‖∂c_T/∂c_k‖₂, every path into c, including those through h: can exceed 1",
                    "resting f = σ(bias): the forget gate's value when its input and recurrent drive are zero"].joined(separator: "\n")
        let titles = forgetBiases.values.map { "forget-gate bias \(Format.short($0)) (resting f ≈ \(Format.fixed(1 / (1 + exp(-$0)), 2)))" }
        let fig = CurveCharts.lstmPathsFigure(results, titles: titles, size: chart.size)
        if let title { FigureFile.retitle(fig, title) }
        let panels = results.enumerated().map { i, r -> Hover.LinePanel in
            let c = r.curves
            var series: [(name: String, values: [Double], log10: Bool)] = []
            if let v = c.log10SpectralCarousel { series.append(("∏f (c→c direct)", v, true)) }
            if let v = c.log10SpectralCell { series.append(("all into c", v, true)) }
            series.append(("h→h", c.log10Spectral, true))
            if let v = c.log10SpectralState { series.append(("full state", v, true)) }
            return Hover.LinePanel(panel: i, xName: "lag", x: c.lags.map(Double.init), series: series)
        }
        return ViewResult(text: text, warnings: results.compactMap { $0.warning() }, figure: fig,
                          files: ["csv": { Array(CurvesExperiment.csv(results).utf8) }], summary: summary, hover: .lines(panels))
    }

    func run() throws {
        try admitted()
        try OutputFile.checkDistinct([("--out", out), ("--csv", csv)].compactMap { o, p in p.map { (o, $0) } })
        if let out { try FigureFile.check(out) }
        if let csv { try OutputFile.checkWritable(csv) }
        let r = try result()
        print(r.text)
        if let csv { try OutputFile.write(try r.files["csv"]!(), to: csv); print("wrote \(csv)") }
        if let out {
            try FigureFile.save(r.figure, to: out)
            print("wrote \(out)")
        }
    }
}
