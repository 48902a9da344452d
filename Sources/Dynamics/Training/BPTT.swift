import Foundation
import Linear

// Determinism: every number on the training path comes from DetLinear (a fixed-order matrix product) and
// DetMath (elementary functions with a fixed evaluation order), never from BLAS or the C library's libm,
// so the same seed gives the same bits on every CPU. Sums over the batch, blocks and bias entries are
// plain loops in index order.

@inline(__always)
func detTanh(_ x: Double) -> Double { DetMath.tanh(x) }

@inline(__always)
func detSigmoid(_ a: Double) -> Double { DetMath.sigmoid(a) }

/// Options of one backward pass.
public struct BPTTOptions: Sendable, Equatable {
    /// Truncated BPTT with window K: the error signal of each loss term flows back at most K steps, i.e.
    /// only the lags ℓ = t − k ∈ 0…K−1 of the chain-rule sum are kept. nil (or K ≥ T) is full BPTT.
    public var truncation: Int?
    /// Also return ∂L/∂W_hh split by lag (see `BPTTResult.lagContributions`). Costs one extra small product
    /// per step and live loss term, so training leaves it off.
    public var recordLagContributions: Bool

    /// Also return ∂L/∂h_t for t = 0 … T (`BPTTResult.stateGradients`) and ∂L/∂(h_0, c_0)
    /// (`BPTTResult.initialStateGradient`): the signal an encoder or a lower layer receives.
    public var recordStateGradients: Bool
    /// Also return ∂L/∂x_t for t = 1 … T (`BPTTResult.inputGradients`): the signal a lower layer receives,
    /// and the saliency of each input.
    public var recordInputGradients: Bool

    public init(truncation: Int? = nil, recordLagContributions: Bool = false,
                recordStateGradients: Bool = false, recordInputGradients: Bool = false) {
        precondition(truncation.map { $0 >= 1 } ?? true, "BPTT truncation window must be ≥ 1")
        self.truncation = truncation
        self.recordLagContributions = recordLagContributions
        self.recordStateGradients = recordStateGradients
        self.recordInputGradients = recordInputGradients
    }
}

/// The state a layer starts from (h_0, and c_0 for the LSTM), B × n each; or, in a backward pass, the
/// gradient with respect to it. An encoder–decoder passes the encoder's last state to the decoder this way.
public struct LayerState: Sendable, Equatable {
    public var h: Matrix
    /// LSTM only.
    public var c: Matrix?
    public init(h: Matrix, c: Matrix? = nil) {
        self.h = h
        self.c = c
    }
    /// Zeros for a batch of `batch` sequences through `kind` cells of width `n`.
    public static func zeros(batch: Int, hidden n: Int, kind: CellKind) -> LayerState {
        LayerState(h: Matrix(rows: batch, cols: n), c: kind == .lstm ? Matrix(rows: batch, cols: n) : nil)
    }
}

/// Loss, gradient and (optionally) the per-lag decomposition of ∂L/∂W_hh.
public struct BPTTResult: Sendable {
    public var loss: Double
    public var gradient: RNNGradient
    /// Readout values y_t (B × m) at each loss step.
    public var outputs: [Matrix]
    /// `lagContributions[ℓ]` (shaped like weight_hh) is the part of ∂L/∂W_hh that reaches W_hh through
    /// exactly ℓ recurrent steps:
    ///
    ///     C_ℓ = Σ_t ∂L_t/∂h_t · ∂h_t/∂h_{t−ℓ} · ∂⁺h_{t−ℓ}/∂W_hh,   ℓ = 0 … T−1,
    ///
    /// the terms of the chain-rule sum over k = t − ℓ (Pascanu et al. 2013), grouped by lag. Their sum is
    /// exactly ∂L/∂W_hh; with truncation K every C_ℓ with ℓ ≥ K is zero. For many-to-one losses (only L_T)
    /// C_ℓ is simply the contribution of time step k = T − ℓ. nil unless requested.
    public var lagContributions: [Matrix]?
    /// `stateGradients[t]` = ∂L/∂h_t (B × n), t = 0 … T: the total signal reaching h_t from every loss
    /// term and every outside signal. nil unless requested.
    public var stateGradients: [Matrix]?
    /// `inputGradients[t − 1]` = ∂L/∂x_t (B × d), t = 1 … T. nil unless requested.
    public var inputGradients: [Matrix]?
    /// ∂L/∂h_0 (and ∂L/∂c_0 for the LSTM) when state gradients were requested.
    public var initialStateGradient: LayerState?

