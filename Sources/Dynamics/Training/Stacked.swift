import Foundation
import Linear

/// A trainable stack of L recurrent layers of one cell kind (PyTorch's `num_layers`, the layout `gradlab import`
/// reads): layer 0 reads the task's x_t, layer l > 0 reads layer l−1's h^{l−1}_t, and one linear `Readout` sits on
/// the top layer. Every initial state is zero and not trained. One layer is exactly an `RNN`.
public struct StackedRNN: Sendable, Equatable {
    /// Bottom (layer 0) first.
    public var layers: [CellParameters]
    /// On the top layer.
    public var readout: Readout

    public init(layers: [CellParameters], readout: Readout) {
        precondition(!layers.isEmpty, "StackedRNN: no layers")
        for l in 1..<max(layers.count, 1) {
            precondition(layers[l].kind == layers[0].kind, "StackedRNN: layer \(l) is \(layers[l].kind), layer 0 \(layers[0].kind)")
            precondition(layers[l].inputSize == layers[l - 1].hiddenSize,
                         "StackedRNN: layer \(l) reads \(layers[l].inputSize) values, layer \(l - 1) has \(layers[l - 1].hiddenSize) units")
        }
        precondition(readout.weight.cols == layers[layers.count - 1].hiddenSize, "StackedRNN: readout does not fit the top layer")
        self.layers = layers
        self.readout = readout
    }

    /// The one-layer stack of `net` (same parameters, same flat order).
    public init(_ net: RNN) { self.init(layers: [net.cell], readout: net.readout) }

    public var depth: Int { layers.count }
    public var kind: CellKind { layers[0].kind }
    public var hiddenSize: Int { layers[layers.count - 1].hiddenSize }
    public var inputSize: Int { layers[0].inputSize }
    public var outputSize: Int { readout.outputSize }

    /// Trainable scalars of layer `l`'s cell (weight_ih, weight_hh, bias_ih, bias_hh).
    public func layerParameterCount(_ l: Int) -> Int {
        let c = layers[l]
        return c.weightIH.data.count + c.weightHH.data.count + c.biasIH.count + c.biasHH.count
    }

    /// Number of trainable scalars.
    public var parameterCount: Int {
        (0..<depth).reduce(0) { $0 + layerParameterCount($1) } + readout.weight.data.count + readout.bias.count
    }

    /// All parameters in one vector: layer 0's weight_ih, weight_hh, bias_ih, bias_hh, then layer 1's, …, then
    /// the readout's weight and bias (the order of `StackedGradient.flat`). For one layer: `RNN.flat`.
    public var flat: [Double] {
        var v: [Double] = []
        v.reserveCapacity(parameterCount)
        for c in layers { v += c.weightIH.data; v += c.weightHH.data; v += c.biasIH; v += c.biasHH }
        return v + readout.weight.data + readout.bias
    }

    /// Sets the parameters from a vector laid out like `flat`.
    public mutating func setFlat(_ v: [Double]) {
        precondition(v.count == parameterCount, "StackedRNN.setFlat: \(v.count) values for \(parameterCount) parameters")
        var o = 0
        func take(_ n: Int) -> [Double] { defer { o += n }; return Array(v[o..<(o + n)]) }
        for l in layers.indices {
            layers[l].weightIH.data = take(layers[l].weightIH.data.count)
            layers[l].weightHH.data = take(layers[l].weightHH.data.count)
            layers[l].biasIH = take(layers[l].biasIH.count)
            layers[l].biasHH = take(layers[l].biasHH.count)
        }
        readout.weight.data = take(readout.weight.data.count)
        readout.bias = take(readout.bias.count)
    }

    /// Whether every parameter is finite.
    public var allFinite: Bool {
        layers.allSatisfy { c in
            c.weightIH.data.allSatisfy(\.isFinite) && c.weightHH.data.allSatisfy(\.isFinite)
                && c.biasIH.allSatisfy(\.isFinite) && c.biasHH.allSatisfy(\.isFinite)
        } && readout.weight.data.allSatisfy(\.isFinite) && readout.bias.allSatisfy(\.isFinite)
    }

