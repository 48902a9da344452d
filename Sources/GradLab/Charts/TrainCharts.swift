import Charts
import Dynamics
import Foundation

/// Charts of training runs: loss curve, gradient-norm history, per-lag contributions, clipping comparison,
/// final loss against sequence length.
public enum TrainCharts {
    /// "LSTM", "tanh RNN", "IRNN", … for titles and legends.
    public static func cellName(_ k: CellKind) -> String {
        switch k {
        case .lstm: return "LSTM"
        case .gru: return "GRU"
        case .irnn: return "IRNN"
        case .leaky: return "leaky tanh RNN"
        default: return "\(k.rawValue) RNN"
        }
    }

    /// The trained model: "LSTM", or "2-layer LSTM" for a stack.
    static func modelName(_ o: TrainOptions) -> String {
        o.layers > 1 ? "\(o.layers)-layer \(cellName(o.cell))" : cellName(o.cell)
    }

    static func taskName(_ o: TrainOptions) -> String {
        switch o.task {
        case .adding: return "adding problem"
        case .copy: return "copy task (L = \(o.copyLength), \(o.symbols) symbols)"
        case .copyMemory: return "copying memory problem (10 of 8 symbols)"
        }
    }

    static func lossName(_ k: LossKind) -> String { k == .mse ? "MSE" : "cross-entropy" }

    /// Trailing geometric moving average over `window` points: the trend of a noisy loss on a log axis (an
    /// arithmetic mean would let one spike of 10⁶ dominate the whole window). Non-positive values are skipped.
    static func movingAverage(_ v: [Double], window: Int) -> [Double] {
        var out: [Double] = []
        out.reserveCapacity(v.count)
        var sum = 0.0, count = 0
        let logs = v.map { $0 > 0 && $0.isFinite ? log($0) : Double.nan }
        for i in logs.indices {
            if !logs[i].isNaN { sum += logs[i]; count += 1 }
            if i >= window, !logs[i - window].isNaN { sum -= logs[i - window]; count -= 1 }
            out.append(count > 0 ? exp(sum / Double(count)) : .nan)
        }
        return out
    }

    /// Smoothing window: ~1/40 of the run, at least 1.
    static func window(_ n: Int) -> Int { max(1, min(50, n / 40)) }

    /// Training-batch loss (faint, and smoothed), held-out loss, baseline and target.
    public static func lossFigure(_ r: TrainResult, size: ChartSize = ChartSize()) -> Figure {
        let fig = size.figure()
        let ax = fig.axes
        let o = r.options
        ax.title = "\(modelName(o)) on the \(taskName(o)), T = \(o.steps): \(lossName(r.lossKind)) during training"
        ax.xLabel = "iteration"
        ax.yLabel = "\(lossName(r.lossKind)) (log scale)"
        ax.yScale = .log10
        addLossLines(ax, r, color: Palette.color(0), label: nil)
        ax.hline(r.baseline, label: r.baselineLabel, color: .darkGray, dash: .dashed)
        ax.hline(o.effectiveTarget, label: "target \(trainNumber(o.effectiveTarget))", color: Palette.color(2), dash: .dotted)
        if let d = r.divergedAt { ax.vline(Double(d), label: "diverged (loss not finite)", color: Palette.color(1)) }
        ax.xRange = 0...Double(max(o.iterations, 1))
        fig.addNote(o.summary + "; \(r.records.count) iterations")   // no timing: the chart must be the same on every run
        return fig
    }

    /// Adds the faint raw batch loss, its moving average and the held-out loss of one run.
    static func addLossLines(_ ax: Axes, _ r: TrainResult, color: Color, label: String?) {
        let x = r.records.map { Double($0.iteration) }
        let y = r.records.map(\.loss)
        let prefix = label.map { "\($0): " } ?? ""
        ax.plot(x, y, label: nil, color: color.withAlpha(0.22), width: 1)
        let finite = y.prefix { $0.isFinite }
        ax.plot(Array(x.prefix(finite.count)), movingAverage(Array(finite), window: window(finite.count)),
                label: "\(prefix)training batches (moving geometric mean)", color: color, width: 1.6)
        let ex = r.evaluations.map { Double($0.iteration) }, ey = r.evaluations.map(\.loss)
        ax.plot(ex, ey, label: "\(prefix)held-out batch", color: color, width: 2.6, marker: ex.count <= 60 ? .circle : .none)
    }