    /// ‖C_ℓ‖_F for every lag (empty when the contributions were not recorded).
    public var lagContributionNorms: [Double] { lagContributions?.map(DetLinear.frobeniusNorm) ?? [] }
}

/// The forward pass of a batch with everything the backward pass needs (O(T·B·n) memory).
public struct ForwardPass: Sendable {
    public let net: RNN
    public let batch: SequenceBatch
    /// h[t] = h_t (B × n), t = 0 … T; h_0 = 0.
    public private(set) var h: [Matrix]
    /// LSTM only: c[t] = c_t (B × n), t = 0 … T.
    public private(set) var c: [Matrix] = []
    /// Per step (index t − 1): LSTM activated gates [i f g o] (B × 4n); GRU [r z n] (B × 3n);
    /// leaky tanh(a_t) (B × n); empty for vanilla cells (their f′ is a function of h_t).
    var gates: [Matrix] = []
    /// LSTM: tanh(c_t); GRU: u_n = W_hn h_{t−1} + b_hn. Per step, B × n.
    var aux: [Matrix] = []
    /// y_t at each loss step (B × m).
    public private(set) var outputs: [Matrix] = []
    /// ∂L/∂y_t at each loss step.
    var outputGradients: [Matrix] = []
    public private(set) var loss: Double = 0
    /// Whether the readout and loss were evaluated (false for a layer that feeds another).
    public let hasReadout: Bool

