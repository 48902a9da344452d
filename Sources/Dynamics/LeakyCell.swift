import Linear

/// Leaky-integrator units (multiple time scales). Two conventions name the same cell:
/// - leak rate a (Jaeger): h_j = (1−a)⊙h_{j−1} + a⊙tanh(W_ih x_j + b_ih + W_hh h_{j−1} + b_hh); a is the share of
///   new input a unit takes in per step, its time constant is 1/a steps (`--leak-rate`, default 0.02:0.2 → 5–50 steps);
/// - retention α = 1 − a: h_j = α⊙h_{j−1} + (1−α)⊙tanh(·), the share of the old state kept (`--retention`).
/// The cell stores α (the retention), as the model file's "alpha" field does.
///
/// Jacobian: J_j = diag(α) + diag((1−α)⊙tanh′(a_j)) · W_hh. A unit with α close to 1 keeps a direct,
/// un-squashed path to its own past, so its gradient decays like α^lag rather than through W_hh.
/// Bound (triangle inequality): ‖J_j‖₂ ≤ max α + max_i (1−α_i) |tanh′(a_{j,i})| · ‖W_hh‖₂.
public struct LeakyCell: RecurrentCell {
    public let parameters: CellParameters
    /// Per-unit retention α = 1 − a (a: leak rate).
    public let alpha: [Double]
    public let recurrentNorm: Double
    private let activation = Activation.tanh

    public init(_ p: CellParameters) {
        parameters = p
        alpha = p.alpha ?? [Double](repeating: 0, count: p.hiddenSize)
        recurrentNorm = p.weightHH.spectralNorm
    }

    public var kind: CellKind { .leaky }
    public var stateSize: Int { parameters.hiddenSize }
    public var preactivationSize: Int { parameters.hiddenSize }

    public func step(state: [Double], input: [Double], preactivation a: inout [Double]) -> [Double] {
        Affine.preactivation(parameters, state: state, input: input, into: &a)
        return (0..<stateSize).map { alpha[$0] * state[$0] + (1 - alpha[$0]) * activation.value(a[$0]) }
    }

    public func stateJacobian(previous: [Double], preactivation a: [Double], next: [Double], into j: inout Matrix) {
        Affine.scaledRows(parameters.weightHH, by: (0..<stateSize).map { (1 - alpha[$0]) * activation.derivative(a[$0]) }, into: &j)
        for i in 0..<stateSize { j.data[i * stateSize + i] += alpha[i] }
    }

    public func stepBound(previous: [Double], preactivation a: [Double], next: [Double], step: Int) -> StepBound {
        let maxAlpha = alpha.max() ?? 0
        let maxOneMinus = alpha.map { 1 - $0 }.max() ?? 1
        let traj = (0..<stateSize).reduce(0.0) { max($0, (1 - alpha[$1]) * activation.derivative(a[$1])) }
        return StepBound(worstCase: maxAlpha + maxOneMinus * recurrentNorm, trajectory: maxAlpha + traj * recurrentNorm)
    }
}