    /// ‖g‖₂ before and after clipping, per iteration, with the threshold.
    public static func gradNormFigure(_ r: TrainResult, size: ChartSize = ChartSize()) -> Figure {
        let fig = size.figure()
        let ax = fig.axes
        let o = r.options
        ax.title = "\(modelName(o)), \(taskName(o)), T = \(o.steps): gradient norm ‖∂L/∂θ‖_{2} per iteration"
        ax.xLabel = "iteration"
        ax.yLabel = "‖∂L/∂θ‖_{2} (log scale)"
        ax.yScale = .log10
        let x = r.records.map { Double($0.iteration) }
        ax.plot(x, r.records.map(\.gradNorm), label: o.clipping == .none ? "‖g‖ (no clipping)" : "‖g‖ before clipping",
                color: Palette.color(1), width: 1.2)
        if o.clipping != .none {
            ax.plot(x, r.records.map(\.clippedNorm), label: "‖g‖ after clipping (step taken)", color: Palette.color(0), width: 1.6)
        }
        if case .norm(let c) = o.clipping { ax.hline(c, label: "clip threshold c = \(trainNumber(c))", dash: .dashed) }
        if o.layers > 1 {
            // What depth adds: the recurrent weights of each layer, the lower ones reached only through the layers above.
            let colors = Palette.sequential(o.layers)
            for l in 0..<o.layers {
                let pts = r.records.filter { $0.layerGradNorms.count == o.layers && $0.layerGradNorms[l].isFinite && $0.layerGradNorms[l] > 0 }
                let name = l == 0 ? "layer 0 (bottom)" : l == o.layers - 1 ? "layer \(l) (top)" : "layer \(l)"
                ax.plot(pts.map { Double($0.iteration) }, pts.map { $0.layerGradNorms[l] },
                        label: "‖∂L/∂W_{hh}‖_{F}, \(name)", color: colors[l], width: 1.1)
            }
            ax.yLabel = "gradient norm (log scale)"
        }
        if case .value(let v) = o.clipping {
            fig.addNote("value clipping clamps each of the \(r.net.parameterCount) entries to ±\(trainNumber(v)); the norm after it is at most \(trainNumber(v))·√\(r.net.parameterCount)")
        }
        if let d = r.divergedAt { ax.vline(Double(d), label: "diverged", color: Palette.color(1)) }
        ax.xRange = 0...Double(max(o.iterations, 1))
        fig.addNote(o.summary)
        return fig
    }

    /// ‖C_ℓ‖_F against the lag ℓ at each snapshot; with truncation, the dropped lags shaded.
    public static func contributionsFigure(_ r: TrainResult, size: ChartSize = ChartSize()) -> Figure {
        let fig = size.figure()
        let ax = fig.axes
        let o = r.options
        ax.title = "\(modelName(o)), \(taskName(o)), T = \(o.steps): where \(o.layers > 1 ? "the top layer's " : "")∂L/∂W_{hh} comes from"
        ax.xLabel = "lag ℓ = t − k (steps between the loss and the use of W_{hh})"
        ax.yLabel = "‖C_{ℓ}‖_{F} (log scale)"
        ax.yScale = .log10
        let positives = r.snapshots.flatMap(\.norms).filter { $0 > 0 && $0.isFinite }
        let seqLen = o.sequenceLength
        if let k = o.truncation, k < seqLen, let lo = positives.min(), let hi = positives.max() {
            // Shade the lags truncated BPTT never sees.
            ax.band([Double(k), Double(seqLen - 1)], lower: [lo / 10, lo / 10], upper: [hi * 10, hi * 10],
                    label: "cut off by truncation (lags ≥ K = \(k))", color: .gray, alpha: 0.15)
            ax.vline(Double(k), label: "K = \(k)", color: .darkGray)
            ax.yRange = (lo / 2)...(hi * 3)
        }
        let colors = Palette.sequential(r.snapshots.count)
        for (i, s) in r.snapshots.enumerated() {
            // Zero entries (e.g. lag T−1, which multiplies h_0 = 0) cannot be drawn on a log axis: left out.
            let pts = s.norms.enumerated().filter { $0.element > 0 && $0.element.isFinite }
            var label = "iteration \(s.iteration)"
            if let c = s.cutOffShare { label += String(format: " (cut off: %.1f %%)", 100 * c) }
            // Early snapshots dark purple, late ones green: time reads as colour, and neighbours stay apart.
            ax.plot(pts.map { Double($0.offset) }, pts.map(\.element), label: label, color: colors[i], width: 2)
        }
        ax.xRange = 0...Double(max(seqLen - 1, 1))
        fig.addNote(o.summary + "; C_ℓ is the lag-ℓ part of \(o.layers > 1 ? "the top layer's " : "")∂L/∂W_hh, and the C_ℓ sum exactly to it (full BPTT on the held-out batch)"
                    + (r.snapshots.contains { $0.cutOffShare != nil } ? "; cut off: the share of ‖∂L/∂W_hh‖ from lags ≥ K" : ""))
        return fig
    }

