import Foundation
import Linear

/// Lyapunov exponents of a linearised dynamics x_j = J_j x_{j−1}: the asymptotic per-step growth rates
/// λ_1 ≥ λ_2 ≥ … of volumes spanned by 1, 2, … directions. λ_1 is the slope that ‖∂h_t/∂h_k‖ settles
/// to as the lag grows (in nats per step; divide by ln 10 for the decades per step of the curves).
public struct LyapunovSpectrum: Sendable, Equatable {
    /// λ_1 ≥ … ≥ λ_m in nats per step (−∞ when the product became exactly zero, e.g. every ReLU off).
    public var exponents: [Double]
    /// Steps averaged over (after the warm-up).
    public var steps: Int
    /// Steps run before averaging started (the orthonormal frame aligns during these).
    public var warmup: Int
    /// State dimension of the dynamics.
    public var dimension: Int
    /// Running estimate of λ_1 after each averaged step (its convergence curve), nats per step.
    public var runningTop: [Double]

    /// The exponents in decades per step (log10 growth per step), the unit of the curves' slopes.
    public var decadesPerStep: [Double] { exponents.map { $0 / M_LN10 } }
    public var top: Double { exponents.first ?? .nan }
    /// λ_1 + … + λ_m: the growth rate of m-dimensional volumes.
    public var sum: Double { exponents.reduce(0, +) }
}

public enum Lyapunov {
    /// The QR (Benettin / Shimada–Nagashima) method: Q_0 = a fixed random n×m orthonormal frame, then for
    /// each step Z = J_j Q_{j−1}, Z = Q_j R_j (diag R_j > 0) and λ_i ≈ (1/K) Σ_j log R_j[i, i].
    /// Re-orthonormalising every step keeps the m directions from all collapsing onto the top one, and R's
    /// diagonal holds the stretch of each successive direction, so no product is ever formed explicitly.
    /// For m = 1 the QR is a normalisation (v ← Jv/‖Jv‖), which is what the sweeps use.
    ///
    /// - Parameters:
    ///   - dimension: n, the size of each J_j (n×n).
    ///   - count: m ≤ n exponents (the top m).
    ///   - steps: total steps K (J_1 … J_K); the first `warmup` are run but not averaged.
    ///   - jacobian: fills J_j for j = 1 … steps into the given n×n matrix.
    ///   - seed: seed of the initial frame (results are deterministic for a given seed).
    public static func exponents(dimension n: Int, count m: Int, steps: Int, warmup: Int = 0, seed: UInt64 = 0x1A9,
                                 jacobian: (Int, inout Matrix) -> Void) throws -> LyapunovSpectrum {
        precondition(n > 0 && m >= 1 && m <= n && steps >= 1 && warmup >= 0 && warmup < steps,
                     "Lyapunov: need 1 ≤ m ≤ n and 0 ≤ warmup < steps")
        var rng = SeededRNG(seed: seed)
        var q = try QR.decompose(Init.gaussian(rows: n, cols: m, std: 1, rng: &rng)).q
        var j = Matrix(rows: n, cols: n)
        var z = Matrix(rows: n, cols: m)
        var sums = [Double](repeating: 0, count: m)
        var running: [Double] = []
        running.reserveCapacity(steps - warmup)
        var zero = false
        for step in 1...steps {
            let averaged = step > warmup
            if zero {
                if averaged { running.append(-.infinity) }
                continue
            }
            jacobian(step, &j)
            BLAS.gemm(j, q, into: &z)
            var logs = [Double](repeating: 0, count: m)
            if m == 1 {
                let s = z.frobeniusNorm
                if s > 0 && s.isFinite {
                    for i in 0..<n { q.data[i] = z.data[i] / s }
                    logs[0] = log(s)
                } else {
                    logs[0] = s == 0 ? -.infinity : .infinity
                }
            } else {
                guard z.allFinite else { throw LinearError.notFinite("Jacobian product at step \(step)") }
                let f = try QR.decompose(z, positiveDiagonal: true)
                q = f.q
                for i in 0..<m { logs[i] = log(f.r[i, i]) }
            }
            if logs.contains(.infinity) { throw LinearError.notFinite("Jacobian product at step \(step)") }
            // log R_11 = −∞: the product is exactly zero (e.g. every ReLU off), so every exponent is −∞.
            // A lower R_ii = 0 (rank loss) only sends that exponent and the ones below it to −∞.
            if logs[0] == -.infinity { zero = true }
            if averaged {
                for i in 0..<m { sums[i] += logs[i] }
                running.append(sums[0] / Double(step - warmup))
            }
        }
        let k = Double(steps - warmup)
        if zero { for i in 0..<m { sums[i] = -.infinity } }
        return LyapunovSpectrum(exponents: sums.map { $0 / k }, steps: steps - warmup, warmup: warmup,
                                dimension: n, runningTop: running)
    }

