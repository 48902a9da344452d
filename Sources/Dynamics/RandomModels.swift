import Linear

/// How the recurrent matrix is drawn.
public enum RecurrentInit: String, CaseIterable, Sendable {
    /// Entries N(0, g²/n): spectral radius ≈ g (circular law), ‖W‖₂ ≈ 2g for large n.
    case gaussian
    /// g · Haar-orthogonal: every singular value equals g.
    case orthogonal
}

/// Everything that determines a random model. Same spec ⇒ identical model, bit for bit.
public struct RandomModelSpec: Sendable, Equatable {
    public var kind: CellKind
    public var hidden: Int
    public var input: Int
    public var steps: Int
    public var gain: Double
    public var seed: UInt64
    public var initialization: RecurrentInit
    /// LSTM: bias of the forget gate f; GRU: bias of the update gate z (added to bias_ih's block of that gate).
    /// Positive values make the cell keep its past by default (1 is the classic LSTM choice).
    public var forgetBias: Double
    /// Leaky units: the leak rate a (share of new input per step, time constant 1/a) is drawn uniformly
    /// from this range, per unit; the cell stores the retention α = 1 − a (see `LeakyCell`).
    public var leakRange: ClosedRange<Double>
    /// Standard deviation of the inputs x_t.
    public var inputScale: Double
    /// Skip cells: the skip length D.
    public var skipLength: Int
    /// Vanilla cells: h_t = f(W h_{t−1} + U x_t + b) (f-of-sum) or h_t = W f(h_{t−1}) + U x_t + b (w-of-f).
    /// Only the form differs: the weights and inputs are the same for both.
    public var form: VanillaForm = .fOfSum

    public init(kind: CellKind, hidden: Int = 32, input: Int = 8, steps: Int = 100, gain: Double = 1, seed: UInt64 = 0,
                initialization: RecurrentInit = .gaussian, forgetBias: Double = 0,
                leakRange: ClosedRange<Double> = 0.02...0.2, inputScale: Double = 1, skipLength: Int = 4,
                form: VanillaForm = .fOfSum) {
        self.kind = kind
        self.hidden = hidden
        self.input = input
        self.steps = steps
        self.gain = gain
        self.seed = seed
        self.initialization = initialization
        self.forgetBias = forgetBias
        self.leakRange = leakRange
        self.inputScale = inputScale
        self.skipLength = skipLength
        self.form = form
    }
}

public enum RandomModels {
    /// Builds the model. Weights and inputs come from separate streams of the seed, so every cell kind of
    /// one comparison sees the same input sequence, and the vanilla cells (sigmoid, tanh, ReLU, linear)
    /// share the very same W_hh and W_ih: only the activation differs.
    ///
    /// - vanilla: W_hh per `initialization` with gain g; W_ih ~ N(0, 1/d); biases 0.
    /// - irnn (Le, Jaitly & Hinton 2015): ReLU, W_hh = g·I, W_ih ~ N(0, 0.001²), biases 0.
    /// - lstm / gru: each gate's recurrent block drawn like W_hh; W_ih ~ N(0, 1/d); biases 0 except the
    ///   LSTM forget gate's and the GRU update gate's, which are `forgetBias`.
    /// - leaky: tanh units, W_hh and W_ih as vanilla, leak rate a_i ~ U(leakRange), retention α_i = 1 − a_i.
    /// - skip: tanh units; W_hh and W_skip each drawn like W_hh with gain g/√2, so the two paths together
    ///   carry the same variance as one vanilla W_hh of gain g (a fair comparison with tanh).
    public static func make(_ s: RandomModelSpec) -> Model {
        let n = s.hidden
        var wr = SeededRNG.derived(seed: s.seed, stream: 1)
        var xr = SeededRNG.derived(seed: s.seed, stream: 2)
        let params = layerParameters(s, input: s.input, rng: &wr)
        let inputs = (0..<s.steps).map { _ in xr.gaussians(s.input, std: s.inputScale) }
        let zeros = [Double](repeating: 0, count: n)
        return Model(parameters: params, h0: zeros, c0: s.kind == .lstm ? zeros : nil, inputs: inputs)
    }

    /// The cells that can be stacked (`makeStack`): those with PyTorch's layout, the one `gradlab import` reads
    /// (leaky units and skip cells have parameters a state_dict does not hold).
    public static func stackable(_ kind: CellKind) -> Bool { kind != .leaky && kind != .skip }

    /// A stack of `layers` layers in PyTorch's layout (`num_layers`): layer 0 is exactly `make(s)`'s layer
    /// (same weights, same inputs x_t), layer l > 0 reads h^{l−1}_t, so its weight_ih is gates·n × n, drawn by the
    /// same recipe (W_ih ~ N(0, 1/n)) from its own stream of the seed. Initial states are zero. One layer gives
    /// `make(s)`'s model.
    public static func makeStack(_ s: RandomModelSpec, layers: Int) -> StackedModel {
        precondition(layers >= 1 && stackable(s.kind))
        let single = make(s)
        var params = [single.parameters]
        for l in 1..<max(layers, 1) {
            var wr = SeededRNG.derived(seed: s.seed, stream: 1000 + UInt64(l))
            params.append(layerParameters(s, input: s.hidden, rng: &wr))
        }
        return StackedModel(layers: params, inputs: single.inputs)
    }

    /// One layer's weights by the recipe of `make`, reading `input` values per step.
    static func layerParameters(_ s: RandomModelSpec, input d: Int, rng wr: inout SeededRNG) -> CellParameters {
        let n = s.hidden, g = s.kind.gateCount
        func recurrentBlock() -> Matrix {
            switch s.initialization {
            case .gaussian: return Init.recurrent(n: n, gain: s.gain, rng: &wr)
            case .orthogonal: return Init.orthogonal(n: n, gain: s.gain, rng: &wr)
            }
        }
        var whh = Matrix(rows: g * n, cols: n)
        var wskip: Matrix?
        if s.kind == .irnn {
            whh = Init.identity(n: n, gain: s.gain)
        } else if s.kind == .skip {
            whh = recurrentBlock() * (1 / 2.0.squareRoot())
            wskip = recurrentBlock() * (1 / 2.0.squareRoot())
        } else {
            for k in 0..<g { whh.setBlock(recurrentBlock(), at: k * n, 0) }
        }
        let inputStd = s.kind == .irnn ? 0.001 : 1 / Double(max(d, 1)).squareRoot()
        let wih = Init.gaussian(rows: g * n, cols: d, std: inputStd, rng: &wr)
        var bih = [Double](repeating: 0, count: g * n)
        // The gate that keeps the past: the LSTM's forget gate f (rows n..<2n of i,f,g,o) and the GRU's update
        // gate z (rows n..<2n of r,z,n; h = (1−z)⊙n + z⊙h_prev, so z → 1 copies the state).
        if s.kind == .lstm || s.kind == .gru { for k in n..<(2 * n) { bih[k] = s.forgetBias } }
        let alpha: [Double]? = s.kind == .leaky
            ? (0..<n).map { _ in 1 - wr.uniform(s.leakRange.lowerBound, s.leakRange.upperBound) } : nil
        let params = CellParameters(kind: s.kind, hiddenSize: n, inputSize: d, weightIH: wih, weightHH: whh,
                                    biasIH: bih, biasHH: [Double](repeating: 0, count: g * n), alpha: alpha,
                                    skipWeight: wskip, skipLength: s.kind == .skip ? s.skipLength : nil,
                                    form: s.kind.hasVanillaForms ? s.form : .fOfSum)
        return params
    }
}
