import Linear

/// The cell types gradlab knows. Raw values are the names used on the command line and in model files.
public enum CellKind: String, CaseIterable, Sendable, Codable {
    case sigmoid, tanh, relu, linear, irnn, lstm, gru, leaky, skip

    /// The pointwise activation of the vanilla-style cells (IRNN is ReLU; leaky units use tanh by default).
    public var vanillaActivation: Activation? {
        switch self {
        case .sigmoid: return .sigmoid
        case .tanh: return .tanh
        case .relu, .irnn: return .relu
        case .linear: return .linear
        case .leaky, .skip: return .tanh
        case .lstm, .gru: return nil
        }
    }

    /// Rows of weight_ih / weight_hh per hidden unit (PyTorch stacks gates: LSTM i,f,g,o; GRU r,z,n).
    public var gateCount: Int {
        switch self {
        case .lstm: return 4
        case .gru: return 3
        default: return 1
        }
    }

    /// The cells that come in both textbook forms (`VanillaForm`): the plain ones with one pointwise f.
    public var hasVanillaForms: Bool {
        switch self {
        case .sigmoid, .tanh, .relu, .linear, .irnn: return true
        default: return false
        }
    }

    /// Whether the state carries a cell vector c besides h.
    public var hasCellState: Bool { self == .lstm }
}

/// Where a vanilla cell applies its nonlinearity. Textbooks write the same recurrence two ways:
/// - `fOfSum` ("f-of-sum", PyTorch's and gradlab's default): h_t = f(W_hh h_{t−1} + W_ih x_t + b),
///   Jacobian ∂h_t/∂h_{t−1} = diag(f′(a_t)) · W_hh with a_t the sum inside f;
/// - `wOfF` ("w-of-f", e.g. Pascanu, Mikolov & Bengio 2013): h_t = W_hh f(h_{t−1}) + W_ih x_t + b,
///   Jacobian ∂h_t/∂h_{t−1} = W_hh · diag(f′(h_{t−1})).
/// Both satisfy ‖J_t‖₂ ≤ ‖W_hh‖₂ · sup|f′| = β_W β_h. With the same weights and inputs and matched initial
/// states (g_0 = f(h_0); automatic from zero for tanh, ReLU and linear), the w-of-f state is the f-of-sum
/// pre-activation, h^{wf}_t = a_t, and the products obey ∂h^{wf}_t/∂h^{wf}_k = W_hh · (∂h_{t−1}/∂h_k) · diag(f′(a_k)).
public enum VanillaForm: String, CaseIterable, Sendable, Codable {
    case fOfSum = "f-of-sum"
    case wOfF = "w-of-f"
}

/// Per-step upper bounds on the spectral norm of the state Jacobian ‖∂s_j/∂s_{j−1}‖₂.
public struct StepBound: Sendable, Equatable {
    /// Uses only a-priori facts (sup of derivatives, gate ranges, weight norms): the classical bound.
    public var worstCase: Double
    /// Uses the values the trajectory actually visited at this step (max |f′(a_j)| etc.): tighter.
    public var trajectory: Double
    /// A bound that cannot be evaluated (∞·0 when ‖W_hh‖₂ overflows while every derivative is 0) is no
    /// bound at all: it is stored as +∞, never NaN.
    public init(worstCase: Double, trajectory: Double) {
        self.worstCase = worstCase.isNaN ? .infinity : worstCase
        self.trajectory = trajectory.isNaN ? .infinity : trajectory
    }
}

/// A recurrent cell: forward step plus the analytic Jacobian of the new state with respect to the old one.
///
/// The state vector `s` is `h` for every cell but the LSTM, whose state is `[h; c]` (2n). Each step records
/// a pre-activation vector (size `preactivationSize`) so that Jacobians can be recomputed later from the
/// trajectory instead of being stored (T dense n×n matrices would not fit for long horizons).
public protocol RecurrentCell: Sendable, StructuredJacobian {
    var kind: CellKind { get }
    var parameters: CellParameters { get }
    var stateSize: Int { get }
    var preactivationSize: Int { get }

    /// s_j = F(s_{j−1}, x_j); writes the pre-activations of this step into `preactivation`.
    func step(state: [Double], input: [Double], preactivation: inout [Double]) -> [Double]

    /// J_j = ∂s_j/∂s_{j−1} (stateSize × stateSize), written into `jacobian`.
    func stateJacobian(previous: [Double], preactivation: [Double], next: [Double], into jacobian: inout Matrix)

    /// Upper bounds on ‖J_j‖₂ at step `step` (1-based).
    func stepBound(previous: [Double], preactivation: [Double], next: [Double], step: Int) -> StepBound
}

public extension RecurrentCell {
    var hiddenSize: Int { parameters.hiddenSize }
    var inputSize: Int { parameters.inputSize }

    func step(state: [Double], input: [Double]) -> [Double] {
        var pre = [Double](repeating: 0, count: preactivationSize)
        return step(state: state, input: input, preactivation: &pre)
    }

    /// Convenience: J_j as a new matrix, recomputing the step's pre-activations.
    func stateJacobian(state: [Double], input: [Double]) -> Matrix {
        var pre = [Double](repeating: 0, count: preactivationSize)
        let next = step(state: state, input: input, preactivation: &pre)
        var j = Matrix(rows: stateSize, cols: stateSize)
        stateJacobian(previous: state, preactivation: pre, next: next, into: &j)
        return j
    }
}

