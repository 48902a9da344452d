import ArgumentParser
import Dynamics
import Explorer
import Foundation
import GradLab
import Linear

/// The explorer's views are the subcommands: a query becomes the arguments of `gradlab <view>`, parsed by
/// the same option declarations, validated and budgeted by the same code, and computed by the same
/// `result` function the command writes its files from. Options that name files are not offered.
public struct CommandBackend: ExplorerBackend {
    /// OpenBLAS's thread count on the command line (its default: the cores, or OPENBLAS_NUM_THREADS), read
    /// once, before the first backend sets it to 1.
    static let commandLineThreads = BLAS.threads
    var commandLineThreads: Int { Self.commandLineThreads }

    /// Interactive views run with OpenBLAS single-threaded (the gate runs them side by side, one per core,
    /// and a curves view spreads its cells over the cores); exact runs switch to the command line's count.
    public init() {
        _ = Self.commandLineThreads
        BLAS.threads = 1
    }

    /// Chart options every view takes.
    static let chartOptions = ["width", "height", "scale", "style", "font-size", "title"]
    static let modelOptions = ["hidden", "input", "steps", "gain", "seed", "init", "input-scale"]

    public var views: [ViewSpec] {
        [
            ViewSpec(name: "curves", title: "Gradient norm against the lag",
                     options: ["cells", "norm", "forget-bias", "skip", "leak-rate", "retention", "bounds", "layers", "form"] + Self.modelOptions + Self.chartOptions,
                     flags: ["no-bounds"], defaults: Self.defaults(CurvesCommand.self), files: ["csv": "csv", "json": "json"],
                     uploadOptions: ["norm", "bounds", "no-bounds"] + Self.chartOptions),
            ViewSpec(name: "heatmap", title: "Every pair (t, k)",
                     options: ["cell", "norm", "forget-bias", "skip", "leak-rate", "retention", "layers", "form"] + Self.modelOptions + Self.chartOptions,
                     flags: [], defaults: Self.defaults(HeatmapCommand.self), files: ["csv": "csv", "json": "json"],
                     uploadOptions: ["norm"] + Self.chartOptions),
            ViewSpec(name: "spectrum", title: "Singular spectrum at a lag",
                     options: ["cells", "lags", "block", "forget-bias", "skip", "leak-rate", "retention", "form"] + Self.modelOptions + Self.chartOptions,
                     flags: [], defaults: Self.defaults(SpectrumCommand.self), files: ["csv": "csv", "json": "json"],
                     uploadOptions: ["lags", "block"] + Self.chartOptions),
            ViewSpec(name: "carousel", title: "LSTM paths and the carousel",
                     options: ["forget-biases"] + Self.modelOptions + Self.chartOptions,
                     flags: [], defaults: Self.defaults(CarouselCommand.self), files: ["csv": "csv"]),
            ViewSpec(name: "compare", title: "Activations and derivatives",
                     options: ["activations", "range"] + Self.chartOptions,
                     flags: [], defaults: Self.defaults(CompareCommand.self), files: [:]),
            ViewSpec(name: "import", title: "Your model", options: ["exponents", "warmup"] + Self.chartOptions, flags: [],
                     defaults: Self.defaults(ImportCommand.self), files: ["csv": "csv", "json": "json"],
                     uploadOptions: ["exponents", "warmup"] + Self.chartOptions, needsUpload: true),
        ]
    }

    public func run(view: String, arguments: [String], exact: Bool, stop: @escaping @Sendable () -> Bool) throws -> ViewResult {
        if exact {
            BLAS.threads = commandLineThreads
            defer { BLAS.threads = 1 }
            return try compute(view: view, arguments: arguments, parallel: false, stop: stop)
        }
        return try compute(view: view, arguments: arguments, parallel: true, stop: stop)
    }

    func compute(view: String, arguments: [String], parallel: Bool, stop: @escaping @Sendable () -> Bool) throws -> ViewResult {
        switch view {
        case "curves":
            let c = try Self.parse(CurvesCommand.self, arguments)
            let o = try c.admitted()
            if o.layers > 1 { return try c.stackResult(o, stacks: try DepthExperiment.stacks(o), stop: stop) }
            return try c.result(o, models: try CurvesExperiment.models(o), parallel: parallel, chartOnly: parallel, stop: stop)
        case "heatmap":
            let c = try Self.parse(HeatmapCommand.self, arguments)
            let o = try c.admitted()
            if o.layers > 1 { return try c.stackResult(o, stop: stop) }
            return try c.result(o, model: RandomModels.make(o.spec(c.cell)), parallel: parallel, stop: stop)
        case "spectrum":
            let c = try Self.parse(SpectrumCommand.self, arguments)
            let (o, lags) = try c.admitted()
            return try c.result(o, lags: lags)
        case "carousel":
            let c = try Self.parse(CarouselCommand.self, arguments)
            try c.admitted()
            return try c.result(stop: stop)
        case "compare":
            let c = try Self.parse(CompareCommand.self, arguments)
            return c.result(try c.activationList())
        default:
            throw GradLabError.usage("no such view '\(view)'")
        }
    }

