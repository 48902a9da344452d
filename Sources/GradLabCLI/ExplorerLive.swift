import ArgumentParser
import Charts
import Dynamics
import Explorer
import Foundation
import GradLab
import Linear

/// The explorer's long jobs (live training, the streamed sweep) and uploaded models, each through the command
/// it stands for: a query is parsed by `gradlab train`'s or `gradlab sweep`'s own options, an upload is read by
/// `gradlab import`'s reader, so the checks, budgets and numbers are the command line's.
extension CommandBackend {
    static let trainOptions = ["cell", "task", "steps", "hidden", "iters", "batch", "optimizer", "lr", "momentum", "clip-norm", "clip-value",
                               "truncate", "seed", "eval-every", "eval-size", "forget-bias", "copy-length", "symbols", "target-loss", "snapshots", "layers"]
    static let sweepOptions = ["cells", "gain", "seeds", "seed", "hidden", "input", "steps", "warmup", "init", "forget-bias", "input-scale", "units"]

    public var jobs: [ViewSpec] {
        [
            ViewSpec(name: "train", title: "Live training", options: Self.trainOptions, flags: ["stop-at-target"],
                     defaults: Self.defaults(TrainCommand.self).merging(["steps": "50", "hidden": "64", "lr": "0.01", "iters": "1000"]) { $1 },
                     files: [:]),
            ViewSpec(name: "sweep", title: "Phase diagram", options: Self.sweepOptions, flags: [],
                     defaults: Self.defaults(SweepCommand.self), files: [:]),
        ]
    }

    public func prepareJob(kind: String, arguments: [String], maxSeconds: Double) throws -> PreparedJob {
        let budget = try Budget.active()
        let limit = Budget(maxBytes: budget.maxBytes, maxMinutes: min(budget.maxOperations / Budget.operationsPerSecond, maxSeconds) / 60)
        let command = "gradlab \(kind) " + Self.display(arguments)
        switch kind {
        case "train":
            let c = try Self.parse(TrainCommand.self, arguments)
            let o = try c.options()
            try limit.check(CostModel.training(o))
            return Self.trainJob(o, command: command)
        case "sweep":
            let c = try Self.parse(SweepCommand.self, arguments)
            let o = try c.options()
            try limit.check(CostModel.sweep(o))
            return Self.sweepJob(o, decades: c.units == .decades, size: c.chart.size, title: c.title, command: command)
        default:
            throw GradLabError.usage("no such job '\(kind)' (train, sweep)")
        }
    }

    /// `--a=1 --b=x y` → `--a 1 --b 'x y'` (as a person would type it).
    static func display(_ arguments: [String]) -> String {
        arguments.map { a -> String in
            guard a.hasPrefix("--"), let eq = a.firstIndex(of: "=") else { return a }
            return String(a[..<eq]) + " " + ExplorerApp.shellQuote(String(a[a.index(after: eq)...]))
        }.joined(separator: " ")
    }

    // MARK: training

