import Charts
import Dynamics
import Foundation
import GradLab
import XCTest

/// Every chart builder, rendered from 400×260 to 1920×1080 in every style: no text box may leave the
/// canvas, overlap another text box or sit under a legend, and every panel keeps a usable plot area.
/// The boxes come from the renderer itself (`Figure.drawnText()` records each string it draws).
final class ChartLayoutTests: XCTestCase {
    /// name → builder, over data computed once (small but real experiments).
    static let builders: [(name: String, make: (ChartSize) -> Figure)] = {
        var list: [(String, (ChartSize) -> Figure)] = []
        func curves(_ edit: (inout CurvesOptions) -> Void) -> [CellCurves] {
            var o = CurvesOptions()
            edit(&o)
            return try! CurvesExperiment.run(o)
        }
        let five = curves { _ in }
        list.append(("curves-five-cells", { CurveCharts.figure(five, norm: .spectral, title: "Five cells, one random W (n = 32, gain 1): ‖∂h_{t}/∂h_{k}‖ and the bound", size: $0) }))
        let gains = curves { $0.cells = [.tanh]; $0.gains = [0.5, 1, 1.5, 2, 3]; $0.inputScale = 0.1; $0.hidden = 32 }
        list.append(("curves-gains", { CurveCharts.figure(gains, norm: .spectral, bounds: false, size: $0) }))
        let irnn = curves { $0.cells = [.irnn]; $0.gains = [0.9, 1, 1.1]; $0.steps = 200 }
        list.append(("curves-irnn-zero-tail", { CurveCharts.figure(irnn, norm: .spectral, size: $0) }))
        let tight = curves { $0.cells = [.linear]; $0.initialization = .orthogonal; $0.gains = [0.9, 1, 1.1]; $0.steps = 200 }
        list.append(("curves-linear-tight", { CurveCharts.figure(tight, norm: .frobenius, size: $0) }))
        let long = curves { $0.cells = [.linear]; $0.initialization = .orthogonal; $0.gains = [0.95, 1.05]; $0.hidden = 8; $0.steps = 2000; $0.input = 0 }
        list.append(("curves-long-horizon", { CurveCharts.figure(long, norm: .spectral, bounds: false,
                                                                 title: "10,000 steps: norms far beyond Double's range (10^{±308}), computed exactly in log scale", size: $0) }))
        let gated = curves { $0.cells = [.gru, .leaky, .skip]; $0.steps = 80 }
        list.append(("curves-gru-leaky-skip", { CurveCharts.figure(gated, norm: .spectral, size: $0) }))
        list.append(("compare-activations", { ActivationCharts.figure(ActivationCharts.defaultActivations, size: $0) }))
        let hm = RandomModels.make(RandomModelSpec(kind: .tanh, hidden: 16, input: 4, steps: 40, gain: 1, seed: 0))
        let grid = JacobianProducts.allPairs(try! Trajectory(model: hm))
        list.append(("heatmap", { HeatmapChart.figure(grid, label: "tanh RNN (n = 16, gain 1)", size: $0) }))
        let bv = curves { $0.cells = [.sigmoid, .tanh]; $0.steps = 60 }
        list.append(("bound-vs-actual", { CurveCharts.boundFigure(bv, size: $0) }))
        let lstm = [0.0, 1.0].flatMap { fb in curves { $0.cells = [.lstm]; $0.forgetBias = fb; $0.steps = 60; $0.hidden = 16 } }
        list.append(("carousel", { CurveCharts.lstmPathsFigure(lstm, titles: ["forget-gate bias 0 (f ≈ 0.5)", "forget-gate bias 1 (f ≈ 0.73)"], size: $0) }))

        var so = CurvesOptions()
        so.cells = [.tanh, .lstm]; so.hidden = 12; so.steps = 40
        let spectra = try! SpectrumExperiment.run(so, lags: nil)
        list.append(("spectrum", { SpectrumExperiment.figure(spectra, size: $0) }))
        so.cells = [.tanh, .relu]; so.steps = 200
        let exps = try! LyapunovExperiment.run(so, count: nil, warmup: nil)
        list.append(("lyapunov-cells", { LyapunovExperiment.figure(exps, size: $0) }))
        let newman = try! LyapunovExperiment.gaussianProducts(n: 12, steps: 300, seed: 0, count: nil)
        list.append(("lyapunov-newman", { LyapunovExperiment.figure([newman], size: $0) }))

        var sw = SweepOptions()
        sw.cells = [.tanh, .relu, .linear]
        sw.gains = GainRange(values: [0.6, 0.8, 1.0, 1.2, 1.4])
        sw.seeds = 2; sw.hidden = 12; sw.steps = 100; sw.jobs = 1
        let sweep = try! SweepExperiment.run(sw)
        list.append(("sweep-phase", { SweepExperiment.figure(sweep, size: $0) }))

        let imported = try! WeightImport.load(Fixtures.path("lstm2_f4.npz"), drive: DriveOptions())
        let report = try! ImportExperiment.run(imported, source: "lstm2_f4.npz", exponents: 2)
        list.append(("import", { ImportExperiment.figure(report, size: $0) }))

        var t = TrainOptions()
        t.cell = .tanh; t.steps = 20; t.hidden = 8; t.iterations = 80; t.batchSize = 16
        t.evalEvery = 20; t.evalSize = 64; t.snapshots = 4; t.truncation = 6; t.clipNorm = 1
        let run = try! TrainExperiment.run(t)
        list.append(("train-loss", { TrainCharts.lossFigure(run, size: $0) }))
        list.append(("train-grad-norm", { TrainCharts.gradNormFigure(run, size: $0) }))
        list.append(("train-contributions", { TrainCharts.contributionsFigure(run, size: $0) }))
        var c = TrainOptions()
        c.cell = .tanh; c.steps = 30; c.hidden = 8; c.optimizer = .sgd; c.learningRate = 20; c.iterations = 60
        c.batchSize = 16; c.evalEvery = 20; c.evalSize = 64; c.clipNorm = 0.01
        let (a, b) = try! TrainExperiment.compareClipping(c)
        list.append(("train-clipping", { TrainCharts.clippingFigure(unclipped: a, clipped: b, size: $0) }))
        var ts = TrainSweepOptions()
        ts.cells = [.tanh, .irnn, .lstm]; ts.lengths = [6, 12, 24]
        ts.base.hidden = 6; ts.base.iterations = 20; ts.base.evalSize = 32; ts.base.evalEvery = 10; ts.jobs = 1
        let tsr = try! TrainSweep.run(ts)
        list.append(("train-lengths", { TrainCharts.sweepFigure(tsr, size: $0) }))
        for task in [TrainTaskKind.adding, .copyMemory] {
            var bo = BaselinesOptions()
            bo.cells = [.tanh, .lstm, .gru]; bo.seeds = 2; bo.jobs = 1; bo.gradientIterations = 5
            bo.base.task = task; bo.base.steps = 6; bo.base.hidden = 6; bo.base.iterations = 20
            bo.base.evalSize = 32; bo.base.evalEvery = 10
            let br = try! BaselinesExperiment.run(bo)
            list.append(("baselines-\(task.rawValue)", { BaselineCharts.successFigure(br, size: $0) }))
            list.append(("baselines-gradients-\(task.rawValue)", { BaselineCharts.gradientFigure(br, size: $0) }))
        }
        var lo = LanguageOptions()
        lo.hidden = 6; lo.iterations = 10; lo.batchSize = 8; lo.nameCount = 4; lo.evalPerBucket = 8; lo.jobs = 1
        let language = try! LanguageExperiment.run(lo)
        list.append(("language-accuracy", { LanguageCharts.accuracyFigure(language, size: $0) }))
        list.append(("language-saliency", { LanguageCharts.saliencyFigure(language, size: $0) }))
        return list
    }()