    /// ArgumentParser's errors become one-line usage errors that name the option, as on the command line.
    static func parse<C: ParsableCommand>(_ type: C.Type, _ arguments: [String]) throws -> C {
        do {
            return try C.parse(arguments)
        } catch let e as GradLabError {
            throw e
        } catch {
            throw GradLabError.usage(Console.oneLine(C.message(for: error)))
        }
    }

    /// The defaults `--help` shows, by option name: what the page starts from, read off the command itself.
    static func defaults<C: ParsableCommand>(_ type: C.Type) -> [String: String] {
        var out: [String: String] = [:]
        for arg in C._toolInfoArguments() { out[arg.name] = arg.value }
        return out
    }
}

extension ParsableCommand {
    /// (long option name, default value as help prints it) for every option that has a default.
    static func _toolInfoArguments() -> [(name: String, value: String)] {
        // ArgumentParser's `--experimental-dump-help` JSON holds each argument's names and default value.
        guard let json = try? JSONSerialization.jsonObject(with: Data(Self._dumpHelpJSON().utf8)) as? [String: Any],
              let command = json["command"] as? [String: Any],
              let args = command["arguments"] as? [[String: Any]] else { return [] }
        return args.compactMap { a in
            guard let names = a["names"] as? [[String: Any]],
                  let long = names.first(where: { ($0["kind"] as? String) == "long" })?["name"] as? String,
                  let value = a["defaultValue"] as? String else { return nil }
            return (long, value)
        }
    }

    static func _dumpHelpJSON() -> String {
        // `parse(["--experimental-dump-help"])` throws a "clean exit" whose message is the JSON.
        do { _ = try Self.parseAsRoot(["--experimental-dump-help"]); return "" } catch { return Self.fullMessage(for: error) }
    }
}

/// `gradlab serve`: the live explorer.
struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "The live explorer: a page that redraws every chart as you move its controls.",
        discussion: """
        Serves one page (every asset comes from this binary; nothing is fetched from elsewhere) at
        http://127.0.0.1:8080/ by default. Each view is a gradlab command: the page shows the command,
        and its downloads are the bytes that command writes. Only loopback can connect unless you pass
        --host 0.0.0.0 (then anyone on your network can).

        Example:
          gradlab serve --port 8080
        """)

    @Option(help: "Address to listen on: 127.0.0.1 (this machine only) or 0.0.0.0 (the whole network).") var host = "127.0.0.1"
    @Option(parsing: .unconditional, help: "Port (0 picks a free one).") var port = 8080
    @Option(parsing: .unconditional, help: "Computations run at once (default: the number of cores).") var jobs: Int?
    @Option(parsing: .unconditional, help: "Long jobs (live training runs, phase-diagram sweeps) running or paused at once, all pages together; each page runs at most 2.")
    var maxJobs = 4
    @Option(parsing: .unconditional, help: "Minutes a long job may run; work estimated to take longer is refused before it starts.")
    var jobMinutes = 10.0

    func run() throws {
        guard (0...65535).contains(port) else { throw GradLabError.usage("--port must lie between 0 and 65535 (got \(port))") }
        if let jobs { try Check.positive(jobs, "--jobs"); try Check.atMost(jobs, 64, "--jobs", "more would only wait for cores") }
        try Check.positive(maxJobs, "--max-jobs")
        try Check.atMost(maxJobs, 64, "--max-jobs", "each job holds a core")
        try Check.positive(jobMinutes, "--job-minutes")
        guard jobMinutes <= 24 * 60 else { throw GradLabError.usage("--job-minutes must be at most 1440 (a day) (got \(Format.short(jobMinutes)))") }
        var limits = JobRegistry.Limits()
        limits.maxJobs = maxJobs
        limits.maxSeconds = jobMinutes * 60
        let app = ExplorerApp(backend: CommandBackend(), gate: ComputeGate(slots: jobs ?? max(1, ProcessInfo.processInfo.activeProcessorCount)),
                              jobs: JobRegistry(limits: limits))
        let server = ExplorerServer(app: app)
        let bound: Int
        do { bound = try server.start(host: host, port: port) } catch {
            let text = "\(error)"
            if text.contains("Address already in use") {
                throw GradLabError.cannotCreate("cannot listen on \(host):\(port): the port is in use (choose another --port, or 0 for any free one)")
            }
            if text.contains("SocketAddressError") || text.contains("Cannot assign requested address") {
                throw GradLabError.usage("--host \(host) is not an address of this machine (127.0.0.1 for this machine only, 0.0.0.0 for the network)")
            }
            throw GradLabError.cannotCreate("cannot listen on \(host):\(port): \(Console.oneLine(text))")
        }
        let shown = host == "0.0.0.0" ? "127.0.0.1" : host
        print("gradlab explorer: http://\(shown.contains(":") ? "[\(shown)]" : shown):\(bound)/")
        if host == "0.0.0.0" { print("listening on every network interface: anyone on this network can open it") }
        print("Ctrl-C stops it.")
        fflush(stdout)
        try server.wait()
    }
}
