import Charts
import Dynamics
import Foundation

/// Charts of `gradlab baselines`: every seed's held-out loss per cell against the baseline and the pass line,
/// and ‖∂L/∂h_t‖ against t at initialisation and after a few iterations (Arjovsky, Shah & Bengio 2016).
public enum BaselineCharts {
    static let passColor = Palette.color(2)     // bluish green
    static let failColor = Palette.color(1)     // vermillion

    static func taskName(_ o: TrainOptions) -> String {
        o.task == .adding ? "adding problem, T = \(o.steps)" : "copying memory problem, T = \(o.steps)"
    }

    /// One panel per cell: each seed's held-out loss against the iteration, its final point marked (● pass,
    /// ■ fail), the baseline and the pass line.
    public static func successFigure(_ r: BaselinesResult, size: ChartSize = ChartSize()) -> Figure {
        let o = r.options, b = o.base
        let cells = o.cells
        let fig = size.figure(rows: 1, cols: cells.count)
        let lossName = TrainCharts.lossName(r.lossKind)
        // Narrow panels (many cells on a small canvas) cannot spare the y label's width: the title names the axis.
        let roomy = fig.width / Double(cells.count) >= 300
        fig.title = "Success over seeds: \(taskName(b)), \(b.iterations) iterations" + (roomy ? "" : "; held-out \(lossName), log scale")
        fig.sharedLegend = cells.count > 1
        let all = r.runs.flatMap { $0.evaluations.map(\.loss) } + [r.baseline, r.passLoss]
        let positive = all.filter { $0.isFinite && $0 > 0 }
        let lo = (positive.min() ?? r.passLoss) / 2, hi = (positive.max() ?? r.baseline) * 2
        for (i, cell) in cells.enumerated() {
            let ax = fig[0, i]
            let s = r.successes(cell)
            ax.title = "\(TrainCharts.cellName(cell)): \(s.passed) of \(s.total) pass"
            ax.xLabel = "iteration"
            ax.yLabel = i == 0 && roomy ? "held-out \(lossName) (log scale)" : nil
            ax.yScale = .log10
            ax.yRange = lo...hi
            // A little room right of the last iteration, so the final markers are not cut by the frame.
            ax.xRange = 0...(Double(max(b.iterations, 1)) * 1.03)
            // One legend for all panels (the first panel's): it names both outcomes that occur anywhere.
            var labelledPass = false, labelledFail = false
            if i == 0 && cells.count > 1 {
                if r.runs.contains(where: \.passed) && !r.runs.contains(where: { $0.cell == cell && $0.passed }) {
                    ax.plot([], [], label: "a seed that passes (final point ●)", color: passColor.withAlpha(0.85), width: 1.8)
                    labelledPass = true
                }
                if r.runs.contains(where: { !$0.passed }) && !r.runs.contains(where: { $0.cell == cell && !$0.passed }) {
                    ax.plot([], [], label: "a seed that fails (final point ■)", color: failColor.withAlpha(0.85), width: 1.8)
                    labelledFail = true
                }
            }
            for run in r.runs where run.cell == cell {
                let pts = run.evaluations.filter { $0.loss.isFinite && $0.loss > 0 }
                let color = run.passed ? passColor : failColor
                var label: String? = nil
                if run.passed && !labelledPass && (i == 0 || cells.count == 1 || !fig.sharedLegend) { label = "a seed that passes (final point ●)"; labelledPass = true }
                if !run.passed && !labelledFail && (i == 0 || cells.count == 1 || !fig.sharedLegend) { label = "a seed that fails (final point ■)"; labelledFail = true }
                ax.plot(pts.map { Double($0.iteration) }, pts.map(\.loss), label: label, color: color.withAlpha(0.85), width: 1.8)
                if let last = pts.last {
                    ax.scatter([Double(last.iteration)], [last.loss], color: color, marker: run.passed ? .circle : .square, size: 11)
                }
                if run.diverged {
                    ax.annotate("seed \(run.seed) diverged", x: Double(b.iterations) / 2, y: r.baseline, alignment: .center,
                                relativeSize: 0.85, nearPoint: true)
                }
            }
            ax.hline(r.baseline, label: "baseline \(Format.fixed(r.baseline, 4))", color: .darkGray, dash: .dashed)
            ax.hline(r.passLoss, label: "pass line \(Format.fixed(r.passLoss, 4))", color: passColor, dash: .dotted, width: 2)
            ax.legendPosition = .lowerLeft
        }
        let pct = Format.fixed(100 * o.effectivePassAccuracy, 0)
        let rule = b.task == .adding
            ? "pass: final MSE < \(Format.fixed(r.passLoss, 4)) and ≥ \(pct) % of sequences solved (|error| < 0.04)"
            : "pass: final cross-entropy < \(Format.fixed(r.passLoss, 4)) and ≥ \(pct) % of recalled symbols right"
        fig.addNote(rule + "; seeds \(o.seedValues.map(String.init).joined(separator: ", ")); "
                    + "n = \(b.hidden), batch \(b.batchSize), \(b.optimizer.rawValue) lr \(trainNumber(b.learningRate))"
                    + (b.clipNorm.map { ", clip-norm \(trainNumber($0))" } ?? ""))
        return fig
    }

