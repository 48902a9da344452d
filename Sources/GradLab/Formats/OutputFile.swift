import Foundation

/// Atomic file output: data goes to a temporary file beside the target, then is renamed over it, so a
/// failure never leaves a half-written file. `checkWritable` lets commands fail before doing the work.
///
/// - Temporary names are `.NAME.gradlab-tmp-PID` (or `.gradlab-tmp-HASH-PID` when NAME is too long for
///   that to fit in 255 bytes). They are registered with `Cleanup`, so SIGINT/SIGTERM remove them, and a
///   later write to the same target removes those whose process is gone (after SIGKILL or a power cut).
/// - A symlink is followed: the file it points to is replaced, the link is kept.
/// - A character device or FIFO (`/dev/null`, a named pipe) is written through, never replaced; other
///   special files (block devices, sockets) are refused.
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
        let rel = try relativeInside(box.root, path)
        return box.staging.appendingPathComponent(rel).path
    }

    /// `path` relative to `root`, refusing anything whose real location (symlinks resolved) leaves `root`,
    /// and a `root` that is itself a symlink.
    public static func relativeInside(_ root: URL, _ path: String) throws -> String {
        let url = URL(fileURLWithPath: path).standardizedFileURL
        let rootPath = root.standardizedFileURL.path
        let prefix = rootPath.hasSuffix("/") ? rootPath : rootPath + "/"
        let name = root.lastPathComponent
        guard url.path.hasPrefix(prefix) else {
            throw GradLabError.usage("output \(quoted(path)) is outside \(name)/: lessons may only write there")
        }
        var st = stat()
        if lstat(rootPath, &st) == 0 && (st.st_mode & S_IFMT) == S_IFLNK {
            throw GradLabError.usage("\(name)/ is a symlink: lessons write only into a real \(name)/ folder")
        }
        // Every existing component below root must resolve inside root (a symlinked subfolder or file may not).
        if let realRoot = realPath(rootPath) {
            let realPrefix = realRoot.hasSuffix("/") ? realRoot : realRoot + "/"
            var probe = url
            while probe.path.count > rootPath.count {
                if lstat(probe.path, &st) == 0 {
                    guard let r = realPath(probe.path), r.hasPrefix(realPrefix) || r == realRoot else {
                        throw GradLabError.usage("output \(quoted(path)) leads outside \(name)/ through a symlink: lessons may only write inside it")
                    }
                    if (st.st_mode & S_IFMT) == S_IFLNK {
                        throw GradLabError.usage("output \(quoted(path)) goes through a symlink inside \(name)/: lessons write only real files")
                    }
                }
                probe.deleteLastPathComponent()
            }
        }
        return String(url.path.dropFirst(prefix.count))
    }

    static func realPath(_ p: String) -> String? {
        guard let r = realpath(p, nil) else { return nil }
        defer { free(r) }
        return String(cString: r)
    }

    /// Where to read `path` from: a file staged earlier in the same notebook run wins.
    public static func source(_ path: String) -> String {
        guard let staged = try? destination(path), FileManager.default.fileExists(atPath: staged) else { return path }
        return staged
    }

    /// What a target path is today.
    enum Target {
        case absent, regular, passThrough, refused(String), directory
    }

    static func classify(_ path: String) -> Target {
        var st = stat()
        guard stat(path, &st) == 0 else {
            var l = stat()
            if lstat(path, &l) == 0 { return .refused("it is a symlink to a missing file") }
            return .absent
        }
        switch st.st_mode & S_IFMT {
        case S_IFREG: return .regular
        case S_IFDIR: return .directory
        case S_IFCHR, S_IFIFO: return .passThrough
        case S_IFBLK: return .refused("it is a block device")
        case S_IFSOCK: return .refused("it is a socket")
        default: return .refused("it is not a regular file")
        }
    }

    /// The file a write replaces: a symlink's final target (so the link survives), else `path` itself.
    static func resolvedTarget(_ path: String) -> String {
        var l = stat()
        guard lstat(path, &l) == 0, (l.st_mode & S_IFMT) == S_IFLNK, let r = realPath(path) else { return path }
        return r
    }

    /// Throws `.cannotCreate` unless `path`'s directory exists and is writable (and `path` is not a directory).
    public static func checkWritable(_ path: String) throws {
        let shown = path
        let path = try destination(path)
        if sandbox != nil {
            do {
                try FileManager.default.createDirectory(atPath: URL(fileURLWithPath: path).deletingLastPathComponent().path,
                                                        withIntermediateDirectories: true)
            } catch {
                throw GradLabError.cannotCreate("cannot write \(quoted(shown)): cannot create its staging folder")
            }
        }
        switch classify(path) {
        case .directory: throw GradLabError.cannotCreate("cannot write \(quoted(path)): it is a directory")
        case .refused(let why): throw GradLabError.cannotCreate("cannot write \(quoted(path)): \(why)")
        case .passThrough:
            guard access(path, W_OK) == 0 else { throw GradLabError.cannotCreate("cannot write \(quoted(path)): permission denied") }
            return
        case .absent, .regular: break
        }
        let target = resolvedTarget(path)
        let url = URL(fileURLWithPath: target)
        let dir = url.deletingLastPathComponent().path
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDir), isDir.boolValue else {
            throw GradLabError.cannotCreate("cannot write \(quoted(path)): directory \(quoted(dir)) does not exist")
        }
        guard url.lastPathComponent.utf8.count <= 255 else {
            throw GradLabError.cannotCreate("cannot write \(quoted(path)): the file name is longer than 255 bytes")
        }
        guard FileManager.default.isWritableFile(atPath: dir) else {
            throw GradLabError.cannotCreate("cannot write \(quoted(path)): directory \(quoted(dir)) is not writable")
        }
    }

    /// Refuses (usage error, before any work) two outputs of one command that are the same file.
    /// `outputs` pairs each path with the option that names it (e.g. "--csv").
    public static func checkDistinct(_ outputs: [(option: String, path: String)]) throws {
        var seen: [String: String] = [:]
        for (option, path) in outputs {
            let key = identity(path)
            if let first = seen[key] {
                throw GradLabError.usage("\(first) and \(option) name the same file \(quoted(path)): give each output its own name")
            }
            seen[key] = option
        }
    }

    /// A path's identity: absolute, with the symlinks of its existing part resolved.
    static func identity(_ path: String) -> String {
        let url = URL(fileURLWithPath: path).standardizedFileURL
        if let r = realPath(url.path) { return r }
        let dir = url.deletingLastPathComponent().path
        return (realPath(dir) ?? dir) + "/" + url.lastPathComponent
    }

    // MARK: temporary names

    static let tmpMarker = ".gradlab-tmp-"

    /// `.NAME.gradlab-tmp-PID(.ext)`, or `.gradlab-tmp-HASH-PID(.ext)` when that would exceed 255 bytes.
    static func temporaryName(for name: String, pid: Int32 = getpid(), keepExtension: Bool = false) -> String {
        let ext = keepExtension ? URL(fileURLWithPath: name).pathExtension : ""
        let tail = ext.isEmpty ? "" : "." + ext
        let long = ".\(name)\(tmpMarker)\(pid)\(tail)"
        if long.utf8.count <= 255 { return long }
        return "\(tmpMarker)\(hash(name))-\(pid)\(tail)"
    }

    /// FNV-1a, 16 hex digits: short, stable across runs (Swift's Hasher is seeded per process).
    static func hash(_ s: String) -> String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in s.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return String(format: "%016llx", h)
    }

    /// Removes temporaries of `name` in `dir` left by processes that no longer exist (older gradlab
    /// versions named them `.NAME.tmp-PID`).
    static func removeStaleTemporaries(of name: String, in dir: String) {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: dir) else { return }
        let prefixes = [".\(name)\(tmpMarker)", "\(tmpMarker)\(hash(name))-", ".\(name).tmp-"]
        for e in entries {
            guard let p = prefixes.first(where: { e.hasPrefix($0) }) else { continue }
            let digits = e.dropFirst(p.count).prefix { $0.isNumber }
            guard let pid = Int32(digits), pid > 0, pid != getpid() else { continue }
            if kill(pid, 0) == -1 && errno == ESRCH { unlink(dir + "/" + e) }
        }
    }

    // MARK: writing

    /// Writes `data` to `path` atomically.
    public static func write(_ data: Data, to given: String) throws {
        try write(to: given, extensionMatters: false) { tmp in
            guard FileManager.default.createFile(atPath: tmp, contents: data) else {
                throw GradLabError.cannotCreate("cannot write \(quoted(given)): \(String(cString: strerror(errno)))")
            }
        }
    }

    public static func write(_ text: String, to path: String) throws { try write(Data(text.utf8), to: path) }
    public static func write(_ bytes: [UInt8], to path: String) throws { try write(Data(bytes), to: path) }

    /// For writers that produce the file themselves (e.g. a chart renderer): `body` writes a temporary
    /// file (same folder and extension as the target); it is then renamed over the target, or copied
    /// into a device or FIFO. The write is logged.
    public static func write(to given: String, using body: (String) throws -> Void) throws {
        try write(to: given, extensionMatters: true, body)
    }

    static func write(to given: String, extensionMatters: Bool, _ body: (String) throws -> Void) throws {
        try checkWritable(given)
        let path = try destination(given)
        Cleanup.installSignalHandlers()
        let special: Bool
        if case .passThrough = classify(path) { special = true } else { special = false }
        let target = special ? path : resolvedTarget(path)
        let url = URL(fileURLWithPath: target)
        let dir = special ? NSTemporaryDirectory() : url.deletingLastPathComponent().path
        if !special { removeStaleTemporaries(of: url.lastPathComponent, in: dir) }
        let tmp = URL(fileURLWithPath: dir).appendingPathComponent(temporaryName(for: url.lastPathComponent, keepExtension: extensionMatters)).path
        let token = Cleanup.register(tmp)
        defer { unlink(tmp); Cleanup.unregister(token) }
        do {
            try body(tmp)
            if special {
                try copyThrough(tmp, to: path, shown: given)
            } else {
                // rename(2) replaces the target atomically (Foundation's replaceItemAt is not reliable on Linux).
                guard rename(tmp, target) == 0 else {
                    throw GradLabError.cannotCreate("cannot write \(quoted(given)): \(String(cString: strerror(errno)))")
                }
            }
            log.append(given)
        } catch let e as GradLabError {
            throw e
        } catch {
            throw GradLabError.cannotCreate("cannot write \(quoted(given)): \(error.localizedDescription)")
        }
    }

    /// Streams `tmp` into a character device or FIFO without replacing it (a FIFO with no reader is refused).
    static func copyThrough(_ tmp: String, to path: String, shown: String) throws {
        let fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else {
            let why = errno == ENXIO ? "it is a FIFO with no reader" : String(cString: strerror(errno))
            throw GradLabError.cannotCreate("cannot write \(quoted(shown)): \(why)")
        }
        defer { close(fd) }
        // Back to blocking writes once open (O_NONBLOCK only kept open(2) from waiting for a reader).
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)
        guard let data = FileManager.default.contents(atPath: tmp) else {
            throw GradLabError.cannotCreate("cannot write \(quoted(shown)): the temporary file vanished")
        }
        try data.withUnsafeBytes { buf in
            var off = 0
            while off < buf.count {
                let n = Glibc.write(fd, buf.baseAddress! + off, buf.count - off)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw GradLabError.cannotCreate("cannot write \(quoted(shown)): \(String(cString: strerror(errno)))")
                }
                off += n
            }
        }
    }

    /// Writes several files all-or-nothing: every one is written to its temporary first; only when all
    /// succeeded are they renamed into place (a failure leaves every target as it was).
    public static func writeAll(_ files: [(data: Data, path: String)]) throws {
        Cleanup.installSignalHandlers()
        var prepared: [(tmp: String, target: String, token: Int?)] = []
        defer { for p in prepared { unlink(p.tmp); Cleanup.unregister(p.token) } }
        for (data, given) in files {
            try checkWritable(given)
            let path = try destination(given)
            let target = resolvedTarget(path)
            if case .passThrough = classify(target) {
                throw GradLabError.cannotCreate("cannot write \(quoted(given)): it is a device or FIFO")
            }
            let url = URL(fileURLWithPath: target)
            let tmp = url.deletingLastPathComponent().appendingPathComponent(temporaryName(for: url.lastPathComponent)).path
            let token = Cleanup.register(tmp)
            prepared.append((tmp, target, token))
            guard FileManager.default.createFile(atPath: tmp, contents: data) else {
                throw GradLabError.cannotCreate("cannot write \(quoted(given)): \(String(cString: strerror(errno)))")
            }
        }
        for (i, p) in prepared.enumerated() {
            guard rename(p.tmp, p.target) == 0 else {
                throw GradLabError.cannotCreate("cannot write \(quoted(files[i].path)): \(String(cString: strerror(errno)))")
            }
            log.append(files[i].path)
        }
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
