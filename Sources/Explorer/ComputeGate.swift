import Dispatch
import Foundation

/// Admission control for computations: at most `slots` run at once (on their own threads, never on the
/// event loop), at most `queueLimit` wait, and none waits longer than `maxWait`. A request carries its
/// client's id and a sequence number; a newer request of the same client supersedes the older ones: a
/// waiting one is dropped before it starts, a running one is told to stop (`stop()` turns true) and stops
/// at its next check. So a dragged slider costs one computation per state the server actually reaches.
public final class ComputeGate: @unchecked Sendable {
    public enum Outcome<T> {
        case done(T)
        case failed(Error)
        case superseded
        /// Too many waiting, or waited too long.
        case busy(String)
    }

    public let slots: Int
    public let queueLimit: Int
    public let maxWait: TimeInterval

    private let lock = NSLock()
    private var running = 0
    private var exclusiveRunning = false
    private var waiting: [Job] = []
    /// client → (latest sequence number seen, when).
    private var latest: [String: (seq: Int, at: Date)] = [:]
    private let queue = DispatchQueue(label: "gradlab.explorer.compute", attributes: .concurrent)

    private struct Job {
        var client: String?
        var seq: Int
        var exclusive = false
        var enqueued: Date
        var start: () -> Void
        var reject: (String?) -> Void   // nil: superseded; text: busy
    }

    public init(slots: Int = max(1, ProcessInfo.processInfo.activeProcessorCount), queueLimit: Int = 256, maxWait: TimeInterval = 20) {
        self.slots = slots; self.queueLimit = queueLimit; self.maxWait = maxWait
    }

    /// Number of computations running and waiting (for tests and the status line).
    public var load: (running: Int, waiting: Int) {
        lock.lock(); defer { lock.unlock() }
        return (running, waiting.count)
    }

    /// True once a newer request of `client` than `seq` has arrived.
    public func isSuperseded(client: String?, seq: Int) -> Bool {
        guard let client else { return false }
        lock.lock(); defer { lock.unlock() }
        return (latest[client]?.seq ?? seq) > seq
    }

    /// Runs `work` when a slot is free and calls `done` with the outcome (on the compute thread, or the
    /// caller's thread for a rejection).
    /// `exclusive`: the job runs alone (it waits for the running ones, and none starts beside it).
    public func submit<T>(client: String?, seq: Int, exclusive: Bool = false, _ work: @escaping (_ stop: @escaping @Sendable () -> Bool) throws -> T,
                          done: @escaping (Outcome<T>) -> Void) {
        let stop: @Sendable () -> Bool = { [weak self] in self?.isSuperseded(client: client, seq: seq) ?? true }
        let job = Job(client: client, seq: seq, exclusive: exclusive, enqueued: Date(), start: { [self] in
            queue.async {
                let outcome: Outcome<T>
                if stop() { outcome = .superseded } else {
                    do { outcome = .done(try work(stop)) }
                    catch is ExplorerCancelled { outcome = .superseded }
                    catch { outcome = .failed(error) }
                }
                self.finished(exclusive: exclusive)
                done(outcome)
            }
        }, reject: { why in done(why.map { .busy($0) } ?? .superseded) })

        var rejected: [Job] = []
        var toStart: Job?
        lock.lock()
        if let client {
            let now = Date()
            if let l = latest[client], l.seq > seq {
                lock.unlock(); job.reject(nil); return
            }
            latest[client] = (seq, now)
            // Older waiting requests of this client will never be wanted.
            rejected = waiting.filter { $0.client == client && $0.seq < seq }
            waiting.removeAll { $0.client == client && $0.seq < seq }
            if latest.count > 10_000 { latest = latest.filter { now.timeIntervalSince($0.value.at) < 600 } }
        }
        if waiting.isEmpty && canStart(job) {
            start(job)
            toStart = job
        } else if waiting.count >= queueLimit {
            lock.unlock()
            for r in rejected { r.reject(nil) }
            job.reject("busy: \(queueLimit) computations are waiting; try again in a moment")
            return
        } else {
            waiting.append(job)
        }
        lock.unlock()
        for r in rejected { r.reject(nil) }
        toStart?.start()
    }

    // Under the lock.
    private func canStart(_ j: Job) -> Bool { !exclusiveRunning && (j.exclusive ? running == 0 : running < slots) }
    private func start(_ j: Job) { running += 1; if j.exclusive { exclusiveRunning = true } }

    private func finished(exclusive: Bool) {
        var next: [Job] = []
        var expired: [Job] = [], superseded: [Job] = []
        lock.lock()
        running -= 1
        if exclusive { exclusiveRunning = false }
        let now = Date()
        // Start waiting jobs in order while they fit (an exclusive one at the head waits for the rest to end).
        while let j = waiting.first {
            if let c = j.client, let l = latest[c], l.seq > j.seq { superseded.append(waiting.removeFirst()); continue }
            if now.timeIntervalSince(j.enqueued) > maxWait { expired.append(waiting.removeFirst()); continue }
            guard canStart(j) else { break }
            start(j)
            next.append(waiting.removeFirst())
        }
        lock.unlock()
        for j in superseded { j.reject(nil) }
        for j in expired { j.reject("busy: waited more than \(Int(maxWait)) s for a free computation slot; try again") }
        for j in next { j.start() }
    }
}
