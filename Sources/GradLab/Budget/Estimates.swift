import Foundation
import Dynamics

/// The cost of each command from its options (pure functions: the CLI, the lesson runner and a server call
/// the same ones), and of analysing models read from files.
public extension CostModel {
    /// The layer of one random model of `o` for cell `kind`.
    static func layer(_ o: CurvesOptions, _ kind: CellKind) -> Layer {
        Layer(kind: kind, hidden: o.hidden, input: o.input, steps: o.steps, skip: o.skipLength)
    }

    /// The layer a model (from a file, or built) describes.
    static func layer(_ m: Model) -> Layer {
        Layer(kind: m.kind, hidden: m.parameters.hiddenSize, input: m.parameters.inputSize, steps: m.inputs.count,
              skip: m.parameters.skipLength ?? 1)
    }

    /// Random models of `curves`-like commands: one per cell (× gains); all are held at once.
    static func randomModels(_ o: CurvesOptions, each: (Layer) -> CostEstimate) -> CostEstimate {
        guard o.modelPaths.isEmpty else { return CostEstimate() }
        var e = CostEstimate()
        let perCell = Double(max(1, o.gains.count))
        for k in o.cells { e += each(layer(o, k)).times(perCell) }
        return e
    }

    static func curves(_ o: CurvesOptions) -> CostEstimate { randomModels(o) { curves($0) } }
    static func heatmap(_ o: CurvesOptions) -> CostEstimate { randomModels(o) { heatmap($0) } }
    static func spectrum(_ o: CurvesOptions, lags: Int, fullState: Bool) -> CostEstimate {
        randomModels(o) { spectrum($0, lags: lags, fullState: fullState) }
    }
    static func lyapunov(_ o: CurvesOptions, count: Int?) -> CostEstimate { randomModels(o) { lyapunov($0, count: count) } }

    static func sweep(_ o: SweepOptions) -> CostEstimate {
        sweep(cells: o.cells, hidden: o.hidden, input: o.input, steps: o.steps, gains: o.gains.values.count,
              seeds: o.seeds, jobs: o.effectiveJobs)
    }

    /// One training run (`runs` = 2 for --compare-clipping).
    static func training(_ o: TrainOptions, runs: Int = 1) -> CostEstimate {
        let (d, out) = o.taskShape
        let first = training(cell: o.cell, hidden: o.hidden, input: d, output: out, steps: o.sequenceLength, batch: o.batchSize,
                             iterations: o.iterations, evalEvery: o.evalEvery, evalSize: o.evalSize, snapshots: o.snapshots, runs: runs)
        return o.layers > 1 ? first + stackedLayers(o, runs: runs) : first
    }

    /// Layers 2…L of a stacked training run (--layers L): each reads n values, is a full BPTT pass over the
    /// batch and the held-out batch, and sends ∂L/∂x_t down (one more product per step: × 4/3).
    static func stackedLayers(_ o: TrainOptions, runs: Int = 1) -> CostEstimate {
        let one = training(cell: o.cell, hidden: o.hidden, input: o.hidden, output: 0, steps: o.sequenceLength, batch: o.batchSize,
                           iterations: o.iterations, evalEvery: o.evalEvery, evalSize: o.evalSize, snapshots: 0, runs: runs)
        let extra = Double(o.layers - 1)
        return CostEstimate(one.parts.prefix(2).map { p in
            .init("layers 2…\(o.layers): \(p.name) each", bytes: p.bytes * extra, operations: p.operations * extra * 4 / 3,
                  advice: "lower --layers, " + p.advice.replacingOccurrences(of: "lower ", with: ""))
        })
    }

    /// Every (cell, length) run of a training sweep, `jobs` at once.
    static func trainingSweep(_ s: TrainSweepOptions) -> CostEstimate {
        var e = CostEstimate()
        for c in s.cells {
            for t in s.lengths {
                var o = s.base
                o.cell = c; o.steps = t
                let (d, out) = o.taskShape
                e += training(cell: c, hidden: o.hidden, input: d, output: out, steps: o.sequenceLength, batch: o.batchSize, iterations: o.iterations,
                              evalEvery: o.evalEvery, evalSize: o.evalSize, snapshots: o.snapshots)
            }
        }
        // Memory: only `jobs` runs are alive at once; the largest stands for them.
        let largest = e.parts.map(\.bytes).max() ?? 0
        return CostEstimate(e.parts.map { .init($0.name, bytes: 0, operations: $0.operations, advice: $0.advice) })
            + CostEstimate([.init("\(s.jobs) training run(s) in flight", bytes: largest * Double(s.jobs), advice: "lower --jobs, --batch, --steps or --hidden")])
    }