    /// Two runs, identical but for clipping: loss (left) and gradient norm before clipping (right).
    ///
    /// A diverging run climbs to 10^300 before it turns into NaN; the y axes are capped a few decades above
    /// the stable run instead, so that run stays readable and the diverging one visibly leaves the chart.
    public static func clippingFigure(unclipped a: TrainResult, clipped b: TrainResult, size: ChartSize = ChartSize()) -> Figure {
        let fig = size.figure(rows: 1, cols: 2)
        let o = b.options
        fig.title = "Gradient clipping: \(modelName(o)) on the \(taskName(o)), T = \(o.steps), \(o.optimizer.rawValue) lr \(trainNumber(o.learningRate))"
        let left = fig[0, 0], right = fig[0, 1]
        fig.sharedLegend = true        // both panels show the same two runs: one legend (the left one, with the baseline)
        left.title = "loss"
        left.xLabel = "iteration"
        left.yLabel = "\(lossName(b.lossKind)) (log scale)"
        left.yScale = .log10
        let colors = [Palette.color(1), Palette.color(0)]
        func finitePairs(_ r: TrainResult, _ value: (TrainRecord) -> Double) -> ([Double], [Double]) {
            let kept = r.records.filter { value($0).isFinite && value($0) > 0 }
            return (kept.map { Double($0.iteration) }, kept.map(value))
        }
        for (r, c) in zip([a, b], colors) {
            let (x, y) = finitePairs(r, \.loss)
            left.plot(x, y, color: c.withAlpha(0.2), width: 1)
            let label = r.label + (r.divergedAt.map { " — NaN at iteration \($0) (dashed)" } ?? "")
            left.plot(x, movingAverage(y, window: window(y.count)), label: label, color: c, width: 2.2)
        }
        left.hline(b.baseline, label: "baseline \(Format.fixed(b.baseline, 3))")
        right.title = "gradient norm before clipping"
        right.xLabel = "iteration"
        right.yLabel = "‖∂L/∂θ‖_{2} (log scale)"
        right.yScale = .log10
        for (r, c) in zip([a, b], colors) {
            let (x, y) = finitePairs(r, \.gradNorm)
            right.plot(x, y, label: r.label, color: c, width: 1.3)
        }
        if case .norm(let c) = o.clipping { right.hline(c, label: "threshold c = \(trainNumber(c))") }
        for (r, c) in zip([a, b], colors) {
            if let d = r.divergedAt {
                // Unlabelled: the legend entry names it (a top label would collide with the capped curve).
                left.vline(Double(d), color: c)
                right.vline(Double(d), color: c)
            }
        }
        // Ranges from the stable run(s), capped a few decades above them.
        let stable = [a, b].filter { $0.divergedAt == nil }
        let basis = stable.isEmpty ? [a, b] : stable
        let losses = basis.flatMap { $0.records.map(\.loss) }.filter { $0.isFinite && $0 > 0 }
        let norms = basis.flatMap { $0.records.map(\.gradNorm) }.filter { $0.isFinite && $0 > 0 }
        if let lo = losses.min(), let hi = losses.max() { left.yRange = (lo / 2)...max(hi * 1000, b.baseline * 1000) }
        if let lo = norms.min(), let hi = norms.max() { right.yRange = (lo / 2)...(hi * 1e4) }
        // Log iterations: an explosion takes a handful of steps, learning takes thousands; both must show.
        for ax in [left, right] {
            ax.xScale = .log10
            ax.xLabel = "iteration (log scale)"
            ax.xRange = 1...Double(max(o.iterations, 2))
            ax.legendPosition = .upperRight
        }
        var note = o.summary.replacingOccurrences(of: ", clip-norm \(o.clipNorm.map(trainNumber) ?? "")", with: "")
        note = note.replacingOccurrences(of: ", clip-value \(o.clipValue.map(trainNumber) ?? "")", with: "")
        func outcome(_ r: TrainResult) -> String {
            if let d = r.divergedAt {
                let peak = r.records.map(\.loss).filter(\.isFinite).max() ?? .nan
                return "\(r.label): NaN at iteration \(d) (loss reached \(TrainExperiment.lossText(peak)))"
            }
            return "\(r.label): final held-out loss \(TrainExperiment.lossText(r.finalEvalLoss))"
        }
        fig.addNote("both runs: " + note + ", same batches; " + outcome(a) + "; " + outcome(b))
        return fig
    }

