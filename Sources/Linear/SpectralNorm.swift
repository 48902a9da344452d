import CLapack

/// A rectangular block of a row-major matrix (rows × cols, starting at `rowOffset`, `colOffset`), read in place.
public struct MatrixBlock: Sendable, Equatable {
    public var rows: Range<Int>
    public var cols: Range<Int>
    public init(rows: Range<Int>, cols: Range<Int>) { self.rows = rows; self.cols = cols }
    public static func whole(_ a: Matrix) -> MatrixBlock { MatrixBlock(rows: 0..<a.rows, cols: 0..<a.cols) }
}

/// ‖A‖₂ = σ₁ with a certificate, for the hot loop of Jacobian-product sweeps.
///
/// **The estimate.** Power iteration on the Gram matrix G = BBᵀ (or BᵀB) of the block B, warm-started from the
/// vector the previous call ended with: consecutive products P_k and P_{k−1} = P_k·J_k share their top left
/// singular direction more and more as the lag grows, so most calls need a few iterations.
///
/// **Why it cannot settle on the wrong singular value.** Power iteration alone can: if the start vector has no
/// component along the top singular vector (a diagonal W_hh whose dominant unit changes with the lag, a
/// decoupled unit, a zero weight block), ‖Bᵀx‖ and ‖BBᵀx‖ agree perfectly at a *smaller* singular value.
/// Agreement is therefore never taken as convergence. Instead every value is bracketed by two bounds:
///
/// - lower: for a unit vector x, L = ‖Gx‖ ≤ λ₁(G) = σ₁², whatever x is;
/// - upper: write G in the basis (x, x⊥): G = [[θ, rᵀ], [r, C]] with θ = xᵀGx and r = Gx − θx (the residual,
///   orthogonal to x). C = x⊥ᵀ G x⊥ is positive semidefinite, so C ≼ trace(C)·I and
///   trace(C) = trace(G) − θ = ‖B‖_F² − θ =: c. Hence G ≼ [[θ, rᵀ], [r, c·I]], whose largest eigenvalue is
///   that of the 2×2 matrix [[θ, ‖r‖], [‖r‖, c]]:  U = (θ + c)/2 + √(((θ − c)/2)² + ‖r‖²) ≥ σ₁².
///
/// U uses the Frobenius norm, a *global* quantity that no choice of x can hide: if x sat near a non-top
/// singular vector, the missing top direction would keep c ≥ σ₁² > θ, and U − L could not become small. When
/// θ > c the bound is quadratic in the residual (U ≈ θ + ‖r‖²/(θ − c)), so a few iterations certify.
/// A value is returned only when √U and √L agree to `tolerance` (relative), with slack for rounding in θ, r
/// and ‖B‖_F.
///
/// **Spread spectra.** When no single direction holds half of ‖B‖_F² (short lags of a dense model), θ ≤ c and
/// the single-vector bracket cannot close. A block stage then runs subspace iteration on k vectors with
/// Rayleigh–Ritz: Ritz pairs (θ₁ ≥ θ₂ ≥ … ≥ θ_k, v_i) with residuals r_i = Gv_i − θ_iv_i. On v₁⊥ the matrix
/// is bounded the same way, one level down: in the basis (v₂ … v_k, V⊥) it is [[H₂, R₂ᵀ], [R₂, C]] with
/// H₂ ≼ θ₂·I, ‖R₂‖₂ ≤ ‖[r₂ … r_k]‖_F and C ≼ trace(C)·I, trace(C) = ‖B‖_F² − Σθ_i =: c. So the largest
/// eigenvalue on v₁⊥ is at most c′ = (θ₂ + c)/2 + √(((θ₂ − c)/2)² + ‖R₂‖²), and the 2×2 bound above with c′
/// in place of c brackets σ₁². Again only global quantities (‖B‖_F and the exact Ritz values) enter, so a
/// direction that the block misses keeps c′ high and the bracket open.
/// Otherwise — no convergence within the iteration limits — LAPACK's SVD (dgesvdx, top triple only) gives σ₁,
/// and its singular vector becomes the next warm start.
public struct SpectralNormEstimator {
    /// Relative accuracy of every returned σ₁ (certified, or from LAPACK's SVD).
    public var tolerance: Double
    public var maxIterations: Int
    /// Statistics: calls answered by the SVD fallback, calls answered by a certificate, power iterations.
    public private(set) var fallbacks = 0
    public private(set) var certified = 0
    public private(set) var iterations = 0
    public private(set) var blockSteps = 0

