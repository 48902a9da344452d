import Foundation

/// Long work the page watches as it goes (live training, a streamed sweep): it runs on a thread of its own,
/// outside `ComputeGate` (whose slots keep the interactive views quick), and tells the page what happens as
/// server-sent events. `JobRegistry` holds the limits: how many at once, how long each, and that nobody
/// runs work for a tab that was closed.

/// A job the backend has validated and budgeted, ready to run.
public struct PreparedJob {
    /// The equivalent command line (shown on the page).
    public var command: String
    /// Facts the page needs before the first event (baseline, iterations, gains …).
    public var info: [(String, JSON)]
    /// The work. It reports through `control.emit`, asks `control.checkpoint()` between steps (which blocks
    /// while the job is paused and answers true when it must end), and returns what the `end` event carries
    /// and the files the command would write.
    public var run: (_ control: JobControl) throws -> JobOutcome
    public init(command: String, info: [(String, JSON)], run: @escaping (JobControl) throws -> JobOutcome) {
        self.command = command; self.info = info; self.run = run
    }
}

public struct JobOutcome {
    public var end: [(String, JSON)]
    public var files: [String: JobFile]
    public init(end: [(String, JSON)], files: [String: JobFile] = [:]) { self.end = end; self.files = files }
}

/// A file an ended job offers for download (made when asked for).
public struct JobFile {
    public var contentType: String
    public var filename: String
    public var bytes: () throws -> [UInt8]
    public init(contentType: String, filename: String, bytes: @escaping () throws -> [UInt8]) {
        self.contentType = contentType; self.filename = filename; self.bytes = bytes
    }
}

/// What a job's code sees of its job: where its events go, and whether to pause or end.
public final class JobControl: @unchecked Sendable {
    enum Stop: Equatable { case user, unwatched, expired, shutdown }

    private let condition = NSCondition()
    private var paused = false
    private(set) var stopReason: Stop?
    /// Seconds the job has run (pauses excluded), and when it last (re)started.
    private var runSeconds = 0.0
    private var resumedAt = Date()
    private var pausedAt: Date?
    weak var job: Job?

    init() {}

    /// Appends an event (`event: name`, `data: json`) to the job's stream.
    public func emit(_ name: String, _ data: JSON) { job?.publish(name, data) }

    /// Called by the job between steps: waits while paused; true when the job must end now.
    public func checkpoint() -> Bool {
        condition.lock(); defer { condition.unlock() }
        while paused && stopReason == nil { condition.wait() }
        return stopReason != nil
    }

    /// Without waiting: true when the job must end (for workers that cannot block, e.g. a sweep's threads
    /// between points; pausing a sweep is not offered).
    public var isStopping: Bool {
        condition.lock(); defer { condition.unlock() }
        return stopReason != nil
    }

    func stop(_ why: Stop) {
        condition.lock()
        if stopReason == nil { stopReason = why }
        condition.broadcast()
        condition.unlock()
    }

    /// Returns false when it was already in that state.
    func setPaused(_ p: Bool) -> Bool {
        condition.lock(); defer { condition.unlock() }
        guard paused != p, stopReason == nil else { return false }
        paused = p
        if p { runSeconds += Date().timeIntervalSince(resumedAt); pausedAt = Date() } else { resumedAt = Date(); pausedAt = nil }
        condition.broadcast()
        return true
    }

    /// True while the job is (asked to be) paused: a job flushes what it has before `checkpoint()` waits.
    public var pauseRequested: Bool { condition.lock(); defer { condition.unlock() }; return paused }

    /// (seconds running, seconds in the current pause).
    var clocks: (running: Double, paused: Double) {
        condition.lock(); defer { condition.unlock() }
        let now = Date()
        if paused { return (runSeconds, now.timeIntervalSince(pausedAt ?? now)) }
        return (runSeconds + now.timeIntervalSince(resumedAt), 0)
    }
}

/// One job: its events so far, who is watching, and its state.
public final class Job: @unchecked Sendable {
    public enum State: String { case running, paused, done, stopped, failed, expired }

    public let id: String
    public let kind: String
    public let client: String
    public let command: String
    public let info: [(String, JSON)]
    let control: JobControl
    let created = Date()

    private let lock = NSLock()
    /// Every event, framed for the stream (`id: n\nevent: …\ndata: …\n\n`).
    private var events: [[UInt8]] = []
    private var subscribers: [Int: ([UInt8], Bool) -> Void] = [:]
    private var nextSubscriber = 0
    /// When the last watcher left (or the job was made): a job nobody watches is stopped.
    private var unwatchedSince: Date? = Date()
    private(set) var state: State = .running
    private(set) var endedAt: Date?
    private(set) var files: [String: JobFile] = [:]