    static func trainJob(_ o: TrainOptions, command: String) -> PreparedJob {
        let task = o.makeTask()
        let label = o.cell.rawValue
        var info: [(String, JSON)] = [
            ("label", .string(label)), ("task", .string(o.task.rawValue)),
            ("loss", .string(task.loss == .mse ? "mse" : "cross-entropy")),
            ("baseline", .num(task.baselineLoss)), ("baseline_label", .string(task.baselineLabel)),
            ("iterations", .int(o.iterations)), ("steps", .int(o.steps)), ("hidden", .int(o.hidden)), ("layers", .int(o.layers)),
            ("truncate", o.truncation.map { .int($0) } ?? .null), ("target", .num(o.effectiveTarget)),
            ("clipping", .string(o.clipping == .none ? "none" : o.clipping.description)),
            ("eval_every", .int(o.evalEvery)), ("snapshots", .int(o.snapshots)), ("summary", .string(o.summary)),
        ]
        info.append(("csv_header", .string(TrainExperiment.csvHeader(layers: o.layers))))
        return PreparedJob(command: command + " --csv train.csv", info: info) { control in
            // Rows are sent in batches, at most ten a second, and before a pause and the end.
            var rows: [JSON] = [], lines: [JSON] = []
            var lastSent = DispatchTime.now().uptimeNanoseconds
            var iteration = 0
            let start = DispatchTime.now().uptimeNanoseconds
            func flush() {
                guard !rows.isEmpty else { return }
                control.emit("progress", .object([("rows", .array(rows)), ("csv", .array(lines)), ("iteration", .int(iteration)),
                                                  ("total", .int(o.iterations)),
                                                  ("seconds", .num(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9))]))
                rows.removeAll(keepingCapacity: true)
                lines.removeAll(keepingCapacity: true)
                lastSent = DispatchTime.now().uptimeNanoseconds
            }
            func due() -> Bool { DispatchTime.now().uptimeNanoseconds - lastSent > 100_000_000 }
            var hooks = TrainHooks()
            hooks.started = { e0 in
                rows.append(.array([.int(0), .null, .num(e0), .null, .null]))
                lines.append(.string(TrainExperiment.csvInitialRow(label: label, evalLoss: e0, layers: o.layers)))
                flush()
            }
            hooks.record = { r in
                iteration = r.iteration
                rows.append(.array([.int(r.iteration), .num(r.loss), r.evalLoss.map { .num($0) } ?? .null, .num(r.gradNorm), .num(r.clippedNorm)]))
                lines.append(.string(TrainExperiment.csvRow(label: label, r)))
                if due() { flush() }
            }
            hooks.snapshot = { s in
                flush()
                control.emit("snapshot", .object([("iteration", .int(s.iteration)), ("norms", .numbers(s.norms)),
                                                  ("cut_off_share", s.cutOffShare.map { .num($0) } ?? .null)]))
            }
            hooks.shouldStop = {
                if control.pauseRequested { flush() }
                return control.checkpoint()
            }
            var r = try TrainExperiment.run(o, hooks: hooks)
            flush()
            // A stopped run reserved room for every iteration it asked for: keep only those it ran.
            r.records = r.records.map { $0 }
            let size = ChartSize()
            func chart(_ name: String, _ format: OutputFormat, _ make: @escaping () -> Figure) -> (String, JobFile) {
                let types: [OutputFormat: String] = [.png: "image/png", .svg: "image/svg+xml", .pdf: "application/pdf"]
                return ("\(name).\(format.rawValue)", JobFile(contentType: types[format]!, filename: "train-\(label)-\(name).\(format.rawValue)") {
                    try make().data(format)
                })
            }
            var files: [String: JobFile] = [
                "csv": JobFile(contentType: "text/csv; charset=utf-8", filename: "train-\(label).csv") { Array(TrainExperiment.csv([r]).utf8) },
            ]
            for format in [OutputFormat.png, .svg, .pdf] {
                for (name, make) in [("loss", { TrainCharts.lossFigure(r, size: size) }), ("grad-norm", { TrainCharts.gradNormFigure(r, size: size) })] {
                    let (k, f) = chart(name, format, make)
                    files[k] = f
                }
                if !r.snapshots.isEmpty {
                    let (k, f) = chart("contributions", format) { TrainCharts.contributionsFigure(r, size: size) }
                    files[k] = f
                }
            }
            if !r.snapshots.isEmpty {
                files["contrib-csv"] = JobFile(contentType: "text/csv; charset=utf-8", filename: "train-\(label)-contributions.csv") {
                    Array(TrainExperiment.contributionsCSV([r]).utf8)
                }
            }
            return JobOutcome(end: [
                ("report", .string(TrainExperiment.report(r))), ("iterations", .int(r.records.count)), ("seconds", .num(r.seconds)),
                ("diverged_at", r.divergedAt.map { .int($0) } ?? .null), ("target_reached", r.targetReached.map { .int($0.iteration) } ?? .null),
                ("final_eval_loss", .num(r.finalEvalLoss)),
            ], files: files)
        }
    }

