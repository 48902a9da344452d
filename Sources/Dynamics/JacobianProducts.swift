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
    /// LSTM only: the full (h, c) state product, and its c→c block ∂c_t/∂c_k — every path into c, including
    /// the ones that leave through h and come back through the gates.
    public var log10SpectralState: [Double]?
    public var log10FrobeniusState: [Double]?
    public var log10SpectralCell: [Double]?
    public var log10FrobeniusCell: [Double]?
    /// LSTM only: the constant error carousel proper, the direct path ∏_j diag(f_j) (a diagonal matrix: its
    /// spectral norm is the largest per-unit product of forget gates, never above 1).
    public var log10SpectralCarousel: [Double]?
    public var log10FrobeniusCarousel: [Double]?
    /// Σ log10 of the per-step worst-case bound (for vanilla cells lag · log10(β_W β_h)).
    public var log10Bound: [Double]
    /// Σ log10 of the per-step trajectory bound (∏_j ‖W_hh‖₂ max_i |f′(a_{j,i})| for vanilla cells).
    public var log10TrajectoryBound: [Double]
    /// How many spectral norms came from LAPACK's SVD rather than a certificate.
    public var svdFallbacks: Int
    /// How many spectral norms were certified (see `SpectralNormEstimator`), and of those how many by its Gram stage.
    public var certifiedNorms: Int
    public var gramCertifiedNorms = 0
    /// Power and block iterations spent on the certified norms (benchmarks).
    public var normIterations: Int
    public var normBlockSteps: Int
    /// Wall-clock split of the sweep (benchmarks): forming the products, and taking their norms.
    public var productSeconds: Double
    public var normSeconds: Double

    /// The curve for the chosen norm.
    public func log10Norm(_ kind: NormKind) -> [Double] { kind == .spectral ? log10Spectral : log10Frobenius }
}

public enum NormKind: String, CaseIterable, Sendable {
    case spectral, frobenius
}

/// Exact renormalisation of a running product: P ← P·2^−e with e the binary exponent of ‖P‖_F. Scaling by a
/// power of two adds no rounding, and the log-scale is the integer Σe, so log10‖∏‖ = Σe·log10 2 + log10‖P̂‖
/// stays exact for lags of 10,000+ steps (‖∏‖ = 10^±2000 is far outside Double's range).
struct LogScale {
    private(set) var exponent = 0
    var log10Value: Double { Double(exponent) * 0.30102999566398119521 }

    /// Adds a rescaling 2^−e that the caller has applied (or folded into the next product) itself.
    mutating func add(_ e: Int) { exponent += e }

    /// False when P is zero or not finite (the product has vanished exactly, or overflowed).
    mutating func renormalise(_ p: inout Matrix) -> Bool {
        let f = p.frobeniusNorm
        guard f > 0, f.isFinite else { return false }
        let e = f.exponent
        Self.scale(&p, byPowerOfTwo: -e)
        exponent += e
        return true
    }

    /// P ← P·2^k, exactly, in steps that stay representable (a subnormal norm has e < −1022, whose inverse
    /// overflows a single Double).
    static func scale(_ p: inout Matrix, byPowerOfTwo k: Int) {
        var rest = k
        while rest != 0 {
            let s = max(-1000, min(1000, rest))
            p.scale(by: Double(sign: .plus, exponent: s, significand: 1))
            rest -= s
        }
    }
}