    /// Work on the Gram matrix BBᵀ (the vector kept between calls is B's *left* singular vector) instead of BᵀB.
    /// Right for sweeps P ← P·J, whose left singular directions settle while the right ones keep moving;
    /// BᵀB (right vectors) for forward sweeps P ← J·P.
    public var warmStartLeft: Bool

    private var x: [Double] = []
    private var y: [Double] = []
    private var z: [Double] = []
    private var scaled = Matrix(rows: 0, cols: 0)

    public init(tolerance: Double = 1e-11, maxIterations: Int = 16, warmStartLeft: Bool = false) {
        self.tolerance = tolerance
        self.maxIterations = maxIterations
        self.warmStartLeft = warmStartLeft
    }

    /// Forget the warm start.
    public mutating func reset() { x = [] }

    /// ‖A‖₂.
    public mutating func norm(_ a: Matrix) -> Double { norm(a, block: .whole(a)) }

    /// ‖B‖₂ for the block B of `a`, read in place. `frobeniusSquared`, when the caller has it, saves a pass.
    public mutating func norm(_ a: Matrix, block b: MatrixBlock, frobeniusSquared known: Double? = nil) -> Double {
        let rows = b.rows.count, cols = b.cols.count
        if rows == 0 || cols == 0 { return 0 }
        // Fast path: ‖B‖_F² comfortably inside Double's range bounds every entry and every Gram product.
        let f2 = known ?? a.frobeniusSquared(block: b)
        if f2 > 0x1p-600 && f2 < 0x1p600 { return estimate(a, b, f2: f2) }
        if f2.isNaN { return .nan }
        let big = a.maxAbs(block: b)
        if big == 0 { return 0 }
        if !big.isFinite { return .nan }
        // Entries far from 1 would under- or overflow ‖B‖_F² and the Gram products: work on an exactly
        // rescaled copy (a power of two) instead.
        let e = big.exponent
        if scaled.rows != rows || scaled.cols != cols { scaled = Matrix(rows: rows, cols: cols) }
        let s = Double(sign: .plus, exponent: -e, significand: 1)
        for r in 0..<rows {
            for c in 0..<cols { scaled.data[r * cols + c] = a.data[(b.rows.lowerBound + r) * a.cols + b.cols.lowerBound + c] * s }
        }
        let copy = scaled
        return Double(sign: .plus, exponent: e, significand: 1) * estimate(copy, .whole(copy), f2: copy.frobeniusSquared(block: .whole(copy)))
    }

    /// The estimate, checked against what any σ₁ must satisfy: ‖B‖_F²/min(rows, cols) ≤ σ₁² ≤ ‖B‖_F². A value
    /// outside cannot be σ₁ whatever went wrong upstream, and is replaced by the values-only SVD (dgesdd).
    private mutating func estimate(_ a: Matrix, _ b: MatrixBlock, f2: Double) -> Double {
        let v = bracketedEstimate(a, b, f2: f2)
        let v2 = v * v, rank = Double(min(b.rows.count, b.cols.count))
        if v.isFinite && v2 <= f2 * (1 + 1e-9) && v2 >= f2 / rank * (1 - 1e-9) { return v }
        guard let s = try? SVD.singularValues(a.copy(block: b)).first else { return .nan }
        fallbacks += 1
        x = []
        return s
    }