    // MARK: the phase diagram

    static func sweepJob(_ o: SweepOptions, decades: Bool, size: ChartSize, title: String?, command: String) -> PreparedJob {
        let unit = decades ? 1 / log(10.0) : 1.0
        let info: [(String, JSON)] = [
            ("cells", .strings(o.cells.map(\.rawValue))), ("gains", .numbers(o.gains.values)), ("seeds", .int(o.seeds)),
            ("total", .int(o.pointCount)), ("units", .string(decades ? "decades" : "nats")), ("steps", .int(o.steps)), ("hidden", .int(o.hidden)),
        ]
        return PreparedJob(command: command + " --csv sweep.csv", info: info) { control in
            var pending: [JSON] = []
            var lastSent = DispatchTime.now().uptimeNanoseconds
            var done = 0
            func flush() {
                guard !pending.isEmpty else { return }
                control.emit("points", .object([("points", .array(pending)), ("done", .int(done)), ("total", .int(o.pointCount))]))
                pending.removeAll(keepingCapacity: true)
                lastSent = DispatchTime.now().uptimeNanoseconds
            }
            let lock = NSLock()
            let result: SweepResult
            do {
                // Both cores (the sweep's own workers); OpenBLAS stays single-threaded, as the server keeps it.
                result = try SweepExperiment.run(o, point: { p, d, _ in
                    // Called under the sweep's lock, in finishing order.
                    lock.lock(); defer { lock.unlock() }
                    done = d
                    let kind = p.exponent == .infinity ? "overflow" : p.exponent == -.infinity ? "zero" : "finite"
                    pending.append(.object([("cell", .string(p.cell.rawValue)), ("gain", .num(p.gain)), ("seed", .int(p.seedIndex)),
                                            ("exponent", .num(p.exponent * unit)), ("kind", .string(kind))]))
                    if DispatchTime.now().uptimeNanoseconds - lastSent > 100_000_000 || d == o.pointCount { flush() }
                }, stop: { control.isStopping }, singleThreadedBLAS: false)
            } catch is SweepCancelled {
                lock.lock(); flush(); lock.unlock()
                return JobOutcome(end: [("stats", .array([])), ("edges", .array([])), ("done", .int(done))])
            }
            lock.lock(); flush(); lock.unlock()
            let stats: [JSON] = result.stats.map { s in
                .object([("cell", .string(s.cell.rawValue)), ("gain", .num(s.gain)), ("mean", .num(s.mean * unit)), ("std", .num(s.std * unit)),
                         ("min", .num(s.min * unit)), ("max", .num(s.max * unit)), ("zero", .int(s.zeroCount)), ("overflow", .int(s.overflowCount))])
            }
            let edges: [JSON] = zip(result.edges, result.edgeIntervals).map { e, i in
                .object([("cell", .string(e.cell.rawValue)), ("gain", e.gain.map { .num($0) } ?? .null),
                         ("lower", i.lower.map { .num($0) } ?? .null), ("upper", i.upper.map { .num($0) } ?? .null)])
            }
            var files: [String: JobFile] = [
                "csv": JobFile(contentType: "text/csv; charset=utf-8", filename: "sweep.csv") { Array(SweepExperiment.csv(result).utf8) },
                "json": JobFile(contentType: "application/json", filename: "sweep.json") { Array(try SweepExperiment.json(result)) },
            ]
            let types: [OutputFormat: String] = [.png: "image/png", .svg: "image/svg+xml", .pdf: "application/pdf"]
            for format in [OutputFormat.png, .svg, .pdf] {
                files["chart.\(format.rawValue)"] = JobFile(contentType: types[format]!, filename: "sweep.\(format.rawValue)") {
                    let fig = SweepExperiment.figure(result, decades: decades, size: size)
                    if let title { FigureFile.retitle(fig, title) }
                    return try fig.data(format)
                }
            }
            return JobOutcome(end: [("stats", .array(stats)), ("edges", .array(edges)), ("done", .int(done)),
                                    ("table", .string(SweepExperiment.table(result, decades: decades)))], files: files)
        }
    }

