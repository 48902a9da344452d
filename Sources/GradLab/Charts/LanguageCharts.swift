import Charts
import Dynamics
import Foundation

/// Charts of `gradlab language`: held-out accuracy against distance, and the saliency of each word of a story.
public enum LanguageCharts {
    /// Accuracy at the blank per distance bucket (x: the bucket's mean distance), one line per cell, with the
    /// no-memory level 1/(names − 1).
    public static func accuracyFigure(_ r: LanguageResult, size: ChartSize = ChartSize()) -> Figure {
        let fig = size.figure()
        let ax = fig.axes
        let o = r.options
        ax.title = "Who did A say hi to? Held-out accuracy at the blank by distance"
        ax.xLabel = "distance: words between B and the blank"
        ax.yLabel = "accuracy (%)"
        let x = o.buckets.map { Double($0.lowerBound + $0.upperBound) / 2 }
        // Lines that coincide (two cells at 100 %) stay visible: thinner lines and smaller markers on top.
        let markers: [Marker] = [.circle, .square, .triangle]
        for (i, run) in r.runs.enumerated() {
            let k = Double(i % 3)
            ax.plot(x, run.buckets.map { 100 * $0.accuracy }, label: TrainCharts.cellName(run.cell), color: Palette.color(i),
                    width: 4.5 - 1.0 * k, marker: x.count <= 40 ? markers[i % 3] : .none, markerSize: 13 - 2 * k)
        }
        ax.hline(100 * r.chance, label: "no memory: 1/\(o.nameCount - 1) ≈ \(Format.fixed(100 * r.chance, 0)) %", color: .darkGray, dash: .dashed)
        ax.yRange = 0...105
        let half = Double(o.bucketWidth) / 2
        ax.xRange = (Double(o.minDistance) - half)...(Double(o.maxDistance) + half)
        ax.legendPosition = .outsideRight
        fig.addNote("\(o.summary); \(o.evalPerBucket) held-out stories per bucket of \(o.bucketWidth) distances")
        return fig
    }

    /// ‖∂L/∂x_t‖ (log scale) for every word of the saliency story, one line per cell, before training (top)
    /// and after (bottom); the words on the x axis, the answer B in bold red with a vertical line. A chart
    /// under 500 pt high (a LaTeX column, a small slide) has room for the words only once: after training.
    public static func saliencyFigure(_ r: LanguageResult, size: ChartSize = ChartSize()) -> Figure {
        let both = size.resolved.height >= 500
        let fig = size.figure(rows: both ? 2 : 1, cols: 1)
        let o = r.options
        guard let first = r.runs.first else { return fig }
        let story = first.saliency.story
        let answer = o.corpus.names[story.answer]
        fig.title = "Where does the gradient at the blank reach? ‖∂L/∂x_{t}‖ for each word (B = \(answer), \(story.distance) words back)"
        let highlight = Color(hex: 0xC0392B)
        let x = story.words.indices.map { Double($0 + 1) }
        let panels: [Bool] = both ? [false, true] : [true]
        for (p, trained) in panels.enumerated() {
            let ax = fig[p, 0]
            ax.title = trained ? "after training (\(o.iterations) iterations)" : "before training"
            ax.yLabel = "‖∂L/∂x_{t}‖"
            ax.yScale = .log10
            for (i, run) in r.runs.enumerated() {
                ax.plot(x, (trained ? run.saliency : run.initialSaliency).norms, label: TrainCharts.cellName(run.cell),
                        color: Palette.color(i), width: 2.5, marker: .circle, markerSize: 6)
            }
            ax.vline(Double(story.answerPosition + 1), label: nil, color: highlight, dash: .dotted, width: 2)
            ax.xCategoryLabels = story.words.enumerated().map { i, w in
                i == story.answerPosition ? CategoryLabel(w, at: Double(i + 1), color: highlight, bold: true) : CategoryLabel(w, at: Double(i + 1))
            }
            ax.xTickLabelRotation = 90
            ax.xRange = 0.5...(Double(story.words.count) + 0.5)
            ax.legendPosition = both ? .outsideRight : .automatic
        }
        fig.addNote("\(o.summary); B = \(answer) in red; log scale")
        return fig
    }

    // MARK: saving (the CLI does not import Charts)

    /// Writes whichever chart has a path; returns the paths written.
    public static func save(_ r: LanguageResult, accuracy: String?, saliency: String?, size: ChartSize = ChartSize(),
                            title: String? = nil) throws -> [String] {
        var written: [String] = []
        if let p = accuracy { try FigureFile.save(accuracyFigure(r, size: size), to: p, title: title); written.append(p) }
        if let p = saliency { try FigureFile.save(saliencyFigure(r, size: size), to: p, title: title); written.append(p) }
        return written
    }
}
