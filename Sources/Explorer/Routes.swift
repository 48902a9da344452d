import Charts
import Foundation
import GradLab

/// One HTTP answer, before it is framed.
public struct Reply: Sendable {
    public var status: Int
    public var contentType: String
    public var body: [UInt8]
    public var headers: [(String, String)] = []
    /// A streamed answer (server-sent events): the server sends the head, then calls `stream` with a `send`
    /// function (frame bytes, and whether it is the last one; callable from any thread). `stream` returns
    /// what to call when the connection closes first.
    public var stream: (@Sendable (_ send: @escaping @Sendable ([UInt8], Bool) -> Void) -> (@Sendable () -> Void))?

    public init(status: Int, contentType: String, body: [UInt8], headers: [(String, String)] = []) {
        self.status = status; self.contentType = contentType; self.body = body; self.headers = headers
    }

    /// `{"error": message, "parameter": name}` with the given status.
    public static func error(_ status: Int, _ message: String, parameter: String? = nil) -> Reply {
        var o: [String: Any] = ["error": message]
        if let parameter { o["parameter"] = parameter }
        return json(status, o)
    }

    public static func json(_ status: Int, _ object: Any) -> Reply {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        return Reply(status: status, contentType: "application/json; charset=utf-8", body: Array(data),
                     headers: [("Cache-Control", "no-store")])
    }

    public var text: String { String(decoding: body, as: UTF8.self) }
}

/// The explorer's routes, independent of the socket layer (the HTTP API tests call `respond` directly):
///
///     GET /                          the page (and /explorer.js, /explorer.css)
///     GET /api/views                 the views, their options and the command line's defaults
///     GET /api/view/NAME?QUERY       a view's chart (SVG), summary, read-out data and equivalent command
///     GET /download/NAME/KIND?QUERY  png | svg | pdf | csv | json | model: the bytes `gradlab NAME … --out/--csv/…`
///                                    writes; model takes `_model=N` (which model of the view)
///     GET /healthz                   {"ok": true, "running": r, "waiting": w}
///
/// A query's keys are the command's long options (`gain=1.5` is `--gain 1.5`; flags are `no-bounds=1`); keys
/// starting with `_` are the page's own: `_client` (a tab's id) and `_seq` (its request counter) let a newer
/// request supersede an older one. Nothing in a query names a file: options that do are not accepted.
public final class ExplorerApp: @unchecked Sendable {
    public let backend: ExplorerBackend
    public let gate: ComputeGate
    public let jobs: JobRegistry
    public let uploads: UploadStore
    let specs: [String: ViewSpec]
    let jobSpecs: [String: ViewSpec]
    let uploadSpec: ViewSpec

    /// Query limits: longer queries, more keys or longer values are refused before anything is parsed.
    public static let maxQueryBytes = 16 * 1024
    public static let maxParameters = 64
    public static let maxValueLength = 2000

    public init(backend: ExplorerBackend, gate: ComputeGate = ComputeGate(), jobs: JobRegistry = JobRegistry(),
                uploads: UploadStore = UploadStore()) {
        self.backend = backend
        self.gate = gate
        self.jobs = jobs
        self.uploads = uploads
        specs = Dictionary(uniqueKeysWithValues: backend.views.map { ($0.name, $0) })
        jobSpecs = Dictionary(uniqueKeysWithValues: backend.jobs.map { ($0.name, $0) })
        uploadSpec = ViewSpec(name: "import", title: "Upload", options: backend.uploadOptions + ["name"], flags: [], defaults: [:], files: [:])
    }

    /// One request as the server read it.
    public struct Request: Sendable {
        public var method: String
        public var uri: String
        public var body: [UInt8]
        /// The `Last-Event-ID` header of a reconnecting event stream.
        public var lastEventID: String?
        public init(method: String, uri: String, body: [UInt8] = [], lastEventID: String? = nil) {
            self.method = method; self.uri = uri; self.body = body; self.lastEventID = lastEventID
        }
    }

