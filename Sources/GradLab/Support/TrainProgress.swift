import Foundation

/// A one-line progress bar on stderr, drawn only when stderr is a terminal (logs and pipes stay clean).
public final class TrainProgressBar {
    private let enabled: Bool
    private let label: String
    private var lastDraw: UInt64 = 0
    private var drawn = false
    private var smoothed: Double?
    private var lastEval: Double?
    private let start = DispatchTime.now().uptimeNanoseconds

    /// `enabled` is further restricted to terminals: pass true to allow a bar.
    public init(label: String, enabled: Bool = true) {
        self.label = label
        self.enabled = enabled && isatty(STDERR_FILENO) == 1
    }

    /// Redraws at most ten times a second; the last iteration is always drawn.
    public func update(iteration: Int, total: Int, loss: Double, evalLoss: Double?) {
        guard enabled else { return }
        if let e = evalLoss { lastEval = e }
        if loss.isFinite { smoothed = smoothed.map { 0.95 * $0 + 0.05 * loss } ?? loss }
        let now = DispatchTime.now().uptimeNanoseconds
        guard iteration == total || now - lastDraw > 100_000_000 else { return }
        lastDraw = now
        let width = 28
        let done = total > 0 ? Int(Double(width) * Double(iteration) / Double(total)) : width
        let bar = String(repeating: "█", count: done) + String(repeating: "·", count: width - done)
        let pct = total > 0 ? 100 * iteration / total : 100
        let evalText = lastEval.map { String(format: "  held-out %.4f", $0) } ?? ""
        let lossText = smoothed.map { String(format: "%.4f", $0) } ?? "nan"
        let elapsed = Double(now - start) / 1e9
        let eta = iteration > 0 && iteration < total
            ? "  ~\(Budget.durationText(elapsed * Double(total - iteration) / Double(iteration))) left" : ""
        Console.writeError("\r\u{1B}[2K\(label) [\(bar)] \(pct)% \(iteration)/\(total)  avg loss \(lossText)\(evalText)\(eta)")
        drawn = true
    }

    /// Ends the bar's line (only if one was drawn).
    public func finish() {
        guard drawn else { return }
        Console.writeError("\n")
        drawn = false
    }
}
