import ArgumentParser
import Explorer
import Foundation
import GradLab
import Linear

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmarks: the curve job with peak memory, chart rendering, the demo gallery, one BPTT pass.",
        discussion: """
        Suites (--suite, default all):
          curves  forward pass + spectral and Frobenius norms at every lag, tanh and LSTM,
                  n ∈ {32,128,256}, T ∈ {100,1000}; each case in its own process (its own peak RSS)
          render  a 1200×800 PNG of 5 series × 1,000 points, and the whole demo gallery
          bptt    one BPTT pass (forward + backward) of an LSTM, n=128, T=100, batch 32
          explorer  the server time of `gradlab serve`'s views (compute, SVG, read-out data, JSON),
                  in process and without sockets: five cells n=64 T=200, heatmap n=32 T=100, …
        """)

    enum Suite: String, ExpressibleByArgument, CaseIterable { case all, curves, render, bptt, explorer }

    @Option(help: ArgumentHelp("Run only this case in this process, as cell:n:T (prints one JSON line).", valueName: "case"))
    var only: String?
    @Option(help: "Repetitions per case (the best and median are reported).") var repetitions = 3
    @Option(help: ArgumentHelp("Also write the curve results as JSON lines.", valueName: "file")) var json: String?
    @Option(help: "Which benchmarks to run: all, curves, render, bptt or explorer.") var suite: Suite = .all

    func run() throws {
        try Check.positive(repetitions, "--repetitions")
        try Check.atMost(repetitions, 1000, "--repetitions", "each repetition reruns the case")
        if let only {
            guard let c = Bench.Case(only) else { throw GradLabError.usage("--only must look like tanh:256:1000 (got \(quoted(only)))") }
            var o = CurvesOptions()
            o.cells = [c.cell]; o.hidden = c.hidden; o.steps = c.steps
            try o.validate()
            try Budget.admit(CostModel.curves(o).times(Double(repetitions), bytes: false))
            print(try Bench.run(c, repetitions: repetitions).json)
            return
        }
        if let json {
            guard suite == .all || suite == .curves else { throw GradLabError.usage("--json writes the curve results: use it with --suite all or curves") }
            try OutputFile.checkWritable(json)
        }
        if suite == .all || suite == .curves { try runCurves() }
        if suite == .all || suite == .render {
            var table = TextTable(["render", "best (ms)", "median (ms)", "bytes"])
            for r in [try RenderBench.png(repetitions: max(repetitions, 10)), try RenderBench.gallery(repetitions: repetitions)] {
                table.add([r.label, Format.fixed(r.bestSeconds * 1000, 1), Format.fixed(r.medianSeconds * 1000, 1), "\(r.bytes)"])
            }
            print(table.render())
        }
        if suite == .all || suite == .bptt {
            print(TrainBench.report(try TrainBench.run(cell: .lstm, hidden: 128, steps: 100, batch: 32, repetitions: max(repetitions, 10))))
        }
        // Last: the explorer's backend runs OpenBLAS single-threaded, as `gradlab serve` does.
        if suite == .all || suite == .explorer { try runExplorer() }
    }

    /// Server time of the explorer's views: what `ExplorerApp` spends between a request's arrival and its
    /// reply bytes (the page's budget: five cells ≤ 50 ms, heatmap ≤ 150 ms on 2 cores).
    func runExplorer() throws {
        let app = ExplorerApp(backend: CommandBackend(), gate: ComputeGate())
        defer { BLAS.threads = CommandBackend.commandLineThreads }
        let cases: [(String, String, Double?)] = [
            ("curves: five cells, n=64, T=200", "/api/view/curves?hidden=64&steps=200&width=1070&height=620", 50),
            ("heatmap: tanh, n=32, T=100", "/api/view/heatmap?hidden=32&steps=100&width=1070&height=620", 150),
            ("curves: tanh, n=32, T=100 (one slider step)", "/api/view/curves?cells=tanh&width=1070&height=620", nil),
            ("spectrum: tanh,lstm, n=32, T=100, one lag", "/api/view/spectrum?lags=30&width=1070&height=620", nil),
            ("carousel: two forget biases, n=32, T=100", "/api/view/carousel?width=1070&height=620", nil),
        ]
        var table = TextTable(["view", "best (ms)", "median (ms)", "compute", "svg", "read-out", "json", "budget"])
        for (label, uri, budget) in cases {
            var runs: [(total: Double, parts: [String: Double])] = []
            for i in 0..<(max(repetitions, 10) + 2) {
                let sem = DispatchSemaphore(value: 0)
                nonisolated(unsafe) var reply: Reply?
                Task { reply = await app.respond(method: "GET", uri: uri); sem.signal() }
                sem.wait()
                guard let r = reply, r.status == 200,
                      let o = try? JSONSerialization.jsonObject(with: Data(r.body)) as? [String: Any],
                      let total = o["server_ms"] as? Double, let parts = o["timing_ms"] as? [String: Double] else {
                    throw GradLabError.failed("explorer benchmark \(label): \(reply.map { "\($0.status) \($0.text.prefix(200))" } ?? "no reply")")
                }
                if i >= 2 { runs.append((total, parts)) }   // two warm-up runs
            }
            runs.sort { $0.total < $1.total }
            let med = runs[runs.count / 2]
            func f(_ k: String) -> String { Format.fixed(med.parts[k] ?? 0, 1) }
            table.add([label, Format.fixed(runs[0].total, 1), Format.fixed(med.total, 1), f("compute"), f("svg"), f("hover"), f("json"),
                       budget.map { med.total <= $0 ? "≤ \(Int($0)) ms: met" : "≤ \(Int($0)) ms: MISSED" } ?? ""])
        }
        print("explorer views, server time in ms (median run's parts), \(ProcessInfo.processInfo.activeProcessorCount) cores, OpenBLAS single-threaded:")
        print(table.render())
        try runLive(app)
    }

    /// The live jobs against their commands, in the same process: a training run streamed to a page (every row
    /// as an event) against `TrainExperiment.run` alone, and a streamed sweep against `SweepExperiment.run`.
    func runLive(_ app: ExplorerApp) throws {
        func post(_ uri: String) throws -> String {
            let sem = DispatchSemaphore(value: 0)
            nonisolated(unsafe) var reply: Reply?
            Task { reply = await app.respond(ExplorerApp.Request(method: "POST", uri: uri)); sem.signal() }
            sem.wait()
            guard let r = reply, r.status == 201, let o = try? JSONSerialization.jsonObject(with: Data(r.body)) as? [String: Any],
                  let id = o["id"] as? String else { throw GradLabError.failed("explorer benchmark: \(uri): \(reply?.text.prefix(200) ?? "")") }
            return id
        }
        /// (seconds to the first data event, seconds to the end, bytes streamed)
        func stream(_ id: String) throws -> (first: Double, total: Double, bytes: Int) {
            let start = DispatchTime.now().uptimeNanoseconds
            let sem = DispatchSemaphore(value: 0)
            let lock = NSLock()
            nonisolated(unsafe) var first = 0.0, bytes = 0
            let sem2 = DispatchSemaphore(value: 0)
            nonisolated(unsafe) var r: Reply?
            Task { r = await app.respond(ExplorerApp.Request(method: "GET", uri: "/api/jobs/\(id)/events")); sem2.signal() }
            sem2.wait()
            guard let stream = r?.stream else { throw GradLabError.failed("explorer benchmark: no event stream") }
            _ = stream { frame, last in
                lock.lock()
                bytes += frame.count
                if first == 0, String(decoding: frame.prefix(40), as: UTF8.self).contains("event: p") {
                    first = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
                }
                lock.unlock()
                if last { sem.signal() }
            }
            sem.wait()
            return (first, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9, bytes)
        }
        func time(_ body: () throws -> Void) rethrows -> Double {
            let t = DispatchTime.now().uptimeNanoseconds
            try body()
            return Double(DispatchTime.now().uptimeNanoseconds - t) / 1e9
        }
        var table = TextTable(["live job", "command alone (s)", "streamed (s)", "overhead", "first event (ms)", "streamed (KB)"])
        let reps = max(1, min(repetitions, 3))
        // Training: LSTM on the adding problem, T = 50, n = 64, 300 iterations, 4 snapshots.
        var o = TrainOptions()
        o.cell = .lstm; o.steps = 50; o.hidden = 64; o.iterations = 300; o.snapshots = 4; o.clipNorm = 1
        var alone: [Double] = [], live: [(first: Double, total: Double, bytes: Int)] = []
        for _ in 0..<reps {
            alone.append(try time { _ = try TrainExperiment.run(o) })
            live.append(try stream(try post("/api/jobs/train?_client=bench&cell=lstm&steps=50&hidden=64&iters=300&snapshots=4&clip-norm=1")))
        }
        func row(_ label: String, _ a: [Double], _ l: [(first: Double, total: Double, bytes: Int)]) {
            let best = a.min()!, bestLive = l.map(\.total).min()!
            table.add([label, Format.fixed(best, 3), Format.fixed(bestLive, 3), Format.fixed(100 * (bestLive / best - 1), 1) + " %",
                       Format.fixed(1000 * l.map(\.first).min()!, 1), Format.fixed(Double(l[0].bytes) / 1024, 0)])
        }
        row("train lstm, adding T=50, n=64, 300 iterations", alone, live)
        // The phase diagram: tanh and LSTM, 31 gains × 5 seeds, n = 64, T = 300, both cores.
        var so = SweepOptions()
        so.cells = [.tanh, .lstm]; so.seeds = 5; so.steps = 300; so.hidden = 64
        alone = []; live = []
        for _ in 0..<reps {
            alone.append(try time { _ = try SweepExperiment.run(so, singleThreadedBLAS: false) })
            live.append(try stream(try post("/api/jobs/sweep?_client=bench&cells=tanh,lstm&seeds=5&steps=300&hidden=64")))
        }
        row("sweep tanh,lstm, 31 gains × 5 seeds, n=64, T=300", alone, live)
        print("live jobs: the command's own function against the same job streamed as server-sent events (best of \(reps)):")
        print(table.render())
    }

    func runCurves() throws {
        var table = TextTable(["case", "best (s)", "median (s)", "products (s)", "norms (s)", "peak RSS (MB)", "certified", "SVD fallbacks"])
        var lines: [String] = []
        for c in Bench.defaultCases {
            // A child process per case: its peak memory is then the case's own.
            let p = Process()
            p.executableURL = URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL
            if !FileManager.default.isExecutableFile(atPath: p.executableURL!.path) {
                p.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
            }
            p.arguments = ["bench", "--only", c.text, "--repetitions", "\(repetitions)"]
            let pipe = Pipe(), errors = Pipe()
            p.standardOutput = pipe
            p.standardError = errors
            try p.run()
            let out = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            let err = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            p.waitUntilExit()
            guard p.terminationStatus == 0, let r = Bench.Result(json: out.trimmingCharacters(in: .whitespacesAndNewlines)) else {
                // One line: the case's own error (its first line, without the "gradlab: " prefix) when it gave one.
                let why = err.split(separator: "\n").first.map { String($0).replacingOccurrences(of: "gradlab: ", with: "") }
                throw GradLabError.failed("benchmark case \(c.text) failed (exit \(p.terminationStatus))" + (why.map { ": " + $0 } ?? ""))
            }
            lines.append(r.json)
            table.add([c.text, Format.fixed(r.bestSeconds, 3), Format.fixed(r.medianSeconds, 3), Format.fixed(r.productSeconds, 3),
                       Format.fixed(r.normSeconds, 3), Format.fixed(r.peakMB, 1), "\(r.certified)", "\(r.svdFallbacks)"])
            print("  \(c.text): \(Format.fixed(r.bestSeconds, 3)) s, \(Format.fixed(r.peakMB, 1)) MB")
        }
        print(table.render())
        if let json { try OutputFile.write(lines.joined(separator: "\n") + "\n", to: json) }
    }
}