    init(id: String, kind: String, client: String, prepared: PreparedJob) {
        self.id = id; self.kind = kind; self.client = client; self.command = prepared.command; self.info = prepared.info
        control = JobControl()
        control.job = self
    }

    var hasEnded: Bool { lock.lock(); defer { lock.unlock() }; return endedAt != nil }
    var eventCount: Int { lock.lock(); defer { lock.unlock() }; return events.count }

    func publish(_ name: String, _ data: JSON, last: Bool = false) {
        lock.lock()
        var frame = Array("id: \(events.count)\nevent: \(name)\ndata: ".utf8)
        data.write(into: &frame)
        frame.append(contentsOf: Array("\n\n".utf8))
        events.append(frame)
        let subs = Array(subscribers.values)
        lock.unlock()
        for s in subs { s(frame, last) }
    }

    /// Sends every event after `after` to `send`, then each new one as it comes; the Bool says the stream
    /// ends with this frame. Returns a token for `unsubscribe`.
    func subscribe(after: Int?, _ send: @escaping ([UInt8], Bool) -> Void) -> Int {
        lock.lock()
        let first = max(0, (after ?? -1) + 1)
        let backlog = first < events.count ? Array(events[first...]) : []
        let ended = endedAt != nil
        let token = nextSubscriber
        nextSubscriber += 1
        if !ended { subscribers[token] = send; unwatchedSince = nil }
        lock.unlock()
        for (i, f) in backlog.enumerated() { send(f, ended && i == backlog.count - 1) }
        if ended && backlog.isEmpty { send([], true) }
        return token
    }

    func unsubscribe(_ token: Int) {
        lock.lock()
        subscribers[token] = nil
        if subscribers.isEmpty && unwatchedSince == nil { unwatchedSince = Date() }
        lock.unlock()
    }

    var unwatchedFor: TimeInterval {
        lock.lock(); defer { lock.unlock() }
        return unwatchedSince.map { Date().timeIntervalSince($0) } ?? 0
    }

    func heartbeat() {
        lock.lock()
        let subs = Array(subscribers.values)
        lock.unlock()
        let beat = Array(": keep-alive\n\n".utf8)
        for s in subs { s(beat, false) }
    }

    func setState(_ s: State) { lock.lock(); state = s; lock.unlock() }

    /// Records the end and sends the `end` event (the last frame of every stream).
    func finish(_ s: State, message: String?, outcome: JobOutcome?) {
        lock.lock()
        state = s
        files = outcome?.files ?? [:]
        lock.unlock()
        var end: [(String, JSON)] = [("state", .string(s.rawValue)), ("message", message.map { .string($0) } ?? .null)]
        end += outcome?.end ?? []
        end.append(("files", .strings((outcome?.files.keys.sorted()) ?? [])))
        lock.lock()
        endedAt = Date()
        lock.unlock()
        publish("end", .object(end), last: true)
        lock.lock()
        subscribers.removeAll()
        lock.unlock()
    }

    var summary: JSON {
        lock.lock(); defer { lock.unlock() }
        return .object([("id", .string(id)), ("kind", .string(kind)), ("state", .string(state.rawValue)),
                        ("command", .string(command)), ("events", .int(events.count))])
    }
}

/// The jobs of one server, and their limits.
public final class JobRegistry: @unchecked Sendable {
    public struct Limits: Sendable {
        /// Jobs running or paused at once (all clients).
        public var maxJobs = 4
        /// Per client (a tab): two runs side by side.
        public var perClient = 2
        /// Running time of one job; longer ones end "expired".
        public var maxSeconds: Double = 600
        /// Work estimated to take longer is refused before it starts; nil: `maxSeconds`.
        public var admitSeconds: Double?
        /// A paused job is stopped after this long.
        public var maxPauseSeconds: Double = 600
        /// A job whose stream nobody has watched this long is stopped (the tab was closed).
        public var unwatchedSeconds: Double = 10
        /// Ended jobs are kept this long for their files, and at most `keepEnded` of them.
        public var keepSeconds: Double = 600
        public var keepEnded = 16
        public init() {}
    }

    public let limits: Limits
    private let lock = NSLock()
    private var jobs: [String: Job] = [:]
    private var order: [String] = []
    private var counter = 0
    private var timer: DispatchSourceTimer?
    private var ticks = 0

