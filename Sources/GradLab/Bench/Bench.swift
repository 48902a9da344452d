import Foundation
import Dynamics
import Linear
import Charts

/// Benchmarks of the curve job (forward pass + one backward sweep with spectral and Frobenius norms at
/// every lag). Each case runs in its own process (see the CLI) so its peak memory is its own.
public enum Bench {
    public struct Case: Sendable, Hashable {
        public var cell: CellKind
        public var hidden: Int
        public var steps: Int
        public init(cell: CellKind, hidden: Int, steps: Int) { self.cell = cell; self.hidden = hidden; self.steps = steps }

        /// "tanh:256:1000"
        public init?(_ text: String) {
            let p = text.split(separator: ":")
            guard p.count == 3, let k = CellKind(rawValue: String(p[0])), let n = Int(p[1]), let t = Int(p[2]), n > 0, t > 0 else { return nil }
            self.init(cell: k, hidden: n, steps: t)
        }
        public var text: String { "\(cell.rawValue):\(hidden):\(steps)" }
    }

    /// The matrix: tanh and LSTM, n ∈ {32, 128, 256}, T ∈ {100, 1000}.
    public static let defaultCases: [Case] = [CellKind.tanh, .lstm].flatMap { k in
        [32, 128, 256].flatMap { n in [100, 1000].map { Case(cell: k, hidden: n, steps: $0) } }
    }

    public struct Result: Sendable {
        public var benchCase: Case
        public var bestSeconds: Double
        public var medianSeconds: Double
        public var peakMB: Double
        public var svdFallbacks: Int
        /// Spectral norms certified (the rest came from the SVD).
        public var certified: Int = 0
        /// Of those, certified by the estimator's Gram stage (spread spectra at short lags).
        public var gramCertified: Int = 0
        public var iterations: Int = 0
        public var blockSteps: Int = 0
        /// Time of the best run spent forming products, and taking norms (the rest is the forward pass).
        public var productSeconds: Double = 0
        public var normSeconds: Double = 0
        public var json: String {
            "{\"case\":\"\(benchCase.text)\",\"best_s\":\(bestSeconds),\"median_s\":\(medianSeconds),\"peak_mb\":\(peakMB),\"svd_fallbacks\":\(svdFallbacks),\"certified\":\(certified),\"gram_certified\":\(gramCertified),\"iterations\":\(iterations),\"block_iterations\":\(blockSteps),\"products_s\":\(productSeconds),\"norms_s\":\(normSeconds)}"
        }
        public init?(json line: String) {
            guard let d = line.data(using: .utf8), let o = try? JSONSerialization.jsonObject(with: d) as? [String: Any],
                  let c = (o["case"] as? String).flatMap(Case.init), let b = o["best_s"] as? Double, let m = o["median_s"] as? Double,
                  let p = o["peak_mb"] as? Double, let f = o["svd_fallbacks"] as? Int else { return nil }
            self.init(benchCase: c, bestSeconds: b, medianSeconds: m, peakMB: p, svdFallbacks: f)
            certified = o["certified"] as? Int ?? 0
            gramCertified = o["gram_certified"] as? Int ?? 0
            iterations = o["iterations"] as? Int ?? 0
            blockSteps = o["block_iterations"] as? Int ?? 0
            productSeconds = o["products_s"] as? Double ?? 0
            normSeconds = o["norms_s"] as? Double ?? 0
        }
        init(benchCase: Case, bestSeconds: Double, medianSeconds: Double, peakMB: Double, svdFallbacks: Int) {
            self.benchCase = benchCase; self.bestSeconds = bestSeconds; self.medianSeconds = medianSeconds
            self.peakMB = peakMB; self.svdFallbacks = svdFallbacks
        }
    }

    /// Times `repetitions` runs of the case in this process.
    public static func run(_ c: Case, repetitions: Int) throws -> Result {
        let model = RandomModels.make(RandomModelSpec(kind: c.cell, hidden: c.hidden, input: 8, steps: c.steps, gain: 1, seed: 0))
        var runs: [(seconds: Double, curves: ProductCurves)] = []
        for _ in 0..<max(1, repetitions) {
            let start = DispatchTime.now().uptimeNanoseconds
            let traj = try Trajectory(model: model)
            let curves = JacobianProducts.curves(traj, spectral: true)
            runs.append((Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9, curves))
        }
        runs.sort { $0.seconds < $1.seconds }
        let best = runs[0].curves
        var r = Result(benchCase: c, bestSeconds: runs[0].seconds, medianSeconds: runs[runs.count / 2].seconds,
                       peakMB: peakResidentMB(), svdFallbacks: best.svdFallbacks)
        r.certified = best.certifiedNorms
        r.gramCertified = best.gramCertifiedNorms
        r.iterations = best.normIterations
        r.blockSteps = best.normBlockSteps
        r.productSeconds = best.productSeconds
        r.normSeconds = best.normSeconds
        return r
    }

    /// Peak resident set size of this process (getrusage: kilobytes on Linux).
    public static func peakResidentMB() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_maxrss) / 1024
    }
}

/// Benchmarks of the renderer and of the gallery (issue 3's budgets: a 1200×800 PNG of 5 × 1,000 points
/// under 50 ms; `gradlab demo` under 5 s).
public enum RenderBench {
    public struct Result: Sendable {
        public var label: String
        public var bestSeconds: Double
        public var medianSeconds: Double
        public var bytes: Int
    }

    /// The benchmark figure: five curves of 1,000 points each on a log axis, with legend, title and axis
    /// labels (the load of a `curves` chart of five cells).
    public static func figure() -> Figure {
        let fig = Figure(width: 1200, height: 800)
        fig.title = "Benchmark: 5 series × 1,000 points"
        let ax = fig.axes
        ax.yScale = .log10
        ax.xLabel = "lag t − k"; ax.yLabel = "‖∂h_{t}/∂h_{k}‖"
        let x = (0..<1000).map(Double.init)
        for s in 0..<5 {
            ax.plot(x, x.map { pow(10, (Double(s) - 2) * $0 / 100 + 0.3 * sin($0 / 7 + Double(s))) }, label: "series \(s)")
        }
        return fig
    }

    /// Times rendering and PNG encoding of `figure()` (after one warm-up render that loads fonts).
    public static func png(repetitions: Int) throws -> Result {
        let fig = figure()
        var bytes = try fig.data(.png).count
        var times: [Double] = []
        for _ in 0..<max(1, repetitions) {
            let t0 = DispatchTime.now().uptimeNanoseconds
            bytes = try fig.data(.png).count
            times.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
        }
        times.sort()
        return Result(label: "PNG 1200×800, 5×1000 points", bestSeconds: times[0], medianSeconds: times[times.count / 2], bytes: bytes)
    }

    /// Times the whole default gallery (analyses and charts) written into a scratch directory.
    public static func gallery(repetitions: Int) throws -> Result {
        let dir = NSTemporaryDirectory() + "gradlab-bench-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var times: [Double] = []
        var bytes = 0
        for _ in 0..<max(1, repetitions) {
            let t0 = DispatchTime.now().uptimeNanoseconds
            let items = try Gallery.render(into: dir)
            times.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
            bytes = items.reduce(0) { $0 + ((try? FileManager.default.attributesOfItem(atPath: $1.file)[.size] as? Int) ?? 0) }
        }
        times.sort()
        return Result(label: "demo gallery (all charts)", bestSeconds: times[0], medianSeconds: times[times.count / 2], bytes: bytes)
    }
}
