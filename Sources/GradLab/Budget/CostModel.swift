import Foundation
import Dynamics

/// What a piece of work will cost, estimated from its sizes before any of it is done.
///
/// Every figure is a Double: products of user-given sizes (10^8 inputs × 10^6 steps) stay finite or become
/// +∞, and never trap the way Int overflow would. An estimate is a list of named parts so a refusal can say
/// which part is too large and which options drive it.
public struct CostEstimate: Sendable, Equatable {
    public struct Part: Sendable, Equatable {
        /// What the part is, e.g. "the trajectory" (used as "needs ~40 GB for the trajectory").
        public var name: String
        /// Peak bytes held by this part.
        public var bytes: Double
        /// Floating-point operations (multiply-adds count 2).
        public var operations: Double
        /// What lowers it, e.g. "lower --steps or --hidden".
        public var advice: String
        public init(_ name: String, bytes: Double = 0, operations: Double = 0, advice: String) {
            self.name = name; self.bytes = bytes; self.operations = operations; self.advice = advice
        }
    }

    public var parts: [Part]
    public init(_ parts: [Part] = []) { self.parts = parts }

    /// Peak memory, taken as the sum of the parts (they are alive together).
    public var bytes: Double { parts.reduce(0) { $0 + $1.bytes } }
    public var operations: Double { parts.reduce(0) { $0 + $1.operations } }
    /// Estimated wall-clock seconds on the reference machine (2 cores).
    public var seconds: Double { operations / Budget.operationsPerSecond }

    public static func + (a: CostEstimate, b: CostEstimate) -> CostEstimate { CostEstimate(a.parts + b.parts) }
    public static func += (a: inout CostEstimate, b: CostEstimate) { a.parts += b.parts }

    /// Every part scaled by `factor` (e.g. one estimate per cell × number of cells), names kept.
    public func times(_ factor: Double, bytes scaleBytes: Bool = true) -> CostEstimate {
        CostEstimate(parts.map { Part($0.name, bytes: scaleBytes ? $0.bytes * factor : $0.bytes, operations: $0.operations * factor, advice: $0.advice) })
    }
}

/// The limits every command, file reader and lesson block is held to. A pure check: `check` either
/// returns or throws one `GradLabError` line naming the limiting part, its estimate and what lowers it.
/// A server can call it the same way with its own limits.
public struct Budget: Sendable, Equatable {
    /// Largest peak memory allowed, bytes.
    public var maxBytes: Double
    /// Largest operation count allowed (minutes on the reference machine × operationsPerSecond).
    public var maxOperations: Double

    /// Sustained double-precision rate of this project's 2-core reference machine on the Jacobian products
    /// (calibrated on `gradlab bench`: the tanh n=256 and LSTM n=256 curve jobs run at 3–5 × 10^10).
    public static let operationsPerSecond = 2e10
    public static let defaultBytes = 4.0 * 1_073_741_824
    public static let defaultMinutes = 10.0

    public init(maxBytes: Double = Budget.defaultBytes, maxMinutes: Double = Budget.defaultMinutes) {
        self.maxBytes = maxBytes
        self.maxOperations = maxMinutes * 60 * Budget.operationsPerSecond
    }

    /// GRADLAB_MAX_MEMORY ("4G", "512M", "1.5G", or bytes) and GRADLAB_MAX_MINUTES override the defaults.
    public static func fromEnvironment(_ env: [String: String] = ProcessInfo.processInfo.environment) throws -> Budget {
        var b = Budget()
        if let m = env["GRADLAB_MAX_MEMORY"] {
            guard let v = parseBytes(m) else {
                throw GradLabError.usage("GRADLAB_MAX_MEMORY must look like 4G, 512M or a byte count (got \(quoted(m)))")
            }
            b.maxBytes = v
        }
        if let t = env["GRADLAB_MAX_MINUTES"] {
            guard let v = Double(t), v.isFinite, v > 0 else {
                throw GradLabError.usage("GRADLAB_MAX_MINUTES must be a positive number of minutes (got \(quoted(t)))")
            }
            b.maxOperations = v * 60 * operationsPerSecond
        }
        return b
    }

    public static func parseBytes(_ text: String) -> Double? {
        var s = text.trimmingCharacters(in: .whitespaces).uppercased()
        if s.hasSuffix("IB") { s.removeLast(2) } else if s.hasSuffix("B") { s.removeLast() }
        var unit = 1.0
        if let last = s.last, let u = ["K": 1024.0, "M": 1_048_576.0, "G": 1_073_741_824.0, "T": 1_099_511_627_776.0][last] {
            unit = u; s.removeLast()
        }
        guard let v = Double(s), v.isFinite, v > 0 else { return nil }
        return v * unit
    }

