import Foundation
import Linear

/// Linear readout y_t = W_out h_t + b_out (m outputs from n hidden units).
public struct Readout: Sendable, Equatable {
    /// m × n
    public var weight: Matrix
    /// m
    public var bias: [Double]

    public init(weight: Matrix, bias: [Double]) {
        precondition(weight.rows == bias.count, "Readout: weight has \(weight.rows) rows, bias \(bias.count) entries")
        self.weight = weight
        self.bias = bias
    }

    public var outputSize: Int { weight.rows }
}

/// A trainable recurrent network: one recurrent layer (PyTorch layout, see `CellParameters`) plus a linear
/// readout. The initial state is zero (h_0 = 0, and c_0 = 0 for the LSTM) and is not trained.
///
/// The retentions α = 1 − a of a leaky cell (a: leak rates, see `LeakyCell`) are fixed time constants, not trained.
public struct RNN: Sendable, Equatable {
    public var cell: CellParameters
    public var readout: Readout

    public init(cell: CellParameters, readout: Readout) {
        precondition(readout.weight.cols == cell.hiddenSize, "RNN: readout expects \(readout.weight.cols) hidden units, cell has \(cell.hiddenSize)")
        self.cell = cell
        self.readout = readout
    }

    public var kind: CellKind { cell.kind }
    public var hiddenSize: Int { cell.hiddenSize }
    public var inputSize: Int { cell.inputSize }
    public var outputSize: Int { readout.outputSize }

    /// Number of trainable scalars.
    public var parameterCount: Int {
        cell.weightIH.data.count + cell.weightHH.data.count + cell.biasIH.count + cell.biasHH.count
            + readout.weight.data.count + readout.bias.count
    }

    /// All trainable parameters in one vector, in the order weight_ih, weight_hh, bias_ih, bias_hh,
    /// readout weight, readout bias (the order of `RNNGradient.flat`).
    public var flat: [Double] {
        cell.weightIH.data + cell.weightHH.data + cell.biasIH + cell.biasHH + readout.weight.data + readout.bias
    }

    /// Sets the parameters from a vector laid out like `flat`.
    public mutating func setFlat(_ v: [Double]) {
        precondition(v.count == parameterCount, "RNN.setFlat: \(v.count) values for \(parameterCount) parameters")
        var o = 0
        func take(_ n: Int) -> [Double] { defer { o += n }; return Array(v[o..<(o + n)]) }
        cell.weightIH.data = take(cell.weightIH.data.count)
        cell.weightHH.data = take(cell.weightHH.data.count)
        cell.biasIH = take(cell.biasIH.count)
        cell.biasHH = take(cell.biasHH.count)
        readout.weight.data = take(readout.weight.data.count)
        readout.bias = take(readout.bias.count)
    }

    /// Whether every parameter is finite.
    public var allFinite: Bool { flat.allSatisfy(\.isFinite) }
}

/// ∂L/∂θ for every trainable parameter of an `RNN`, with the same shapes.
public struct RNNGradient: Sendable, Equatable {
    public var weightIH: Matrix
    public var weightHH: Matrix
    public var biasIH: [Double]
    public var biasHH: [Double]
    public var readoutWeight: Matrix
    public var readoutBias: [Double]

    /// All zeros, shaped like `net`'s parameters.
    public init(zerosLike net: RNN) {
        let c = net.cell
        weightIH = Matrix(rows: c.weightIH.rows, cols: c.weightIH.cols)
        weightHH = Matrix(rows: c.weightHH.rows, cols: c.weightHH.cols)
        biasIH = [Double](repeating: 0, count: c.biasIH.count)
        biasHH = [Double](repeating: 0, count: c.biasHH.count)
        readoutWeight = Matrix(rows: net.readout.weight.rows, cols: net.readout.weight.cols)
        readoutBias = [Double](repeating: 0, count: net.readout.bias.count)
    }

    /// Same order as `RNN.flat`.
    public var flat: [Double] { weightIH.data + weightHH.data + biasIH + biasHH + readoutWeight.data + readoutBias }

