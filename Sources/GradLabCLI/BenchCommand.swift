import ArgumentParser
import Foundation
import GradLab

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
        """)

    enum Suite: String, ExpressibleByArgument, CaseIterable { case all, curves, render, bptt }

    @Option(help: ArgumentHelp("Run only this case in this process, as cell:n:T (prints one JSON line).", valueName: "case"))
    var only: String?
    @Option(help: "Repetitions per case (the best and median are reported).") var repetitions = 3
    @Option(help: ArgumentHelp("Also write the curve results as JSON lines.", valueName: "file")) var json: String?
    @Option(help: "Which benchmarks to run: all, curves, render or bptt.") var suite: Suite = .all

    func run() throws {
        try Check.positive(repetitions, "--repetitions")
        if let only {
            guard let c = Bench.Case(only) else { throw GradLabError.usage("--only must look like tanh:256:1000 (got \(quoted(only)))") }
            var o = CurvesOptions()
            o.cells = [c.cell]; o.hidden = c.hidden; o.steps = c.steps
            try o.validate()
            try Check.atMost(repetitions, 1000, "--repetitions", "each repetition reruns the case")
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
            let pipe = Pipe()
            p.standardOutput = pipe
            try p.run()
            let out = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            p.waitUntilExit()
            guard p.terminationStatus == 0, let r = Bench.Result(json: out.trimmingCharacters(in: .whitespacesAndNewlines)) else {
                throw GradLabError.failed("benchmark case \(c.text) failed (exit \(p.terminationStatus))")
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