    private mutating func bracketedEstimate(_ a: Matrix, _ b: MatrixBlock, f2: Double) -> Double {
        let rows = b.rows.count, cols = b.cols.count
        let left = warmStartLeft
        let n = left ? rows : cols, m = left ? cols : rows
        if f2 == 0 { return 0 }
        if x.count != n || !x.allSatisfy(\.isFinite) { x = Self.start(n) }
        if y.count != m { y = [Double](repeating: 0, count: m) }
        if z.count != n { z = [Double](repeating: 0, count: n) }
        // Rounding slack: each entry of Bᵀx, BBᵀx and ‖B‖_F² carries a relative error of about (rows+cols)·ε
        // of ‖B‖_F²-sized quantities; 8× that is added to c and to ‖r‖.
        let slack = 8 * Double(rows + cols + 8) * Double.ulpOfOne * f2
        // Lanczos on G from x, with full reorthogonalisation: the Ritz pair (θ₁, v) of the tridiagonal T_j is a
        // unit vector with Rayleigh quotient θ₁ and residual ‖Gv − θ₁v‖ = β_j·|s_j1|, so the bracket above
        // applies to it; per product with B it converges far faster than plain power iteration.
        var basis: [[Double]] = [x]
        // Short lags of dense products have spread spectra where Lanczos cannot certify: after a call that
        // needed the block stage or the SVD, the next call goes straight to the block stage.
        let lanczosSteps = spreadLastTime && n >= Self.minimumBlockDimension ? 0 : maxIterations
        var alpha: [Double] = [], beta: [Double] = []
        var previous = 0.0
        for j in 0..<lanczosSteps {
            iterations += 1
            let q = basis[j]
            BLAS.gemv(a, block: b, q, into: &y, trans: left)          // y = Bᵀq (left) or Bq
            BLAS.gemv(a, block: b, y, into: &z, trans: !left)         // z = Gq
            guard z.allSatisfy(\.isFinite) else { break }
            alpha.append(Vector.dot(q, z))
            for _ in 0..<2 {
                for v in basis {
                    let h = Vector.dot(v, z)
                    for i in 0..<n { z[i] -= h * v[i] }
                }
            }
            let bj = Vector.norm(z)
            var t = Matrix(rows: j + 1, cols: j + 1)
            for i in 0...j { t[i, i] = alpha[i] }
            for i in 0..<j { t[i, i + 1] = beta[i]; t[i + 1, i] = beta[i] }
            guard let (theta, sv) = try? SymmetricEigen.decompose(t) else { break }
            let theta1 = theta[0], sLast = sv[j, 0]
            let rExact = bj * abs(sLast)
            let r = rExact + slack * Double(j + 2)
            let c = max(0, f2 - theta1) + slack
            func ritzVector() -> [Double] {
                var v = [Double](repeating: 0, count: n)
                for (i, q) in basis.enumerated() { let w = sv[i, 0]; for k in 0..<n { v[k] += w * q[k] } }
                let s = Vector.norm(v)
                return s > 0 ? v.map { $0 / s } : x
            }
            if theta1 > c {
                let half = (theta1 - c) / 2
                let upper = (theta1 + c) / 2 + (half * half + r * r).squareRoot()
                let lower = min((theta1 * theta1 + rExact * rExact).squareRoot(), upper)   // ‖Gv‖ ≤ σ₁²
                // σ = √λ: relative accuracy of √ is half that of λ.
                if upper - lower <= 2 * tolerance * lower {
                    certified += 1
                    spreadLastTime = false
                    x = ritzVector()
                    return ((upper + lower) / 2).squareRoot()
                }
            }
            // No single direction can be certified while θ ≤ c; stop once θ has stopped growing (spread
            // spectrum, or a start vector with no component along the top direction), or when the Krylov
            // space is invariant.
            let stalled = theta1 <= c && j >= 2 && theta1 <= previous * (1 + 1e-2)
            if stalled || bj <= 1e-14 * max(theta1, f2) || j == lanczosSteps - 1 {
                x = ritzVector()
                break
            }
            previous = theta1
            beta.append(bj)
            basis.append(z.map { $0 / bj })
        }
        if n >= Self.minimumBlockDimension, let sigma = blockEstimate(a, b, f2: f2) { return sigma }
        fallbacks += 1
        spreadLastTime = true
        guard let top = try? SVD.top(a, block: b) else { x = []; return .nan }
        x = left ? top.u : top.v
        return top.sigma
    }

