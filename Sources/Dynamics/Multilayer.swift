import Foundation
import Linear

/// A stack of recurrent layers (PyTorch's `num_layers`): layer 0 reads x_t, layer l > 0 reads h^{l−1}_t.
public struct StackedModel: Sendable, Equatable {
    public var layers: [CellParameters]
    /// Initial state s^l_0 per layer ([h; c] for the LSTM); zeros when built with `init(layers:inputs:)`.
    public var initialStates: [[Double]]
    /// x_1 … x_T for layer 0.
    public var inputs: [[Double]]

    public init(layers: [CellParameters], initialStates: [[Double]]? = nil, inputs: [[Double]]) {
        self.layers = layers
        self.initialStates = initialStates ?? layers.map {
            [Double](repeating: 0, count: $0.kind.hasCellState ? 2 * $0.hiddenSize : $0.hiddenSize)
        }
        self.inputs = inputs
    }

    public var depth: Int { layers.count }

    /// Checks every layer and that each layer's input size matches the layer below.
    public func validate() throws {
        guard !layers.isEmpty else { throw ModelError.invalid("the model has no layers") }
        guard initialStates.count == layers.count else { throw ModelError.invalid("need one initial state per layer") }
        for (l, p) in layers.enumerated() {
            do { try p.validate() } catch { throw ModelError.invalid("layer \(l): \(error)") }
            let size = p.kind.hasCellState ? 2 * p.hiddenSize : p.hiddenSize
            guard initialStates[l].count == size else {
                throw ModelError.invalid("layer \(l): initial state must have \(size) entries, got \(initialStates[l].count)")
            }
            if l > 0 && p.inputSize != layers[l - 1].hiddenSize {
                throw ModelError.invalid("layer \(l): input size \(p.inputSize) ≠ hidden size \(layers[l - 1].hiddenSize) of layer \(l - 1)")
            }
        }
        guard !inputs.isEmpty else { throw ModelError.invalid("inputs must hold at least one step") }
        for (t, x) in inputs.enumerated() where x.count != layers[0].inputSize {
            throw ModelError.invalid("inputs[\(t)] must have \(layers[0].inputSize) entries (input_size), got \(x.count)")
        }
    }

    /// Layer `l` alone as a single-layer `Model`, driven by the given inputs (for l > 0: h^{l−1}_1 … h^{l−1}_T).
    public func layerModel(_ l: Int, inputs: [[Double]]) -> Model {
        let p = layers[l], n = p.hiddenSize, s0 = initialStates[l]
        return Model(parameters: p, h0: Array(s0.prefix(n)), c0: p.kind.hasCellState ? Array(s0.suffix(n)) : nil, inputs: inputs)
    }
}

/// A forward run of a stack: one `Trajectory` per layer, layer l driven by layer l−1's hidden states.
public struct StackedTrajectory: Sendable {
    public let layers: [Trajectory]
    /// The per-layer models actually run (layer l's inputs are layer l−1's outputs).
    public let models: [Model]
    /// Steps completed by every layer (shorter than the input when some layer overflowed).
    public var steps: Int { layers.map(\.steps).min() ?? 0 }

    public init(model: StackedModel) throws {
        try model.validate()
        var trajs: [Trajectory] = [], models: [Model] = []
        var inputs = model.inputs
        for l in 0..<model.depth {
            let m = model.layerModel(l, inputs: inputs)
            let tr = try Trajectory(model: m)
            trajs.append(tr); models.append(m)
            let n = m.parameters.hiddenSize
            // An overflow in this layer ends the run of the layers above it as well.
            inputs = tr.states.dropFirst().map { Array($0.prefix(n)) }
            if inputs.isEmpty { break }
        }
        layers = trajs
        self.models = models
    }

    /// ∂s^l_t/∂x^l_t: the Jacobian of layer l's new state with respect to its input at step t (stateSize × d).
    public func inputJacobian(layer l: Int, at t: Int) -> Matrix {
        let tr = layers[l]
        return InputJacobian.compute(tr.cell.parameters, previous: tr.states[t - 1], preactivation: tr.preactivations[t - 1],
                                     next: tr.states[t])
    }

    /// The hidden state h^l_t (first n entries of the layer's state).
    public func hidden(layer l: Int, at t: Int) -> [Double] {
        Array(layers[l].states[t].prefix(layers[l].cell.hiddenSize))
    }
}