    /// Runs the network over the batch. Non-finite states (an exploding run) propagate into a
    /// non-finite loss; nothing traps.
    ///
    /// - Parameters:
    ///   - initialState: h_0 (and c_0) for every sample; zeros when nil.
    ///   - readout: false for a layer whose output feeds another layer (a lower layer of a stack, an
    ///     encoder): no readout, no loss; its backward pass takes only outside signals.
    public init(net: RNN, batch: SequenceBatch, initialState: LayerState? = nil, readout: Bool = true) {
        precondition(batch.inputSize == net.inputSize, "batch input size \(batch.inputSize) ≠ network input size \(net.inputSize)")
        self.net = net
        self.batch = batch
        self.hasReadout = readout
        let p = net.cell, n = p.hiddenSize, b = batch.batchSize, kind = p.kind
        let gn = kind.gateCount * n, tSteps = batch.steps
        if let s = initialState {
            precondition(s.h.rows == b && s.h.cols == n, "initial state is \(s.h.rows) × \(s.h.cols), expected \(b) × \(n)")
            precondition(kind != .lstm || (s.c.map { $0.rows == b && $0.cols == n } ?? false), "the LSTM needs an initial c of \(b) × \(n)")
        }
        h = [initialState?.h ?? Matrix(rows: b, cols: n)]
        h.reserveCapacity(tSteps + 1)
        if kind == .lstm { c = [initialState?.c ?? Matrix(rows: b, cols: n)]; c.reserveCapacity(tSteps + 1) }
        let act = kind.vanillaActivation ?? .tanh
        let alpha = p.alpha ?? [Double](repeating: 0, count: n)
        // Biases folded into the pre-activation rows once (the GRU keeps b_hh inside u for its n gate).
        let biasRow: [Double] = kind == .gru ? p.biasIH : zip(p.biasIH, p.biasHH).map { $0 + $1 }

        // The bias rows tiled over the batch once; each step starts from a copy (one memcpy).
        let biasTile = Matrix(rows: b, cols: gn, data: (0..<b).flatMap { _ in biasRow })
        let recurrentBiasTile = kind == .gru ? Matrix(rows: b, cols: gn, data: (0..<b).flatMap { _ in p.biasHH }) : biasTile
        // The weights, transposed and packed for the kernel once per pass (they are used at every step).
        let wihT = PackedMatrix(p.weightIH, transposed: true), whhT = PackedMatrix(p.weightHH, transposed: true)

        for t in 1...tSteps {
            let x = batch.inputs[t - 1], hp = h[t - 1]
            var a = biasTile
            if p.inputSize > 0 { DetLinear.gemm(x, wihT, into: &a, accumulate: true) }
            var hn = Matrix(rows: b, cols: n)
            switch kind {
            case .skip:
                preconditionFailure("BPTT does not cover the skip cell (TrainOptions rejects it)")
            case .sigmoid, .tanh, .relu, .linear, .irnn:
                DetLinear.gemm(hp, whhT, into: &a, accumulate: true)
                a.data.withUnsafeBufferPointer { pa in
                    hn.data.withUnsafeMutableBufferPointer { ph in
                        switch act {
                        case .tanh: for i in 0..<(b * n) { ph[i] = detTanh(pa[i]) }
                        case .sigmoid: for i in 0..<(b * n) { ph[i] = detSigmoid(pa[i]) }
                        case .relu, .linear: for i in 0..<(b * n) { ph[i] = act.value(pa[i]) }   // no libm
                        }
                    }
                }
            case .leaky:
                DetLinear.gemm(hp, whhT, into: &a, accumulate: true)
                a.data.withUnsafeMutableBufferPointer { pa in
                    hn.data.withUnsafeMutableBufferPointer { ph in
                        hp.data.withUnsafeBufferPointer { pp in
                            for r in 0..<b {
                                for j in 0..<n {
                                    let i = r * n + j, th = detTanh(pa[i])
                                    pa[i] = th
                                    ph[i] = alpha[j] * pp[i] + (1 - alpha[j]) * th
                                }
                            }
                        }
                    }
                }
                gates.append(a)
            case .lstm:
                DetLinear.gemm(hp, whhT, into: &a, accumulate: true)
                var cn = Matrix(rows: b, cols: n), tc = Matrix(rows: b, cols: n)
                let cp = c[t - 1]
                a.data.withUnsafeMutableBufferPointer { g in
                cn.data.withUnsafeMutableBufferPointer { pc in
                tc.data.withUnsafeMutableBufferPointer { pt in
                hn.data.withUnsafeMutableBufferPointer { ph in
                cp.data.withUnsafeBufferPointer { pcp in
                    for r in 0..<b {
                        // Row base pointers: gates i, f, g, o of sample r, and its c, tanh c, h rows.
                        let gi = g.baseAddress! + r * gn, gf = gi + n, gg = gi + 2 * n, go = gi + 3 * n
                        let c0 = pcp.baseAddress! + r * n, c1 = pc.baseAddress! + r * n
                        let t1 = pt.baseAddress! + r * n, h1 = ph.baseAddress! + r * n
                        for j in 0..<n {
                            let iv = detSigmoid(gi[j]), fv = detSigmoid(gf[j])
                            let gv = detTanh(gg[j]), ov = detSigmoid(go[j])
                            gi[j] = iv; gf[j] = fv; gg[j] = gv; go[j] = ov
                            let cv = fv * c0[j] + iv * gv
                            let th = detTanh(cv)
                            c1[j] = cv
                            t1[j] = th
                            h1[j] = ov * th
                        }
                    }
                }
                }
                }
                }
                }
                gates.append(a)
                aux.append(tc)
                c.append(cn)
            case .gru:
                var u = recurrentBiasTile
                DetLinear.gemm(hp, whhT, into: &u, accumulate: true)
                var un = Matrix(rows: b, cols: n)
                a.data.withUnsafeMutableBufferPointer { pa in
                u.data.withUnsafeBufferPointer { pu in
                un.data.withUnsafeMutableBufferPointer { pn in
                hn.data.withUnsafeMutableBufferPointer { ph in
                hp.data.withUnsafeBufferPointer { pp in
                    for r in 0..<b {
                        let o3 = r * gn
                        for j in 0..<n {
                            let rg = detSigmoid(pa[o3 + j] + pu[o3 + j])
                            let zg = detSigmoid(pa[o3 + n + j] + pu[o3 + n + j])
                            let uv = pu[o3 + 2 * n + j]
                            let ng = detTanh(pa[o3 + 2 * n + j] + rg * uv)
                            pa[o3 + j] = rg; pa[o3 + n + j] = zg; pa[o3 + 2 * n + j] = ng
                            let i = r * n + j
                            pn[i] = uv
                            ph[i] = (1 - zg) * ng + zg * pp[i]
                        }
                    }
                }
                }
                }
                }
                }
                gates.append(a)
                aux.append(un)
            }
            h.append(hn)
        }

        // Readout and loss at the loss steps.
        let m = net.outputSize
        for (s, t) in batch.lossSteps.enumerated() where readout {
            var y = Matrix(rows: b, cols: m)
            for r in 0..<b { for j in 0..<m { y.data[r * m + j] = net.readout.bias[j] } }
            DetLinear.gemm(h[t], net.readout.weight, into: &y, transB: true, accumulate: true)
            var dy = Matrix(rows: b, cols: m)
            loss += LossMath.evaluate(y, targets: batch.targets, index: s, stepCount: batch.lossSteps.count, dy: &dy)
            outputs.append(y)
            outputGradients.append(dy)
        }
    }
}

