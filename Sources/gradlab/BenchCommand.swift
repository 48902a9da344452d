import ArgumentParser
import Foundation
import GradLab

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Time the curve job (tanh and LSTM, n ∈ {32,128,256}, T ∈ {100,1000}) with peak memory per case.")

    @Option(help: ArgumentHelp("Run only this case in this process, as cell:n:T (prints one JSON line).", valueName: "case"))
    var only: String?
    @Option(help: "Repetitions per case (the best and median are reported).") var repetitions = 3
    @Option(help: ArgumentHelp("Also write the results as JSON lines.", valueName: "file")) var json: String?

    func run() throws {
        try Check.positive(repetitions, "--repetitions")
        if let only {
            guard let c = Bench.Case(only) else { throw GradLabError.usage("--only must look like tanh:256:1000 (got '\(only)')") }
            print(try Bench.run(c, repetitions: repetitions).json)
            return
        }
        if let json { try OutputFile.checkWritable(json) }
        var table = TextTable(["case", "best (s)", "median (s)", "peak RSS (MB)", "SVD fallbacks"])
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
            table.add([c.text, Format.fixed(r.bestSeconds, 3), Format.fixed(r.medianSeconds, 3), Format.fixed(r.peakMB, 1), "\(r.svdFallbacks)"])
            print("  \(c.text): \(Format.fixed(r.bestSeconds, 3)) s, \(Format.fixed(r.peakMB, 1)) MB")
        }
        print(table.render())
        if let json { try OutputFile.write(lines.joined(separator: "\n") + "\n", to: json) }
    }
}
