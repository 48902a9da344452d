import Foundation
import Linear

/// LSTM with PyTorch's conventions: gates stacked i, f, g, o in weight_ih (4n×d) and weight_hh (4n×n);
/// c_j = f⊙c_{j−1} + i⊙g, h_j = o⊙tanh(c_j). The state is s = [h; c] (2n).
///
/// Jacobian of s_j with respect to s_{j−1}, in blocks (σ′ = σ(1−σ), tanh′ = 1−tanh²):
///
///     C = ∂c_j/∂h_{j−1} = diag(c_{j−1}⊙σ′(a_f)) W_f + diag(g⊙σ′(a_i)) W_i + diag(i⊙tanh′(a_g)) W_g
///     D = ∂c_j/∂c_{j−1} = diag(f)                       ← the constant error carousel, gated by f
///     A = ∂h_j/∂h_{j−1} = diag(tanh(c_j)⊙σ′(a_o)) W_o + diag(o⊙tanh′(c_j)) C
///     B = ∂h_j/∂c_{j−1} = diag(o⊙tanh′(c_j)⊙f)
///
/// Bound. For x = (x_h, x_c): ‖J x‖ ≤ ‖(‖A‖‖x_h‖ + ‖B‖‖x_c‖, ‖C‖‖x_h‖ + ‖D‖‖x_c‖)‖ ≤ ‖M‖₂ ‖x‖ with the
/// 2×2 matrix M = [[‖A‖, ‖B‖], [‖C‖, ‖D‖]], so ‖J‖₂ ≤ ‖M‖₂. Each block norm is bounded through
/// ‖diag(v) W‖₂ ≤ max|v| ‖W‖₂ and the triangle inequality:
///   - trajectory bound: the max|v| of the values this step actually visited;
///   - worst case: σ′ ≤ 1/4, tanh′ ≤ 1, gates i, f, o ∈ (0, 1), |g|, |tanh| ≤ 1, and |c_{j−1}|∞ ≤ |c_0|∞ + (j−1)
///     (each step adds |i⊙g| < 1 and f shrinks), giving
///     ‖C‖ ≤ (|c_0|∞ + j − 1)/4·‖W_f‖ + ‖W_i‖/4 + ‖W_g‖, ‖A‖ ≤ ‖W_o‖/4 + ‖C‖, ‖B‖ ≤ 1, ‖D‖ ≤ 1.
/// The worst case is ≥ 1 at every step: the classical bound cannot show an LSTM's gradients vanish — that
/// is why the forget gate's actual values (D = diag(f)) matter.
/// Since ‖∂h_t/∂h_k‖ and ‖∂c_t/∂c_k‖ are blocks of the full product, the same bound covers them.
public struct LSTMCell: RecurrentCell {
    public let parameters: CellParameters
    /// ‖W_i‖₂, ‖W_f‖₂, ‖W_g‖₂, ‖W_o‖₂ (recurrent gate blocks).
    public let gateNorms: [Double]
    /// |c_0|∞, needed by the a-priori bound on |c_j|.
    public var initialCellMax: Double = 0
    private let w: [Matrix]

    public init(_ p: CellParameters) {
        parameters = p
        w = (0..<4).map { p.recurrentGate($0) }
        gateNorms = w.map(\.spectralNorm)
    }

    public var kind: CellKind { .lstm }
    public var stateSize: Int { 2 * parameters.hiddenSize }
    public var preactivationSize: Int { 4 * parameters.hiddenSize }

    public func step(state: [Double], input: [Double], preactivation a: inout [Double]) -> [Double] {
        let n = parameters.hiddenSize
        Affine.preactivation(parameters, state: state, input: input, into: &a)
        var next = [Double](repeating: 0, count: 2 * n)
        for k in 0..<n {
            let i = Activation.sigmoid(a[k]), f = Activation.sigmoid(a[n + k])
            let g = tanh(a[2 * n + k]), o = Activation.sigmoid(a[3 * n + k])
            let c = f * state[n + k] + i * g
            next[n + k] = c
            next[k] = o * tanh(c)
        }
        return next
    }

    /// Per-unit quantities of one step.
    private struct Gates {
        var i, f, g, o, di, df, dg, do_, tc, dtc: [Double]
    }

    private func gates(_ a: [Double], next: [Double]) -> Gates {
        let n = parameters.hiddenSize
        var r = Gates(i: [], f: [], g: [], o: [], di: [], df: [], dg: [], do_: [], tc: [], dtc: [])
        for k in 0..<n {
            let i = Activation.sigmoid(a[k]), f = Activation.sigmoid(a[n + k])
            let g = tanh(a[2 * n + k]), o = Activation.sigmoid(a[3 * n + k])
            let tc = tanh(next[n + k])
            r.i.append(i); r.f.append(f); r.g.append(g); r.o.append(o)
            r.di.append(i * (1 - i)); r.df.append(f * (1 - f)); r.dg.append(1 - g * g); r.do_.append(o * (1 - o))
            r.tc.append(tc); r.dtc.append(1 - tc * tc)
        }
        return r
    }

