import Foundation
import Linear

// The four classic RNN designs as trainable networks, and the gradient-path view ∂L_j/∂x_i of each.
// Determinism: everything here goes through ForwardPass/BPTT (DetLinear, DetMath) and plain loops.

/// The four RNN architectures of the textbook figure (Karpathy 2015; Goodfellow et al. 2016, ch. 10).
public enum Architecture: String, CaseIterable, Sendable {
    /// Equal lengths, a loss at every step (text generation, tagging): y_t reads h_t.
    case manyToMany = "many-to-many"
    /// One loss at the end (sentiment): y_T reads h_T.
    case manyToOne = "many-to-one"
    /// One input at the first step, outputs at the steps after it (captioning). Inputs after step 1 are zeros.
    case oneToMany = "one-to-many"
    /// An encoder reads the source (length S); a decoder of the same cell kind starts from the encoder's last
    /// state and produces the target (length T′, which may differ from S) (translation).
    case encoderDecoder = "encoder-decoder"

    /// The number of recurrent steps (state-to-state transitions) between input x_i and output y_j, or nil
    /// when y_j cannot depend on x_i (an output before its input).
    ///
    /// One layer: x_i enters h_i and y_j reads h_j, so j − i steps (0: the same step). Encoder–decoder
    /// (`sourceLength` S, i the position fed to the encoder, j the decoder step): S − i steps to the
    /// encoder's last state, which is the decoder's h_0, then j more: (S − i) + j, never less than 1.
    public func pathLength(input i: Int, output j: Int, sourceLength s: Int = 0) -> Int? {
        switch self {
        case .manyToMany, .manyToOne, .oneToMany: return j >= i ? j - i : nil
        case .encoderDecoder: return s - i + j
        }
    }
}

public extension SequenceBatch {
    /// The same inputs with only the `index`-th loss step kept: the loss L_j of one output.
    func keepingLoss(index s: Int) -> SequenceBatch {
        let t: SequenceTargets
        switch targets {
        case .values(let v): t = .values([v[s]])
        case .classes(let c): t = .classes([c[s]])
        }
        return SequenceBatch(inputs: inputs, lossSteps: [lossSteps[s]], targets: t)
    }

    /// A batch that only feeds a layer without a readout (an encoder): the targets are never read.
    static func unlabelled(inputs: [Matrix]) -> SequenceBatch {
        SequenceBatch(inputs: inputs, lossSteps: [inputs.count], targets: .classes([[Int](repeating: 0, count: inputs[0].rows)]))
    }
}

/// One source batch for the encoder and one target batch (decoder inputs, targets, loss steps) for the decoder.
public struct EncoderDecoderBatch: Sendable, Equatable {
    /// S steps, B × d_source; its targets are not used.
    public var source: SequenceBatch
    /// T′ steps, B × d_target, with the decoder's loss steps and targets.
    public var target: SequenceBatch
    public init(source: SequenceBatch, target: SequenceBatch) {
        precondition(source.batchSize == target.batchSize, "source and target batches differ in size")
        self.source = source
        self.target = target
    }
    public var batchSize: Int { source.batchSize }
}

/// An encoder–decoder (Sutskever, Vinyals & Le 2014; Cho et al. 2014): two `RNN`s of the same cell kind and
/// width. The encoder runs over the source with no readout; the decoder starts from its last state (h_S, and
/// c_S for the LSTM) and has the readout and the loss. The whole source reaches the decoder through that one
/// state: the bottleneck.
public struct EncoderDecoder: Sendable, Equatable {
    /// Its readout exists (an `RNN` has one) but is never used and not trained.
    public var encoder: RNN
    public var decoder: RNN

    public init(encoder: RNN, decoder: RNN) {
        precondition(encoder.kind == decoder.kind && encoder.hiddenSize == decoder.hiddenSize,
                     "encoder and decoder must share cell kind and width")
        self.encoder = encoder
        self.decoder = decoder
    }