    /// Vectors in the block stage: n/8 between 8 and 64, enough to hold most of ‖B‖_F² at short lags of dense
    /// models, where it otherwise fails (measured on the benchmark models: 52 SVD fallbacks with 8 vectors,
    /// 14 with 64, for an LSTM with n = 256 over 1,000 lags).
    static func blockSize(_ n: Int) -> Int { max(8, min(64, n / 8)) }
    /// Smaller matrices go straight to the SVD, which is cheaper there than a block iteration.
    static let minimumBlockDimension = 24
    static let blockIterations = 12
    private var block = Matrix(rows: 0, cols: 0)
    /// The previous call could not be certified by Lanczos alone.
    private var spreadLastTime = false

    /// Subspace iteration with Rayleigh–Ritz and the two-level bracket (see the type's documentation).
    private mutating func blockEstimate(_ a: Matrix, _ b: MatrixBlock, f2: Double) -> Double? {
        let rows = b.rows.count, cols = b.cols.count
        let left = warmStartLeft
        let n = left ? rows : cols, m = left ? cols : rows, k = Self.blockSize(n)
        // Start: the single-vector iterate, then the previous call's block, then fixed full-support vectors.
        var v = Matrix(rows: n, cols: k)
        for i in 0..<n { v.data[i * k] = x[i] }
        let warm = block.rows == n && block.cols == k
        for j in 1..<k {
            for i in 0..<n {
                v.data[i * k + j] = warm ? block.data[i * k + j] : Double(((i + 1) * (j * 7 + 3)) % 17) - 8 + 0.5 * Double(j)
            }
        }
        guard var q = try? QR.decompose(v, positiveDiagonal: false).q, q.cols == k else { return nil }
        var y = Matrix(rows: m, cols: k), z = Matrix(rows: n, cols: k), h = Matrix(rows: k, cols: k)
        let slack = 8 * Double(rows + cols + 8 + k) * Double.ulpOfOne * f2
        var lastRatio = 0.0
        for step in 0..<Self.blockIterations {
            blockSteps += 1
            BLAS.gemm(a, block: b, transA: left, q, into: &y)        // Y = Bᵀ Q (left) or B Q
            BLAS.gemm(a, block: b, transA: !left, y, into: &z)       // Z = G Q
            BLAS.gemm(q, z, into: &h, transA: true)                  // H = Qᵀ G Q
            for i in 0..<k { for j in 0..<i { let s = (h[i, j] + h[j, i]) / 2; h[i, j] = s; h[j, i] = s } }
            guard let (theta, s) = try? SymmetricEigen.decompose(h) else { return nil }
            let vr = BLAS.multiply(q, s), zr = BLAS.multiply(z, s)  // Ritz vectors and G·(Ritz vectors)
            var r1 = 0.0, rRest = 0.0, g1 = 0.0
            for i in 0..<n {
                let base = i * k
                let d1 = zr.data[base] - theta[0] * vr.data[base]
                r1 += d1 * d1
                g1 += zr.data[base] * zr.data[base]
                for j in 1..<k { let d = zr.data[base + j] - theta[j] * vr.data[base + j]; rRest += d * d }
            }
            let c = max(0, f2 - theta.reduce(0, +)) + slack
            let half2 = (theta[1] - c) / 2
            let cPrime = (theta[1] + c) / 2 + (half2 * half2 + rRest + slack * slack).squareRoot() + slack
            let r = r1.squareRoot() + slack
            if theta[0] > cPrime {
                let half = (theta[0] - cPrime) / 2
                let upper = (theta[0] + cPrime) / 2 + (half * half + r * r).squareRoot()
                let lower = min(g1.squareRoot(), upper)
                if upper - lower <= 2 * tolerance * lower {
                    certified += 1
                    // Would one direction alone have held half of ‖B‖_F²? Then Lanczos can certify next time.
                    spreadLastTime = theta[0] <= f2 - theta[0]
                    block = vr
                    let g = g1.squareRoot()
                    for i in 0..<n { x[i] = zr.data[i * k] / g }
                    return ((upper + lower) / 2).squareRoot()
                }
            }
            // Give up early when the top Ritz value is not pulling away from the bound on the rest.
            let ratio = theta[0] / cPrime
            if step >= 2 && ratio < 1 && ratio < lastRatio * 1.01 { break }
            lastRatio = ratio
            guard let next = try? QR.decompose(zr, positiveDiagonal: false).q, next.cols == k else { return nil }
            q = next
        }
        block = q
        return nil
    }