    /// Layer `l` as a single-layer network for `ForwardPass`: the top layer carries the readout; a lower layer
    /// gets a placeholder 1 × n zero readout that its pass (`readout: false`) never uses.
    public func layerNet(_ l: Int) -> RNN {
        let c = layers[l]
        if l == depth - 1 { return RNN(cell: c, readout: readout) }
        return RNN(cell: c, readout: Readout(weight: Matrix(rows: 1, cols: c.hiddenSize), bias: [0]))
    }

    /// The analysis side's view of the same weights (`StackedModel`, zero initial states) driven by `inputs`.
    public func stackedModel(inputs: [[Double]]) -> StackedModel {
        StackedModel(layers: layers, inputs: inputs)
    }

    /// A freshly initialised stack, fully determined by `seed`. Layer 0 and the readout are exactly
    /// `RNN.initialized(kind:input:hidden:output:seed:init:)` (so one layer is that network, bit for bit);
    /// layer l ≥ 1 is drawn by the same recipe (reading n values) from a seed derived from stream 1100 + l.
    public static func initialized(kind: CellKind, input d: Int, hidden n: Int, output m: Int, layers count: Int,
                                   seed: UInt64, init opts: TrainingInit = TrainingInit()) -> StackedRNN {
        precondition(count >= 1, "StackedRNN: at least one layer")
        let base = RNN.initialized(kind: kind, input: d, hidden: n, output: m, seed: seed, init: opts)
        var cells = [base.cell]
        for l in 1..<count {
            var r = SeededRNG.derived(seed: seed, stream: 1100 + UInt64(l))
            let layerSeed = r.next()
            cells.append(RNN.initialized(kind: kind, input: n, hidden: n, output: 1, seed: layerSeed, init: opts).cell)
        }
        return StackedRNN(layers: cells, readout: base.readout)
    }
}

/// ∂L/∂θ of one layer's cell (weight_ih, weight_hh, bias_ih, bias_hh).
public struct LayerGradient: Sendable, Equatable {
    public var weightIH: Matrix
    public var weightHH: Matrix
    public var biasIH: [Double]
    public var biasHH: [Double]

    /// The cell part of a layer's `RNNGradient`.
    public init(_ g: RNNGradient) {
        weightIH = g.weightIH; weightHH = g.weightHH; biasIH = g.biasIH; biasHH = g.biasHH
    }

    public var flat: [Double] { weightIH.data + weightHH.data + biasIH + biasHH }
    /// ‖∂L/∂W_hh‖_F of this layer.
    public var recurrentNorm: Double { DetLinear.frobeniusNorm(weightHH) }
}

/// ∂L/∂θ for every trainable parameter of a `StackedRNN`.
public struct StackedGradient: Sendable, Equatable {
    /// Bottom first.
    public var layers: [LayerGradient]
    public var readoutWeight: Matrix
    public var readoutBias: [Double]

    /// Same order as `StackedRNN.flat` (for one layer: `RNNGradient.flat`).
    public var flat: [Double] {
        var v: [Double] = []
        for g in layers { v += g.flat }
        return v + readoutWeight.data + readoutBias
    }

    /// Global Euclidean norm ‖g‖₂ over all parameters (overflow-safe).
    public var norm: Double { DetLinear.norm(flat) }
    /// ‖∂L/∂W_hh^{(l)}‖_F per layer, bottom first.
    public var recurrentNorms: [Double] { layers.map(\.recurrentNorm) }
}

/// The forward pass of a stack over a batch: one `ForwardPass` per layer, the lower ones without a readout
/// (their h_1 … h_T are the next layer's inputs), the top one with the readout and the loss.
public struct StackedForwardPass: Sendable {
    public let net: StackedRNN
    /// Bottom first.
    public let passes: [ForwardPass]

