import Foundation
import Linear

/// log10 norms of ∂s_t/∂s_k for every k ≤ t at a fixed t, with the bounds, from one backward sweep.
public struct ProductCurves: Sendable {
    public var endStep: Int
    /// lags[i] = t − k = i, for i = 0 … t.
    public var lags: [Int]
    /// The main curve: ∂h_t/∂h_k (for the LSTM and the skip cell the h→h block of the full-state product).
    public var log10Spectral: [Double]
    public var log10Frobenius: [Double]
    /// LSTM only: the full (h, c) state product, and its c→c block (the constant error carousel).
    public var log10SpectralState: [Double]?
    public var log10FrobeniusState: [Double]?
    public var log10SpectralCell: [Double]?
    public var log10FrobeniusCell: [Double]?
    /// Σ log10 of the per-step worst-case bound (for vanilla cells lag · log10(β_W β_h)).
    public var log10Bound: [Double]
    /// Σ log10 of the per-step trajectory bound (∏_j ‖W_hh‖₂ max_i |f′(a_{j,i})| for vanilla cells).
    public var log10TrajectoryBound: [Double]
    /// How many spectral norms fell back from power iteration to SVD (performance diagnostics).
    public var svdFallbacks: Int

    /// The curve for the chosen norm.
    public func log10Norm(_ kind: NormKind) -> [Double] { kind == .spectral ? log10Spectral : log10Frobenius }
}

public enum NormKind: String, CaseIterable, Sendable {
    case spectral, frobenius
}

public enum JacobianProducts {
    /// One backward sweep P ← P·J_j for j = t, t−1, …, 1; P = J_t ⋯ J_{k+1} = ∂s_t/∂s_k.
    ///
    /// After each product P is divided by its Frobenius norm and log10 of that norm is added to a running
    /// scale, so P's entries stay O(1) and lags of 10,000+ steps neither underflow nor overflow:
    /// log10‖∂s_t/∂s_k‖ = scale + log10‖P̂‖. Exact zeros (e.g. every ReLU unit off) give −∞ from then on.
    /// Memory: a few m×m work matrices (m = state size), never T of them.
    ///
    /// - Parameter spectral: also compute spectral norms (warm-started power iteration, SVD fallback).
    public static func curves(_ trajectory: Trajectory, endStep: Int? = nil, spectral: Bool = true) -> ProductCurves {
        let t = min(endStep ?? trajectory.steps, trajectory.steps)
        let cell = trajectory.cell
        let m = cell.stateSize, n = cell.hiddenSize
        let isLSTM = cell.kind == .lstm
        var p = Matrix.identity(m)
        var tmp = Matrix(rows: m, cols: m)
        var j = Matrix(rows: m, cols: m)
        var scale = 0.0
        var est = SpectralNormEstimator(warmStartLeft: true)
        var estH = SpectralNormEstimator(warmStartLeft: true)
        var estC = SpectralNormEstimator(warmStartLeft: true)

        var spec = [0.0], frob = [log10(Double(n)) / 2]
        var specS = [0.0], frobS = [log10(Double(m)) / 2], specC = [0.0], frobC = [log10(Double(n)) / 2]
        var bound = [0.0], tbound = [0.0]
        spec.reserveCapacity(t + 1); frob.reserveCapacity(t + 1); bound.reserveCapacity(t + 1); tbound.reserveCapacity(t + 1)
        var zero = false
        func appendZero() {
            spec.append(-.infinity); frob.append(-.infinity)
            if isLSTM { specS.append(-.infinity); frobS.append(-.infinity); specC.append(-.infinity); frobC.append(-.infinity) }
        }
        for step in stride(from: t, through: 1, by: -1) {
            let b = trajectory.stepBound(at: step)
            bound.append(bound.last! + log10(b.worstCase))
            tbound.append(tbound.last! + log10(b.trajectory))
            if zero {
                appendZero()
                continue
            }
            trajectory.jacobian(at: step, into: &j)
            BLAS.gemm(p, j, into: &tmp)
            swap(&p, &tmp)
            let f = p.frobeniusNorm
            guard f > 0, f.isFinite else {
                zero = true
                appendZero()
                continue
            }
            p.scale(by: 1 / f)
            scale += log10(f)
            if isLSTM {
                let hh = p.block(rows: 0..<n, cols: 0..<n), cc = p.block(rows: n..<m, cols: n..<m)
                frobS.append(scale)
                specS.append(spectral ? scale + log10(est.norm(p)) : .nan)
                frob.append(scale + log10(hh.frobeniusNorm))
                spec.append(spectral ? scale + log10(estH.norm(hh)) : .nan)
                frobC.append(scale + log10(cc.frobeniusNorm))
                specC.append(spectral ? scale + log10(estC.norm(cc)) : .nan)
            } else if m != n {
                // A windowed state (skip cell): ∂h_t/∂h_k is the top-left block.
                let hh = p.block(rows: 0..<n, cols: 0..<n)
                frob.append(scale + log10(hh.frobeniusNorm))
                spec.append(spectral ? scale + log10(estH.norm(hh)) : .nan)
            } else {
                frob.append(scale)
                spec.append(spectral ? scale + log10(est.norm(p)) : .nan)
            }
        }
        return ProductCurves(endStep: t, lags: Array(0...t), log10Spectral: spec, log10Frobenius: frob,
                             log10SpectralState: isLSTM ? specS : nil, log10FrobeniusState: isLSTM ? frobS : nil,
                             log10SpectralCell: isLSTM ? specC : nil, log10FrobeniusCell: isLSTM ? frobC : nil,
                             log10Bound: bound, log10TrajectoryBound: tbound,
                             svdFallbacks: est.fallbacks + estH.fallbacks + estC.fallbacks)
    }

    /// log10‖∂h_t/∂h_k‖ for every 0 ≤ k ≤ t ≤ T: entry [t][k] (NaN above the diagonal, k > t).
    /// One forward sweep per k (P ← J_t·P), so O(T²) products: meant for heatmaps of modest T.
    public static func allPairs(_ trajectory: Trajectory, norm: NormKind = .spectral) -> [[Double]] {
        let steps = trajectory.steps
        let cell = trajectory.cell
        let m = cell.stateSize, n = cell.hiddenSize
        var out = [[Double]](repeating: [Double](repeating: .nan, count: steps + 1), count: steps + 1)
        var j = Matrix(rows: m, cols: m), tmp = Matrix(rows: m, cols: m)
        for k in 0...steps {
            var p = Matrix.identity(m)
            var scale = 0.0
            var est = SpectralNormEstimator()
            out[k][k] = norm == .spectral ? 0 : log10(Double(n)) / 2
            var zero = false
            for t in stride(from: k + 1, through: steps, by: 1) {
                if zero { out[t][k] = -.infinity; continue }
                trajectory.jacobian(at: t, into: &j)
                BLAS.gemm(j, p, into: &tmp)
                swap(&p, &tmp)
                let f = p.frobeniusNorm
                guard f > 0, f.isFinite else { zero = true; out[t][k] = -.infinity; continue }
                p.scale(by: 1 / f)
                scale += log10(f)
                let block = m == n ? p : p.block(rows: 0..<n, cols: 0..<n)
                out[t][k] = scale + log10(norm == .spectral ? est.norm(block) : block.frobeniusNorm)
            }
        }
        return out
    }
}
