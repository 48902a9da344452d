import Foundation
import Linear

/// GRU with PyTorch's conventions: gates r, z, n stacked in weight_ih (3n×d) and weight_hh (3n×n);
/// r = σ(a_r), z = σ(a_z), n = tanh(W_in x + b_in + r⊙(W_hn h + b_hn)), h_j = (1−z)⊙n + z⊙h_{j−1}.
///
/// Jacobian (with u = W_hn h_{j−1} + b_hn):
///
///     J = diag(z) + diag((1−z)⊙tanh′(a_n)⊙r) W_hn + diag((1−z)⊙tanh′(a_n)⊙u⊙σ′(a_r)) W_hr
///                 + diag((h_{j−1} − n)⊙σ′(a_z)) W_hz
///
/// The diag(z) term is the GRU's direct path (like the LSTM's carousel): with z → 1 the unit copies its past.
/// Bound by the triangle inequality and ‖diag(v)W‖₂ ≤ max|v|‖W‖₂:
///   - trajectory: the max|v| this step visited;
///   - worst case: z, r, 1−z ≤ 1, tanh′ ≤ 1, σ′ ≤ 1/4, |h_j|∞ ≤ H = max(1, |h_0|∞) (h is a convex combination
///     of values in (−1, 1) and its past), |u|∞ ≤ ‖W_hn‖_∞ H + |b_hn|∞, |h − n|∞ ≤ H + 1:
///     ‖J‖₂ ≤ 1 + ‖W_hn‖₂ + (‖W_hn‖_∞ H + |b_hn|∞)/4 ‖W_hr‖₂ + (H + 1)/4 ‖W_hz‖₂.
public struct GRUCell: RecurrentCell {
    public let parameters: CellParameters
    /// ‖W_hr‖₂, ‖W_hz‖₂, ‖W_hn‖₂.
    public let gateNorms: [Double]
    /// |h_0|∞, for the a-priori bound on |h_j|.
    public var initialStateMax: Double = 0
    private let w: [Matrix]
    private let hnRowSumMax: Double

    public init(_ p: CellParameters) {
        parameters = p
        let gates = (0..<3).map { p.recurrentGate($0) }
        w = gates
        gateNorms = gates.map(\.spectralNorm)
        let n = p.hiddenSize
        hnRowSumMax = (0..<n).map { r in (0..<n).reduce(0.0) { $0 + abs(gates[2][r, $1]) } }.max() ?? 0
    }

    public var kind: CellKind { .gru }
    public var stateSize: Int { parameters.hiddenSize }
    /// [a_r, a_z, a_n, u]
    public var preactivationSize: Int { 4 * parameters.hiddenSize }

    public func step(state h: [Double], input x: [Double], preactivation a: inout [Double]) -> [Double] {
        let n = parameters.hiddenSize, p = parameters
        if a.count != 4 * n { a = [Double](repeating: 0, count: 4 * n) }
        var xi = Array(p.biasIH)
        if p.inputSize > 0 { DetLinear.gemv(p.weightIH, x, into: &xi, accumulate: true) }
        let hh = Affine.recurrentPart(p, state: h)
        var next = [Double](repeating: 0, count: n)
        for k in 0..<n {
            let ar = xi[k] + hh[k], az = xi[n + k] + hh[n + k]
            let r = Activation.sigmoid(ar), z = Activation.sigmoid(az)
            let u = hh[2 * n + k]
            let an = xi[2 * n + k] + r * u
            a[k] = ar; a[n + k] = az; a[2 * n + k] = an; a[3 * n + k] = u
            next[k] = (1 - z) * tanh(an) + z * h[k]
        }
        return next
    }

    /// Row scales of the four terms of J: (diag z, on W_hn, on W_hr, on W_hz).
    private func scales(previous h: [Double], a: [Double]) -> (z: [Double], sn: [Double], sr: [Double], sz: [Double]) {
        let n = parameters.hiddenSize
        var z = [Double](), sn = [Double](), sr = [Double](), sz = [Double]()
        for k in 0..<n {
            let r = Activation.sigmoid(a[k]), zz = Activation.sigmoid(a[n + k])
            let nn = tanh(a[2 * n + k]), u = a[3 * n + k]
            let dn = 1 - nn * nn
            z.append(zz)
            sn.append((1 - zz) * dn * r)
            sr.append((1 - zz) * dn * u * r * (1 - r))
            sz.append((h[k] - nn) * zz * (1 - zz))
        }
        return (z, sn, sr, sz)
    }

    public func stateJacobian(previous: [Double], preactivation a: [Double], next: [Double], into j: inout Matrix) {
        let n = parameters.hiddenSize
        let s = scales(previous: previous, a: a)
        for r in 0..<n {
            for c in 0..<n {
                j.data[r * n + c] = s.sn[r] * w[2].data[r * n + c] + s.sr[r] * w[0].data[r * n + c] + s.sz[r] * w[1].data[r * n + c]
            }
            j.data[r * n + r] += s.z[r]
        }
    }

    public func stepBound(previous: [Double], preactivation a: [Double], next: [Double], step: Int) -> StepBound {
        let s = scales(previous: previous, a: a)
        let trajectory = Affine.maxAbs(s.z) + Affine.maxAbs(s.sn) * gateNorms[2] + Affine.maxAbs(s.sr) * gateNorms[0]
            + Affine.maxAbs(s.sz) * gateNorms[1]
        let n = parameters.hiddenSize
        let h = max(1, initialStateMax)
        let bhn = Affine.maxAbs(Array(parameters.biasHH[(2 * n)..<(3 * n)]))
        let worst = 1 + gateNorms[2] + (hnRowSumMax * h + bhn) / 4 * gateNorms[0] + (h + 1) / 4 * gateNorms[1]
        return StepBound(worstCase: worst, trajectory: trajectory)
    }
}