    /// The budget of this process: read once from the environment (a bad value is reported by `check`).
    nonisolated(unsafe) public static var current: Budget? = nil

    /// `current`, reading the environment the first time; inside `within(_:_:)`, the tighter budget given there.
    public static func active() throws -> Budget {
        if let b = Thread.current.threadDictionary[threadKey] as? BudgetBox { return b.budget }
        if let c = current { return c }
        let b = try fromEnvironment()
        current = b
        return b
    }

    private static let threadKey = "gradlab.budget"
    private final class BudgetBox { let budget: Budget; init(_ b: Budget) { budget = b } }

    /// Runs `body` on this thread with `budget` (at most the process's own) as the active one: the explorer
    /// reads an upload under a budget of its own, so many uploads at once cannot each claim the whole machine.
    public static func within<T>(_ budget: Budget, _ body: () throws -> T) throws -> T {
        let outer = try active()
        let b = Budget(maxBytes: min(budget.maxBytes, outer.maxBytes), maxMinutes: min(budget.maxOperations, outer.maxOperations) / operationsPerSecond / 60)
        let d = Thread.current.threadDictionary
        let saved = d[threadKey]
        d[threadKey] = BudgetBox(b)
        defer { d[threadKey] = saved }
        return try body()
    }

    /// How an over-budget estimate is reported: options → usage error (64), a file → data error (65).
    public enum Origin: Sendable, Equatable {
        case options
        case file(String)
    }

    /// Throws when `e` exceeds this budget (memory first, then time).
    public func check(_ e: CostEstimate, origin: Origin = .options) throws {
        let bytes = e.bytes, ops = e.operations
        func fail(_ s: String) -> GradLabError {
            switch origin {
            case .options: return .usage(s)
            case .file(let f): return .data("\(f): \(s)")
            }
        }
        if !(bytes <= maxBytes) {
            let worst = e.parts.max { !($0.bytes >= $1.bytes) } ?? CostEstimate.Part("the work", advice: "use smaller sizes")
            throw fail("needs ~\(Budget.bytesText(bytes)) of memory, \(Budget.bytesText(worst.bytes)) of it for \(worst.name); \(worst.advice) (the limit is \(Budget.bytesText(maxBytes)); GRADLAB_MAX_MEMORY sets it)")
        }
        if !(ops <= maxOperations) {
            let worst = e.parts.max { !($0.operations >= $1.operations) } ?? CostEstimate.Part("the work", advice: "use smaller sizes")
            throw fail("needs ~\(Budget.opsText(ops)) operations (~\(Budget.durationText(ops / Budget.operationsPerSecond)) on 2 cores), mostly for \(worst.name); \(worst.advice) (the limit is \(Budget.durationText(maxOperations / Budget.operationsPerSecond)); GRADLAB_MAX_MINUTES sets it)")
        }
    }

    /// `active().check(e)`, and on a terminal a one-line time estimate when the work will take a while.
    public static func admit(_ e: CostEstimate, origin: Origin = .options, announceAfter seconds: Double = 20) throws {
        try active().check(e, origin: origin)
        if Console.isTerminal && e.seconds >= seconds && !RunContext.reproducible {
            Console.writeError("gradlab: estimated ~\(durationText(e.seconds)) (\(opsText(e.operations)) operations, ~\(bytesText(e.bytes)))\n")
        }
    }

    public static func bytesText(_ b: Double) -> String {
        guard b.isFinite else { return "more than 10^308 bytes" }
        let units: [(Double, String)] = [(1_099_511_627_776, "TB"), (1_073_741_824, "GB"), (1_048_576, "MB"), (1024, "KB")]
        if b >= 1e18 { return String(format: "%.1e bytes", b) }
        for (u, name) in units where b >= u {
            let v = b / u
            return (v >= 10 ? String(format: "%.0f", v) : String(format: "%.1f", v)) + " " + name
        }
        return "\(CostModel.count(b)) bytes"
    }

    public static func opsText(_ o: Double) -> String { o.isFinite ? String(format: "%.1e", o) : "∞" }

