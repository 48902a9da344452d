import Foundation
import GradLab

/// Uploaded models, held in memory only (never written to disk): at most `maxUploads`, the oldest dropped first.
public final class UploadStore: @unchecked Sendable {
    public static let maxFileBytes = 64 << 20
    public static let maxUploads = 16
    /// Memory the kept uploads may hold together (the oldest go first).
    public static let maxTotalBytes = 1 << 30
    private let lock = NSLock()
    private var items: [(id: String, model: UploadedModel)] = []
    private var counter = 0

    public init() {}

    public func add(_ m: UploadedModel) -> String {
        lock.lock(); defer { lock.unlock() }
        counter += 1
        let id = "u\(counter)"
        items.append((id, m))
        if items.count > Self.maxUploads { items.removeFirst(items.count - Self.maxUploads) }
        while items.count > 1 && items.reduce(0, { $0 + $1.model.bytes }) > Self.maxTotalBytes { items.removeFirst() }
        return id
    }

    public func get(_ id: String) -> UploadedModel? {
        lock.lock(); defer { lock.unlock() }
        return items.first { $0.id == id }?.model
    }

    public var count: Int { lock.lock(); defer { lock.unlock() }; return items.count }
}

extension ExplorerApp {
    /// `/api/jobs…` and `/api/models…` (docs/EXPLORER-API.md).
    func live(_ request: Request, path: String, query: Substring) async -> Reply {
        let parts = path.split(separator: "/", omittingEmptySubsequences: false).map(String.init)   // "", "api", "jobs", …
        let method = request.method
        if parts.count == 3, parts[2] == "models" {
            guard method == "POST" else { return Reply.error(405, "POST a model file to /api/models (the body is the file's bytes)") }
            return await upload(request.body, query: query)
        }
        guard parts.count >= 3, parts[2] == "jobs" else { return Reply.error(404, "no such page: \(String(path.prefix(200)))") }
        if parts.count == 3 {
            guard method == "GET" || method == "HEAD" else { return Reply.error(405, "GET /api/jobs lists the jobs; POST /api/jobs/train or /api/jobs/sweep starts one") }
            return Reply.json(200, ["jobs": jobs.all.map { j -> [String: Any] in
                ["id": j.id, "kind": j.kind, "state": j.state.rawValue, "command": j.command]
            }, "limits": ["max_jobs": jobs.limits.maxJobs, "per_client": jobs.limits.perClient, "job_seconds": jobs.limits.maxSeconds]])
        }
        if parts.count == 4, jobSpecs[parts[3]] != nil || method == "POST" {
            guard method == "POST" else { return Reply.error(405, "POST /api/jobs/\(parts[3]) starts a job") }
            return startJob(parts[3], query: query)
        }
        guard let job = jobs.job(parts[3]) else {
            return Reply.error(404, "no such job '\(String(parts[3].prefix(20)))' (ended jobs are kept \(Int(jobs.limits.keepSeconds / 60)) minutes)")
        }
        switch (method, parts.count, parts.count > 4 ? parts[4] : "") {
        case ("GET", 5, "events"):
            return events(job, after: request.lastEventID.flatMap { Int($0.trimmingCharacters(in: .whitespaces)) })
        case ("POST", 5, let action) where ["pause", "resume", "stop"].contains(action):
            let client = Self.clientKey(query)
            guard client == job.client else {
                return Reply.error(403, "only the page that started job \(job.id) can \(action) it (give its _client)", parameter: "_client")
            }
            if job.hasEnded { return Reply.error(409, "job \(job.id) has ended (\(job.state.rawValue))") }
            switch action {
            case "pause":
                guard job.kind == "train" else { return Reply.error(400, "a \(job.kind) job cannot be paused (stop it)") }
                _ = jobs.pause(job)
            case "resume": _ = jobs.resume(job)
            default: jobs.stop(job)
            }
            return Reply.json(200, ["id": job.id, "state": action == "stop" ? "stopping" : job.state.rawValue])
        case ("GET", 6, "files"), ("HEAD", 6, "files"):
            guard job.hasEnded else { return Reply.error(409, "job \(job.id) is still \(job.state.rawValue): its files are ready when it ends") }
            let name = parts[5]
            guard let f = job.files[name] else {
                return Reply.error(404, "job \(job.id) has no file '\(String(name.prefix(40)))' (it has: \(job.files.keys.sorted().joined(separator: ", ")))")
            }
            let bytes: [UInt8]
            do {
                bytes = try await withCheckedThrowingContinuation { cont in
                    DispatchQueue.global().async { cont.resume(with: Result { try f.bytes() }) }
                }
            } catch { return Reply.error(500, "could not make \(name): \(error)") }
            return Reply(status: 200, contentType: f.contentType, body: bytes,
                         headers: [("Content-Disposition", "attachment; filename=\"\(f.filename)\""), ("Cache-Control", "no-store")])
        default:
            return Reply.error(404, "no such page: \(String(path.prefix(200))) (with \(method))")
        }
    }

    static func clientKey(_ query: Substring) -> String? {
        for item in query.split(separator: "&") where item.hasPrefix("_client=") {
            return decode(item.dropFirst("_client=".count))
        }
        return nil
    }

