import Charts
import Foundation
import GradLab

/// What the explorer needs from the command line: run a view's command, given as the arguments that would
/// follow `gradlab <view>`, without touching the file system. `GradLabCLI.CommandBackend` implements it with
/// the subcommands themselves, so a view validates, budgets and computes exactly as its command does.
public protocol ExplorerBackend: Sendable {
    /// The views, in the order the page shows them.
    var views: [ViewSpec] { get }
    /// Runs `gradlab <view> <arguments>` in memory. Throws `GradLabError.usage` (or `.data`) for bad
    /// arguments, naming the option as the command line would, and `ExplorerCancelled` when `stop()` says so.
    ///
    /// `exact`: compute exactly as the command line does, for a download that must be its bytes. The gate
    /// runs such a request alone (`ComputeGate.submit(exclusive:)`), so the backend may set process-wide
    /// numerics (OpenBLAS's thread count) to the command line's; interactive views run single-threaded
    /// side by side, which can move the last bit of a norm.
    func run(view: String, arguments: [String], exact: Bool, stop: @escaping @Sendable () -> Bool) throws -> ViewResult

    /// The same on an uploaded model: the `import` view on the whole stack, or another view on layer `layer`.
    /// A view whose options describe a random model refuses them (naming the option).
    func run(view: String, arguments: [String], exact: Bool, upload: UploadedModel, layer: Int,
             stop: @escaping @Sendable () -> Bool) throws -> ViewResult

    /// The long jobs (`train`, `sweep`): their options, as views have them.
    var jobs: [ViewSpec] { get }
    /// Validates and budgets `gradlab <kind> <arguments>` and returns the work, not yet started. `maxSeconds`:
    /// the server's time limit per job (work estimated to take longer is refused here, with the estimate).
    func prepareJob(kind: String, arguments: [String], maxSeconds: Double) throws -> PreparedJob

    /// Options an upload takes (`cell`, `prefix`, `steps`, `seed`, `input-scale`).
    var uploadOptions: [String] { get }
    /// Parses an uploaded file in memory, with the checks and budgets of `gradlab import` (never touching the
    /// file system). Throws a one-line `GradLabError` naming the problem.
    func parseUpload(name: String, bytes: [UInt8], arguments: [String]) throws -> UploadedModel
}

/// A model file the page uploaded, parsed: what the page is told, and the backend's own form of it.
public struct UploadedModel: @unchecked Sendable {
    /// Sent to the page (depth, layers, cells …).
    public var summary: [(String, JSON)]
    /// Number of layers (for `_layer`).
    public var depth: Int
    /// The equivalent `gradlab import …` command.
    public var command: String
    /// The backend's parsed model (opaque to the server).
    public var payload: Any
    /// Bytes held in memory for it.
    public var bytes: Int
    public init(summary: [(String, JSON)], depth: Int, command: String, payload: Any, bytes: Int) {
        self.summary = summary; self.depth = depth; self.command = command; self.payload = payload; self.bytes = bytes
    }
}

/// One view of the page: its command and the options a query may set.
public struct ViewSpec: Sendable {
    public var name: String
    public var title: String
    /// Long option names (without "--") that take a value.
    public var options: [String]
    /// Long option names that are flags (a query gives them as `name=1`).
    public var flags: [String]
    /// The command's defaults, as the command line prints them (`--help`), by option name.
    public var defaults: [String: String]
    /// File outputs the view's command can write besides the chart: option name → file extension
    /// (e.g. "csv" → "csv", "save-model" → "json").
    public var files: [String: String]
    /// Options (and flags) that apply on an uploaded model (`_upload`); nil: the view does not take one.
    public var uploadOptions: [String]?
    /// The view needs an uploaded model (`import`).
    public var needsUpload: Bool
    public init(name: String, title: String, options: [String], flags: [String], defaults: [String: String], files: [String: String],
                uploadOptions: [String]? = nil, needsUpload: Bool = false) {
        self.name = name; self.title = title; self.options = options; self.flags = flags; self.defaults = defaults; self.files = files
        self.uploadOptions = uploadOptions; self.needsUpload = needsUpload
    }
}

/// A computation stopped because a newer request of the same client superseded it.
public struct ExplorerCancelled: Error {
    public init() {}
}

/// The result of one view: the figure its command draws, the bytes of every file it writes, and the numbers
/// the page reads out on hover.
public struct ViewResult {
    /// What the command prints (its summary table).
    public var text: String
    public var warnings: [String]
    /// The chart, as `--out` would write it.
    public var figure: Figure
    /// Bytes of each file output by option name ("csv", "json", "save-model"), as the command writes them.
    public var files: [String: () throws -> [UInt8]]
    /// Rows shown beside the chart (label, regime, growth per step…), as ordered key/value pairs.
    public var summary: [[(String, String)]]
    public var hover: Hover
    public init(text: String, warnings: [String] = [], figure: Figure, files: [String: () throws -> [UInt8]] = [:],
                summary: [[(String, String)]] = [], hover: Hover) {
        self.text = text; self.warnings = warnings; self.figure = figure; self.files = files; self.summary = summary; self.hover = hover
    }
}

/// Data the page reads out under the pointer.
public enum Hover {
    /// Line charts: per panel, shared x values and named series (log10 values or plain values).
    case lines([LinePanel])
    /// A heatmap over (x, y) = (k, t): rows[t][k], with `nil` where undefined.
    case grid(panel: Int, values: [[Double]], xName: String, yName: String, valueName: String)

    public struct LinePanel {
        public var panel: Int
        public var xName: String
        public var x: [Double]
        /// (name, values, log10?): log10 series are read out as 10^v as well.
        public var series: [(name: String, values: [Double], log10: Bool)]
        public init(panel: Int, xName: String, x: [Double], series: [(name: String, values: [Double], log10: Bool)]) {
            self.panel = panel; self.xName = xName; self.x = x; self.series = series
        }
    }
}