    public func stateJacobian(previous: [Double], preactivation a: [Double], next: [Double], into j: inout Matrix) {
        let n = parameters.hiddenSize, m = 2 * n
        let q = gates(a, next: next)
        // C = diag(c_prev σ′(a_f)) W_f + diag(g σ′(a_i)) W_i + diag(i tanh′(a_g)) W_g
        var cBlock = Matrix(rows: n, cols: n)
        for r in 0..<n {
            let sf = previous[n + r] * q.df[r], si = q.g[r] * q.di[r], sg = q.i[r] * q.dg[r]
            for c in 0..<n {
                cBlock.data[r * n + c] = sf * w[1].data[r * n + c] + si * w[0].data[r * n + c] + sg * w[2].data[r * n + c]
            }
        }
        for r in 0..<n {
            let so = q.tc[r] * q.do_[r], sc = q.o[r] * q.dtc[r]
            for c in 0..<n {
                j.data[r * m + c] = so * w[3].data[r * n + c] + sc * cBlock.data[r * n + c]   // A
                j.data[r * m + n + c] = 0                                                  // B (diagonal below)
                j.data[(n + r) * m + c] = cBlock.data[r * n + c]                          // C
                j.data[(n + r) * m + n + c] = 0                                           // D (diagonal below)
            }
            j.data[r * m + n + r] = sc * q.f[r]
            j.data[(n + r) * m + n + r] = q.f[r]
        }
    }

    public func stepBound(previous: [Double], preactivation a: [Double], next: [Double], step: Int) -> StepBound {
        let n = parameters.hiddenSize
        let q = gates(a, next: next)
        func mx(_ f: (Int) -> Double) -> Double { (0..<n).reduce(0) { max($0, abs(f($1))) } }
        let c = mx { previous[n + $0] * q.df[$0] } * gateNorms[1] + mx { q.g[$0] * q.di[$0] } * gateNorms[0]
            + mx { q.i[$0] * q.dg[$0] } * gateNorms[2]
        let aT = mx { q.tc[$0] * q.do_[$0] } * gateNorms[3] + mx { q.o[$0] * q.dtc[$0] } * c
        let trajectory = Self.blockNorm(aT, mx { q.o[$0] * q.dtc[$0] * q.f[$0] }, c, mx { q.f[$0] })
        let gamma = initialCellMax + Double(step - 1)
        let cW = gamma / 4 * gateNorms[1] + gateNorms[0] / 4 + gateNorms[2]
        let worst = Self.blockNorm(gateNorms[3] / 4 + cW, 1, cW, 1)
        return StepBound(worstCase: worst, trajectory: trajectory)
    }

    /// Spectral norm of the non-negative 2×2 matrix [[a, b], [c, d]].
    static func blockNorm(_ a: Double, _ b: Double, _ c: Double, _ d: Double) -> Double {
        let s = a * a + b * b + c * c + d * d
        let det = a * d - b * c
        return ((s + max(0, s * s - 4 * det * det).squareRoot()) / 2).squareRoot()
    }
}

// MARK: - Structured products (the c-columns of J are diagonal)

extension LSTMCell: StructuredJacobian {
    /// The dense left column [A; C] (2n × n) of J, and the diagonals of its right column: B = diag(b), D = diag(f).
    /// With `scale` s (a power of two), the column of sJ: every per-row factor is multiplied by s, which is exact.
    private func leftColumn(previous: [Double], preactivation a: [Double], next: [Double], scale s: Double = 1,
                            into m: inout Matrix) -> (b: [Double], f: [Double]) {
        let n = parameters.hiddenSize
        let q = gates(a, next: next)
        JacobianWork.ensure(&m, 2 * n, n)
        let sf = (0..<n).map { previous[n + $0] * q.df[$0] * s }, si = (0..<n).map { q.g[$0] * q.di[$0] * s }
        let sg = (0..<n).map { q.i[$0] * q.dg[$0] * s }, so = (0..<n).map { q.tc[$0] * q.do_[$0] * s }
        let sc = (0..<n).map { q.o[$0] * q.dtc[$0] }
        m.data.withUnsafeMutableBufferPointer { pm in
            w[0].data.withUnsafeBufferPointer { wi in
            w[1].data.withUnsafeBufferPointer { wf in
            w[2].data.withUnsafeBufferPointer { wg in
            w[3].data.withUnsafeBufferPointer { wo in
                let pm = pm.baseAddress!, wi = wi.baseAddress!, wf = wf.baseAddress!, wg = wg.baseAddress!, wo = wo.baseAddress!
                Halves.run(n, elements: 4 * n * n) { _, rows in
                    for r in rows {
                        let sf = sf[r], si = si[r], sg = sg[r], so = so[r], sc = sc[r]
                        let ca = (n + r) * n, aa = r * n, row = r * n
                        for c in 0..<n {
                            let cv = sf * wf[row + c] + si * wi[row + c] + sg * wg[row + c]
                            pm[ca + c] = cv                               // C (times s)
                            pm[aa + c] = so * wo[row + c] + sc * cv       // A (times s)
                        }
                    }
                }
            }
            }
            }
            }
        }
        return ((0..<n).map { sc[$0] * q.f[$0] * s }, s == 1 ? q.f : q.f.map { $0 * s })
    }

