import ArgumentParser
import Dynamics
import Foundation
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

    func run() throws {
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
        if let out { try FigureFile.check(out) }
        print(ActivationCharts.table(acts))
        if let out {
            try FigureFile.save(ActivationCharts.figure(acts, range: range, size: chart.size), to: out, title: title)
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
    @Option(help: "Norm: spectral or frobenius.") var norm: NormKind = .spectral
    @Option(name: .customLong("model"), help: ArgumentHelp("Analyse this gradlab.model/1 file instead.", valueName: "file"))
    var modelPath: String?
    @Option(help: ArgumentHelp("Chart file: .png, .svg or .pdf.", valueName: "file")) var out: String?
    @Option(help: ArgumentHelp("Write the grid as CSV (t, k, log10 norm).", valueName: "file")) var csv: String?
    @Option(help: ArgumentHelp("Write the grid as JSON (row t holds k = 0…t; −∞ as null).", valueName: "file")) var json: String?
    @Option(help: ArgumentHelp("Chart title (replaces the built-in one).", valueName: "text")) var title: String?
    @OptionGroup var chart: ChartOptions

    func run() throws {
        var o = CurvesOptions()
        o.cells = [cell]
        try model.apply(to: &o, allowList: false)
        try o.validate()
        // All pairs cost O(T²) products: keep it to what a heatmap can show.
        try Check.atMost(o.steps, 2000, "--steps", "a heatmap needs T² products; use `curves` for long horizons")
        if modelPath == nil { try Budget.admit(CostModel.heatmap(o)) }
        try chart.size.validate()
        try OutputFile.checkDistinct([("--out", out), ("--csv", csv), ("--json", json), ("--model", modelPath)].compactMap { o, p in p.map { (o, $0) } })
        if let out { try FigureFile.check(out) }
        for p in [csv, json].compactMap({ $0 }) { try OutputFile.checkWritable(p) }
        let m = try modelPath.map { try ModelFile.load($0) } ?? RandomModels.make(o.spec(cell))
        // A model file's T is its own: the T² pairs are budgeted like the --steps of a random model.
        if let modelPath { try Budget.admit(CostModel.heatmap(CostModel.layer(m)), origin: .file(modelPath)) }
        let traj: Trajectory
        do { traj = try Trajectory(model: m) } catch { throw GradLabError.data("\(error)") }
        if let step = traj.overflowStep {
            Console.warning("the forward pass overflowed at step \(step); showing steps 0…\(step - 1)")
        }
        let grid = JacobianProducts.allPairs(traj, norm: norm)
        let t = grid.count - 1
        print("\(m.kind.rawValue): \(t + 1)×\(t + 1) pairs; log10‖∂h_\(t)/∂h_0‖ = \(Format.fixed(grid[t][0], 2)), log10‖∂h_\(t)/∂h_\(t - 1)‖ = \(Format.fixed(t > 0 ? grid[t][t - 1] : 0, 2))")
        if let csv {
            var lines = ["t,k,log10_norm"]
            for (ti, row) in grid.enumerated() { for k in 0...ti { lines.append("\(ti),\(k),\(Format.exact(row[k]))") } }
            try OutputFile.write(lines.joined(separator: "\n") + "\n", to: csv)
            print("wrote \(csv)")
        }
        if let json {
            var doc: [String: Any] = ["cell": m.kind.rawValue, "hidden_size": m.parameters.hiddenSize, "norm": norm.rawValue,
                                      "log10_norm": grid.enumerated().map { ti, row in row.prefix(ti + 1).map(Format.json) }]
            doc["parameters"] = modelPath.map { ["model": $0] as [String: Any] }
                ?? ["steps": o.steps, "gain": o.gain, "seed": o.seed, "input": o.input, "input_scale": o.inputScale,
                    "init": o.initialization.rawValue, "forget_bias": o.forgetBias]
            let data = try JSONSerialization.data(withJSONObject: doc, options: [.sortedKeys])
            try OutputFile.write(String(decoding: data, as: UTF8.self) + "\n", to: json)
            print("wrote \(json)")
        }
        if let out {
            let label = modelPath == nil ? "\(m.kind.rawValue) RNN (n = \(m.parameters.hiddenSize), gain \(Format.short(o.gain)))" : m.kind.rawValue
            try FigureFile.save(HeatmapChart.figure(grid, label: label, size: chart.size), to: out, title: title)
            print("wrote \(out)")
        }
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

    func run() throws {
        guard forgetBiases.values.count <= 4 else { throw GradLabError.usage("--forget-biases takes at most 4 values (one panel each)") }
        for b in forgetBiases.values { try Check.finite(b, "--forget-biases") }
        var probe = CurvesOptions()
        try model.apply(to: &probe, allowList: false)
        probe.cells = [.lstm]
        try probe.validate()
        try Budget.admit(CostModel.curves(probe).times(Double(forgetBiases.values.count)))
        try OutputFile.checkDistinct([("--out", out), ("--csv", csv)].compactMap { o, p in p.map { (o, $0) } })
        try chart.size.validate()
        if let out { try FigureFile.check(out) }
        if let csv { try OutputFile.checkWritable(csv) }
        var results: [CellCurves] = []
        for b in forgetBiases.values {
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
        for (b, r) in zip(forgetBiases.values, results) {
            let c = r.curves
            let meanF = 1 / (1 + exp(-b))
            table.add([Format.short(b), "≈\(Format.fixed(meanF, 2))",
                       Format.fixed(pow(10, CurvesExperiment.tailSlope(c.log10SpectralCarousel!)), 3),
                       Format.fixed(pow(10, CurvesExperiment.tailSlope(c.log10SpectralCell!)), 3),
                       Format.fixed(pow(10, CurvesExperiment.tailSlope(c.log10Spectral)), 3),
                       CurvesExperiment.sci(c.log10SpectralCarousel!.last!),
                       CurvesExperiment.sci(c.log10SpectralCell!.last!), CurvesExperiment.sci(c.log10Spectral.last!)])
        }
        print(table.render())
        print("∏f = ‖∏_j diag(f_j)‖₂, the direct path c→c (the constant error carousel): never above 1")
        print("all into c = ‖∂c_T/∂c_k‖₂, every path into c, including those through h: can exceed 1")
        print("resting f = σ(bias): the forget gate's value when its input and recurrent drive are zero")
        if let csv { try OutputFile.write(CurvesExperiment.csv(results), to: csv); print("wrote \(csv)") }
        if let out {
            let titles = forgetBiases.values.map { "forget-gate bias \(Format.short($0)) (resting f ≈ \(Format.fixed(1 / (1 + exp(-$0)), 2)))" }
            try FigureFile.save(CurveCharts.lstmPathsFigure(results, titles: titles, size: chart.size), to: out, title: title)
            print("wrote \(out)")
        }
    }
}