public enum JacobianProducts {
    /// One backward sweep P ← P·J_j for j = t, t−1, …, 1; P = J_t ⋯ J_{k+1} = ∂s_t/∂s_k.
    ///
    /// Each product uses the cell's structure (`StructuredJacobian`): vanilla and leaky cells scale P's
    /// columns and multiply by W_hh, the LSTM multiplies only by the dense half of its Jacobian, the skip cell
    /// moves blocks and tracks only the h_t rows of its windowed state. After each product P is rescaled
    /// exactly by a power of two (`LogScale`), so P's entries stay O(1) and long lags neither underflow nor
    /// overflow; the rescaling is folded into the next product's diagonal scalings, so it costs no pass over P.
    /// Exact zeros (e.g. every ReLU unit off) give −∞ from then on.
    /// Memory: a few work matrices of the state size, never T of them.
    ///
    /// - Parameter spectral: also compute spectral norms — certified to 1e−11 relative
    ///   (`SpectralNormEstimator`: warm-started Lanczos bracketed by Frobenius-based upper bounds, a block and a
    ///   Gram stage for spread spectra, LAPACK's SVD when no bracket closes).
    /// - Parameter hiddenOnly: the LSTM's h→h curves alone (and its carousel, which costs nothing): the
    ///   sweep then carries only the h_t rows of the product, half the work, and takes one spectral norm per
    ///   lag instead of three. The explorer draws these; files always get the full set.
    public static func curves(_ trajectory: Trajectory, endStep: Int? = nil, spectral: Bool = true, hiddenOnly: Bool = false) -> ProductCurves {
        let t = min(endStep ?? trajectory.steps, trajectory.steps)
        let cell = trajectory.cell
        let m = cell.stateSize, n = cell.hiddenSize
        let lstm = trajectory.cell as? LSTMCell
        let isLSTM = lstm != nil
        let fullState = isLSTM && !hiddenOnly
        // Rows of ∂s_t/∂s_k that are reported: all of them for the LSTM (full-state norm), h_t's otherwise.
        let rows = fullState ? m : n
        var p = Matrix(rows: rows, cols: m)
        for i in 0..<rows { p.data[i * m + i] = 1 }
        var tmp = Matrix(rows: rows, cols: m)
        var work = JacobianWork()
        var scale = LogScale()
        var pendingScale = 1.0, pendingExponent = 0
        var est = SpectralNormEstimator(warmStartLeft: true)
        var estH = SpectralNormEstimator(warmStartLeft: true)
        var estC = SpectralNormEstimator(warmStartLeft: true)
        let hBlock = MatrixBlock(rows: 0..<n, cols: 0..<n), cBlock = MatrixBlock(rows: n..<m, cols: n..<m)
        var productTime: UInt64 = 0, normTime: UInt64 = 0

        let identityFrobenius = log10(Double(n)) / 2
        var spec = [0.0], frob = [identityFrobenius]
        var specS = [0.0], frobS = [log10(Double(m)) / 2], specC = [0.0], frobC = [identityFrobenius]
        var specF = [0.0], frobF = [identityFrobenius]
        var logForget = [Double](repeating: 0, count: isLSTM ? n : 0)
        var bound = [0.0], tbound = [0.0]
        spec.reserveCapacity(t + 1); frob.reserveCapacity(t + 1); bound.reserveCapacity(t + 1); tbound.reserveCapacity(t + 1)
        var zero = false
        func appendZero() {
            spec.append(-.infinity); frob.append(-.infinity)
            if fullState { specS.append(-.infinity); frobS.append(-.infinity); specC.append(-.infinity); frobC.append(-.infinity) }
        }
        func log10Norm(_ e: inout SpectralNormEstimator, _ b: MatrixBlock, _ f2: Double) -> Double {
            spectral ? scale.log10Value + log10(e.norm(p, block: b, frobeniusSquared: f2)) : .nan
        }
        for step in stride(from: t, through: 1, by: -1) {
            let b = trajectory.stepBound(at: step)
            bound.append(bound.last! + log10(b.worstCase))
            tbound.append(tbound.last! + log10(b.trajectory))
            if let lstm {
                let f = lstm.forgetGates(preactivation: trajectory.preactivations[step - 1])
                for i in 0..<n { logForget[i] += log10(f[i]) }
                let top = logForget.max() ?? -.infinity
                specF.append(top)
                frobF.append(top.isFinite ? top + log10(logForget.reduce(0) { $0 + pow(10, 2 * ($1 - top)) }) / 2 : top)
            }
            if zero {
                appendZero()
                continue
            }
            let t0 = DispatchTime.now().uptimeNanoseconds
            // The previous step's renormalisation 2^−e rides on this product (folded into J's scalings).
            work.squares = nil
            trajectory.rightMultiply(p, byJacobianAt: step, scaledBy: pendingScale, into: &tmp, work: &work)
            swap(&p, &tmp)
            scale.add(pendingExponent)
            // ‖·‖_F² of P's four blocks (rows and columns split at n), from the kernel or in one pass: they give
            // the renormalisation and the Frobenius norms of the reported blocks.
            var q = work.squares ?? p.frobeniusSquaredQuadrants(split: n)
            var f2 = q.hh + q.hc + q.ch + q.cc
            if f2 > 0x1p-500 && f2 < 0x1p500 {
                // Keep P as it is and fold 2^−e, e the binary exponent of ‖P‖_F, into the next product.
                let e = f2.squareRoot().exponent
                pendingExponent = Int(e)
                pendingScale = Double(sign: .plus, exponent: -e, significand: 1)
            } else {
                // Far from 1 (or zero, or not finite): rescale P itself, safely, as before.
                pendingExponent = 0
                pendingScale = 1
                if scale.renormalise(&p) { q = p.frobeniusSquaredQuadrants(split: n); f2 = q.hh + q.hc + q.ch + q.cc } else { f2 = 0 }
            }
            let t1 = DispatchTime.now().uptimeNanoseconds
            productTime += t1 - t0
            guard f2 > 0 && f2.isFinite else {
                zero = true
                appendZero()
                continue
            }
            let s = scale.log10Value
            // The Frobenius norm of a reported block (its ‖·‖_F² neither under- nor overflows unless the block is
            // negligible against the rest of P, which `frobeniusNorm(block:)` handles).
            func frobenius(_ b: MatrixBlock, _ f2: Double) -> (log10: Double, squared: Double) {
                if f2 > 0x1p-600 { return (s + log10(f2) / 2, f2) }
                return (s + log10(p.frobeniusNorm(block: b)), f2)
            }
            if fullState {
                let fs = frobenius(.whole(p), f2), fh = frobenius(hBlock, q.hh), fc = frobenius(cBlock, q.cc)
                frobS.append(fs.log10)
                specS.append(log10Norm(&est, .whole(p), fs.squared))
                frob.append(fh.log10)
                spec.append(log10Norm(&estH, hBlock, fh.squared))
                frobC.append(fc.log10)
                specC.append(log10Norm(&estC, cBlock, fc.squared))
            } else {
                // Plain cells: P is ∂h_t/∂h_k itself. Skip cell: its first n columns (the h_k entries of the window).
                let fh = frobenius(hBlock, q.hh)
                frob.append(fh.log10)
                spec.append(log10Norm(&estH, hBlock, fh.squared))
            }
            normTime += DispatchTime.now().uptimeNanoseconds - t1
        }
        return ProductCurves(endStep: t, lags: Array(0...t), log10Spectral: spec, log10Frobenius: frob,
                             log10SpectralState: fullState ? specS : nil, log10FrobeniusState: fullState ? frobS : nil,
                             log10SpectralCell: fullState ? specC : nil, log10FrobeniusCell: fullState ? frobC : nil,
                             log10SpectralCarousel: isLSTM ? specF : nil, log10FrobeniusCarousel: isLSTM ? frobF : nil,
                             log10Bound: bound, log10TrajectoryBound: tbound,
                             svdFallbacks: est.fallbacks + estH.fallbacks + estC.fallbacks,
                             certifiedNorms: est.certified + estH.certified + estC.certified,
                             gramCertifiedNorms: est.gramCertified + estH.gramCertified + estC.gramCertified,
                             normIterations: est.iterations + estH.iterations + estC.iterations,
                             normBlockSteps: est.blockSteps + estH.blockSteps + estC.blockSteps,
                             productSeconds: Double(productTime) / 1e9, normSeconds: Double(normTime) / 1e9)
    }