    static let sizes: [(Double, Double)?] = [(400, 260), (640, 400), (1200, 800), (1920, 1080), nil]

    /// Problems with one rendered figure (empty when it lays out cleanly).
    static func problems(_ fig: Figure, minHeightShare: Double = 0.14) -> [String] {
        var out: [String] = []
        let items = fig.drawnText()
        let canvas = ChartRect(x: 0, y: 0, width: fig.width, height: fig.height).insetBy(-0.5)
        for t in items where !(canvas.contains(x: t.rect.minX, y: t.rect.minY) && canvas.contains(x: t.rect.maxX, y: t.rect.maxY)) {
            out.append("leaves the canvas: \(t)")
        }
        let texts = items.filter { $0.kind != .legendFrame }
        for i in texts.indices {
            for j in texts.indices where j > i && texts[i].rect.insetBy(0.5).intersects(texts[j].rect.insetBy(0.5)) {
                out.append("overlap: \(texts[i]) and \(texts[j])")
            }
        }
        for frame in items where frame.kind == .legendFrame {
            for t in items where t.kind == .text && t.rect.insetBy(0.5).intersects(frame.rect) {
                out.append("under the legend \(frame.rect): \(t)")
            }
        }
        // Panels keep a usable plot: at least a third of their share of the canvas wide, and 14 % of it high
        // (at 1200×800 screen style every chart keeps far more; the floor is set by the smallest canvases,
        // 400×260 with slide-sized text or a 240×180 paper column, where a two-panel chart with a legend
        // below and two lines of notes keeps a plot about 38 pt high).
        let panelW = fig.width / Double(fig.cols), panelH = fig.height / Double(fig.rows)
        for (i, p) in fig.layout().enumerated() {
            if p.plotRect.width < panelW * 0.34 { out.append("panel \(i + 1): plot only \(Int(p.plotRect.width)) pt wide of \(Int(panelW))") }
            if p.plotRect.height < panelH * minHeightShare { out.append("panel \(i + 1): plot only \(Int(p.plotRect.height)) pt high of \(Int(panelH))") }
        }
        return out
    }