/// Jacobians of one step with respect to the input x_t, per cell type (the companions of `stateJacobian`).
public enum InputJacobian {
    /// ∂s_j/∂x_j for the step that went from `previous` to `next` with the recorded pre-activations.
    ///
    /// - vanilla: diag(f′(a)) W_ih (w-of-f form: W_ih); leaky: diag((1−α)⊙tanh′(a)) W_ih.
    /// - LSTM: ∂c/∂x = diag(c_{j−1}⊙σ′(a_f)) W_if + diag(g⊙σ′(a_i)) W_ii + diag(i⊙tanh′(a_g)) W_ig,
    ///   ∂h/∂x = diag(tanh(c_j)⊙σ′(a_o)) W_io + diag(o⊙tanh′(c_j)) ∂c/∂x (rows [h; c]).
    /// - GRU: ∂n/∂x = diag(tanh′(a_n)) (W_in + diag(u⊙σ′(a_r)) W_ir) with u = W_hn h_{j−1} + b_hn,
    ///   ∂h/∂x = diag(1−z) ∂n/∂x + diag((h_{j−1} − n)⊙σ′(a_z)) W_iz.
    public static func compute(_ p: CellParameters, previous: [Double], preactivation a: [Double], next: [Double]) -> Matrix {
        let n = p.hiddenSize, d = p.inputSize
        let w = p.weightIH
        func gate(_ g: Int) -> Matrix { w.block(rows: (g * n)..<((g + 1) * n), cols: 0..<d) }
        switch p.kind {
        case .sigmoid, .tanh, .relu, .linear, .irnn:
            // w-of-f: x enters outside f, so ∂h_j/∂x_j = W_ih.
            if p.form == .wOfF { return w }
            let act = p.kind.vanillaActivation ?? .tanh
            return w.scalingRows(by: a.map(act.derivative))
        case .skip:
            // Only h_t (the top of the window) depends on x_t; the older entries are shifted copies.
            var out = Matrix(rows: (p.skipLength ?? 1) * n, cols: d)
            out.setBlock(w.scalingRows(by: a.map(Activation.tanh.derivative)), at: 0, 0)
            return out
        case .leaky:
            let alpha = p.alpha ?? [Double](repeating: 0, count: n)
            return w.scalingRows(by: (0..<n).map { (1 - alpha[$0]) * Activation.tanh.derivative(a[$0]) })
        case .lstm:
            var sf = [Double](), si = [Double](), sg = [Double](), so = [Double](), sc = [Double]()
            for k in 0..<n {
                let i = Activation.sigmoid(a[k]), f = Activation.sigmoid(a[n + k])
                let g = tanh(a[2 * n + k]), o = Activation.sigmoid(a[3 * n + k])
                let tc = tanh(next[n + k])
                sf.append(previous[n + k] * f * (1 - f)); si.append(g * i * (1 - i)); sg.append(i * (1 - g * g))
                so.append(tc * o * (1 - o)); sc.append(o * (1 - tc * tc))
            }
            let dc = gate(1).scalingRows(by: sf) + gate(0).scalingRows(by: si) + gate(2).scalingRows(by: sg)
            let dh = gate(3).scalingRows(by: so) + dc.scalingRows(by: sc)
            var out = Matrix(rows: 2 * n, cols: d)
            out.setBlock(dh, at: 0, 0)
            out.setBlock(dc, at: n, 0)
            return out
        case .gru:
            var sn = [Double](), sr = [Double](), sz = [Double]()
            for k in 0..<n {
                let r = Activation.sigmoid(a[k]), z = Activation.sigmoid(a[n + k])
                let nn = tanh(a[2 * n + k]), u = a[3 * n + k]
                let dn = 1 - nn * nn
                sn.append((1 - z) * dn); sr.append((1 - z) * dn * u * r * (1 - r)); sz.append((previous[k] - nn) * z * (1 - z))
            }
            return gate(2).scalingRows(by: sn) + gate(0).scalingRows(by: sr) + gate(1).scalingRows(by: sz)
        }
    }
}

/// log10‖∂h^L_t/∂h^l_k‖ for every layer l and every k ≤ t: how the gradient of the top layer's output spreads
/// through depth and time.
public struct DepthTimeGrid: Sendable {
    public var endStep: Int
    /// lags[i] = t − k = i.
    public var lags: [Int]
    /// log10Spectral[l][lag], l = 0 (bottom) … L−1 (top); −∞ for exact zeros.
    public var log10Spectral: [[Double]]
    public var log10Frobenius: [[Double]]
}