    public static func durationText(_ s: Double) -> String {
        guard s.isFinite else { return "forever" }
        if s < 1 { return "under a second" }
        if s < 120 { return String(format: "%.0f s", s) }
        if s < 7200 { return String(format: "%.0f min", s / 60) }
        if s < 2 * 86400 { return String(format: "%.0f hours", s / 3600) }
        if s < 2 * 31_557_600 { return String(format: "%.0f days", s / 86400) }
        return String(format: "%.0e years", s / 31_557_600)
    }
}

/// Cost formulas for every kind of work gradlab does. Pure functions of the sizes (n, state size, d, T,
/// batch, iterations, layers, points, pairs, SVDs, declared arrays): the same numbers for the CLI, the
/// lesson runner, the file readers and any future server.
public enum CostModel {
    static let double = 8.0

    /// A count for a message: exact below 10^15, else scientific (a Double → Int conversion would trap).
    public static func count(_ v: Double) -> String {
        v.isFinite && abs(v) < 1e15 ? String(Int(v)) : String(format: "%.3g", v)
    }
    /// Per-array overhead of a Swift [Double] (header and capacity slack), bytes.
    static let arrayOverhead = 48.0

    /// The sizes of one recurrent layer driven for T steps.
    public struct Layer: Sendable, Equatable {
        public var kind: CellKind
        public var hidden: Int
        public var input: Int
        public var steps: Int
        /// Skip cells: the delay D (the state holds D hidden vectors).
        public var skip: Int
        public init(kind: CellKind, hidden: Int, input: Int, steps: Int, skip: Int = 4) {
            self.kind = kind; self.hidden = hidden; self.input = input; self.steps = steps; self.skip = skip
        }
        var n: Double { Double(hidden) }
        var d: Double { Double(input) }
        var t: Double { Double(steps) }
        var gates: Double { Double(kind.gateCount) }
        /// Size of the state the Jacobian acts on: 2n for the LSTM (h, c), D·n for a skip cell, else n.
        public var stateSize: Double {
            switch kind {
            case .lstm: return 2 * n
            case .skip: return Double(max(skip, 1)) * n
            default: return n
            }
        }
    }

    /// Weights and the input sequence of one model.
    public static func model(_ l: Layer) -> CostEstimate {
        let weights = l.gates * l.n * (l.n + l.d) + 2 * l.gates * l.n + (l.kind == .skip ? l.n * l.n : 0)
        return CostEstimate([
            .init("the weights (\(l.hidden)×\(l.input) inputs)", bytes: weights * double,
                  operations: weights * 4, advice: "lower --hidden or --input"),
            .init("the input sequence (T = \(l.steps), d = \(l.input))", bytes: l.t * (l.d * double + arrayOverhead),
                  operations: l.t * l.d * 4, advice: "lower --steps or --input"),
        ])
    }

    /// The forward pass and what it stores: states and pre-activations for every step.
    public static func trajectory(_ l: Layer) -> CostEstimate {
        let perStep = (l.stateSize + l.gates * l.n + l.n) * double + 2 * arrayOverhead
        return CostEstimate([.init("the trajectory (T = \(l.steps), state \(CostModel.count(l.stateSize)))", bytes: l.t * perStep,
                                   operations: l.t * 2 * l.gates * l.n * (l.n + l.d + 8), advice: "lower --steps or --hidden")])
    }

    /// Operations of one structured product (see Dynamics/JacobianKernels.swift): P·J for a backward sweep,
    /// J·P (only the h_k columns) for a heatmap's forward sweeps.
    static func productOperations(_ l: Layer, forward: Bool) -> Double {
        let n = l.n
        switch l.kind {
        case .lstm: return forward ? 4 * n * n * n : 8 * n * n * n      // (2n×n)·(n×n), (2n×2n)·(2n×n)
        case .skip: return 4 * n * n * n + 2 * l.stateSize * n            // two n×n×n products, block moves
        default: return 2 * n * n * n + 4 * n * n
        }
    }

    /// Jacobian products over `count` steps with their certified norms: Lanczos steps (a few passes over P per
    /// lag) and, at short lags, block iterations or an SVD (≈ 12 s³), counted as 40 s² per product plus one
    /// SVD per 50 products.
    static func products(_ l: Layer, count: Double, name: String, advice: String, forward: Bool = false) -> CostEstimate.Part {
        let s = l.stateSize
        return .init(name, bytes: 6 * s * s * double,
                     operations: count * (productOperations(l, forward: forward) + 40 * s * s + 12 * s * s * s / 50), advice: advice)
    }