    /// Sets the entries from a vector laid out like `flat`.
    public mutating func setFlat(_ v: [Double]) {
        precondition(v.count == flat.count, "RNNGradient.setFlat: wrong length")
        var o = 0
        func take(_ n: Int) -> [Double] { defer { o += n }; return Array(v[o..<(o + n)]) }
        weightIH.data = take(weightIH.data.count)
        weightHH.data = take(weightHH.data.count)
        biasIH = take(biasIH.count)
        biasHH = take(biasHH.count)
        readoutWeight.data = take(readoutWeight.data.count)
        readoutBias = take(readoutBias.count)
    }

    /// Global Euclidean norm ‖g‖₂ over all parameters (overflow-safe).
    public var norm: Double { DetLinear.norm(flat) }
}

/// How `RNN.initialized` draws the weights of a network to be trained.
public struct TrainingInit: Sendable, Equatable {
    /// LSTM: added to the forget gate's bias (b_ih, f block). 1 is the usual "remember by default".
    public var forgetBias: Double = 1
    /// Leaky cells: leak rates a_i drawn uniformly from this range; the cell keeps α_i = 1 − a_i of its state.
    public var leakRange: ClosedRange<Double> = 0.02...0.2
    public init(forgetBias: Double = 1, leakRange: ClosedRange<Double> = 0.02...0.2) {
        self.forgetBias = forgetBias
        self.leakRange = leakRange
    }
}

public extension RNN {
    /// A freshly initialised network, fully determined by `seed`: the same bits on every machine (Gaussian
    /// draws and the orthogonal factor come from `DetRandom`, not from libm and LAPACK).
    ///
    /// - sigmoid / tanh / relu / linear / leaky: W_hh orthogonal (all singular values 1, so nothing vanishes
    ///   or explodes at initialisation — the fair starting point for comparing lengths), W_ih and biases
    ///   PyTorch's U(−1/√n, 1/√n).
    /// - irnn (Le, Jaitly & Hinton 2015): ReLU, W_hh = I, W_ih ~ N(0, 0.001²), biases 0.
    /// - lstm / gru: every weight and bias PyTorch's default U(−1/√n, 1/√n); the LSTM forget-gate bias gets
    ///   `+forgetBias`.
    /// - readout: W_out ~ U(−1/√n, 1/√n), b_out = 0.
    static func initialized(kind: CellKind, input d: Int, hidden n: Int, output m: Int, seed: UInt64,
                            init opts: TrainingInit = TrainingInit()) -> RNN {
        var rng = SeededRNG.derived(seed: seed, stream: 11)
        let g = kind.gateCount
        func uniform(_ r: Int, _ c: Int) -> Matrix { Init.pytorchUniform(rows: r, cols: c, hidden: n, rng: &rng) }
        var wih: Matrix, whh: Matrix, bih: [Double], bhh: [Double]
        var alpha: [Double]? = nil
        precondition(kind != .skip, "BPTT does not cover the skip cell (TrainOptions rejects it)")
        switch kind {
        case .irnn:
            whh = Init.identity(n: n)
            wih = DetRandom.gaussian(rows: n, cols: d, std: 0.001, rng: &rng)
            bih = [Double](repeating: 0, count: n)
            bhh = bih
        case .lstm, .gru:
            wih = uniform(g * n, d)
            whh = uniform(g * n, n)
            bih = uniform(1, g * n).data
            bhh = uniform(1, g * n).data
            if kind == .lstm { for k in n..<(2 * n) { bih[k] += opts.forgetBias } }
        case .sigmoid, .tanh, .relu, .linear, .leaky, .skip:
            whh = DetRandom.orthogonal(n: n, rng: &rng)
            wih = uniform(n, d)
            bih = uniform(1, n).data
            bhh = uniform(1, n).data
            if kind == .leaky {
                alpha = (0..<n).map { _ in 1 - rng.uniform(opts.leakRange.lowerBound, opts.leakRange.upperBound) }
            }
        }
        let cell = CellParameters(kind: kind, hiddenSize: n, inputSize: d, weightIH: wih, weightHH: whh,
                                  biasIH: bih, biasHH: bhh, alpha: alpha)
        let readout = Readout(weight: uniform(m, n), bias: [Double](repeating: 0, count: m))
        return RNN(cell: cell, readout: readout)
    }
}