    /// ‖∂L/∂h_t‖ against t, one line per cell: at initialisation (left) and after the gradient iterations (right).
    public static func gradientFigure(_ r: BaselinesResult, size: ChartSize = ChartSize()) -> Figure {
        let o = r.options, b = o.base
        let iterations = Array(Set(r.gradients.map(\.iteration))).sorted()
        let fig = size.figure(rows: 1, cols: max(iterations.count, 1))
        fig.title = "Gradient reaching h_{t}: \(taskName(b)) (after Arjovsky, Shah & Bengio 2016)"
        fig.sharedLegend = iterations.count > 1
        let positive = r.gradients.flatMap(\.norms).filter { $0.isFinite && $0 > 0 }
        let lo = (positive.min() ?? 1e-10) / 3, hi = (positive.max() ?? 1) * 3
        let last = b.sequenceLength
        var omitted = 0
        for (i, it) in iterations.enumerated() {
            let ax = fig[0, i]
            ax.title = it == 0 ? "at initialisation" : "after \(it) iterations"
            ax.xLabel = "time step t"
            ax.yLabel = i == 0 ? "‖∂L/∂h_{t}‖_{2} per sequence (log scale)" : nil
            ax.yScale = .log10
            ax.yRange = lo...hi
            ax.xRange = 0...Double(last)
            for (ci, cell) in o.cells.enumerated() {
                guard let p = r.gradients.first(where: { $0.cell == cell && $0.iteration == it }) else { continue }
                let pts = p.norms.enumerated().filter { $0.element.isFinite && $0.element > 0 }
                omitted += p.norms.count - pts.count
                ax.plot(pts.map { Double($0.offset) }, pts.map(\.element), label: TrainCharts.cellName(cell), color: Palette.color(ci), width: 2.5)
            }
            if b.task == .copyMemory {
                ax.vline(Double(CopyMemoryTask.length), label: "last symbol", color: .gray, dash: .dotted)
                ax.vline(Double(b.steps + CopyMemoryTask.length), label: "delimiter", color: .gray, dash: .dotted)
            }
            ax.legendPosition = .lowerRight
        }
        var note = "∂L_b/∂h_t for each held-out sequence b's own loss L_b"
            + (b.task == .adding ? " (its MSE at t = T)" : " (its cross-entropy averaged over all T + 20 steps)")
            + ", norm averaged over the \(b.evalSize) sequences; first seed (\(b.seed)), n = \(b.hidden)"
        if omitted > 0 { note += "; \(omitted) zero or non-finite value(s) not drawn" }
        fig.addNote(note)
        return fig
    }

    public static func saveSuccess(_ r: BaselinesResult, to path: String, size: ChartSize = ChartSize(), title: String? = nil) throws {
        try FigureFile.save(successFigure(r, size: size), to: path, title: title)
    }

    public static func saveGradients(_ r: BaselinesResult, to path: String, size: ChartSize = ChartSize(), title: String? = nil) throws {
        try FigureFile.save(gradientFigure(r, size: size), to: path, title: title)
    }
}