    /// `curves` (and `bench --only`, `carousel` panels, `import` layers): model, trajectory, products at every
    /// lag, and the curves themselves.
    public static func curves(_ l: Layer) -> CostEstimate {
        model(l) + trajectory(l) + CostEstimate([
            products(l, count: l.t, name: "the Jacobian products (\(l.steps) steps of \(CostModel.count(l.stateSize))×\(CostModel.count(l.stateSize)))",
                     advice: "lower --steps or --hidden"),
            .init("the curves", bytes: 12 * l.t * double, advice: "lower --steps"),
        ])
    }

    /// `heatmap`: products for every pair k ≤ t (T²/2 of them), and the T×T grid.
    public static func heatmap(_ l: Layer) -> CostEstimate {
        model(l) + trajectory(l) + CostEstimate([
            products(l, count: l.t * (l.t + 1) / 2, name: "the \(l.steps)²/2 Jacobian products of every pair", advice: "lower --steps or --hidden",
                     forward: true),
            .init("the pair grid (\(l.steps)×\(l.steps))", bytes: l.t * (l.t + 1) / 2 * double * 2 + l.t * arrayOverhead,
                  advice: "lower --steps"),
        ])
    }

    /// `spectrum`: the products plus one SVD (≈ 12 s³) per lag of the decomposed block.
    public static func spectrum(_ l: Layer, lags: Int, fullState: Bool) -> CostEstimate {
        let m = fullState ? l.stateSize : l.n
        return model(l) + trajectory(l) + CostEstimate([
            products(l, count: l.t, name: "the Jacobian products", advice: "lower --steps or --hidden"),
            .init("\(lags) SVD(s) of \(CostModel.count(m))×\(CostModel.count(m))", bytes: 4 * m * m * double, operations: Double(lags) * 12 * m * m * m,
                  advice: "lower --hidden or use fewer --lags"),
        ])
    }

    /// `lyapunov`: QR iteration of `count` directions (nil: the whole state) over T steps.
    public static func lyapunov(_ l: Layer, count: Int?) -> CostEstimate {
        let s = l.stateSize
        let m = count.map { min(Double($0), s) } ?? s
        return model(l) + trajectory(l) + CostEstimate([
            .init("the QR iteration (\(CostModel.count(m)) directions × \(l.steps) steps)", bytes: 4 * s * m * double,
                  operations: l.t * (2 * s * s * m + 4 * s * m * m + 20 * s * s), advice: "lower --steps, --hidden or --count"),
        ])
    }

    /// `lyapunov --iid`: products of i.i.d. n×n Gaussian matrices.
    public static func gaussianProducts(n: Int, steps: Int, count: Int?) -> CostEstimate {
        let s = Double(n), m = count.map { min(Double($0), s) } ?? s, t = Double(steps)
        return CostEstimate([.init("the QR iteration (\(CostModel.count(m)) directions × \(steps) steps of \(n)×\(n))", bytes: (3 * s * s + 4 * s * m) * double,
                                   operations: t * (2 * s * s * m + 4 * s * m * m + 4 * s * s), advice: "lower --steps or --hidden")])
    }

    /// `sweep`: `points` models (the top exponent of each), `jobs` of them alive at once.
    public static func sweep(cells: [CellKind], hidden: Int, input: Int, steps: Int, gains: Int, seeds: Int, jobs: Int) -> CostEstimate {
        var e = CostEstimate()
        let perCell = Double(gains) * Double(seeds)
        var largest = 0.0
        for c in cells {
            let l = Layer(kind: c, hidden: hidden, input: input, steps: steps)
            let one = model(l) + trajectory(l) + lyapunov(l, count: 1)
            largest = max(largest, one.bytes)
            e += CostEstimate([.init("the \(CostModel.count(perCell)) \(c.rawValue) models (\(gains) gains × \(seeds) seeds, T = \(steps), n = \(hidden))",
                                     operations: one.operations * perCell, advice: "lower --steps, --hidden, --seeds or the number of gains")])
        }
        let points = perCell * Double(cells.count)
        e += CostEstimate([
            .init("\(CostModel.count(min(Double(jobs), max(points, 1)))) model(s) in flight (T = \(steps), n = \(hidden))", bytes: largest * Double(min(Double(jobs), points)),
                  advice: "lower --steps, --hidden or --jobs"),
            .init("the results", bytes: points * 64, advice: "lower --seeds or the number of gains"),
        ])
        return e
    }