    /// log10‖∂h_t/∂h_k‖ for every 0 ≤ k ≤ t ≤ T: entry [t][k] (NaN above the diagonal, k > t).
    /// One forward sweep per k (P ← J_t·P, with the same structured kernels as `curves`), tracking only the
    /// h_k columns of the state, so O(T²) products of stateSize × n: meant for heatmaps of modest T.
    /// Spectral norms are certified like those of `curves`.
    /// `shouldStop` is asked before each start step k: once it answers true the sweep ends early and the rows
    /// it did not reach stay NaN (the caller, which asked to stop, discards them).
    /// `parallel`: the start steps k are independent sweeps; run them on every core (each gives the same
    /// numbers either way — the explorer uses this with OpenBLAS single-threaded).
    public static func allPairs(_ trajectory: Trajectory, norm: NormKind = .spectral, parallel: Bool = false,
                                shouldStop: (() -> Bool)? = nil) -> [[Double]] {
        let steps = trajectory.steps
        let cell = trajectory.cell
        let m = cell.stateSize, n = cell.hiddenSize
        let hBlock = MatrixBlock(rows: 0..<n, cols: 0..<n)
        let side = steps + 1
        // Column k of the grid (rows t ≥ k) belongs to start step k alone: sweeps write disjoint entries.
        let grid = UnsafeMutableBufferPointer<Double>.allocate(capacity: side * side)
        grid.initialize(repeating: .nan)
        defer { grid.deallocate() }
        func sweep(from k: Int, tmp: inout Matrix, work: inout JacobianWork) {
            var p = Matrix(rows: m, cols: n)
            for i in 0..<n { p.data[i * n + i] = 1 }
            var scale = LogScale()
            var est = SpectralNormEstimator(warmStartLeft: false)
            grid[k * side + k] = norm == .spectral ? 0 : log10(Double(n)) / 2
            var zero = false
            for t in stride(from: k + 1, through: steps, by: 1) {
                if zero { grid[t * side + k] = -.infinity; continue }
                trajectory.leftMultiply(p, byJacobianAt: t, into: &tmp, work: &work)
                swap(&p, &tmp)
                guard scale.renormalise(&p) else { zero = true; grid[t * side + k] = -.infinity; continue }
                let v = norm == .spectral ? est.norm(p, block: hBlock) : p.frobeniusNorm(block: hBlock)
                grid[t * side + k] = scale.log10Value + log10(v)
            }
        }
        if parallel {
            // Long sweeps (small k) first, interleaved over the workers so each gets a similar share.
            let workers = max(1, min(ProcessInfo.processInfo.activeProcessorCount, side))
            DispatchQueue.concurrentPerform(iterations: workers) { w in
                var tmp = Matrix(rows: m, cols: n)
                var work = JacobianWork()
                for k in stride(from: w, to: side, by: workers) {
                    if let shouldStop, shouldStop() { return }
                    sweep(from: k, tmp: &tmp, work: &work)
                }
            }
        } else {
            var tmp = Matrix(rows: m, cols: n)
            var work = JacobianWork()
            for k in 0...steps {
                if let shouldStop, shouldStop() { break }
                sweep(from: k, tmp: &tmp, work: &work)
            }
        }
        return (0..<side).map { t in Array(grid[(t * side)..<(t * side + side)]) }
    }
}
