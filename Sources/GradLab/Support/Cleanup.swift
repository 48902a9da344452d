import Foundation

/// Files and folders that must not outlive an interrupted or crashed run (temporary outputs, a lesson's
/// staging folder), and the signal handlers that remove them.
///
/// Paths live in a fixed table of C strings so the handlers only call async-signal-safe functions
/// (unlink, rmdir, write, _exit). SIGINT, SIGTERM and SIGHUP remove what is registered and exit with
/// 128 + the signal (130, 143, 129). While a lesson runs, crash signals (a trap, abort or bad access inside a
/// command) also print one line naming the lesson and block — stderr is being captured then — before
/// cleaning up and exiting with 70 (EX_SOFTWARE).
public enum Cleanup {
    static let capacity = 4096
    nonisolated(unsafe) static let paths: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?> = {
        let p = UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>.allocate(capacity: capacity)
        p.initialize(repeating: nil, count: capacity)
        return p
    }()
    nonisolated(unsafe) static let isDirectory: UnsafeMutablePointer<Bool> = {
        let p = UnsafeMutablePointer<Bool>.allocate(capacity: capacity)
        p.initialize(repeating: false, count: capacity)
        return p
    }()
    nonisolated(unsafe) static var used = 0
    static let lock = NSLock()

    /// Registers `path` for removal on interruption; returns a token for `unregister`.
    @discardableResult
    public static func register(_ path: String, directory: Bool = false) -> Int? {
        lock.lock(); defer { lock.unlock() }
        for i in 0..<capacity where paths[i] == nil {
            isDirectory[i] = directory
            paths[i] = strdup(path)
            used = max(used, i + 1)
            return i
        }
        return nil
    }

    public static func unregister(_ token: Int?) {
        guard let i = token else { return }
        lock.lock(); defer { lock.unlock() }
        let p = paths[i]
        paths[i] = nil
        free(p)
    }

    /// Removes every registered path (files first, then folders, deepest last registered first). Signal-safe.
    static func removeAll() {
        let n = used
        for i in 0..<n { if let p = paths[i], !isDirectory[i] { unlink(p) } }
        for i in stride(from: n - 1, through: 0, by: -1) { if let p = paths[i], isDirectory[i] { rmdir(p) } }
    }

    nonisolated(unsafe) static var installed = false

    /// SIGINT/SIGTERM/SIGHUP: remove registered paths and exit 128 + signal.
    public static func installSignalHandlers() {
        guard !installed else { return }
        installed = true
        for sig in [SIGINT, SIGTERM, SIGHUP] {
            signal(sig) { s in
                Cleanup.removeAll()
                _exit(128 + s)
            }
        }
    }

    // MARK: crash reports inside lessons

    nonisolated(unsafe) static var crashMessage: UnsafeMutablePointer<CChar>?
    nonisolated(unsafe) static var crashFD: Int32 = STDERR_FILENO
    nonisolated(unsafe) static var savedActions: [Int32: sigaction] = [:]
    static let crashSignals = [SIGILL, SIGTRAP, SIGSEGV, SIGBUS, SIGABRT, SIGFPE]

    /// While `message` is set, a crash writes it (one line) to `fd`, removes registered paths and exits 70.
    /// nil restores the previous handlers (Swift's backtracer outside lessons).
    public static func setCrashReport(_ message: String?, fd: Int32 = STDERR_FILENO) {
        let old = crashMessage
        crashMessage = message.map { strdup($0) }
        crashFD = fd
        free(old)
        if message != nil, savedActions.isEmpty {
            for sig in crashSignals {
                var action = sigaction()
                action.__sigaction_handler.sa_handler = { _ in
                    if let m = Cleanup.crashMessage { _ = write(Cleanup.crashFD, m, strlen(m)) }
                    Cleanup.removeAll()
                    _exit(70)
                }
                sigemptyset(&action.sa_mask)
                action.sa_flags = 0
                var previous = sigaction()
                sigaction(sig, &action, &previous)
                savedActions[sig] = previous
            }
        } else if message == nil, !savedActions.isEmpty {
            for (sig, previous) in savedActions {
                var p = previous
                sigaction(sig, &p, nil)
            }
            savedActions = [:]
        }
    }
}