    /// BPTT training: `iterations` batches of `batch` sequences of length `steps` (forward + backward ≈ 3
    /// forward passes), a held-out batch every `evalEvery` iterations, `snapshots` per-lag passes, and the
    /// per-iteration records. `runs` runs of it (compare-clipping: 2), `concurrent` of them at once.
    public static func training(cell: CellKind, hidden: Int, input: Int, output: Int, steps: Int, batch: Int, iterations: Int,
                                evalEvery: Int, evalSize: Int, snapshots: Int, runs: Int = 1, concurrent: Int = 1) -> CostEstimate {
        let n = Double(hidden), d = Double(input), t = Double(steps), g = Double(cell.gateCount)
        let b = Double(batch), iters = Double(iterations), ev = Double(evalSize)
        // Plus a fixed cost per sequence step (calls, gathers, the state's bookkeeping), measured: a tanh
        // run with n = 8, T = 20 takes ~0.14 ms per iteration of batch 32, which the products alone put at 0.02.
        let perSequenceStep = 2 * g * n * (n + d) + 2 * n * Double(output) + 20 * g * n + 4000
        let stored = (g * n + 3 * n + d) * double
        let evals = iters / Double(max(evalEvery, 1)) + 1
        let weights = g * n * (n + d + 2) * double * 4
        let r = Double(runs), c = Double(max(1, min(concurrent, runs)))
        return CostEstimate([
            .init("the BPTT batch (batch \(batch) × T = \(steps) × n = \(hidden))", bytes: c * (b * t * stored * 2 + weights),
                  operations: r * iters * b * t * perSequenceStep * 3, advice: "lower --batch, --steps, --hidden or --iters"),
            .init("the held-out batch (\(evalSize) × T = \(steps))", bytes: c * ev * t * stored,
                  operations: r * evals * ev * t * perSequenceStep, advice: "lower --eval-size or raise --eval-every"),
            .init("\(snapshots) per-lag snapshot(s)", bytes: c * t * n * n * g * double / max(1, t / 64),
                  operations: r * Double(snapshots) * b * t * t * 2 * g * n * n, advice: "lower --snapshots or --steps"),
            .init("the per-iteration records (\(iterations) iterations)", bytes: r * iters * 96,
                  advice: "lower --iters"),
        ])
    }

    /// Reading a JSON model file of `bytes` bytes: the text, the parser's tree and the decoded arrays.
    public static func jsonModelFile(bytes: Int) -> CostEstimate {
        CostEstimate([.init("parsing the \(Budget.bytesText(Double(bytes))) model file", bytes: Double(bytes) * 24,
                            operations: Double(bytes) * 50, advice: "use a smaller model file")])
    }

    /// One .npy array as declared by its header: the raw bytes, the converted Doubles and a reordering copy.
    public static func npyArray(name: String, elements: Double, itemSize: Int, fortran: Bool) -> CostEstimate {
        let raw = elements * Double(itemSize)
        return CostEstimate([.init("array \(quoted(name)) as declared", bytes: raw + elements * double * (fortran ? 3 : 2),
                                   operations: elements * 4, advice: "the file declares more data than gradlab can hold")])
    }
}

/// Checks on weights read from files that `validate()` leaves to the analyses (random models with absurd
/// gains are meant to overflow and show exact zeros; a file's weights that overflow are a broken file).
public enum WeightChecks {
    /// "weight_hh has entries so large (1e+308) that its norm overflows", or nil.
    public static func overflowProblem(_ p: CellParameters) -> String? {
        var named: [(String, [Double], Int)] = [("weight_hh", p.weightHH.data, p.weightHH.rows * p.weightHH.cols),
                                                ("weight_ih", p.weightIH.data, p.weightIH.rows * p.weightIH.cols),
                                                ("bias_ih", p.biasIH, p.biasIH.count), ("bias_hh", p.biasHH, p.biasHH.count)]
        if let w = p.skipWeight { named.append(("weight_skip", w.data, w.rows * w.cols)) }
        for (name, values, count) in named where count > 0 {
            let largest = values.reduce(0.0) { max($0, abs($1)) }
            // ‖W‖₂ ≤ ‖W‖_F ≤ max|w|·√(entries); products of two such norms must stay finite too.
            let bound = largest * Double(count).squareRoot()
            guard bound.isFinite && bound < 1e150 else {
                return "\(name) has entries so large (\(String(format: "%.3g", largest))) that its norm overflows in the analysis: scale the weights down"
            }
        }
        return nil
    }
}