    func testEveryChartLaysOutCleanlyAtEverySizeAndStyle() throws {
        var failures: [String] = []
        var renders = 0
        for style in ChartStyle.allCases {
            for s in Self.sizes {
                var size = ChartSize()
                size.style = style
                if let s { size.width = s.0; size.height = s.1 }
                try size.validate()
                for (name, make) in Self.builders {
                    let fig = make(size)
                    renders += 1
                    // At the screen default and larger, the plots keep most of the room.
                    let roomy = style == .screen && fig.width >= 1200
                    let p = Self.problems(fig, minHeightShare: roomy ? 0.5 : 0.14)
                    if !p.isEmpty, let dir = ProcessInfo.processInfo.environment["GRADLAB_LAYOUT_DUMP"] {
                        // To look at what fails: GRADLAB_LAYOUT_DUMP=/tmp/x swift test --filter ChartLayoutTests
                        try fig.save(to: "\(dir)/\(name)-\(style.rawValue)-\(Int(fig.width))x\(Int(fig.height)).png")
                    }
                    if !p.isEmpty {
                        failures.append("\(name) \(style.rawValue) \(Int(fig.width))×\(Int(fig.height)): " + p.prefix(3).joined(separator: "; "))
                    }
                    // The PDF page of the screen style (460×300 pt) is laid out on its own.
                    if let page = fig.pdfPageSize {
                        fig.width = page.width; fig.height = page.height
                        let q = Self.problems(fig)
                        if !q.isEmpty { failures.append("\(name) PDF page \(Int(page.width))×\(Int(page.height)): " + q.prefix(3).joined(separator: "; ")) }
                    }
                }
            }
        }
        XCTAssertEqual(renders, ChartStyle.allCases.count * Self.sizes.count * Self.builders.count)
        XCTAssertGreaterThanOrEqual(Self.builders.count, 20)
        XCTAssertTrue(failures.isEmpty, "\(failures.count) layouts fail:\n" + failures.joined(separator: "\n"))
    }

    /// The check must be able to fail: two huge annotations that cannot both fit are kept (they are not
    /// optional) and reported; smaller ones are moved apart and pass.
    func testTheCheckCatchesOverlap() {
        let fig = Figure(width: 400, height: 260)
        fig.axes.plot([0, 1], [0, 1], label: "a")
        fig.axes.annotate("here", x: 0.5, y: 0.5)
        fig.axes.annotate("here too", x: 0.5, y: 0.5)
        XCTAssertTrue(Self.problems(fig).isEmpty, "\(Self.problems(fig))")
        let bad = Figure(width: 400, height: 260)
        bad.axes.plot([0, 1], [0, 1])
        bad.axes.annotate("BIG", x: 0.5, y: 0.5, relativeSize: 7)
        bad.axes.annotate("BIG", x: 0.5, y: 0.5, relativeSize: 7)
        XCTAssertTrue(Self.problems(bad).contains { $0.hasPrefix("overlap") }, "\(Self.problems(bad))")
    }

    /// Same command, same bytes: PDF (no wall-clock creation date), SVG and PNG rendered twice are identical.
    func testRenderingTwiceGivesIdenticalBytes() throws {
        for (name, make) in Self.builders.prefix(3) {
            for format in OutputFormat.allCases {
                let a = try make(ChartSize()).data(format), b = try make(ChartSize()).data(format)
                XCTAssertEqual(a, b, "\(name) .\(format.rawValue) differs between two renders")
                if format == .pdf {
                    let text = String(decoding: a, as: UTF8.self)
                    XCTAssertTrue(text.contains("20000101000000Z)"), "\(name): no fixed creation date")   // cairo 1.16 leaves out the "D:"
                }
            }
        }
    }

    /// Default sizes: the screen PDF is a 6.4×4.2 in page with 10–11 pt labels; paper is a 240 pt column.
    func testDefaultSizesPerStyleAndFormat() throws {
        let fig = ChartSize().figure()
        XCTAssertEqual(fig.width, 1200); XCTAssertEqual(fig.height, 800)
        XCTAssertEqual(fig.pdfPageSize?.width, 460); XCTAssertEqual(fig.pdfPageSize?.height, 300)
        let pdf = String(decoding: try fig.data(.pdf), as: UTF8.self)
        XCTAssertTrue(pdf.contains("/MediaBox [ 0 0 460 300 ]"), "PDF page is not 460×300 pt")
        var paper = ChartSize()
        paper.style = .paper
        let p = paper.figure()
        XCTAssertEqual(p.width, 240); XCTAssertEqual(p.scale, 4)
        XCTAssertNil(p.pdfPageSize)
        var explicit = ChartSize()
        explicit.width = 800
        XCTAssertEqual(explicit.figure().height, 800 * 800 / 1200)
        XCTAssertNil(explicit.figure().pdfPageSize, "an explicit size is kept for PDF too")
        XCTAssertThrowsError(try ChartSize(width: nil, height: nil, scale: nil, style: "poster"))
        XCTAssertThrowsError(try ChartSize(width: nil, height: nil, scale: nil, style: "paper", fontSize: 200).validate())
    }
}
