import Foundation

/// Atomic file output: data goes to a temporary file beside the target, then is renamed over it, so a
/// failure never leaves a half-written file. `checkWritable` lets commands fail before doing the work.
public enum OutputFile {
    /// Throws `.cannotCreate` unless `path`'s directory exists and is writable (and `path` is not a directory).
    public static func checkWritable(_ path: String) throws {
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
    public static func write(_ data: Data, to path: String) throws {
        try checkWritable(path)
        let url = URL(fileURLWithPath: path)
        let tmp = url.deletingLastPathComponent()
            .appendingPathComponent(".\(url.lastPathComponent).tmp-\(ProcessInfo.processInfo.processIdentifier)")
        do {
            try data.write(to: tmp)
            if FileManager.default.fileExists(atPath: url.path) { _ = try FileManager.default.replaceItemAt(url, withItemAt: tmp) }
            else { try FileManager.default.moveItem(at: tmp, to: url) }
        } catch {
            try? FileManager.default.removeItem(at: tmp)
            throw GradLabError.cannotCreate("cannot write \(path): \(error.localizedDescription)")
        }
    }

    public static func write(_ text: String, to path: String) throws { try write(Data(text.utf8), to: path) }

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