    func startJob(_ kind: String, query: Substring) -> Reply {
        guard let spec = jobSpecs[kind] else {
            return Reply.error(404, "no such job kind '\(String(kind.prefix(20)))' (\(jobSpecs.keys.sorted().joined(separator: ", ")))")
        }
        let q: ParsedQuery
        do { q = try parse(query, spec: spec) } catch QueryError.bad(let m, let p) { return Reply.error(400, m, parameter: p) } catch {
            return Reply.error(400, "\(error)")
        }
        guard let client = q.client else { return Reply.error(400, "_client is required: the page's id, so the job can be paused and stopped by it", parameter: "_client") }
        let prepared: PreparedJob
        do { prepared = try backend.prepareJob(kind: kind, arguments: q.arguments, maxSeconds: jobs.limits.admitSeconds ?? jobs.limits.maxSeconds) } catch {
            let message = Console.oneLine("\(error)")
            return Reply.error(400, message, parameter: Self.parameter(in: message))
        }
        let job: Job
        do { job = try jobs.start(kind: kind, client: client, prepared) } catch JobRegistry.StartError.limit(let why) {
            var r = Reply.error(429, why)
            r.headers.append(("Retry-After", "5"))
            return r
        } catch { return Reply.error(500, "\(error)") }
        let body = JSON.object([("id", .string(job.id)), ("kind", .string(kind)), ("command", .string(prepared.command)),
                                ("info", .object(prepared.info))]).bytes
        return Reply(status: 201, contentType: "application/json; charset=utf-8", body: body,
                     headers: [("Cache-Control", "no-store"), ("Location", "/api/jobs/\(job.id)")])
    }

    func events(_ job: Job, after: Int?) -> Reply {
        var r = Reply(status: 200, contentType: "text/event-stream; charset=utf-8", body: [],
                      headers: [("Cache-Control", "no-store"), ("X-Accel-Buffering", "no")])
        r.stream = { send in
            let token = job.subscribe(after: after) { frame, last in send(frame, last) }
            return { job.unsubscribe(token) }
        }
        return r
    }

    func upload(_ body: [UInt8], query: Substring) async -> Reply {
        let q: ParsedQuery
        do { q = try parse(query, spec: uploadSpec) } catch QueryError.bad(let m, let p) { return Reply.error(400, m, parameter: p) } catch {
            return Reply.error(400, "\(error)")
        }
        let name = Self.uploadName(q.name)
        guard !body.isEmpty else { return Reply.error(400, "\(name): the upload is empty (send the file's bytes as the request body)") }
        let backend = self.backend
        let arguments = q.arguments
        // Reading is CPU and memory work (decompression, the forward pass): through the gate, so at most one
        // per core runs at once, never on the event loop.
        let outcome: ComputeGate.Outcome<UploadedModel> = await withCheckedContinuation { cont in
            gate.submit(client: nil, seq: 0, { _ in try backend.parseUpload(name: name, bytes: body, arguments: arguments) },
                        done: { cont.resume(returning: $0) })
        }
        let result: Result<UploadedModel, Error>
        switch outcome {
        case .done(let m): result = .success(m)
        case .failed(let e): result = .failure(e)
        case .superseded: return Reply.error(409, "superseded")
        case .busy(let why):
            var r = Reply.error(503, why)
            r.headers.append(("Retry-After", "1"))
            return r
        }
        switch result {
        case .failure(let error):
            let message = Console.oneLine("\(error)")
            return Reply.error(400, message, parameter: Self.parameter(in: message))
        case .success(let m):
            let id = uploads.add(m)
            let body = JSON.object([("id", .string(id)), ("name", .string(name)), ("bytes", .int(body.count))] + m.summary
                                   + [("command", .string(m.command))]).bytes
            return Reply(status: 201, contentType: "application/json; charset=utf-8", body: body, headers: [("Cache-Control", "no-store")])
        }
    }

    /// The file name the page gave, reduced to what is safe in a command line and a message.
    static func uploadName(_ given: String?) -> String {
        let base = (given ?? "model").split(separator: "/").last.map(String.init) ?? "model"
        let safe = String(base.prefix(80).map { $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) ? $0 : "_" })
        return safe.isEmpty || safe.allSatisfy({ $0 == "." }) ? "model" : safe
    }

    /// "gradlab import rnn.npz … --save-model rnn-layer.json && gradlab curves --model rnn-layer-l1.json".
    static func uploadCommand(_ u: UploadedModel, view: String, layer: Int, needsUpload: Bool) -> String {
        if needsUpload { return u.command }
        // import writes one file per layer: NAME-l0.json, NAME-l1.json … (one layer: NAME.json itself).
        let file = u.depth > 1 ? "layer-l\(layer).json" : "layer.json"
        return "\(u.command) --save-model layer.json && gradlab \(view) --model \(file)"
    }

    /// User + system CPU seconds of this process (the browser test watches it fall idle).
    static func cpuSeconds() -> Double {
        var u = rusage()
        getrusage(RUSAGE_SELF.rawValue, &u)
        return Double(u.ru_utime.tv_sec) + Double(u.ru_utime.tv_usec) / 1e6 + Double(u.ru_stime.tv_sec) + Double(u.ru_stime.tv_usec) / 1e6
    }

    /// Resident memory in bytes (Linux: /proc/self/statm), 0 where unknown.
    static func residentBytes() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }
}