    /// P·J = [P·[A; C],  P_h·diag(b) + P_c·diag(f)]: one (r × 2n)·(2n × n) product (half the dense flops)
    /// plus O(r·n) work for the diagonal right column.
    public func rightMultiply(_ p: Matrix, previous: [Double], preactivation a: [Double], next: [Double],
                              into out: inout Matrix, work: inout JacobianWork) {
        rightMultiply(p, previous: previous, preactivation: a, next: next, scaledBy: 1, into: &out, work: &work)
    }

    /// P·(sJ): s is folded into the rows of [A; C] and into b and f. The pass that writes the right column also
    /// sums the squares of the output's four blocks (`JacobianWork.squares`), two threads on row halves.
    public func rightMultiply(_ p: Matrix, previous: [Double], preactivation a: [Double], next: [Double], scaledBy s: Double,
                              into out: inout Matrix, work: inout JacobianWork) {
        let n = parameters.hiddenSize, m = 2 * n, r = p.rows
        let (b, f) = leftColumn(previous: previous, preactivation: a, next: next, scale: s, into: &work.a)
        JacobianWork.ensure(&out, r, m)
        BLAS.gemm(p, .whole(p), work.a, .whole(work.a), into: &out, MatrixBlock(rows: 0..<r, cols: 0..<n))
        let partial = UnsafeMutablePointer<Double>.allocate(capacity: 8)
        defer { partial.deallocate() }
        partial.initialize(repeating: 0, count: 8)
        p.data.withUnsafeBufferPointer { pp in
            out.data.withUnsafeMutableBufferPointer { po in
                b.withUnsafeBufferPointer { pb in
                    f.withUnsafeBufferPointer { pf in
                        let pp = pp.baseAddress!, po = po.baseAddress!, pb = pb.baseAddress!, pf = pf.baseAddress!
                        Halves.run(r, elements: r * m) { half, rows in
                            var hh = 0.0, hc = 0.0, ch = 0.0, cc = 0.0
                            for i in rows {
                                let base = i * m
                                for k in 0..<n { po[base + n + k] = pp[base + k] * pb[k] + pp[base + n + k] * pf[k] }
                                let left = Halves.squares(po + base, n), right = Halves.squares(po + base + n, n)
                                if i < n { hh += left; hc += right } else { ch += left; cc += right }
                            }
                            partial[4 * half] = hh; partial[4 * half + 1] = hc; partial[4 * half + 2] = ch; partial[4 * half + 3] = cc
                        }
                    }
                }
            }
        }
        work.squares = (partial[0] + partial[4], partial[1] + partial[5], partial[2] + partial[6], partial[3] + partial[7])
    }

    /// J·P = [A; C]·P_h + [diag(b)·P_c; diag(f)·P_c]: one (2n × n)·(n × c) product plus O(n·c).
    public func leftMultiply(_ p: Matrix, previous: [Double], preactivation a: [Double], next: [Double],
                             into out: inout Matrix, work: inout JacobianWork) {
        let n = parameters.hiddenSize, c = p.cols
        let (b, f) = leftColumn(previous: previous, preactivation: a, next: next, into: &work.a)
        JacobianWork.ensure(&out, 2 * n, c)
        BLAS.gemm(work.a, .whole(work.a), p, MatrixBlock(rows: 0..<n, cols: 0..<c), into: &out, .whole(out))
        p.data.withUnsafeBufferPointer { pp in
            out.data.withUnsafeMutableBufferPointer { po in
                for k in 0..<n {
                    let src = (n + k) * c
                    for j in 0..<c {
                        po[k * c + j] += b[k] * pp[src + j]
                        po[src + j] += f[k] * pp[src + j]
                    }
                }
            }
        }
    }

    /// The forget gates f_j of one step: the constant error carousel proper is ∏_j diag(f_j).
    public func forgetGates(preactivation a: [Double]) -> [Double] {
        let n = parameters.hiddenSize
        return (0..<n).map { Activation.sigmoid(a[n + $0]) }
    }
}
