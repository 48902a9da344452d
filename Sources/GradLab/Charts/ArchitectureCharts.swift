import Charts
import Dynamics
import Foundation
import Linear

/// Charts of `gradlab architectures`: the four ∂L_j/∂x_i maps, their norm against the path length, and the
/// reversal experiment (loss curves; maps in order and reversed).
public enum ArchitectureCharts {
    static func cellName(_ k: CellKind) -> String { TrainCharts.cellName(k) }

    /// How many recurrent steps separate x_i and y_j, as a formula for panel titles.
    static func pathFormula(_ m: PathMap) -> String {
        switch m.architecture {
        case .manyToMany: return "path j − i"
        case .manyToOne: return "path T − i"
        case .oneToMany: return "path j − 1"
        case .encoderDecoder: return "path (S − i) + j ≥ 1"
        }
    }

    /// The finite log10 range shared by `maps` (so their colours compare).
    static func sharedRange(_ maps: [PathMap]) -> ClosedRange<Double> {
        let v = maps.flatMap { m in m.lengthPoints.map(\.log10) }
        let lo = v.min() ?? -1, hi = max(v.max() ?? 0, lo + 1)
        return lo...hi
    }

    /// Small canvases (a 400×260 slide, a paper column): short titles, one-letter axis labels, no notes.
    static func isCompact(_ fig: Figure) -> Bool {
        fig.style == .paper || fig.width < 700 || fig.height < 450
    }

    /// One map as a heatmap on `ax`: input step on x, output step on y; cells without a path, an input or
    /// a non-zero norm are grey.
    static func draw(_ m: PathMap, on ax: Axes, range: ClosedRange<Double>, marksMatching: Bool, compact: Bool) {
        // Every step 1 … last output is a row, so each architecture shows its shape: steps without an output
        // (many-to-one before T, the echo's first D) are grey like pairs without a path or without an input.
        let present = Set(m.inputsPresent)
        let lastStep = m.outputSteps.last ?? 1
        var grid: [[Double]] = [], mask: [[Bool]] = []
        for step in 1...lastStep {
            guard let r = m.outputSteps.firstIndex(of: step) else {
                grid.append([Double](repeating: .nan, count: m.inputSteps))
                mask.append([Bool](repeating: true, count: m.inputSteps))
                continue
            }
            let row = m.norms[r]
            grid.append((1...m.inputSteps).map { i in row[i - 1] > 0 && row[i - 1].isFinite ? detLog10(row[i - 1]) : .nan })
            mask.append((1...m.inputSteps).map { i in !present.contains(i) || m.pathLength(row: r, input: i) == nil || !(row[i - 1] > 0) })
        }
        ax.heatmap(grid, x: 0.5...(Double(m.inputSteps) + 0.5), y: 0.5...(Double(lastStep) + 0.5), mask: mask,
                   colorScale: .log10Data, colorRange: range, colorbarLabel: compact ? nil : "‖∂L_{j}/∂x_{i}‖")
        if compact {
            ax.xLabel = "i"; ax.yLabel = "j"
        } else {
            ax.xLabel = m.architecture == .encoderDecoder ? (m.reversedSource ? "encoder step i (source reversed)" : "encoder step i") : "input step i"
            ax.yLabel = m.architecture == .encoderDecoder ? "decoder step j" : "output step j"
        }
        if marksMatching, let match = m.matchingInput {
            ax.scatter(match.map(Double.init), m.outputSteps.map(Double.init), label: compact ? "symbol to copy" : "the source symbol output j must reproduce",
                       color: Palette.color(1), marker: .circle, size: 11)
            ax.legendPosition = .upperRight
        }
    }

    /// The four maps, 2 × 2: the path length is each architecture's signature.
    public static func pathsFigure(_ r: PathsResult, size: ChartSize = ChartSize()) -> Figure {
        let fig = size.figure(rows: 2, cols: 2)
        let o = r.options
        fig.title = "The path length sets the gradient: log-scale ‖∂L_{j}/∂x_{i}‖ for each architecture (\(cellName(o.cell)), n = \(o.hidden))"
        let range = sharedRange(r.maps)
        let compact = isCompact(fig)
        if compact { fig.title = "log-scale ‖∂L_{j}/∂x_{i}‖: the path length is the signature" }
        for (k, m) in r.maps.enumerated() {
            let ax = fig[k / 2, k % 2]
            draw(m, on: ax, range: range, marksMatching: false, compact: compact)
            ax.title = compact ? "\(m.architecture.rawValue)" : "\(m.architecture.rawValue): \(m.taskName); \(pathFormula(m))"
        }
        if !compact {
            fig.addNote("grey: no output at that step, no input there (one-to-many reads only step 1), or no path (an output before its input); "
                        + (o.iterations == 0 ? "at initialisation" : "after \(o.iterations) iterations of training")
                        + "; √B‖∂L_j/∂X_i‖_F over a batch of \(o.batchSize), seed \(o.seed)")
        }
        return fig
    }