    /// Fresh weights for both, fully determined by `seed` (the decoder draws from a stream of its own).
    public static func initialized(kind: CellKind, sourceInput: Int, targetInput: Int, hidden n: Int, output m: Int,
                                   seed: UInt64, init opts: TrainingInit = TrainingInit()) -> EncoderDecoder {
        var r = SeededRNG.derived(seed: seed, stream: 41)
        let decoderSeed = r.next()
        return EncoderDecoder(encoder: RNN.initialized(kind: kind, input: sourceInput, hidden: n, output: 1, seed: seed, init: opts),
                              decoder: RNN.initialized(kind: kind, input: targetInput, hidden: n, output: m, seed: decoderSeed, init: opts))
    }

    public var kind: CellKind { encoder.kind }
    /// Trainable scalars of the encoder: its cell (weight_ih, weight_hh, bias_ih, bias_hh), not its readout.
    public var encoderParameterCount: Int {
        encoder.parameterCount - encoder.readout.weight.data.count - encoder.readout.bias.count
    }
    public var parameterCount: Int { encoderParameterCount + decoder.parameterCount }
    /// The encoder's cell parameters, then every decoder parameter (`RNN.flat` order each).
    public var flat: [Double] { Array(encoder.flat.prefix(encoderParameterCount)) + decoder.flat }
    public mutating func setFlat(_ v: [Double]) {
        precondition(v.count == parameterCount, "EncoderDecoder.setFlat: \(v.count) values for \(parameterCount) parameters")
        let e = encoderParameterCount
        encoder.setFlat(Array(v[0..<e]) + encoder.flat[e...])
        decoder.setFlat(Array(v[e...]))
    }
    public var allFinite: Bool { encoder.allFinite && decoder.allFinite }
}

/// The forward pass of an encoder–decoder: the encoder's (no readout), then the decoder's from its last state.
public struct EncoderDecoderPass: Sendable {
    public let encoder: ForwardPass
    public let decoder: ForwardPass
    public init(model: EncoderDecoder, batch: EncoderDecoderBatch) {
        encoder = ForwardPass(net: model.encoder, batch: batch.source, readout: false)
        let s = batch.source.steps
        let last = LayerState(h: encoder.h[s], c: model.kind == .lstm ? encoder.c[s] : nil)
        decoder = ForwardPass(net: model.decoder, batch: batch.target, initialState: last)
    }
    public var loss: Double { decoder.loss }
}

/// Loss and gradient of an encoder–decoder, and (optionally) ∂L/∂x_i of the source and target inputs.
public struct EncoderDecoderGradient: Sendable {
    public var loss: Double
    /// Laid out like `EncoderDecoder.flat`.
    public var flat: [Double]
    /// ∂L/∂(h_S, c_S) of the encoder's last state: what crosses the bottleneck.
    public var bottleneck: LayerState
    /// [i − 1] = ∂L/∂x_i of the source (B × d), when requested.
    public var sourceInputGradients: [Matrix]?
    /// [j − 1] = ∂L/∂x_j of the decoder's inputs, when requested.
    public var targetInputGradients: [Matrix]?
}

public extension EncoderDecoder {
    /// Decoder backward first (recording ∂L/∂(h_0, c_0)), which is then the encoder's final-state signal.
    static func backward(_ p: EncoderDecoderPass, recordInputGradients: Bool = false) -> EncoderDecoderGradient {
        let dec = BPTT.backward(p.decoder, options: BPTTOptions(recordStateGradients: true, recordInputGradients: recordInputGradients))
        let into = dec.initialStateGradient!
        let enc = BPTT.backward(p.encoder, options: BPTTOptions(recordInputGradients: recordInputGradients), finalState: into)
        let e = p.encoder.net.parameterCount - p.encoder.net.readout.weight.data.count - p.encoder.net.readout.bias.count
        return EncoderDecoderGradient(loss: p.loss, flat: Array(enc.gradient.flat.prefix(e)) + dec.gradient.flat, bottleneck: into,
                                      sourceInputGradients: enc.inputGradients, targetInputGradients: dec.inputGradients)
    }

    func gradient(_ batch: EncoderDecoderBatch, recordInputGradients: Bool = false) -> EncoderDecoderGradient {
        EncoderDecoder.backward(EncoderDecoderPass(model: self, batch: batch), recordInputGradients: recordInputGradients)
    }