public enum MultilayerProducts {
    /// Adjoint sweep backwards in time. With G^l_k = ∂s^L_t/∂s^l_k (the derivative through the computation
    /// graph, so it includes the path up through the layers above at the same step k):
    ///
    ///     G^L_t = I,   G^l_t = G^{l+1}_t B^{l+1}_t E_l,
    ///     G^l_k = G^l_{k+1} A^l_{k+1} + G^{l+1}_k B^{l+1}_k E_l      (k < t; the second term only for l < L)
    ///
    /// where A^l_j = ∂s^l_j/∂s^l_{j−1} (the cell's state Jacobian), B^l_j = ∂s^l_j/∂x^l_j (its input Jacobian)
    /// and E_l selects h from layer l's state. All G^·_k share one log-scale, renormalised after each k
    /// (as in `JacobianProducts.curves`), so long horizons neither underflow nor overflow.
    /// The reported block is the h^L rows × h^l columns.
    /// `observe` (tests, small runs): receives each reported block ∂h^L_t/∂h^l_{t−lag} itself, as (lag, l, block),
    /// the log-scale multiplied back in (exact, but it overflows or underflows for long horizons).
    public static func grid(_ run: StackedTrajectory, endStep: Int? = nil, spectral: Bool = true,
                            observe: ((_ lag: Int, _ layer: Int, _ block: Matrix) -> Void)? = nil) -> DepthTimeGrid {
        let depth = run.layers.count
        let t = min(endStep ?? run.steps, run.steps)
        let top = depth - 1
        let sizes = run.layers.map { $0.cell.stateSize }
        let hidden = run.layers.map { $0.cell.hiddenSize }
        let rows = sizes[top]
        var spec = [[Double]](repeating: [], count: depth), frob = [[Double]](repeating: [], count: depth)
        var g: [Matrix] = (0..<depth).map { Matrix(rows: rows, cols: sizes[$0]) }
        var work = (0..<depth).map { _ in JacobianWork() }
        var tmp = (0..<depth).map { Matrix(rows: rows, cols: sizes[$0]) }
        var est = (0..<depth).map { _ in SpectralNormEstimator(warmStartLeft: true) }
        var exponent = 0   // Σ of the power-of-two rescalings (exact; see `LogScale`)
        var scale: Double { Double(exponent) * 0.30102999566398119521 }
        var zero = false

        /// G^{l+1}_k · B^{l+1}_k restricted to layer l's h columns, added into G^l (which has sizes[l] columns).
        func addUpward(_ l: Int, at k: Int, into gl: inout Matrix) {
            let b = run.inputJacobian(layer: l + 1, at: k)     // sizes[l+1] × hidden[l]
            var prod = Matrix(rows: rows, cols: hidden[l])
            BLAS.gemm(g[l + 1], b, into: &prod)
            for r in 0..<rows { for c in 0..<hidden[l] { gl.data[r * sizes[l] + c] += prod.data[r * hidden[l] + c] } }
        }

        for lag in 0...t {
            let k = t - lag
            if !zero {
                for l in stride(from: top, through: 0, by: -1) {
                    if lag == 0 {
                        if l == top { g[l] = Matrix(rows: rows, cols: sizes[l]); for i in 0..<rows { g[l][i, i] = 1 } }
                        else { g[l] = Matrix(rows: rows, cols: sizes[l]) }
                    } else {
                        run.layers[l].rightMultiply(g[l], byJacobianAt: k + 1, into: &tmp[l], work: &work[l])
                        swap(&g[l], &tmp[l])
                    }
                    if l < top && k >= 1 {
                        var gl = g[l]
                        addUpward(l, at: k, into: &gl)
                        g[l] = gl
                    }
                }
                // k = 0 is the initial state: there is no step 0, so no path up through the layers at k = 0.
                let f = g.map(\.frobeniusNorm).max() ?? 0
                if f > 0 && f.isFinite {
                    // Exact power-of-two rescaling of every layer's block by the same factor (see `LogScale`).
                    let e = f.exponent
                    for l in 0..<depth { LogScale.scale(&g[l], byPowerOfTwo: -e) }
                    exponent += e
                } else {
                    zero = true
                }
            }
            for l in 0..<depth {
                if zero { spec[l].append(-.infinity); frob[l].append(-.infinity); continue }
                let blk = MatrixBlock(rows: 0..<hidden[top], cols: 0..<hidden[l])
                if let observe {
                    var b = g[l].block(rows: 0..<hidden[top], cols: 0..<hidden[l])
                    LogScale.scale(&b, byPowerOfTwo: exponent)
                    observe(lag, l, b)
                }
                let fn = g[l].frobeniusNorm(block: blk)
                if fn == 0 { spec[l].append(-.infinity); frob[l].append(-.infinity); continue }
                frob[l].append(scale + log10(fn))
                spec[l].append(spectral ? scale + log10(est[l].norm(g[l], block: blk)) : .nan)
            }
        }
        return DepthTimeGrid(endStep: t, lags: Array(0...t), log10Spectral: spec, log10Frobenius: frob)
    }
}