    /// log10‖∂L_j/∂x_i‖ against the number of recurrent steps between x_i and y_j, all four architectures.
    public static func lengthFigure(_ r: PathsResult, size: ChartSize = ChartSize()) -> Figure {
        let fig = size.figure()
        let ax = fig.axes
        let o = r.options
        ax.title = "Every architecture on one line: ‖∂L_{j}/∂x_{i}‖ against the path length (\(cellName(o.cell)), n = \(o.hidden))"
        ax.xLabel = "recurrent steps between x_{i} and y_{j}"
        ax.yLabel = "‖∂L_{j}/∂x_{i}‖ (log scale)"
        ax.yScale = .log10
        let markers: [Marker] = [.circle, .square, .triangle, .circle]
        var longest = 1
        for (k, m) in r.maps.enumerated() {
            let pts = m.lengthPoints
            for row in m.outputSteps.indices { for i in m.inputsPresent { longest = max(longest, m.pathLength(row: row, input: i) ?? 0) } }
            // A map without a finite non-zero entry (a diverged or dead network) is named as such, not left blank.
            let label = "\(m.architecture.rawValue) (\(m.taskName))" + (pts.isEmpty ? ": no finite non-zero gradient" : "")
            ax.scatter(pts.map { Double($0.length) }, pts.map(\.value), label: label,
                       color: Palette.color(k), marker: markers[k], size: k == 3 ? 5 : 7)
        }
        ax.xRange = -0.5...(Double(longest) + 0.5)
        fig.addNote((o.iterations == 0 ? "at initialisation" : "after \(o.iterations) iterations") + "; one point per (output j, input i) pair with a path")
        return fig
    }

    /// Held-out loss of every seed (faint) and their mean (bold), source in order against reversed, with
    /// the memoryless baseline.
    public static func reversalFigure(_ r: ReversalResult, size: ChartSize = ChartSize()) -> Figure {
        let fig = size.figure()
        let ax = fig.axes
        let o = r.options
        let mean = { (v: [Int]) in Double(v.reduce(0, +)) / Double(max(v.count, 1)) }
        ax.title = "Reversing the source (Sutskever et al. 2014): \(cellName(o.cell)) encoder–decoder, \(o.task.rawValue), S = \(o.sourceLength)"
        ax.xLabel = "iteration"
        ax.yLabel = "held-out cross-entropy (log scale)"
        ax.yScale = .log10
        for (k, (runs, name, paths)) in [(r.normal, "source in order", r.pathsNormal), (r.reversed, "source reversed", r.pathsReversed)].enumerated() {
            let color = Palette.color(k == 0 ? 1 : 0)
            for run in runs where runs.count > 1 {
                ax.plot(run.evaluations.map { Double($0.iteration) }, run.evaluations.map(\.loss), label: nil, color: color.withAlpha(0.3), width: 1.2)
            }
            let its = runs[0].evaluations.map(\.iteration)
            let avg = its.indices.map { e in
                let v = runs.compactMap { $0.evaluations.count > e ? $0.evaluations[e].loss : nil }
                return v.reduce(0, +) / Double(v.count)
            }
            ax.plot(its.map(Double.init), avg, label: "\(name): shortest path \(paths.min()!), mean \(Format.fixed(mean(paths), 0)) steps"
                    + (runs.count > 1 ? " (mean of \(runs.count) seeds)" : ""), color: color, width: 2.8)
        }
        ax.hline(r.baseline, label: r.baselineLabel, color: .darkGray, dash: .dashed)
        ax.xRange = 0...Double(o.iterations)
        ax.legendPosition = .lowerLeft
        fig.addNote(o.summary + "; K = \(o.symbols) symbols, T′ = \(o.effectiveTargetLength); faint: each seed")
        return fig
    }

    /// The encoder–decoder's maps at initialisation, source in order (left) and reversed (right), with the
    /// cell each output must copy from marked.
    public static func reversalMapsFigure(_ r: ReversalResult, size: ChartSize = ChartSize()) -> Figure {
        // A narrow canvas (a paper column) stacks the two maps: side by side, their colour bars leave no room.
        let narrow = size.resolved.width < 400
        let fig = narrow ? size.figure(rows: 2, cols: 1) : size.figure(rows: 1, cols: 2)
        let o = r.options
        fig.title = "Where the decoder's loss reaches the source: log-scale ‖∂L_{j}/∂x_{i}‖ (\(cellName(o.cell)), \(o.task.rawValue), S = \(o.sourceLength), at initialisation)"
        let range = sharedRange([r.mapNormal, r.mapReversed])
        let compact = isCompact(fig)
        if compact { fig.title = "log-scale ‖∂L_{j}/∂x_{i}‖, S = \(o.sourceLength)" }
        for (k, (m, paths)) in [(r.mapNormal, r.pathsNormal), (r.mapReversed, r.pathsReversed)].enumerated() {
            let ax = narrow ? fig[k, 0] : fig[0, k]
            draw(m, on: ax, range: range, marksMatching: true, compact: compact)
            ax.title = (k == 0 ? "in order" : "reversed") + (compact ? "" : ": " + (paths.min() == paths.max() ? "every matching pair \(paths.min()!) steps apart" : "matching pairs \(paths.min()!)–\(paths.max()!) steps apart"))
        }
        fig.sharedLegend = true
        if !compact { fig.addNote("path from encoder step i to decoder step j: (S − i) + j recurrent steps; the mean over the matching pairs is the same both ways") }
        return fig
    }
}