/// Backpropagation through time for every cell kind, batched: each step is a few matrix products over the
/// whole batch (DetLinear: the same bits on every CPU).
public enum BPTT {
    /// The loss only (a forward pass).
    public static func loss(_ net: RNN, _ batch: SequenceBatch) -> Double {
        ForwardPass(net: net, batch: batch).loss
    }

    /// Loss and gradient of every parameter.
    public static func gradient(_ net: RNN, _ batch: SequenceBatch, options: BPTTOptions = BPTTOptions()) -> BPTTResult {
        backward(ForwardPass(net: net, batch: batch), options: options)
    }

    /// The backward pass over a stored forward pass.
    ///
    /// The error signal is carried as a stack of "blocks" of B rows. Full BPTT needs just one block (the
    /// signals of all loss terms add up). Truncation of a many-to-many loss, and the per-lag decomposition,
    /// need each loss term's signal separately, because its lag t − k differs: then a block is kept per live
    /// loss term (at most K of them), stacked so the propagation is still one gemm per step.
    ///
    /// - Parameters:
    ///   - signals: outside signals ∂L/∂h_t (B × n) keyed by t ∈ 1 … T, added to the readout's: the gradient
    ///     a layer receives from the layer above it, or a decoder's readout reaching back into an encoder.
    ///   - finalState: an outside signal into the last state (∂L/∂h_T, ∂L/∂c_T): what a decoder sends back
    ///     to the encoder whose last state it started from.
    ///   Outside signals need full BPTT without the per-lag decomposition (one block).
    public static func backward(_ fp: ForwardPass, options: BPTTOptions = BPTTOptions(),
                                signals: [Int: Matrix] = [:], finalState: LayerState? = nil) -> BPTTResult {
        let net = fp.net, p = net.cell, batch = fp.batch
        let n = p.hiddenSize, b = batch.batchSize, kind = p.kind, gn = kind.gateCount * n
        let tSteps = batch.steps
        let window = options.truncation.map { min($0, tSteps) } ?? tSteps
        let separate = options.recordLagContributions || (window < tSteps && batch.lossSteps.count > 1)
        let outside = !signals.isEmpty || finalState != nil
        precondition(!outside || (!options.recordLagContributions && window == tSteps),
                     "outside signals need full BPTT without lag contributions")
        precondition(signals.keys.allSatisfy { (1...tSteps).contains($0) }, "signals outside 1…T")
        var grad = RNNGradient(zerosLike: net)
        var contributions: [Matrix]? = options.recordLagContributions
            ? [Matrix](repeating: Matrix(rows: gn, cols: n), count: tSteps) : nil

        // Readout: direct gradients, and the signal each loss term injects into h_t.
        var injected: [Int: Matrix] = [:]
        for (s, t) in batch.lossSteps.enumerated() where fp.hasReadout {
            let dy = fp.outputGradients[s]
            DetLinear.gemm(dy, fp.h[t], into: &grad.readoutWeight, transA: true, accumulate: true)
            for r in 0..<b { for j in 0..<net.outputSize { grad.readoutBias[j] += dy[r, j] } }
            injected[t] = DetLinear.multiply(dy, net.readout.weight)
        }
        for (t, sig) in signals {
            precondition(sig.rows == b && sig.cols == n, "signal at step \(t) is \(sig.rows) × \(sig.cols), expected \(b) × \(n)")
            if var inj = injected[t] {
                for i in 0..<(b * n) { inj.data[i] += sig.data[i] }
                injected[t] = inj
            } else {
                injected[t] = sig
            }
        }
        if let f = finalState {
            precondition(f.h.rows == b && f.h.cols == n, "final-state signal has the wrong shape")
            if var inj = injected[tSteps] {
                for i in 0..<(b * n) { inj.data[i] += f.h.data[i] }
                injected[tSteps] = inj
            } else {
                injected[tSteps] = f.h
            }
        }

        let act = kind.vanillaActivation ?? .tanh
        let alpha = p.alpha ?? [Double](repeating: 0, count: n)
        let wantStates = options.recordStateGradients, wantInputs = options.recordInputGradients && p.inputSize > 0
        // Where the backward sweep may stop: below the first step that receives a signal, unless the
        // gradients of the earlier states or inputs were asked for.
        let firstLoss = (wantStates || wantInputs) ? 0 : (injected.keys.min() ?? 0)
        var stateGradients: [Matrix]? = wantStates ? [Matrix](repeating: Matrix(rows: b, cols: n), count: tSteps + 1) : nil
        var inputGradients: [Matrix]? = options.recordInputGradients
            ? [Matrix](repeating: Matrix(rows: b, cols: p.inputSize), count: tSteps) : nil
        var initialGradient: LayerState? = wantStates ? LayerState.zeros(batch: b, hidden: n, kind: kind) : nil
        let wih = wantInputs ? PackedMatrix(p.weightIH) : nil
        var blocks: [Int] = []                    // loss time of each block, oldest (largest t) first
        var dH = Matrix(rows: 0, cols: n)
        var dC = Matrix(rows: 0, cols: n)        // LSTM only
        let zerosBN = Matrix(rows: b, cols: n)

        // Work buffers, reused across steps (fresh multi-page arrays per step cost page faults);
        // re-made only when the number of live blocks changes.
        var dA = Matrix(rows: 0, cols: gn), dAhh = Matrix(rows: 0, cols: gn)
        var direct = Matrix(rows: 0, cols: n), dCprev = Matrix(rows: 0, cols: n), next = Matrix(rows: 0, cols: n)
        var sums = Matrix(rows: b, cols: gn), sumsHH = Matrix(rows: b, cols: gn)
        let usesDirect = kind == .leaky || kind == .gru
        let whh = PackedMatrix(p.weightHH)          // packed once: the signal goes through W_hh at every step

        for k in stride(from: tSteps, through: 1, by: -1) {
            if let inj = injected[k] {
                if !separate && !blocks.isEmpty {
                    dH.data.withUnsafeMutableBufferPointer { d in for i in 0..<(b * n) { d[i] += inj.data[i] } }
                } else {
                    blocks.append(k)
                    dH = Matrix(rows: dH.rows + b, cols: n, data: dH.data + inj.data)
                    if kind == .lstm {
                        let c0 = (k == tSteps ? finalState?.c : nil) ?? zerosBN
                        dC = Matrix(rows: dC.rows + b, cols: n, data: dC.data + c0.data)
                    }
                }
            }
            // Truncation: a loss term born at t stops flowing once its lag t − k reaches K.
            while let t0 = blocks.first, t0 - k >= window {
                blocks.removeFirst()
                dH = Matrix(rows: dH.rows - b, cols: n, data: Array(dH.data[(b * n)...]))
                if kind == .lstm { dC = Matrix(rows: dC.rows - b, cols: n, data: Array(dC.data[(b * n)...])) }
            }
            if blocks.isEmpty {
                if k <= firstLoss { break }
                continue
            }
            let rows = blocks.count * b
            if stateGradients != nil {
                if blocks.count == 1 { stateGradients![k] = dH } else { sumBlocks(dH, blocks: blocks.count, into: &stateGradients![k]) }
            }
            if dA.rows != rows {
                dA = Matrix(rows: rows, cols: gn)
                if kind == .gru { dAhh = Matrix(rows: rows, cols: gn) }
                if usesDirect { direct = Matrix(rows: rows, cols: n) }
                if kind == .lstm { dCprev = Matrix(rows: rows, cols: n) }
                next = Matrix(rows: rows, cols: n)
            }
            let hp = fp.h[k - 1]

            dH.data.withUnsafeBufferPointer { pdh in
            dA.data.withUnsafeMutableBufferPointer { pa in
                switch kind {
                case .skip:
                    preconditionFailure("BPTT does not cover the skip cell (TrainOptions rejects it)")
                case .sigmoid, .tanh, .relu, .linear, .irnn:
                    fp.h[k].data.withUnsafeBufferPointer { phk in
                        for r in 0..<rows {
                            let q = (r % b) * n, o = r * n
                            // f′ from the output: tanh′ = 1 − h², σ′ = h(1 − h), ReLU′ = [h > 0] (= [a > 0]).
                            switch act {
                            case .tanh: for j in 0..<n { let hv = phk[q + j]; pa[o + j] = pdh[o + j] * (1 - hv * hv) }
                            case .sigmoid: for j in 0..<n { let hv = phk[q + j]; pa[o + j] = pdh[o + j] * hv * (1 - hv) }
                            case .relu: for j in 0..<n { pa[o + j] = phk[q + j] > 0 ? pdh[o + j] : 0 }
                            case .linear: for j in 0..<n { pa[o + j] = pdh[o + j] }
                            }
                        }
                    }
                case .leaky:
                    fp.gates[k - 1].data.withUnsafeBufferPointer { th in
                    direct.data.withUnsafeMutableBufferPointer { pd in
                        for r in 0..<rows {
                            let q = (r % b) * n, o = r * n
                            for j in 0..<n {
                                let tv = th[q + j], dh = pdh[o + j]
                                pa[o + j] = dh * (1 - alpha[j]) * (1 - tv * tv)
                                pd[o + j] = dh * alpha[j]
                            }
                        }
                    }
                    }
                case .lstm:
                    fp.gates[k - 1].data.withUnsafeBufferPointer { pg in
                    fp.aux[k - 1].data.withUnsafeBufferPointer { ptc in
                    fp.c[k - 1].data.withUnsafeBufferPointer { pcp in
                    dC.data.withUnsafeBufferPointer { pdc in
                    dCprev.data.withUnsafeMutableBufferPointer { pdcp in
                        for r in 0..<rows {
                            let q = r % b
                            // Row base pointers: cached gates / tanh c / c_{k−1} of sample q; signals of row r.
                            let gi = pg.baseAddress! + q * gn, gf = gi + n, gg = gi + 2 * n, go = gi + 3 * n
                            let tcq = ptc.baseAddress! + q * n, cpq = pcp.baseAddress! + q * n
                            let dhr = pdh.baseAddress! + r * n, dcr = pdc.baseAddress! + r * n, dcp = pdcp.baseAddress! + r * n
                            let ai = pa.baseAddress! + r * gn, af = ai + n, ag = ai + 2 * n, ao = ai + 3 * n
                            for j in 0..<n {
                                let iv = gi[j], fv = gf[j], gv = gg[j], ov = go[j]
                                let t = tcq[j], dh = dhr[j]
                                let dc = dcr[j] + dh * ov * (1 - t * t)
                                ai[j] = dc * gv * iv * (1 - iv)
                                af[j] = dc * cpq[j] * fv * (1 - fv)
                                ag[j] = dc * iv * (1 - gv * gv)
                                ao[j] = dh * t * ov * (1 - ov)
                                dcp[j] = dc * fv
                            }
                        }
                    }
                    }
                    }
                    }
                    }
                case .gru:
                    fp.gates[k - 1].data.withUnsafeBufferPointer { pg in
                    fp.aux[k - 1].data.withUnsafeBufferPointer { pun in
                    hp.data.withUnsafeBufferPointer { php in
                    dAhh.data.withUnsafeMutableBufferPointer { ph in
                    direct.data.withUnsafeMutableBufferPointer { pd in
                        for r in 0..<rows {
                            let q = r % b, o3 = q * gn, oa = r * gn, o = r * n, qn = q * n
                            for j in 0..<n {
                                let rg = pg[o3 + j], zg = pg[o3 + n + j], ng = pg[o3 + 2 * n + j]
                                let dh = pdh[o + j]
                                let dan = dh * (1 - zg) * (1 - ng * ng)
                                let dar = dan * pun[qn + j] * rg * (1 - rg)
                                let daz = dh * (php[qn + j] - ng) * zg * (1 - zg)
                                pa[oa + j] = dar; pa[oa + n + j] = daz; pa[oa + 2 * n + j] = dan
                                ph[oa + j] = dar; ph[oa + n + j] = daz; ph[oa + 2 * n + j] = dan * rg
                                pd[o + j] = dh * zg
                            }
                        }
                    }
                    }
                    }
                    }
                    }
                }
            }
            }
            let recurrentSignal = kind == .gru ? dAhh : dA

            // Parameter gradients: the blocks' signals add up (one product per step, not per block).
            if blocks.count > 1 {
                sumBlocks(dA, blocks: blocks.count, into: &sums)
                if kind == .gru { sumBlocks(dAhh, blocks: blocks.count, into: &sumsHH) }
            }
            let sumIH = blocks.count == 1 ? dA : sums
            let sumHH = kind == .gru ? (blocks.count == 1 ? dAhh : sumsHH) : sumIH
            DetLinear.gemm(sumHH, hp, into: &grad.weightHH, transA: true, accumulate: true)
            if p.inputSize > 0 { DetLinear.gemm(sumIH, batch.inputs[k - 1], into: &grad.weightIH, transA: true, accumulate: true) }
            for r in 0..<b {
                for j in 0..<gn {
                    grad.biasIH[j] += sumIH.data[r * gn + j]
                    grad.biasHH[j] += sumHH.data[r * gn + j]
                }
            }
            if contributions != nil {
                for (bi, t) in blocks.enumerated() {
                    let part = blocks.count == 1 ? recurrentSignal
                        : Matrix(rows: b, cols: gn, data: Array(recurrentSignal.data[(bi * b * gn)..<((bi + 1) * b * gn)]))
                    DetLinear.gemm(part, hp, into: &contributions![t - k], transA: true, accumulate: true)
                }
            }

            if let wih = wih {
                DetLinear.gemm(sumIH, wih, into: &inputGradients![k - 1])
            }

            if k == 1 && !wantStates { break }
            // Signal to h_{k−1}: through W_hh (all blocks in one gemm), plus the direct paths.
            if usesDirect {
                next.data.withUnsafeMutableBufferPointer { pn in
                    direct.data.withUnsafeBufferPointer { pd in for i in 0..<(rows * n) { pn[i] = pd[i] } }
                }
                DetLinear.gemm(recurrentSignal, whh, into: &next, accumulate: true)
            } else {
                DetLinear.gemm(recurrentSignal, whh, into: &next)
            }
            if k == 1 {
                // k = 1 with state gradients asked for: `next` is ∂L/∂h_0, `dCprev` ∂L/∂c_0 (one block).
                var h0 = Matrix(rows: b, cols: n)
                if blocks.count == 1 { h0 = next } else { sumBlocks(next, blocks: blocks.count, into: &h0) }
                stateGradients![0] = h0
                var c0: Matrix? = nil
                if kind == .lstm {
                    var cs = Matrix(rows: b, cols: n)
                    if blocks.count == 1 { cs = dCprev } else { sumBlocks(dCprev, blocks: blocks.count, into: &cs) }
                    c0 = cs
                }
                initialGradient = LayerState(h: h0, c: c0)
                break
            }
            swap(&dH, &next)
            if kind == .lstm { swap(&dC, &dCprev) }
        }
        return BPTTResult(loss: fp.loss, gradient: grad, outputs: fp.outputs, lagContributions: contributions,
                          stateGradients: stateGradients, inputGradients: inputGradients,
                          initialStateGradient: initialGradient)
    }

    /// Sum of the `blocks` stacked blocks of `m`, written into `s` (one block's shape).
    private static func sumBlocks(_ m: Matrix, blocks: Int, into s: inout Matrix) {
        let size = s.data.count
        s.data.withUnsafeMutableBufferPointer { ps in
            m.data.withUnsafeBufferPointer { pm in
                for i in 0..<size { ps[i] = pm[i] }
                for bi in 1..<blocks { for i in 0..<size { ps[i] += pm[bi * size + i] } }
            }
        }
    }
}