    public init(net: StackedRNN, batch: SequenceBatch) {
        self.net = net
        var passes: [ForwardPass] = []
        passes.reserveCapacity(net.depth)
        var input = batch
        for l in 0..<net.depth {
            let top = l == net.depth - 1
            let fp = ForwardPass(net: net.layerNet(l), batch: input, readout: top)
            passes.append(fp)
            if !top {
                input = SequenceBatch(inputs: Array(fp.h[1...]), lossSteps: batch.lossSteps, targets: batch.targets)
            }
        }
        self.passes = passes
    }

    public var loss: Double { passes[passes.count - 1].loss }
    /// Readout values y_t (B × m) at each loss step.
    public var outputs: [Matrix] { passes[passes.count - 1].outputs }
}

/// Loss and gradient of a stack, and (optionally) the per-lag decomposition of the top layer's ∂L/∂W_hh.
public struct StackedBPTTResult: Sendable {
    public var loss: Double
    public var gradient: StackedGradient
    /// The top layer's C_ℓ (see `BPTTResult.lagContributions`): its W_hh receives only the readout's signal,
    /// so the decomposition by lag is the single-layer one. nil unless requested.
    public var topLagContributions: [Matrix]?
}

/// Backpropagation through a stack: the top layer's BPTT with its readout, whose ∂L/∂x_t are the outside
/// signals ∂L/∂h^{l}_t of the layer below, and so on down to layer 0 (full BPTT in every layer).
public enum StackedBPTT {
    /// The loss only (a forward pass).
    public static func loss(_ net: StackedRNN, _ batch: SequenceBatch) -> Double {
        StackedForwardPass(net: net, batch: batch).loss
    }

    /// Loss and gradient of every parameter.
    public static func gradient(_ net: StackedRNN, _ batch: SequenceBatch, recordTopLagContributions: Bool = false) -> StackedBPTTResult {
        backward(StackedForwardPass(net: net, batch: batch), recordTopLagContributions: recordTopLagContributions)
    }

    /// The backward pass over a stored forward pass. One layer: exactly `BPTT.backward` (the same bits).
    ///
    /// - Parameter truncation: truncated BPTT, one layer only (in a stack the lower layers' signals need
    ///   full BPTT: which lag a path through several layers has is not defined).
    public static func backward(_ fp: StackedForwardPass, truncation: Int? = nil,
                                recordTopLagContributions: Bool = false) -> StackedBPTTResult {
        let depth = fp.passes.count
        precondition(truncation == nil || depth == 1, "truncated BPTT covers one layer only")
        var grads = [LayerGradient?](repeating: nil, count: depth)
        let top = BPTT.backward(fp.passes[depth - 1],
                                options: BPTTOptions(truncation: truncation, recordLagContributions: recordTopLagContributions,
                                                     recordInputGradients: depth > 1))
        grads[depth - 1] = LayerGradient(top.gradient)
        var below = top.inputGradients
        for l in stride(from: depth - 2, through: 0, by: -1) {
            // ∂L/∂x^{l+1}_t is ∂L/∂h^{l}_t: the signal of layer l at every step t = 1 … T.
            var signals: [Int: Matrix] = [:]
            for (i, g) in (below ?? []).enumerated() { signals[i + 1] = g }
            let r = BPTT.backward(fp.passes[l], options: BPTTOptions(recordInputGradients: l > 0), signals: signals)
            grads[l] = LayerGradient(r.gradient)
            below = r.inputGradients
        }
        let gradient = StackedGradient(layers: grads.map { $0! }, readoutWeight: top.gradient.readoutWeight,
                                       readoutBias: top.gradient.readoutBias)
        return StackedBPTTResult(loss: top.loss, gradient: gradient, topLagContributions: top.lagContributions)
    }
}