/// The weights of one recurrent layer, in PyTorch's layout (rows = outputs, gates stacked).
public struct CellParameters: Sendable, Equatable {
    public var kind: CellKind
    public var hiddenSize: Int
    public var inputSize: Int
    /// (gates·n) × d
    public var weightIH: Matrix
    /// (gates·n) × n
    public var weightHH: Matrix
    public var biasIH: [Double]
    public var biasHH: [Double]
    /// Leaky units only: per-unit leak α ∈ [0, 1): h_t = α⊙h_{t−1} + (1−α)⊙F(·).
    public var alpha: [Double]?
    /// Skip cells only: W_skip (n × n), applied to h_{t−D}.
    public var skipWeight: Matrix?
    /// Skip cells only: the skip length D ≥ 2.
    public var skipLength: Int?
    /// Vanilla cells only (sigmoid, tanh, relu, linear, irnn): where f is applied (see `VanillaForm`).
    public var form: VanillaForm = .fOfSum

    public init(kind: CellKind, hiddenSize: Int, inputSize: Int, weightIH: Matrix, weightHH: Matrix,
                biasIH: [Double], biasHH: [Double], alpha: [Double]? = nil,
                skipWeight: Matrix? = nil, skipLength: Int? = nil, form: VanillaForm = .fOfSum) {
        self.kind = kind
        self.hiddenSize = hiddenSize
        self.inputSize = inputSize
        self.weightIH = weightIH
        self.weightHH = weightHH
        self.biasIH = biasIH
        self.biasHH = biasHH
        self.alpha = alpha
        self.skipWeight = skipWeight
        self.skipLength = skipLength
        self.form = form
    }

    /// Checks every shape and value; the message names the offending field.
    public func validate() throws {
        let g = kind.gateCount, n = hiddenSize, d = inputSize
        func fail(_ s: String) -> ModelError { ModelError.invalid(s) }
        guard n > 0 else { throw fail("hidden_size must be positive (got \(n))") }
        guard d >= 0 else { throw fail("input_size must be non-negative (got \(d))") }
        // Sizes from files can be anything: no product below may overflow (a trap, not an error).
        guard n <= 1 << 24, d <= 1 << 40 else { throw fail("hidden_size \(n) / input_size \(d) is beyond any model gradlab can hold") }
        guard weightIH.rows == g * n && weightIH.cols == d else {
            throw fail("weight_ih must be \(g * n)×\(d) for a \(kind.rawValue) cell with hidden_size \(n), got \(weightIH.rows)×\(weightIH.cols)")
        }
        guard weightHH.rows == g * n && weightHH.cols == n else {
            throw fail("weight_hh must be \(g * n)×\(n) for a \(kind.rawValue) cell with hidden_size \(n), got \(weightHH.rows)×\(weightHH.cols)")
        }
        guard biasIH.count == g * n else { throw fail("bias_ih must have \(g * n) entries, got \(biasIH.count)") }
        guard biasHH.count == g * n else { throw fail("bias_hh must have \(g * n) entries, got \(biasHH.count)") }
        guard weightIH.allFinite else { throw fail("weight_ih contains NaN or infinity") }
        guard weightHH.allFinite else { throw fail("weight_hh contains NaN or infinity") }
        guard (biasIH + biasHH).allSatisfy(\.isFinite) else { throw fail("bias_ih/bias_hh contain NaN or infinity") }
        if form == .wOfF && !kind.hasVanillaForms {
            throw fail("the w-of-f form (h_t = W f(h_{t−1}) + U x_t + b) applies to the vanilla cells (sigmoid, tanh, relu, linear, irnn), not to \(kind.rawValue)")
        }
        if kind == .leaky {
            guard let a = alpha else { throw fail("a leaky cell needs \"alpha\" (\(n) leak rates in [0, 1))") }
            guard a.count == n else { throw fail("alpha must have \(n) entries, got \(a.count)") }
            guard a.allSatisfy({ $0 >= 0 && $0 < 1 }) else { throw fail("alpha entries must lie in [0, 1)") }
        }
        if kind == .skip {
            guard let dl = skipLength else { throw fail("a skip cell needs \"skip\" (the skip length D ≥ 2)") }
            guard dl >= 2 && dl <= 64 else { throw fail("skip must lie between 2 and 64, got \(dl)") }
            guard let w = skipWeight else { throw fail("a skip cell needs \"weight_skip\" (\(n)×\(n))") }
            guard w.rows == n && w.cols == n else { throw fail("weight_skip must be \(n)×\(n), got \(w.rows)×\(w.cols)") }
            guard w.allFinite else { throw fail("weight_skip contains NaN or infinity") }
        }
    }

    /// The rows of gate `index` of weight_hh (e.g. LSTM f = 1), n × n.
    public func recurrentGate(_ index: Int) -> Matrix {
        weightHH.block(rows: (index * hiddenSize)..<((index + 1) * hiddenSize), cols: 0..<hiddenSize)
    }
}

public enum ModelError: Error, CustomStringConvertible, Equatable {
    case invalid(String)
    public var description: String {
        switch self { case .invalid(let s): return s }
    }
}

/// Builds the cell for a parameter set (validating it first).
public func makeCell(_ p: CellParameters) throws -> any RecurrentCell {
    try p.validate()
    switch p.kind {
    case .sigmoid, .tanh, .relu, .linear, .irnn: return VanillaCell(p)
    case .leaky: return LeakyCell(p)
    case .lstm: return LSTMCell(p)
    case .gru: return GRUCell(p)
    case .skip: return SkipCell(p)
    }
}
