import Foundation

/// Atomic file output: data goes to a temporary file beside the target, then is renamed over it, so a
/// failure never leaves a half-written file. `checkWritable` lets commands fail before doing the work.
public enum OutputFile {
    /// Notebook mode: every write must land inside `root`, and is redirected to `staging` (same relative
    /// path) so a lesson's outputs can be compared or committed all at once. nil for normal runs.
    public struct Sandbox {
        public var root: URL
        public var staging: URL
        public init(root: URL, staging: URL) { self.root = root.standardizedFileURL; self.staging = staging.standardizedFileURL }
    }
    nonisolated(unsafe) public static var sandbox: Sandbox?
    /// Paths (as given) written since the last `resetLog()`, in order.
    nonisolated(unsafe) public private(set) static var log: [String] = []
    public static func resetLog() { log = [] }

    /// Where a write to `path` really goes (the staging copy in notebook mode).
    public static func destination(_ path: String) throws -> String {
        guard let box = sandbox else { return path }
        let url = URL(fileURLWithPath: path).standardizedFileURL
        let root = box.root.path.hasSuffix("/") ? box.root.path : box.root.path + "/"
        guard url.path.hasPrefix(root) else {
            throw GradLabError.usage("output \(path) is outside \(box.root.lastPathComponent)/: lessons may only write there")
        }
        return box.staging.appendingPathComponent(String(url.path.dropFirst(root.count))).path
    }

    /// Where to read `path` from: a file staged earlier in the same notebook run wins.
    public static func source(_ path: String) -> String {
        guard let staged = try? destination(path), FileManager.default.fileExists(atPath: staged) else { return path }
        return staged
    }

    /// Throws `.cannotCreate` unless `path`'s directory exists and is writable (and `path` is not a directory).
    public static func checkWritable(_ path: String) throws {
        let path = try destination(path)
        if sandbox != nil {
            try FileManager.default.createDirectory(atPath: URL(fileURLWithPath: path).deletingLastPathComponent().path,
                                                    withIntermediateDirectories: true)
        }
        let url = URL(fileURLWithPath: path)
        let dir = url.deletingLastPathComponent().path
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDir), isDir.boolValue else {
            throw GradLabError.cannotCreate("cannot write \(path): directory \(dir) does not exist")
        }
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue {
            throw GradLabError.cannotCreate("cannot write \(path): it is a directory")
        }
        guard FileManager.default.isWritableFile(atPath: dir) else {
            throw GradLabError.cannotCreate("cannot write \(path): directory \(dir) is not writable")
        }
    }

    /// Writes `data` to `path` atomically.
    public static func write(_ data: Data, to given: String) throws {
        try checkWritable(given)
        let path = try destination(given)
        let url = URL(fileURLWithPath: path)
        let tmp = url.deletingLastPathComponent()
            .appendingPathComponent(".\(url.lastPathComponent).tmp-\(ProcessInfo.processInfo.processIdentifier)")
        do {
            try data.write(to: tmp)
            // rename(2) replaces the target atomically (Foundation's replaceItemAt is not reliable on Linux).
            guard rename(tmp.path, url.path) == 0 else {
                throw GradLabError.cannotCreate("cannot write \(given): \(String(cString: strerror(errno)))")
            }
            log.append(given)
        } catch {
            try? FileManager.default.removeItem(at: tmp)
            if let e = error as? GradLabError { throw e }
            throw GradLabError.cannotCreate("cannot write \(given): \(error.localizedDescription)")
        }
    }

    public static func write(_ text: String, to path: String) throws { try write(Data(text.utf8), to: path) }

    /// For writers that produce the file themselves (e.g. a chart renderer that renames atomically):
    /// checks the path, hands `body` the real destination, and logs the write.
    public static func write(to given: String, using body: (String) throws -> Void) throws {
        try checkWritable(given)
        do { try body(try destination(given)) } catch let e as GradLabError { throw e } catch {
            throw GradLabError.cannotCreate("cannot write \(given): \(error)")
        }
        log.append(given)
    }

    /// A per-item file name: "{cell}" in `path` is replaced by `name`; otherwise, when `multiple`,
    /// "-name" goes before the extension (models.json → models-tanh.json).
    public static func expand(_ path: String, name: String, multiple: Bool) -> String {
        if path.contains("{cell}") { return path.replacingOccurrences(of: "{cell}", with: name) }
        guard multiple else { return path }
        let url = URL(fileURLWithPath: path)
        let ext = url.pathExtension
        let base = ext.isEmpty ? path : String(path.dropLast(ext.count + 1))
        return ext.isEmpty ? "\(base)-\(name)" : "\(base)-\(name).\(ext)"
    }
}

/// How the current run reports itself.
public enum RunContext {
    /// True inside a lesson: output must be the same on every run, so wall-clock figures are left out of
    /// printed text (charts never carry them).
    nonisolated(unsafe) public static var reproducible = false

    /// " in 1.37 s"-style text, or "" when the run must be reproducible.
    public static func timing(_ text: String) -> String { reproducible ? "" : text }
}

/// Number formatting shared by CSV, JSON and tables.
public enum Format {
    /// Shortest text that reads back to the same Double (deterministic); "-inf"/"inf"/"nan" for the rest.
    public static func exact(_ v: Double) -> String {
        if v.isNaN { return "nan" }
        if v.isInfinite { return v < 0 ? "-inf" : "inf" }
        return "\(v)"
    }

    /// Fixed decimals for tables; "−∞" for exact zeros on a log scale.
    public static func fixed(_ v: Double, _ decimals: Int = 2) -> String {
        if v.isNaN { return "—" }
        if v.isInfinite { return v < 0 ? "−∞" : "∞" }
        return String(format: "%.\(decimals)f", v)
    }

    /// Fixed decimals for moderate values, scientific notation from 10^5 up (a gain of 1e200 must not
    /// print a 200-digit β_W).
    public static func magnitude(_ v: Double, _ decimals: Int = 3) -> String {
        v.isFinite && abs(v) >= 1e5 ? String(format: "%.3e", v) : fixed(v, decimals)
    }

    /// Compact number for labels: 2, 0.5, 1.25.
    public static func short(_ v: Double) -> String {
        if v == v.rounded() && abs(v) < 1e15 { return String(Int(v)) }
        var s = String(format: "%.4f", v)
        while s.hasSuffix("0") { s.removeLast() }
        return s
    }

    /// A JSON number, or null when not finite (JSON has no infinities).
    public static func json(_ v: Double) -> Any { v.isFinite ? v : NSNull() }
}

/// Plain-text table with right-aligned numeric columns.
public struct TextTable {
    public var header: [String]
    public var rows: [[String]] = []
    public init(_ header: [String]) { self.header = header }
    public mutating func add(_ row: [String]) { rows.append(row) }
    public func render() -> String {
        let all = [header] + rows
        let widths = header.indices.map { c in all.map { $0[c].count }.max() ?? 0 }
        func line(_ r: [String]) -> String {
            r.enumerated().map { c, s in
                let pad = String(repeating: " ", count: widths[c] - s.count)
                return c == 0 ? s + pad : pad + s
            }.joined(separator: "  ")
        }
        let rule = widths.map { String(repeating: "─", count: $0) }.joined(separator: "  ")
        return ([line(header), rule] + rows.map(line)).joined(separator: "\n")
    }
}

/// JSON encoding with sorted keys and a trailing newline (stable output for diffs and tests).
public enum JSONOut {
    public static func data(_ object: Any) throws -> Data {
        var d = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        d.append(0x0A)
        return d
    }
}
