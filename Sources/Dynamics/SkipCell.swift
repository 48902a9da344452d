import Linear

/// A tanh RNN with a skip connection of length D (multiple time scales):
/// h_j = tanh(W_ih x_j + b_ih + W_hh h_{j−1} + W_skip h_{j−D} + b_hh).
///
/// The state is the window s_j = [h_j; h_{j−1}; …; h_{j−D+1}] (D·n), so the cell is first-order again and its
/// Jacobian is a block companion matrix:
///
///     J_j = [ diag(f′) W_hh   0   …   0   diag(f′) W_skip ]
///           [ I               0   …   0   0               ]
///           [ 0               I   …   0   0               ]
///           [ …                                           ]
///
/// ∂h_t/∂h_k is the top-left n×n block of the product (older entries of the window are earlier states,
/// independent of h_k). A gradient can now reach lag L through ⌊L/D⌋ skips plus L mod D single steps, i.e.
/// ⌊L/D⌋ + (L mod D) squashing steps instead of L, so it decays
/// about D times more slowly per step.
///
/// Bound: with M the D×D matrix of block norms (M_11 = c‖W_hh‖₂, M_1D = c‖W_skip‖₂, M_{i,i−1} = 1, c = max|f′|
/// on the trajectory or 1 in the worst case), ‖J_j‖₂ ≤ ‖M‖₂ by the same argument as for the LSTM's 2×2 blocks.
public struct SkipCell: RecurrentCell {
    public let parameters: CellParameters
    public let skip: Int
    public let recurrentNorm: Double
    public let skipNorm: Double
    private let activation = Activation.tanh
    private let skipWeight: Matrix

    public init(_ p: CellParameters) {
        parameters = p
        skip = p.skipLength ?? 2
        skipWeight = p.skipWeight ?? Matrix(rows: p.hiddenSize, cols: p.hiddenSize)
        recurrentNorm = p.weightHH.spectralNorm
        skipNorm = skipWeight.spectralNorm
    }

    public var kind: CellKind { .skip }
    public var stateSize: Int { skip * parameters.hiddenSize }
    public var preactivationSize: Int { parameters.hiddenSize }

    public func step(state: [Double], input: [Double], preactivation a: inout [Double]) -> [Double] {
        let n = parameters.hiddenSize
        Affine.preactivation(parameters, state: state, input: input, into: &a)
        DetLinear.gemv(skipWeight, Array(state[((skip - 1) * n)..<(skip * n)]), into: &a, accumulate: true)
        return a.map(activation.value) + state[0..<((skip - 1) * n)]
    }

    public func stateJacobian(previous: [Double], preactivation a: [Double], next: [Double], into j: inout Matrix) {
        let n = parameters.hiddenSize, m = stateSize
        let d = a.map(activation.derivative)
        for i in 0..<j.data.count { j.data[i] = 0 }
        for r in 0..<n {
            for c in 0..<n {
                j.data[r * m + c] = d[r] * parameters.weightHH.data[r * n + c]
                j.data[r * m + (skip - 1) * n + c] += d[r] * skipWeight.data[r * n + c]
            }
        }
        for b in 1..<skip { for r in 0..<n { j.data[(b * n + r) * m + (b - 1) * n + r] = 1 } }
    }

    public func stepBound(previous: [Double], preactivation a: [Double], next: [Double], step: Int) -> StepBound {
        let c = a.reduce(0) { max($0, activation.derivative($1)) }
        return StepBound(worstCase: blockBound(1), trajectory: blockBound(c))
    }

    /// ‖M‖₂ for the D×D matrix of block norms with squashing factor c.
    private func blockBound(_ c: Double) -> Double {
        var m = Matrix(rows: skip, cols: skip)
        m[0, 0] = c * recurrentNorm
        m[0, skip - 1] += c * skipNorm
        for i in 1..<skip { m[i, i - 1] = 1 }
        return m.spectralNorm
    }
}

// MARK: - Structured products (block companion: move blocks, two n×n products)

extension SkipCell: StructuredJacobian {
    /// P·J for P = [P_1 … P_D] (column blocks of width n): [(P_1 D_f)·W_hh + P_2, P_3, …, P_D, (P_1 D_f)·W_skip],
    /// with D_f = diag(tanh′(a)). Two r×n×n products instead of one dense r×Dn×Dn product.
    public func rightMultiply(_ p: Matrix, previous: [Double], preactivation a: [Double], next: [Double],
                              into out: inout Matrix, work: inout JacobianWork) {
        let n = parameters.hiddenSize, m = stateSize, r = p.rows, d = skip
        let df = a.map(activation.derivative)
        JacobianWork.ensure(&work.a, r, n)
        for i in 0..<r { for k in 0..<n { work.a.data[i * n + k] = p.data[i * m + k] * df[k] } }
        JacobianWork.ensure(&out, r, m)
        // Blocks 1 … D−1 of the output start as P_2 … P_D shifted left; block D starts at 0.
        for i in 0..<r {
            for k in 0..<((d - 1) * n) { out.data[i * m + k] = p.data[i * m + n + k] }
            for k in ((d - 1) * n)..<m { out.data[i * m + k] = 0 }
        }
        // Block 1 (columns of h_{k}): + (P_1 D_f)·W_hh.  Block D: (P_1 D_f)·W_skip.
        BLAS.gemm(work.a, .whole(work.a), parameters.weightHH, .whole(parameters.weightHH), into: &out,
                  MatrixBlock(rows: 0..<r, cols: 0..<n), beta: 1)
        BLAS.gemm(work.a, .whole(work.a), skipWeight, .whole(skipWeight), into: &out,
                  MatrixBlock(rows: 0..<r, cols: ((d - 1) * n)..<m), beta: 0)
    }

    /// J·P for P = [P_1; …; P_D] (row blocks of height n): [D_f (W_hh P_1 + W_skip P_D); P_1; …; P_{D−1}].
    public func leftMultiply(_ p: Matrix, previous: [Double], preactivation a: [Double], next: [Double],
                             into out: inout Matrix, work: inout JacobianWork) {
        let n = parameters.hiddenSize, m = stateSize, c = p.cols, d = skip
        JacobianWork.ensure(&out, m, c)
        BLAS.gemm(parameters.weightHH, .whole(parameters.weightHH), p, MatrixBlock(rows: 0..<n, cols: 0..<c),
                  into: &out, MatrixBlock(rows: 0..<n, cols: 0..<c))
        BLAS.gemm(skipWeight, .whole(skipWeight), p, MatrixBlock(rows: ((d - 1) * n)..<m, cols: 0..<c),
                  into: &out, MatrixBlock(rows: 0..<n, cols: 0..<c), beta: 1)
        Scale.rowsOfBlock(&out, rows: n, by: a.map(activation.derivative))
        for i in 0..<((d - 1) * n * c) { out.data[n * c + i] = p.data[i] }
    }
}
