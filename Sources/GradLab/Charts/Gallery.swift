import Charts
import Dynamics
import Foundation

/// `gradlab demo`: the default gallery in plots/. Every chart is a fixed, seeded experiment, so the
/// gallery is reproducible bit for bit.
public enum Gallery {
    public struct Item: Sendable {
        public var file: String
        public var summary: String
    }

    static func factors(_ rs: [CellCurves]) -> String {
        rs.map { "\($0.label) ×\(Format.fixed($0.perStepFactor, 3))" }.joined(separator: ", ")
    }

    /// Renders every chart into `dir` and returns what it wrote.
    public static func render(into dir: String, size: ChartSize = ChartSize()) throws -> [Item] {
        try size.validate()
        var items: [Item] = []
        func save(_ fig: Figure, _ name: String, _ summary: String) throws {
            let path = (dir as NSString).appendingPathComponent(name)
            try FigureFile.save(fig, to: path)
            items.append(Item(file: path, summary: summary))
        }

        // 1. The five cells of the lesson, same W_hh for the vanilla ones, with bounds.
        var o = CurvesOptions()
        let five = try CurvesExperiment.run(o)
        try save(CurveCharts.figure(five, norm: .spectral, title: "Five cells, one random W (n = 32, gain 1): ‖∂h_{t}/∂h_{k}‖ and the bound", size: size),
                 "curves-five-cells.png", "per-step factors: \(factors(five))")

        // 2. From vanishing to exploding: tanh as the gain grows (small inputs, so units are not saturated).
        o = CurvesOptions()
        o.cells = [.tanh]; o.gains = [0.5, 1, 1.5, 2, 3]; o.inputScale = 0.1; o.hidden = 64
        let gains = try CurvesExperiment.run(o)
        try save(CurveCharts.figure(gains, norm: .spectral, bounds: false,
                                    title: "tanh RNN from vanishing to exploding: the gain g of W (n = 64, small inputs)", size: size),
                 "curves-tanh-gains.png", "per-step factors: \(factors(gains))")

        // 3. Activations and derivatives.
        try save(ActivationCharts.figure(ActivationCharts.defaultActivations, size: size), "activations.png",
                 "sup σ′ = 0.25, sup tanh′ = 1, ReLU′ ∈ {0, 1}")

        // 4. Heatmap of all (t, k) for tanh.
        let hm = RandomModels.make(RandomModelSpec(kind: .tanh, hidden: 32, input: 8, steps: 60, gain: 1, seed: 0))
        let grid = JacobianProducts.allPairs(try Trajectory(model: hm))
        try save(HeatmapChart.figure(grid, label: "tanh RNN (n = 32, gain 1)", size: size), "heatmap-tanh.png",
                 "61×61 pairs; ‖∂h_60/∂h_0‖ = 10^\(Format.fixed(grid[60][0], 1)): every row fades away from the diagonal")

        // 5. Bound against actual for sigmoid and tanh.
        o = CurvesOptions()
        o.cells = [.sigmoid, .tanh]; o.steps = 60
        let bv = try CurvesExperiment.run(o)
        try save(CurveCharts.boundFigure(bv, size: size), "bound-vs-actual.png",
                 bv.map { "\($0.label) slack \(Format.fixed($0.boundSlack, 1)) decades at lag 60" }.joined(separator: ", "))

        // 6. LSTM paths with forget-gate bias 0 and 1.
        var lstm: [CellCurves] = []
        for fb in [0.0, 1.0] {
            o = CurvesOptions()
            o.cells = [.lstm]; o.forgetBias = fb; o.steps = 100
            lstm += try CurvesExperiment.run(o)
        }
        try save(CurveCharts.lstmPathsFigure(lstm, titles: ["forget-gate bias 0 (f ≈ 0.5)", "forget-gate bias 1 (f ≈ 0.73)"], size: size),
                 "lstm-paths.png", "carousel ∏f per-step factor: bias 0 ×\(Format.fixed(pow(10, slope(lstm[0].curves.log10SpectralCarousel!)), 3)), bias 1 ×\(Format.fixed(pow(10, slope(lstm[1].curves.log10SpectralCarousel!)), 3)); all paths into c: ×\(Format.fixed(pow(10, slope(lstm[0].curves.log10SpectralCell!)), 3)), ×\(Format.fixed(pow(10, slope(lstm[1].curves.log10SpectralCell!)), 3))")

        // 7. Long horizon: 10,000 steps, far beyond Double's range, thanks to per-step renormalisation.
        o = CurvesOptions()
        o.cells = [.linear]; o.initialization = .orthogonal; o.gains = [0.95, 1.05]; o.hidden = 16; o.steps = 10_000; o.input = 0
        var long = try CurvesExperiment.run(o)
        o.cells = [.tanh, .gru]; o.gains = []; o.gain = 1; o.input = 4; o.initialization = .gaussian
        long += try CurvesExperiment.run(o)
        try save(CurveCharts.figure(long, norm: .spectral, bounds: false,
                                    title: "10,000 steps: norms far beyond Double's range (10^{±308}), computed exactly in log scale", size: size),
                 "curves-long-horizon.png", "at lag 10,000: " + long.map { "\($0.label) 10^\(Format.fixed($0.curves.log10Spectral.last!, 0))" }.joined(separator: ", "))
        return items
    }
    static func slope(_ y: [Double]) -> Double { CurvesExperiment.tailSlope(y) }
}