    /// Exponents of a trajectory's state dynamics (for the LSTM the full (h, c) state, dimension 2n).
    /// - Parameters:
    ///   - count: how many (top) exponents; nil = all.
    ///   - warmup: leading steps not averaged (the transient from h_0 and the frame's alignment).
    public static func exponents(_ trajectory: Trajectory, count: Int? = nil, warmup: Int = 0, seed: UInt64 = 0x1A9) throws -> LyapunovSpectrum {
        let n = trajectory.cell.stateSize
        let m = max(1, min(count ?? n, n))
        guard trajectory.steps >= 1 else { throw ModelError.invalid("the trajectory has no steps (it overflowed at step 1)") }
        // A trajectory cut short by an overflow keeps at least one averaged step.
        let w = min(max(0, warmup), trajectory.steps - 1)
        return try exponents(dimension: n, count: m, steps: trajectory.steps, warmup: w, seed: seed) { step, j in
            trajectory.jacobian(at: step, into: &j)
        }
    }

    /// Newman's (1986) Lyapunov spectrum of products of n×n matrices with i.i.d. N(0, σ²) entries:
    /// λ_i = ½ [ln(2σ²) + ψ((n − i + 1)/2)], i = 1 … n, in nats per step (ψ = digamma).
    /// (‖G q‖² for a unit q is σ²·χ²_n, and the i-th QR diagonal entry is σ·χ_{n−i+1}; E ln χ²_k = ln 2 + ψ(k/2).)
    public static func newman(n: Int, variance: Double) -> [Double] {
        (1...max(n, 1)).map { i in 0.5 * (log(2 * variance) + digamma(Double(n - i + 1) / 2)) }
    }

    /// The digamma function ψ(x) = Γ′(x)/Γ(x) for real x (poles at 0, −1, −2, … give NaN).
    /// Reflection ψ(1−x) − ψ(x) = π cot(πx) for x < ½, the recurrence ψ(x) = ψ(x+1) − 1/x up to x ≥ 10,
    /// then the asymptotic series ln x − 1/(2x) − Σ B_{2k}/(2k x^{2k}), accurate to ~1e-16 there.
    public static func digamma(_ x: Double) -> Double {
        guard x.isFinite else { return x == .infinity ? .infinity : .nan }
        if x <= 0 && x == x.rounded() { return .nan }
        if x < 0.5 { return digamma(1 - x) - Double.pi / tan(Double.pi * x) }
        var v = x, acc = 0.0
        while v < 10 { acc -= 1 / v; v += 1 }
        let inv = 1 / v, inv2 = inv * inv
        // Bernoulli terms: 1/12, −1/120, 1/252, −1/240, 1/132, −691/32760, 1/12
        let series = inv2 * (1.0 / 12 - inv2 * (1.0 / 120 - inv2 * (1.0 / 252 - inv2 * (1.0 / 240 - inv2 * (1.0 / 132 - inv2 * (691.0 / 32760 - inv2 / 12))))))
        return acc + log(v) - 0.5 * inv - series
    }
}