    /// Largest request body per path: an upload may be large, nothing else has a body.
    public static func bodyLimit(method: String, uri: String, standard: Int) -> Int {
        method == "POST" && (uri == "/api/models" || uri.hasPrefix("/api/models?")) ? UploadStore.maxFileBytes : standard
    }

    public func respond(method: String, uri: String) async -> Reply {
        await respond(Request(method: method, uri: uri))
    }

    public func respond(_ request: Request) async -> Reply {
        let method = request.method, uri = request.uri
        let (path, query) = split(uri)
        if path.hasPrefix("/api/jobs") || path.hasPrefix("/api/models") {
            return await live(request, path: path, query: query)
        }
        guard method == "GET" || method == "HEAD" else {
            return Reply.error(405, "method \(method) not allowed here: \(String(path.prefix(100))) answers GET only")
        }
        switch path {
        case "/", "/index.html":
            return Reply(status: 200, contentType: "text/html; charset=utf-8", body: Self.asset("index.html", PackageResources.index_html), headers: Self.pageHeaders)
        case "/explorer.js":
            return Reply(status: 200, contentType: "text/javascript; charset=utf-8", body: Self.asset("explorer.js", PackageResources.explorer_js), headers: Self.pageHeaders)
        case "/live.js":
            return Reply(status: 200, contentType: "text/javascript; charset=utf-8", body: Self.asset("live.js", PackageResources.live_js), headers: Self.pageHeaders)
        case "/explorer.css":
            return Reply(status: 200, contentType: "text/css; charset=utf-8", body: Self.asset("explorer.css", PackageResources.explorer_css), headers: Self.pageHeaders)
        case "/favicon.ico":
            return Reply(status: 204, contentType: "image/x-icon", body: [])
        case "/healthz":
            let l = gate.load
            let j = jobs.counts
            return Reply.json(200, ["ok": true, "running": l.running, "waiting": l.waiting,
                                    "jobs": ["running": j.running, "paused": j.paused, "limit": jobs.limits.maxJobs],
                                    "uploads": uploads.count, "cpu_seconds": Self.cpuSeconds(), "rss_bytes": Self.residentBytes()])
        case "/api/views":
            func describe(_ v: ViewSpec) -> [String: Any] {
                var o: [String: Any] = ["name": v.name, "title": v.title, "options": v.options, "flags": v.flags, "defaults": v.defaults]
                if let u = v.uploadOptions { o["upload_options"] = u }
                if v.needsUpload { o["needs_upload"] = true }
                return o
            }
            return Reply.json(200, ["views": backend.views.map(describe), "jobs": backend.jobs.map(describe),
                                    "upload_options": backend.uploadOptions,
                                    "limits": ["max_jobs": jobs.limits.maxJobs, "per_client": jobs.limits.perClient,
                                               "job_seconds": jobs.limits.maxSeconds, "upload_bytes": UploadStore.maxFileBytes]])
        default:
            break
        }
        let parts = path.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        if parts.count == 4, parts[1] == "api", parts[2] == "view" {
            return await view(parts[3], query: query, download: nil)
        }
        if parts.count == 4, parts[1] == "download" {
            return await view(parts[2], query: query, download: parts[3])
        }
        return Reply.error(404, "no such page: \(String(path.prefix(200)))")
    }

    /// For work on the page: with GRADLAB_EXPLORER_ASSETS=DIR the server reads its page files from DIR at each
    /// request (edit, reload) instead of the copies compiled into the binary.
    static let assetDirectory = ProcessInfo.processInfo.environment["GRADLAB_EXPLORER_ASSETS"].flatMap { $0.isEmpty ? nil : $0 }

    static func asset(_ name: String, _ builtIn: [UInt8]) -> [UInt8] {
        guard let dir = assetDirectory, let data = FileManager.default.contents(atPath: dir + "/" + name) else { return builtIn }
        return Array(data)
    }