    /// Final held-out loss against T, one line per cell, with the baseline.
    public static func sweepFigure(_ s: TrainSweepResult, size: ChartSize = ChartSize()) -> Figure {
        let fig = size.figure()
        let ax = fig.axes
        let b = s.options.base
        ax.title = "Which RNN still learns the \(taskName(b)) as the sequences get longer?"
        ax.xLabel = "sequence length T (steps between the first marker and the answer: up to T − 1)"
        ax.yLabel = "final held-out \(lossName(s.lossKind)) (log scale)"
        // Linear T: the lengths read directly off the axis (a log axis would only label 10 and 100).
        ax.yScale = .log10
        for c in s.options.cells {
            let pts = s.points.filter { $0.cell == c }.sorted { $0.steps < $1.steps }
            ax.plot(pts.map { Double($0.steps) }, pts.map(\.finalLoss), label: cellName(c), width: 2.5, marker: .circle)
            for p in pts where p.diverged {
                ax.annotate("diverged", x: Double(p.steps), y: s.baseline, alignment: .center, relativeSize: 0.85, nearPoint: true)
            }
        }
        ax.hline(s.baseline, label: s.baselineLabel)
        let hi = Double(s.options.lengths.max() ?? 2)
        ax.xRange = 0...(hi * 1.04 + 1)
        let opt = "\(b.iterations) iterations per run, n = \(b.hidden), batch \(b.batchSize), \(b.optimizer.rawValue) lr \(trainNumber(b.learningRate))"
            + (b.clipNorm.map { ", clip-norm \(trainNumber($0))" } ?? "") + (b.clipValue.map { ", clip-value \(trainNumber($0))" } ?? "")
            + ", seed \(b.seed)"
        fig.addNote(opt)   // no timing here: the chart must be the same on every run
        return fig
    }

    // MARK: saving (the CLI does not import Charts)

    /// Writes whichever of the three run charts has a path; returns the paths written.
    /// `title` (the command's `--title`) replaces the built-in title of every chart written.
    public static func save(_ r: TrainResult, loss: String?, gradNorm: String?, contributions: String?,
                            size: ChartSize = ChartSize(), title: String? = nil) throws -> [String] {
        var written: [String] = []
        if let p = loss { try FigureFile.save(lossFigure(r, size: size), to: p, title: title); written.append(p) }
        if let p = gradNorm { try FigureFile.save(gradNormFigure(r, size: size), to: p, title: title); written.append(p) }
        if let p = contributions { try FigureFile.save(contributionsFigure(r, size: size), to: p, title: title); written.append(p) }
        return written
    }

    public static func saveClipping(unclipped a: TrainResult, clipped b: TrainResult, to path: String,
                                    size: ChartSize = ChartSize(), title: String? = nil) throws {
        try FigureFile.save(clippingFigure(unclipped: a, clipped: b, size: size), to: path, title: title)
    }

    public static func saveSweep(_ s: TrainSweepResult, to path: String, size: ChartSize = ChartSize(), title: String? = nil) throws {
        try FigureFile.save(sweepFigure(s, size: size), to: path, title: title)
    }
}