    public init(limits: Limits = Limits()) {
        self.limits = limits
        let t = DispatchSource.makeTimerSource(queue: DispatchQueue(label: "gradlab.explorer.jobs"))
        t.schedule(deadline: .now() + 1, repeating: 1)
        t.setEventHandler { [weak self] in self?.tick() }
        t.resume()
        timer = t
    }

    deinit { timer?.cancel() }

    public enum StartError: Error { case limit(String) }

    /// Starts `prepared` on a thread of its own, or refuses (limits).
    public func start(kind: String, client: String, _ prepared: PreparedJob) throws -> Job {
        lock.lock()
        let active = jobs.values.filter { !$0.hasEnded }
        if active.count >= limits.maxJobs {
            lock.unlock()
            throw StartError.limit("\(limits.maxJobs) jobs are running on this server (its limit): stop one, or wait for one to end")
        }
        if active.filter({ $0.client == client }).count >= limits.perClient {
            lock.unlock()
            throw StartError.limit("this page already runs \(limits.perClient) jobs (the limit per page): stop one first")
        }
        counter += 1
        let id = "j\(counter)"
        let job = Job(id: id, kind: kind, client: client, prepared: prepared)
        jobs[id] = job
        order.append(id)
        lock.unlock()

        let thread = Thread { [weak self] in
            let outcome: JobOutcome?
            var message: String?
            var state: Job.State
            do {
                outcome = try prepared.run(job.control)
                state = .done
            } catch {
                outcome = nil
                state = .failed
                message = "\(error)"
            }
            switch job.control.stopReason {
            case .user?: state = .stopped; message = message ?? "stopped"
            case .unwatched?: state = .stopped; message = "stopped: no page was watching it"
            case .expired?: state = .expired; message = "ended after \(Int(self?.limits.maxSeconds ?? 0)) s, this server's limit per job"
            case .shutdown?: state = .stopped; message = "the server is shutting down"
            case nil: break
            }
            if state == .failed, job.control.stopReason != nil { message = message ?? "stopped" }
            job.finish(state, message: message.map { String($0.prefix(500)) }, outcome: outcome)
        }
        thread.name = "gradlab-job-\(id)"
        thread.stackSize = 8 << 20
        thread.start()
        return job
    }

    public func job(_ id: String) -> Job? { lock.lock(); defer { lock.unlock() }; return jobs[id] }

    public var all: [Job] { lock.lock(); defer { lock.unlock() }; return order.compactMap { jobs[$0] } }

    public var counts: (running: Int, paused: Int) {
        let active = all.filter { !$0.hasEnded }
        let paused = active.filter { $0.control.pauseRequested }.count
        return (active.count - paused, paused)
    }

    public func pause(_ job: Job) -> Bool {
        guard !job.hasEnded, job.control.setPaused(true) else { return false }
        job.setState(.paused)
        job.publish("state", .object([("state", .string("paused"))]))
        return true
    }

    public func resume(_ job: Job) -> Bool {
        guard !job.hasEnded, job.control.setPaused(false) else { return false }
        job.setState(.running)
        job.publish("state", .object([("state", .string("running"))]))
        return true
    }

    public func stop(_ job: Job) { job.control.stop(.user) }

    /// Stops every job (the server is closing).
    public func stopAll() { for j in all { j.control.stop(.shutdown) } }

    /// Once a second: stop the unwatched and the overlong, forget old ended jobs, keep streams alive.
    private func tick() {
        ticks += 1
        let now = Date()
        for j in all {
            if j.hasEnded { continue }
            let clocks = j.control.clocks
            if j.unwatchedFor > limits.unwatchedSeconds { j.control.stop(.unwatched) }
            else if clocks.running > limits.maxSeconds { j.control.stop(.expired) }
            else if clocks.paused > limits.maxPauseSeconds { j.control.stop(.user) }
            else if ticks % 15 == 0 { j.heartbeat() }
        }
        lock.lock()
        let ended = order.compactMap { jobs[$0] }.filter { $0.hasEnded }
        var drop = Set(ended.filter { now.timeIntervalSince($0.endedAt ?? now) > limits.keepSeconds }.map(\.id))
        let kept = ended.filter { !drop.contains($0.id) }
        if kept.count > limits.keepEnded { for j in kept.prefix(kept.count - limits.keepEnded) { drop.insert(j.id) } }
        for id in drop { jobs[id] = nil }
        if !drop.isEmpty { order.removeAll { drop.contains($0) } }
        lock.unlock()
    }
}