    /// Deterministic start vector with every entry non-zero.
    static func start(_ n: Int) -> [Double] {
        var v = (0..<n).map { 1 + 0.1 * Double(($0 * 7919) % 13) / 13 }
        let s = Vector.norm(v)
        for i in 0..<n { v[i] /= s }
        return v
    }
}

public extension Matrix {
    /// Σ of squared entries of a block (callers keep entries O(1); see `SpectralNormEstimator`).
    func frobeniusSquared(block b: MatrixBlock) -> Double {
        var s = 0.0
        data.withUnsafeBufferPointer { p in
            for r in b.rows {
                s += cblas_ddot(Int32(b.cols.count), p.baseAddress! + r * cols + b.cols.lowerBound, 1,
                                p.baseAddress! + r * cols + b.cols.lowerBound, 1)
            }
        }
        return s
    }

    /// Σ of squared entries of the four blocks of a matrix whose rows and columns are split at `split` (a block
    /// is empty when the split lies beyond that dimension), in one pass. Rows are summed as
    /// `frobeniusSquared(block:)` sums them.
    func frobeniusSquaredQuadrants(split n: Int) -> (hh: Double, hc: Double, ch: Double, cc: Double) {
        var hh = 0.0, hc = 0.0, ch = 0.0, cc = 0.0
        let left = Swift.min(n, cols), right = cols - left
        data.withUnsafeBufferPointer { p in
            for r in 0..<rows {
                let row = p.baseAddress! + r * cols
                let a = left > 0 ? cblas_ddot(Int32(left), row, 1, row, 1) : 0
                let b = right > 0 ? cblas_ddot(Int32(right), row + left, 1, row + left, 1) : 0
                if r < n { hh += a; hc += b } else { ch += a; cc += b }
            }
        }
        return (hh, hc, ch, cc)
    }

    /// Frobenius norm of a block, safe for huge and tiny entries.
    func frobeniusNorm(block b: MatrixBlock) -> Double {
        let ss = frobeniusSquared(block: b)
        if ss.isFinite && ss > 1e-280 && ss < 1e280 { return ss.squareRoot() }
        var scale = 0.0, ssq = 1.0
        for r in b.rows {
            for c in b.cols {
                let v = data[r * cols + c]
                if v == 0 { continue }
                let a = Swift.abs(v)
                if scale < a { ssq = 1 + ssq * (scale / a) * (scale / a); scale = a } else { ssq += (a / scale) * (a / scale) }
            }
        }
        return scale * ssq.squareRoot()
    }

    /// Largest |entry| of a block.
    func maxAbs(block b: MatrixBlock) -> Double {
        var m = 0.0
        data.withUnsafeBufferPointer { p in
            for r in b.rows {
                let base = r * cols
                for c in b.cols {
                    let v = Swift.abs(p[base + c])
                    if !(v <= m) { m = v }   // NaN propagates
                }
            }
        }
        return m
    }

    /// Copy of a block as its own matrix.
    func copy(block b: MatrixBlock) -> Matrix { block(rows: b.rows, cols: b.cols) }
}