    // MARK: uploaded models

    public var uploadOptions: [String] { ["cell", "prefix", "steps", "seed", "input-scale"] }

    /// What the backend keeps of an upload: the stack as `gradlab import` reads it, and each layer as the
    /// gradlab.model/1 model `import --save-model` would write (the layer with the inputs that drove it).
    struct Upload {
        var name: String
        var imported: WeightImport.Imported
        var layers: [Model]
    }

    /// What one upload may claim while it is read and analysed: a share of the machine, not all of it (the
    /// server reads at most one upload per core at once, and keeps 16).
    static let uploadBudget = Budget(maxBytes: 512 * 1_048_576, maxMinutes: 1)

    public func parseUpload(name: String, bytes: [UInt8], arguments: [String]) throws -> UploadedModel {
        try Budget.within(Self.uploadBudget) { try parseUploadWithinBudget(name: name, bytes: bytes, arguments: arguments) }
    }

    func parseUploadWithinBudget(name: String, bytes: [UInt8], arguments: [String]) throws -> UploadedModel {
        let c = try Self.parse(ImportCommand.self, [name] + arguments)
        let drive = DriveOptions(steps: c.steps, seed: c.seed, inputScale: c.inputScale)
        try Budget.active().check(CostEstimate([.init("the file itself", bytes: Double(bytes.count), advice: "use a smaller file")]), origin: .file(name))
        let imported = try WeightImport.load(bytes: bytes, name: name, cell: c.cell?.kind, prefix: c.prefix, drive: drive)
        try Budget.active().check(CostModel.importAnalysis(imported.model, exponents: c.exponents), origin: .file(name))
        let run: StackedTrajectory
        do { run = try StackedTrajectory(model: imported.model) } catch { throw GradLabError.data("\(name): \(error)") }
        guard run.steps > 0 else { throw GradLabError.data("\(name): the forward pass overflowed at its first step") }
        let upload = Upload(name: name, imported: imported, layers: run.models)
        let summary: [(String, JSON)] = [
            ("depth", .int(imported.model.depth)), ("layers", .strings(imported.layerSummary)),
            ("cells", .strings(run.models.map(\.kind.rawValue))),
            ("hidden", .array(run.models.map { .int($0.parameters.hiddenSize) })),
            ("input_source", .string(imported.inputSource)), ("steps", .int(run.steps)),
        ]
        let weights = run.models.reduce(0) { $0 + $1.parameters.weightHH.rows * $1.parameters.weightHH.cols + $1.parameters.weightIH.rows * $1.parameters.weightIH.cols }
        return UploadedModel(summary: summary, depth: run.models.count,
                             command: (["gradlab import \(ExplorerApp.shellQuote(name))"] + (arguments.isEmpty ? [] : [Self.display(arguments)])).joined(separator: " "),
                             payload: upload, bytes: bytes.count + 8 * (weights + run.steps * (run.models.first?.parameters.inputSize ?? 0)))
    }

