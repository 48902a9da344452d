import Linear

/// h_j = f(W_ih x_j + b_ih + W_hh h_{j−1} + b_hh) with f ∈ {sigmoid, tanh, ReLU, identity};
/// the IRNN is the ReLU cell (its identity initialisation lives in `RandomModels`).
///
/// Jacobian: J_j = diag(f′(a_j)) · W_hh, so ‖J_j‖₂ ≤ max_i |f′(a_{j,i})| · ‖W_hh‖₂ ≤ β_h β_W.
///
/// The other textbook form (`VanillaForm.wOfF`): h_j = W_hh f(h_{j−1}) + W_ih x_j + b_ih + b_hh. Its recorded
/// pre-activation is the whole sum (= h_j), and its Jacobian J_j = W_hh · diag(f′(h_{j−1})) scales columns
/// instead of rows; the same bound ‖J_j‖₂ ≤ ‖W_hh‖₂ max_i |f′(h_{j−1,i})| ≤ β_W β_h holds.
public struct VanillaCell: RecurrentCell {
    public let parameters: CellParameters
    public let activation: Activation
    /// β_W = ‖W_hh‖₂.
    public let recurrentNorm: Double

    public init(_ p: CellParameters) {
        parameters = p
        activation = p.kind.vanillaActivation ?? .tanh
        recurrentNorm = p.weightHH.spectralNorm
    }

    public var kind: CellKind { parameters.kind }
    public var stateSize: Int { parameters.hiddenSize }
    public var preactivationSize: Int { parameters.hiddenSize }

    public var form: VanillaForm { parameters.form }

    public func step(state: [Double], input: [Double], preactivation a: inout [Double]) -> [Double] {
        if form == .wOfF {
            Affine.preactivation(parameters, state: state.map(activation.value), input: input, into: &a)
            return a
        }
        Affine.preactivation(parameters, state: state, input: input, into: &a)
        return a.map(activation.value)
    }

    /// The values f′ is taken at in this step's Jacobian: a_j (f-of-sum) or h_{j−1} (w-of-f).
    @inline(__always)
    func derivativeArguments(previous: [Double], preactivation a: [Double]) -> [Double] {
        form == .wOfF ? Array(previous.prefix(parameters.hiddenSize)) : a
    }

    public func stateJacobian(previous: [Double], preactivation a: [Double], next: [Double], into j: inout Matrix) {
        if form == .wOfF {
            Affine.scaledColumns(parameters.weightHH, by: previous.map(activation.derivative), into: &j)
        } else {
            Affine.scaledRows(parameters.weightHH, by: a.map(activation.derivative), into: &j)
        }
    }

    public func stepBound(previous: [Double], preactivation a: [Double], next: [Double], step: Int) -> StepBound {
        let maxDerivative = derivativeArguments(previous: previous, preactivation: a).reduce(0) { max($0, abs(activation.derivative($1))) }
        return StepBound(worstCase: activation.derivativeSup * recurrentNorm, trajectory: maxDerivative * recurrentNorm)
    }
}

/// Shared pieces of the affine maps a = W_ih x + b_ih + W_hh h + b_hh.
enum Affine {
    /// a = W_ih x + b_ih + W_hh h + b_hh (all gate rows at once).
    static func preactivation(_ p: CellParameters, state h: [Double], input x: [Double], into a: inout [Double]) {
        let rows = p.weightHH.rows
        if a.count != rows { a = [Double](repeating: 0, count: rows) }
        for i in 0..<rows { a[i] = p.biasIH[i] + p.biasHH[i] }
        // DetLinear, not BLAS: a chaotic trajectory (tanh at gain 3) amplifies a last-bit difference between
        // BLAS kernels into a visibly different curve (issue 11).
        if p.inputSize > 0 { DetLinear.gemv(p.weightIH, x, into: &a, accumulate: true) }
        h.withUnsafeBufferPointer { DetLinear.gemv(p.weightHH, UnsafeBufferPointer(rebasing: $0.prefix(p.hiddenSize)), into: &a, accumulate: true) }
    }

    /// Only the recurrent part W_hh h + b_hh (the GRU needs it separately for its n gate).
    static func recurrentPart(_ p: CellParameters, state h: [Double]) -> [Double] {
        var r = p.biasHH
        h.withUnsafeBufferPointer { DetLinear.gemv(p.weightHH, UnsafeBufferPointer(rebasing: $0.prefix(p.hiddenSize)), into: &r, accumulate: true) }
        return r
    }

    /// out = diag(d) · W (rows scaled), written into `out` of the same shape.
    @inline(__always)
    static func scaledRows(_ w: Matrix, by d: [Double], into out: inout Matrix) {
        precondition(out.rows == w.rows && out.cols == w.cols && d.count == w.rows)
        let c = w.cols
        w.data.withUnsafeBufferPointer { pw in
            out.data.withUnsafeMutableBufferPointer { po in
                for i in 0..<w.rows {
                    let s = d[i], base = i * c
                    for k in 0..<c { po[base + k] = s * pw[base + k] }
                }
            }
        }
    }

    /// out = W · diag(d) (columns scaled), written into `out` of the same shape.
    static func scaledColumns(_ w: Matrix, by d: [Double], into out: inout Matrix) {
        precondition(out.rows == w.rows && out.cols == w.cols && d.count == w.cols)
        let c = w.cols
        w.data.withUnsafeBufferPointer { pw in
            out.data.withUnsafeMutableBufferPointer { po in
                for i in 0..<w.rows {
                    let base = i * c
                    for k in 0..<c { po[base + k] = pw[base + k] * d[k] }
                }
            }
        }
    }

    /// max_i |v_i|.
    static func maxAbs(_ v: [Double]) -> Double { v.reduce(0) { max($0, abs($1)) } }
}