    /// `baselines`: every (cell, seed) training run, one --gradient-iters run per cell with two state-gradient
    /// passes over the held-out batch, `jobs` at once.
    static func baselines(_ b: BaselinesOptions) -> CostEstimate {
        var e = CostEstimate()
        for c in b.cells {
            var o = b.base
            o.cell = c
            e += training(o, runs: b.seeds)
            if let g = b.gradientIterations {
                o.iterations = g
                o.evalEvery = g
                e += training(o)
                e += training(cell: c, hidden: o.hidden, input: o.taskShape.input, output: o.taskShape.output, steps: o.sequenceLength,
                              batch: o.evalSize, iterations: 2, evalEvery: Int.max, evalSize: 0, snapshots: 0)
            }
        }
        let largest = e.parts.map(\.bytes).max() ?? 0
        return CostEstimate(e.parts.map { .init($0.name, bytes: 0, operations: $0.operations, advice: $0.advice) })
            + CostEstimate([.init("\(b.jobs) training run(s) in flight", bytes: largest * Double(b.jobs), advice: "lower --jobs, --batch, --steps or --hidden")])
    }

    /// `import`: every layer's curves and `exponents` Lyapunov exponents, and the gradient through depth
    /// (each layer's products against every lag).
    static func importAnalysis(_ m: StackedModel, exponents: Int) -> CostEstimate {
        var e = CostEstimate()
        let t = m.inputs.count
        for p in m.layers {
            let l = Layer(kind: p.kind, hidden: p.hiddenSize, input: p.inputSize, steps: t, skip: p.skipLength ?? 1)
            e += curves(l) + lyapunov(l, count: exponents)
        }
        let depth = Double(m.layers.count)
        if depth > 1, let top = m.layers.last {
            let l = Layer(kind: top.kind, hidden: top.hiddenSize, input: top.inputSize, steps: t)
            e += CostEstimate([products(l, count: Double(t) * depth, name: "the gradient through \(m.layers.count) layers",
                                        advice: "lower --steps")])
        }
        return e
    }
}

public extension CostModel {
    /// The gradient through depth and time of a stack (`MultilayerProducts.grid`): every layer's block of the
    /// adjoint sweep at every lag, plus the input Jacobians that carry it down a layer.
    static func depthGrid(_ layers: [Layer]) -> CostEstimate {
        guard layers.count > 1, let top = layers.last else { return CostEstimate() }
        let t = top.t, rows = top.stateSize
        var ops = 0.0, bytes = 0.0
        for (i, l) in layers.enumerated() {
            ops += t * (products(l, count: 1, name: "", advice: "").operations + 2 * rows * l.stateSize)
            bytes += 4 * rows * l.stateSize * double
            if i > 0 { ops += t * (2 * rows * l.stateSize * layers[i - 1].n + 8 * l.gates * l.n * l.d) }
        }
        return CostEstimate([.init("the gradient through \(layers.count) layers (T = \(top.steps))", bytes: bytes + 2 * Double(layers.count) * t * double,
                                   operations: ops, advice: "lower --steps, --hidden or --layers")])
    }

    /// The layers of one random stack of `o` (`--layers`): layer 0 reads d inputs, the rest n.
    static func stackLayers(_ o: CurvesOptions, _ kind: CellKind) -> [Layer] {
        (0..<max(1, o.layers)).map { Layer(kind: kind, hidden: o.hidden, input: $0 == 0 ? o.input : o.hidden, steps: o.steps) }
    }

    /// `curves --layers L`: one stack per cell (× gains): every layer's curves and the depth × lag grid.
    static func stackedCurves(_ o: CurvesOptions) -> CostEstimate {
        var e = CostEstimate()
        let perCell = Double(max(1, o.gains.count))
        for k in o.cells {
            let layers = stackLayers(o, k)
            e += (layers.reduce(CostEstimate()) { $0 + curves($1) } + depthGrid(layers)).times(perCell)
        }
        return naming(e, layers: o.layers)
    }

    /// Every part of a stack's estimate is paid once per layer: its advice names --layers too.
    static func naming(_ e: CostEstimate, layers: Int) -> CostEstimate {
        guard layers > 1 else { return e }
        return CostEstimate(e.parts.map { p in
            p.advice.contains("--layers") ? p
                : .init(p.name, bytes: p.bytes, operations: p.operations, advice: p.advice.replacingOccurrences(of: "lower ", with: "lower --layers, "))
        })
    }

    /// `heatmap --layers L`: one stack, its forward pass and the depth × lag grid.
    static func stackedHeatmap(_ o: CurvesOptions, _ kind: CellKind) -> CostEstimate {
        let layers = stackLayers(o, kind)
        return naming(layers.reduce(CostEstimate()) { $0 + model($1) + trajectory($1) } + depthGrid(layers), layers: o.layers)
    }
}