    func loss(_ batch: EncoderDecoderBatch) -> Double { EncoderDecoderPass(model: self, batch: batch).loss }
}

/// A network of one of the four architectures with the batch type it reads.
public enum ArchitectureModel: Sendable, Equatable {
    /// many-to-many, many-to-one, one-to-many: one `RNN`; the batch's loss steps make the architecture.
    case single(RNN)
    case encoderDecoder(EncoderDecoder)

    public var flat: [Double] {
        switch self {
        case .single(let r): return r.flat
        case .encoderDecoder(let m): return m.flat
        }
    }
    public mutating func setFlat(_ v: [Double]) {
        switch self {
        case .single(var r): r.setFlat(v); self = .single(r)
        case .encoderDecoder(var m): m.setFlat(v); self = .encoderDecoder(m)
        }
    }
    public var parameterCount: Int {
        switch self {
        case .single(let r): return r.parameterCount
        case .encoderDecoder(let m): return m.parameterCount
        }
    }
    public var allFinite: Bool {
        switch self {
        case .single(let r): return r.allFinite
        case .encoderDecoder(let m): return m.allFinite
        }
    }

    public func loss(_ b: ArchitectureBatch) -> Double {
        switch (self, b) {
        case (.single(let r), .single(let s)): return BPTT.loss(r, s)
        case (.encoderDecoder(let m), .encoderDecoder(let s)): return m.loss(s)
        default: preconditionFailure("model and batch of different architectures")
        }
    }

    /// Loss and the gradient laid out like `flat`.
    public func gradient(_ b: ArchitectureBatch) -> (loss: Double, gradient: [Double]) {
        switch (self, b) {
        case (.single(let r), .single(let s)):
            let g = BPTT.gradient(r, s)
            return (g.loss, g.gradient.flat)
        case (.encoderDecoder(let m), .encoderDecoder(let s)):
            let g = m.gradient(s)
            return (g.loss, g.flat)
        default: preconditionFailure("model and batch of different architectures")
        }
    }

    /// ∂L_j/∂X_i for every loss step j (row, in the order of the loss steps) and every input step i (column):
    /// one backward pass per output, with the loss at that output only. X_i is the B × d batch of inputs at
    /// step i (the encoder's source for an encoder–decoder), L_j the batch-mean loss at output j.
    public func inputGradientsPerOutput(_ b: ArchitectureBatch) -> [[Matrix]] {
        switch (self, b) {
        case (.single(let r), .single(let s)):
            return s.lossSteps.indices.map { j in
                BPTT.gradient(r, s.keepingLoss(index: j), options: BPTTOptions(recordInputGradients: true)).inputGradients!
            }
        case (.encoderDecoder(let m), .encoderDecoder(let s)):
            return s.target.lossSteps.indices.map { j in
                let one = EncoderDecoderBatch(source: s.source, target: s.target.keepingLoss(index: j))
                return m.gradient(one, recordInputGradients: true).sourceInputGradients!
            }
        default: preconditionFailure("model and batch of different architectures")
        }
    }
}

/// A batch of one of the four architectures.
public enum ArchitectureBatch: Sendable, Equatable {
    case single(SequenceBatch)
    case encoderDecoder(EncoderDecoderBatch)
    public var batchSize: Int {
        switch self {
        case .single(let s): return s.batchSize
        case .encoderDecoder(let e): return e.batchSize
        }
    }
}

/// The gradient-path view: how strongly each output's loss reaches each input.
public enum GradientPaths {
    /// norms[j][i] = √B · ‖∂L_j/∂X_i‖_F: the root mean square over the B sequences of ‖∂ℓ_j/∂x_i‖₂, where ℓ_j is
    /// one sequence's loss at output j (L_j is their mean, hence the √B). Rows follow the loss steps, columns
    /// the input steps (the source's for an encoder–decoder).
    public static func norms(_ model: ArchitectureModel, _ batch: ArchitectureBatch) -> [[Double]] {
        let scale = Double(batch.batchSize).squareRoot()
        return model.inputGradientsPerOutput(batch).map { row in row.map { scale * DetLinear.frobeniusNorm($0) } }
    }
}