    public func run(view: String, arguments: [String], exact: Bool, upload: UploadedModel, layer: Int,
                    stop: @escaping @Sendable () -> Bool) throws -> ViewResult {
        guard let u = upload.payload as? Upload else { throw GradLabError.failed("the upload is not a model") }
        if exact { BLAS.threads = commandLineThreads }
        defer { if exact { BLAS.threads = 1 } }
        guard view == "import" || layer < u.layers.count else {
            throw GradLabError.usage("_layer \(layer): the model has \(u.layers.count) layer(s)")
        }
        let label = u.layers.count > 1 ? "l\(layer)-\(u.layers[layer].kind.rawValue)" : u.layers[0].kind.rawValue
        switch view {
        case "import":
            let c = try Self.parse(ImportCommand.self, [u.name] + arguments)
            try c.chart.size.validate()
            if let w = c.warmup { try Check.nonNegative(w, "--warmup") }
            try Check.positive(c.exponents, "--exponents")
            try Budget.admit(CostModel.importAnalysis(u.imported.model, exponents: c.exponents), origin: .file(u.name))
            let report = try ImportExperiment.run(u.imported, source: u.name, exponents: c.exponents, warmup: c.warmup)
            if stop() { throw ExplorerCancelled() }
            let fig = ImportExperiment.figure(report, size: c.chart.size)
            if let t = c.title { FigureFile.retitle(fig, t) }
            var files: [String: () throws -> [UInt8]] = [
                "csv": { Array(CurvesExperiment.csv(report.layers).utf8) },
                "json": { Array(try ImportExperiment.json(report)) },
            ]
            for (l, layerCurves) in report.layers.enumerated() {
                files["model:\(report.layers.count > 1 ? "l\(l)" : layerCurves.model.kind.rawValue)"] = { Array(try ModelFile.encode(layerCurves.model)) }
            }
            let summary: [[(String, String)]] = zip(report.layers, report.exponents).map { c, e in
                [("layer", c.label), ("n", "\(c.model.parameters.hiddenSize)"), ("β_W", Format.fixed(c.betaW, 3)),
                 ("×/step", Format.magnitude(c.perStepFactor)), ("λ₁ (dec/step)", Format.fixed(e.decadesPerStep.first ?? .nan, 4)),
                 ("regime", c.regime.rawValue)]
            }
            var hover: [Hover.LinePanel] = []
            if let first = report.layers.first {
                hover.append(Hover.LinePanel(panel: 0, xName: "lag", x: first.curves.lags.map(Double.init),
                                             series: report.layers.map { ($0.label, $0.curves.log10Spectral, true) }))
            }
            hover.append(Hover.LinePanel(panel: 1, xName: "lag", x: report.grid.lags.map(Double.init),
                                         series: report.grid.log10Spectral.enumerated().map { ("layer \($0.offset)", $0.element, true) }))
            return ViewResult(text: ImportExperiment.table(report), warnings: report.overflowWarning.map { [$0] } ?? [], figure: fig,
                              files: files, summary: summary, hover: .lines(hover))
        case "curves":
            let c = try Self.parse(CurvesCommand.self, arguments)
            let o = try c.admitted()
            let m = u.layers[layer]
            try Budget.admit(CostModel.curves(CostModel.layer(m)), origin: .file(u.name))
            return try c.result(o, models: [(label, m)], parallel: !exact, chartOnly: !exact, stop: stop)
        case "heatmap":
            var c = try Self.parse(HeatmapCommand.self, arguments)
            c.modelPath = "layer.json"
            let o = try c.admitted()
            let m = u.layers[layer]
            try Check.atMost(m.steps, 2000, "--steps", "a heatmap needs T² products: upload with fewer steps")
            try Budget.admit(CostModel.heatmap(CostModel.layer(m)), origin: .file(u.name))
            return try c.result(o, model: m, parallel: !exact, stop: stop)
        case "spectrum":
            let c = try Self.parse(SpectrumCommand.self, arguments)
            let (o, lags) = try c.admitted()
            let m = u.layers[layer]
            try Budget.admit(CostModel.spectrum(CostModel.layer(m), lags: lags?.count ?? 4, fullState: c.block == .state), origin: .file(u.name))
            return try c.result(o, models: [(label, m)], lags: lags)
        default:
            throw GradLabError.usage("the \(view) view does not take an uploaded model")
        }
    }
}