    static let pageHeaders: [(String, String)] = [
        ("Cache-Control", "no-cache"),
        ("X-Content-Type-Options", "nosniff"),
        ("Content-Security-Policy", "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"),
    ]

    func split(_ uri: String) -> (String, Substring) {
        guard let q = uri.firstIndex(of: "?") else { return (uri, "") }
        return (String(uri[..<q]), uri[uri.index(after: q)...])
    }

    /// A parsed query: the command's arguments and the page's own keys.
    struct ParsedQuery {
        var arguments: [String] = []
        var display: [(String, String?)] = []   // for the equivalent command
        var keys: [String] = []
        var client: String?
        var seq = 0
        var model = 0
        var upload: String?
        var layer = 0
        /// `name=` of an upload (not an option of any command).
        var name: String?
        /// In place of "gradlab VIEW" in the equivalent command (an uploaded model's import comes first).
        var commandPrefix: String?
    }

    enum QueryError: Error { case bad(String, parameter: String?) }

    func parse(_ query: Substring, spec: ViewSpec) throws -> ParsedQuery {
        guard query.utf8.count <= Self.maxQueryBytes else {
            throw QueryError.bad("query too long (\(query.utf8.count) bytes; at most \(Self.maxQueryBytes))", parameter: nil)
        }
        var out = ParsedQuery()
        var seen = Set<String>()
        let items = query.split(separator: "&", omittingEmptySubsequences: true)
        guard items.count <= Self.maxParameters else {
            throw QueryError.bad("too many parameters (\(items.count); at most \(Self.maxParameters))", parameter: nil)
        }
        for item in items {
            let kv = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let key = Self.decode(kv[0]), let value = Self.decode(kv.count > 1 ? kv[1] : "") else {
                throw QueryError.bad("malformed percent-encoding in the query", parameter: nil)
            }
            guard key.count <= 40, key.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }) else {
                throw QueryError.bad("unknown parameter '\(String(key.prefix(40)))'", parameter: String(key.prefix(40)))
            }
            guard value.count <= Self.maxValueLength else {
                throw QueryError.bad("value of '\(key)' too long (\(value.count) characters; at most \(Self.maxValueLength))", parameter: key)
            }
            guard seen.insert(key).inserted else { throw QueryError.bad("parameter '\(key)' given twice", parameter: key) }
            switch key {
            case "_client":
                guard !value.isEmpty, value.count <= 64, value.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }) else {
                    throw QueryError.bad("_client must be 1–64 letters, digits or '-'", parameter: key)
                }
                out.client = value
            case "_seq":
                guard let s = Int(value), s >= 0 else { throw QueryError.bad("_seq must be a whole number ≥ 0", parameter: key) }
                out.seq = s
            case "_model":
                guard let m = Int(value), m >= 0, m < 64 else { throw QueryError.bad("_model must be a whole number from 0 to 63", parameter: key) }
                out.model = m
            case "_upload":
                guard !value.isEmpty, value.count <= 16, value.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) }) else {
                    throw QueryError.bad("_upload must be an upload's id (like u1)", parameter: key)
                }
                out.upload = value
            case "_layer":
                guard let l = Int(value), l >= 0, l < 1000 else { throw QueryError.bad("_layer must be a whole number from 0 to 999", parameter: key) }
                out.layer = l
            case "name" where spec.name == "import" && spec.options.contains("name"):
                out.name = value
            case _ where key.hasPrefix("_"):
                continue   // the page's own state (e.g. which tab is open): not the command's
            case _ where spec.flags.contains(key):
                out.keys.append(key)
                switch value.lowercased() {
                case "1", "true", "yes", "on", "": out.arguments.append("--\(key)"); out.display.append((key, nil))
                case "0", "false", "no", "off": break
                default: throw QueryError.bad("\(key) is a switch: 1 or 0 (got '\(value)')", parameter: key)
                }
            case _ where spec.options.contains(key):
                // --key=value: a value that starts with '-' (a negative bias) is never taken for an option.
                out.keys.append(key)
                out.arguments.append("--\(key)=\(value)")
                out.display.append((key, value))
            default:
                throw QueryError.bad("unknown parameter '\(key)' for the \(spec.name) view (known: \((spec.options + spec.flags).sorted().joined(separator: ", ")))", parameter: key)
            }
        }
        return out
    }

    /// Percent-decoding with '+' as a space (what a browser's form and URLSearchParams send); nil if malformed.
    static func decode(_ s: Substring) -> String? {
        let plus = s.replacingOccurrences(of: "+", with: " ")
        guard plus.contains("%") else { return plus }
        return plus.removingPercentEncoding
    }

    /// The option a usage message names first ("--gain must be …" → "gain").
    static func parameter(in message: String) -> String? {
        guard let r = message.range(of: "--") else { return nil }
        let name = message[r.upperBound...].prefix { $0.isLetter || $0.isNumber || $0 == "-" }
        return name.isEmpty ? nil : String(name)
    }

    func view(_ name: String, query: Substring, download: String?) async -> Reply {
        guard let spec = specs[name] else {
            return Reply.error(404, "no such view '\(String(name.prefix(40)))' (views: \(backend.views.map(\.name).joined(separator: ", ")))")
        }
        var q: ParsedQuery
        do { q = try parse(query, spec: spec) } catch QueryError.bad(let m, let p) { return Reply.error(400, m, parameter: p) } catch {
            return Reply.error(400, "\(error)")
        }
        if let download, !["png", "svg", "pdf", "csv", "json", "model"].contains(download) {
            return Reply.error(404, "no such download '\(String(download.prefix(20)))' (png, svg, pdf, csv, json, model)")
        }
        // On an uploaded model: only the options that describe the analysis, not a random model's.
        var upload: UploadedModel?
        if spec.needsUpload && q.upload == nil {
            return Reply.error(400, "the \(name) view analyses an uploaded model: upload one first (POST /api/models) and pass _upload", parameter: "_upload")
        }
        if let id = q.upload {
            guard let allowed = spec.uploadOptions else {
                return Reply.error(400, "the \(name) view does not take an uploaded model", parameter: "_upload")
            }
            guard let u = uploads.get(id) else {
                return Reply.error(404, "no such upload '\(id)': uploads are kept in memory while the server runs (at most \(UploadStore.maxUploads)); upload the file again")
            }
            if let bad = q.keys.first(where: { !allowed.contains($0) }) {
                return Reply.error(400, "\(bad) describes a random model and does not apply to an uploaded one (here: \(allowed.isEmpty ? "none" : allowed.joined(separator: ", ")))", parameter: bad)
            }
            guard spec.needsUpload || q.layer < u.depth else {
                return Reply.error(400, "_layer \(q.layer): the uploaded model has \(u.depth) layer(s) (0…\(u.depth - 1))", parameter: "_layer")
            }
            upload = u
            q.commandPrefix = Self.uploadCommand(u, view: name, layer: q.layer, needsUpload: spec.needsUpload)
        }
        let started = DispatchTime.now().uptimeNanoseconds
        let backend = self.backend
        let arguments = q.arguments, layer = q.layer
        let outcome: ComputeGate.Outcome<Reply> = await withCheckedContinuation { [q] cont in
            gate.submit(client: q.client, seq: q.seq, exclusive: download != nil, { stop in
                let computeStart = DispatchTime.now().uptimeNanoseconds
                let result = try upload.map { try backend.run(view: name, arguments: arguments, exact: download != nil, upload: $0, layer: layer, stop: stop) }
                    ?? backend.run(view: name, arguments: arguments, exact: download != nil, stop: stop)
                if stop() { throw ExplorerCancelled() }
                if let download { return try Self.file(result, view: spec, kind: download, model: q.model) }
                return try Self.page(result, view: spec, query: q, started: started, computeStart: computeStart)
            }, done: { cont.resume(returning: $0) })
        }
        switch outcome {
        case .done(let r):
            return r
        case .superseded:
            return Reply.error(409, "superseded by a newer request of the same page")
        case .busy(let why):
            var r = Reply.error(503, why)
            r.headers.append(("Retry-After", "1"))
            return r
        case .failed(let error):
            let message = Console.oneLine("\(error)")
            if let e = error as? GradLabError, case .failed = e { return Reply.error(500, message) }
            return Reply.error(400, message, parameter: Self.parameter(in: message))
        }
    }

    /// The equivalent command line, shell-quoted.
    static func command(_ view: ViewSpec, _ q: ParsedQuery, extra: [(String, String)] = []) -> String {
        var words = q.commandPrefix.map { [$0] } ?? ["gradlab", view.name]
        for (k, v) in q.display + extra.map({ ($0.0, Optional($0.1)) }) {
            words.append("--\(k)")
            if let v { words.append(shellQuote(v)) }
        }
        return words.joined(separator: " ")
    }

    public static func shellQuote(_ s: String) -> String {
        if !s.isEmpty, s.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || ",.:_+-=/".contains($0)) }) { return s }
        return "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }

    static func file(_ r: ViewResult, view: ViewSpec, kind: String, model: Int) throws -> Reply {
        switch kind {
        case "png", "svg", "pdf":
            let format = OutputFormat(rawValue: kind)!
            let types = ["png": "image/png", "svg": "image/svg+xml", "pdf": "application/pdf"]
            return Reply(status: 200, contentType: types[kind]!, body: try r.figure.data(format),
                         headers: [("Content-Disposition", "attachment; filename=\"\(view.name).\(kind)\""), ("Cache-Control", "no-store")])
        case "model":
            let keys = r.files.keys.filter { $0.hasPrefix("model:") }.sorted()
            guard model < keys.count, let bytes = r.files[keys[model]] else {
                throw GradLabError.usage("_model: this view has \(keys.count) model(s) to download")
            }
            let label = String(keys[model].dropFirst("model:".count))
            return Reply(status: 200, contentType: "application/json", body: try bytes(),
                         headers: [("Content-Disposition", "attachment; filename=\"\(Self.fileLabel(label)).model.json\""), ("Cache-Control", "no-store")])
        default:
            guard let bytes = r.files[kind] else { throw GradLabError.usage("the \(view.name) view writes no \(kind.uppercased()) file") }
            return Reply(status: 200, contentType: kind == "csv" ? "text/csv; charset=utf-8" : "application/json",
                         body: try bytes(),
                         headers: [("Content-Disposition", "attachment; filename=\"\(view.name).\(kind)\""), ("Cache-Control", "no-store")])
        }
    }

    static func fileLabel(_ s: String) -> String {
        String(s.map { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == ".") ? $0 : "-" })
    }

    static func page(_ r: ViewResult, view: ViewSpec, query q: ParsedQuery, started: UInt64, computeStart: UInt64) throws -> Reply {
        func ms(_ a: UInt64, _ b: UInt64) -> Double { (Double(b - a) / 1e4).rounded() / 100 }
        let t1 = DispatchTime.now().uptimeNanoseconds
        let svg = try r.figure.data(.svg)
        let t2 = DispatchTime.now().uptimeNanoseconds
        let hover = hoverJSON(r)
        let t3 = DispatchTime.now().uptimeNanoseconds
        let files = view.files.keys.sorted().filter { r.files[$0] != nil }
        let models = r.files.keys.filter { $0.hasPrefix("model:") }.sorted().map { String($0.dropFirst(6)) }
        var commands: [(String, JSON)] = ["png", "svg", "pdf"].map { k in (k, .string(command(view, q, extra: [("out", "\(view.name).\(k)")]))) }
        commands += files.map { k in (k, .string(command(view, q, extra: [(k, "\(view.name).\(view.files[k]!)")]))) }
        if !models.isEmpty { commands.append(("model", .string(command(view, q, extra: [("save-model", "{cell}.model.json")])))) }
        let head: [(String, JSON)] = [
            ("view", .string(view.name)),
            ("command", .string(command(view, q))),
            ("commands", .object(commands)),
            ("width", .num(r.figure.width)), ("height", .num(r.figure.height)),
            ("text", .string(r.text)), ("warnings", .strings(r.warnings)),
            ("summary", .array(r.summary.map { row in .array(row.map { .array([.string($0.0), .string($0.1)]) }) })),
            ("files", .strings(files)), ("models", .strings(models)),
            ("hover", hover),
            ("svg", .string(String(decoding: svg, as: UTF8.self))),
        ]
        let t4 = DispatchTime.now().uptimeNanoseconds
        var body = JSON.object(head).bytes
        let t5 = DispatchTime.now().uptimeNanoseconds
        // Timings go last, so they can include the encoding itself.
        body.removeLast()
        let timing: [(String, JSON)] = [("wait", .num(ms(started, computeStart))), ("compute", .num(ms(computeStart, t1))),
                                        ("svg", .num(ms(t1, t2))), ("hover", .num(ms(t2, t3))), ("json", .num(ms(t4, t5)))]
        let tail = JSON.object([("timing_ms", .object(timing)), ("server_ms", .num(ms(started, DispatchTime.now().uptimeNanoseconds)))]).bytes
        body.append(UInt8(ascii: ","))
        body.append(contentsOf: tail.dropFirst())
        return Reply(status: 200, contentType: "application/json; charset=utf-8", body: body, headers: [("Cache-Control", "no-store")])
    }

    static func hoverJSON(_ r: ViewResult) -> JSON {
        let maps = r.figure.dataToPoints()
        func rounded(_ v: Double) -> JSON { v.isFinite ? .number((v * 100).rounded() / 100) : .null }
        switch r.hover {
        case .lines(let panels):
            return .object([("kind", .string("lines")), ("panels", .array(panels.compactMap { p -> JSON? in
                guard p.panel < maps.count else { return nil }
                let map = maps[p.panel]
                // Pixel x of each x value (any drawable y will do for x), and each series' pixel y.
                let y0 = p.series.lazy.flatMap { $0.values }.first(where: \.isFinite) ?? 0
                let px = p.x.map { x in map(x, y0)?.x ?? .nan }
                return .object([("panel", .int(p.panel)), ("x_name", .string(p.xName)), ("x", .numbers(p.x)), ("px", .array(px.map(rounded))),
                                ("series", .array(p.series.map { s in
                                    .object([("name", .string(s.name)), ("log10", .bool(s.log10)), ("values", .numbers(s.values)),
                                             ("py", .array(zip(p.x, s.values).map { x, v in rounded(map(x, v)?.y ?? .nan) }))])
                                }))])
            }))])
        case .grid(let panel, let values, let xName, let yName, let valueName):
            guard panel < maps.count else { return .object([("kind", .string("none"))]) }
            let map = maps[panel]
            // rows[y][x]: the (t, k) square of a heatmap, or the (layer, lag) rectangle of a stack.
            let n = values.count, cols = values.first?.count ?? 0
            let a = map(0, 0), b = map(Double(max(cols - 1, 1)), Double(max(n - 1, 1)))
            return .object([("kind", .string("grid")), ("x_name", .string(xName)), ("y_name", .string(yName)), ("value_name", .string(valueName)),
                            ("size", .int(n)), ("rows", .int(n)), ("cols", .int(cols)), ("lag", .bool(n == cols && xName == "k")),
                            ("origin", .array([rounded(a?.x ?? .nan), rounded(a?.y ?? .nan)])),
                            ("corner", .array([rounded(b?.x ?? .nan), rounded(b?.y ?? .nan)])),
                            ("values", .array(values.map { .numbers($0) }))])
        }
    }
}
