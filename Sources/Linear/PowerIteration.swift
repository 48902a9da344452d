import CLapack

/// Spectral norm by warm-started power iteration on AᵀA, for the hot loop of Jacobian-product sweeps.
///
/// Consecutive products P_k and P_{k−1} = P_k·J_k share their top right-singular direction more and more
/// as the lag grows, so reusing the previous vector makes most calls converge in a handful of steps.
/// When it does not converge (tiny spectral gap) it falls back to LAPACK's SVD, so the answer is always
/// accurate to `tolerance` (relative) — checked against SVD in the tests.
public struct SpectralNormEstimator {
    public var tolerance: Double
    public var maxIterations: Int
    /// Statistics: how many calls fell back to SVD, and total power iterations.
    public private(set) var fallbacks = 0
    public private(set) var iterations = 0
    private var v: [Double] = []
    private var w: [Double] = []
    private var u: [Double] = []

    /// Work on Aᵀ instead of A (same norm), so the vector kept between calls is A's *left* singular vector.
    /// Right for sweeps P ← P·J, whose left singular directions settle while the right ones keep moving.
    public var warmStartLeft: Bool

    public init(tolerance: Double = 1e-12, maxIterations: Int = 80, warmStartLeft: Bool = false) {
        self.tolerance = tolerance
        self.maxIterations = maxIterations
        self.warmStartLeft = warmStartLeft
    }

    /// Forget the warm start.
    public mutating func reset() { v = [] }

    /// ‖A‖₂.
    public mutating func norm(_ a: Matrix) -> Double {
        let t = warmStartLeft
        let n = t ? a.rows : a.cols, m = t ? a.cols : a.rows
        if m == 0 || n == 0 { return 0 }
        if v.count != n {
            // Deterministic, non-degenerate start vector.
            v = (0..<n).map { 1 + 0.1 * Double(($0 * 7919) % 13) / 13 }
            let s = Vector.norm(v); for i in 0..<n { v[i] /= s }
        }
        if u.count != m { u = [Double](repeating: 0, count: m) }
        if w.count != n { w = [Double](repeating: 0, count: n) }
        var sigma = 0.0
        for it in 0..<maxIterations {
            iterations += 1
            BLAS.gemv(a, v, into: &u, trans: t)       // u = A v
            let su = Vector.norm(u)
            if su == 0 || !su.isFinite { break }
            for i in 0..<u.count { u[i] /= su }
            BLAS.gemv(a, u, into: &w, trans: !t)     // w = Aᵀ u, ‖w‖ = σ estimate (≥ su)
            let sw = Vector.norm(w)
            if sw == 0 || !sw.isFinite { break }
            for i in 0..<n { v[i] = w[i] / sw }
            // su ≤ σ_max and sw ≥ su; their ratio closing to 1 certifies convergence of the Rayleigh quotient.
            let converged = abs(sw - su) <= tolerance * sw && it > 0
            sigma = sw
            if converged { return sigma }
        }
        fallbacks += 1
        v = [] // next call restarts cleanly
        return a.spectralNorm
    }
}
