import CLapack
import Foundation

/// A rectangular block of a row-major matrix (rows × cols, starting at `rowOffset`, `colOffset`), read in place.
public struct MatrixBlock: Sendable, Equatable {
    public var rows: Range<Int>
    public var cols: Range<Int>
    public init(rows: Range<Int>, cols: Range<Int>) { self.rows = rows; self.cols = cols }
    public static func whole(_ a: Matrix) -> MatrixBlock { MatrixBlock(rows: 0..<a.rows, cols: 0..<a.cols) }
}

/// ‖A‖₂ = σ₁ with a certificate, for the hot loop of Jacobian-product sweeps.
///
/// **The estimate.** Lanczos on the Gram matrix G = BBᵀ (or BᵀB) of the block B, warm-started from the vector
/// the previous call ended with: consecutive products P_k and P_{k−1} = P_k·J_k share their top left singular
/// direction more and more as the lag grows, so most calls need a few iterations.
///
/// **Why it cannot settle on the wrong singular value.** A warm-started iteration alone can: if the start vector
/// has no component along the top singular vector (a diagonal W_hh whose dominant unit changes with the lag, a
/// decoupled unit, a zero weight block), the Krylov space never sees it, and two lower bounds agree perfectly at
/// a *smaller* singular value. Agreement is therefore never taken as convergence. Instead every value is
/// bracketed by a lower bound L ≤ σ₁² and an upper bound U ≥ σ₁², and returned only when √U and √L agree to
/// `tolerance` (relative), with slack for rounding in θ, r, the Lanczos coefficients and ‖B‖_F:
///
/// - lower: for a unit vector v, ‖Gv‖ ≤ λ₁(G) = σ₁², whatever v is;
/// - upper, one vector: write G in the basis (v, v⊥): G = [[θ, rᵀ], [r, C]] with θ = vᵀGv and r = Gv − θv (the
///   residual, orthogonal to v). C = v⊥ᵀ G v⊥ is positive semidefinite, so C ≼ trace(C)·I and
///   trace(C) = trace(G) − θ = ‖B‖_F² − θ =: c. Hence G ≼ [[θ, rᵀ], [r, c·I]], whose largest eigenvalue is
///   that of the 2×2 matrix [[θ, ‖r‖], [‖r‖, c]]:  U₁ = (θ + c)/2 + √(((θ − c)/2)² + ‖r‖²) ≥ σ₁²;
/// - upper, the whole Krylov space: after j Lanczos steps G Q = Q T + β q₊ e_jᵀ with Q = [q₁ … q_j]
///   orthonormal, T tridiagonal and q₊ ⊥ Q a unit vector. In the basis (Q, W), W an orthonormal basis of Q⊥,
///   G = [[T, β e_j wᵀ], [w β e_jᵀ, C]] with w = Wᵀq₊ (a unit vector) and C = WᵀGW ≽ 0, so again
///   C ≼ trace(C)·I with trace(C) = ‖B‖_F² − trace(T) = ‖B‖_F² − Σα_i =: c_K. For a unit vector (a, b),
///   aᵀTa + 2β a_j wᵀb + bᵀCb ≤ aᵀTa + 2β|a_j|‖b‖ + c_K‖b‖², the quadratic form of the (j+1)×(j+1)
///   tridiagonal M = [[T, β e_j], [β e_jᵀ, c_K]] at the unit vector (±a, ‖b‖). So U₂ = λ_max(M) ≥ σ₁².
///   U₂ subtracts the mass of every Lanczos direction, not only the top one, which certifies products whose
///   second and third singular values are large where U₁ (c = ‖B‖_F² − θ) cannot.
///
/// U₁ and U₂ use the Frobenius norm, a *global* quantity that no choice of v can hide: if the Krylov space missed
/// the top singular direction, its mass would stay in c and c_K, so c_K ≥ σ₁² > θ and U − L could not become
/// small. When θ is well above c_K the bound is quadratic in the residual (U ≈ θ + (β s_j)²/(θ − c_K)), so a
/// few iterations certify.
///
/// **Spread spectra.** When no few directions hold most of ‖B‖_F² (short lags of a dense model), c_K ≥ θ and the
/// Lanczos bracket cannot close. Two more stages follow, each with its own proof:
///
/// - *Block stage.* Subspace iteration on k vectors with Rayleigh–Ritz: Ritz pairs (θ₁ ≥ θ₂ ≥ … ≥ θ_k, v_i)
///   with residuals r_i = Gv_i − θ_iv_i. On v₁⊥ the matrix is bounded the same way, one level down: in the basis
///   (v₂ … v_k, V⊥) it is [[H₂, R₂ᵀ], [R₂, C]] with H₂ ≼ θ₂·I, ‖R₂‖₂ ≤ ‖[r₂ … r_k]‖_F and C ≼ trace(C)·I,
///   trace(C) = ‖B‖_F² − Σθ_i =: c. So the largest eigenvalue on v₁⊥ is at most
///   c′ = (θ₂ + c)/2 + √(((θ₂ − c)/2)² + ‖R₂‖²), and the 2×2 bound above with c′ in place of c brackets σ₁².
///   Again only global quantities (‖B‖_F and the exact Ritz values) enter, so a direction that the block misses
///   keeps c′ high and the bracket open.
/// - *Gram stage* (when even k vectors leave too much of ‖B‖_F² outside). LAPACK's symmetric eigensolver on the
///   explicitly formed Ĝ = fl(BBᵀ) proposes a unit vector v and a second eigenvalue λ̂₂; neither is trusted.
///   With θ = vᵀGv and r = ‖Gv − θv‖ computed from B itself, Kato–Temple gives σ₁² ≤ θ + r²/(θ − α) for any
///   α ≥ λ₂(G) below θ (from Σc_i²(λ_i − λ₁)(λ_i − α) ≥ 0, c_i the coordinates of v in G's eigenbasis).
///   That α ≥ λ₂(G) is *proven*: by interlacing, λ₂(G) ≤ λ₁(G − ρvvᵀ) for any ρ ≥ 0, and
///   λ₁(G − ρvvᵀ) < α holds when H = αI − G + ρvvᵀ is positive definite, which a floating-point Cholesky
///   factorisation of the computed H, shifted down by every rounding error, establishes: Ĝ differs from G by at
///   most γ_m‖B‖_F² in norm (m the inner dimension), forming H adds at most γ₃(ρ + ‖Ĝ‖_F + √n·α), and a
///   Cholesky factorisation that runs to completion on a symmetric X is exact for X + ΔX with
///   ‖ΔX‖₂ ≤ γ_{n+1}/(1 − γ_{n+1})·trace(X) (Higham, *Accuracy and Stability*, Thm 10.3; taken twice over here).
///   The same certificate bounds the norm itself: σ₁² = λ₁(G) ≤ λ₁(G − ρvvᵀ) + ρ‖v‖² < σ̄² := α + ρ‖v‖² (Weyl).
///   So the rounding in Gv is at most γ‖B‖_F(‖fl(Bᵀv)‖ + σ̄‖v‖) (γ of the inner dimensions), of order ε·σ₁‖B‖_F
///   rather than ε·‖B‖_F², and θ, r and the lower bound ‖Gv‖ carry it explicitly. α is put a quarter of the way
///   from λ̂₂ to θ, so the bracket closes whenever σ₁ is not (nearly) repeated.
///
/// Otherwise — no bracket closes, i.e. a (nearly) repeated σ₁ with a spread spectrum, or a matrix smaller than
/// `minimumBlockDimension` that Lanczos did not certify — LAPACK's SVD (dgesvdx, top triple only) gives σ₁, and
/// its singular vector becomes the next warm start. Those values are LAPACK's, not certified.
public struct SpectralNormEstimator {
    /// Relative accuracy of every returned σ₁ (certified, or from LAPACK's SVD).
    public var tolerance: Double
    public var maxIterations: Int
    /// Statistics: calls answered by the SVD fallback, calls answered by a certificate (of which by the Gram
    /// stage), Lanczos iterations, block iterations.
    public private(set) var fallbacks = 0
    public private(set) var certified = 0
    public private(set) var gramCertified = 0
    public private(set) var iterations = 0
    public private(set) var blockSteps = 0

    /// Work on the Gram matrix BBᵀ (the vector kept between calls is B's *left* singular vector) instead of BᵀB.
    /// Right for sweeps P ← P·J, whose left singular directions settle while the right ones keep moving;
    /// BᵀB (right vectors) for forward sweeps P ← J·P.
    public var warmStartLeft: Bool

    /// Where the next call starts: consecutive products have similar spectra, so the stage that certified (or
    /// the spectrum that the Gram stage saw) predicts the cheapest stage that can certify the next one.
    enum Stage { case lanczos, block, gram }

    private var x: [Double] = []
    private var y: [Double] = []
    private var z: [Double] = []
    private var basis: [Double] = []
    private var scaled = Matrix(rows: 0, cols: 0)
    private var block = Matrix(rows: 0, cols: 0)
    private var gram: [Double] = []
    private var gramWork: [Double] = []
    /// The last Gram certificate was the repeated-σ₁ one (its vector is worth trying first next time).
    private var lastGramRepeated = false
    private var next = Stage.lanczos

    public init(tolerance: Double = 1e-11, maxIterations: Int = 16, warmStartLeft: Bool = false) {
        self.tolerance = tolerance
        self.maxIterations = maxIterations
        self.warmStartLeft = warmStartLeft
    }

    /// Forget the warm start.
    public mutating func reset() { x = []; next = .lanczos }

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
        if x.count != n || !x.allSatisfy(\.isFinite) { x = Self.start(n); next = .lanczos }
        if y.count != m { y = [Double](repeating: 0, count: m) }
        if z.count != n { z = [Double](repeating: 0, count: n) }
        // Rounding slack: each entry of Bᵀx, BBᵀx and ‖B‖_F² carries a relative error of about (rows+cols)·ε
        // of ‖B‖_F²-sized quantities; 8× that is added to c and to ‖r‖.
        let slack = 8 * Double(rows + cols + 8) * Double.ulpOfOne * f2
        // Smaller matrices go straight from Lanczos to the SVD, which is cheaper there than the other stages.
        let large = n >= Self.minimumBlockDimension
        if !large || next == .lanczos, let sigma = lanczos(a, b, f2: f2, slack: slack) { return sigma }
        if large {
            if next != .gram, let sigma = blockEstimate(a, b, f2: f2) { return sigma }
            if let sigma = gramEstimate(a, b, f2: f2) { return sigma }
        }
        fallbacks += 1
        guard let top = try? SVD.top(a, block: b) else { x = []; return .nan }
        x = left ? top.u : top.v
        if large { next = top.sigma * top.sigma > f2 / 2 ? .lanczos : .gram }
        return top.sigma
    }

    /// y ← op(B)·x for the block B of `a` (op = Bᵀ when `trans`), through raw pointers.
    private static func apply(_ a: Matrix, _ b: MatrixBlock, trans: Bool, _ x: UnsafePointer<Double>, _ y: UnsafeMutablePointer<Double>) {
        a.data.withUnsafeBufferPointer { pa in
            cblas_dgemv(CblasRowMajor, trans ? CblasTrans : CblasNoTrans, Int32(b.rows.count), Int32(b.cols.count), 1,
                        pa.baseAddress! + b.rows.lowerBound * a.cols + b.cols.lowerBound, Int32(a.cols), x, 1, 0, y, 1)
        }
    }

    /// Lanczos on G from x, with full reorthogonalisation, bracketed by L and min(U₁, U₂) (see the type's
    /// documentation). The Ritz pair (θ, v) of the tridiagonal T_j is a unit vector with Rayleigh quotient θ and
    /// residual ‖Gv − θv‖ = β_j·|s_j|, s the eigenvector of T_j. nil when the bracket does not close; x is then
    /// the last Ritz vector.
    private mutating func lanczos(_ a: Matrix, _ b: MatrixBlock, f2: Double, slack: Double) -> Double? {
        let left = warmStartLeft
        let n = x.count, steps = max(1, maxIterations)
        if basis.count < steps * n { basis = [Double](repeating: 0, count: steps * n) }
        let x0 = Vector.norm(x)
        guard x0 > 0 && x0.isFinite else { x = Self.start(n); return nil }
        for i in 0..<n { basis[i] = x[i] / x0 }
        var alpha: [Double] = [], beta: [Double] = []
        alpha.reserveCapacity(steps); beta.reserveCapacity(steps)
        var h = [Double](repeating: 0, count: steps)
        var lastTail = Double.infinity, previous = 0.0
        var result: Double?
        var ritz: [Double] = []
        for j in 0..<steps {
            iterations += 1
            var bj = 0.0
            let finite: Bool = basis.withUnsafeMutableBufferPointer { pq in
                let q = pq.baseAddress! + j * n
                y.withUnsafeMutableBufferPointer { py in Self.apply(a, b, trans: left, q, py.baseAddress!) }       // y = Bᵀq (left) or Bq
                z.withUnsafeMutableBufferPointer { pz in
                    y.withUnsafeBufferPointer { py in Self.apply(a, b, trans: !left, py.baseAddress!, pz.baseAddress!) }  // z = Gq
                }
                guard z.allSatisfy(\.isFinite) else { return false }
                alpha.append(cblas_ddot(Int32(n), q, 1, z, 1))
                // z ← z − Q(Qᵀz), twice (full reorthogonalisation against q_0 … q_j).
                z.withUnsafeMutableBufferPointer { pz in
                    h.withUnsafeMutableBufferPointer { ph in
                        for _ in 0..<2 {
                            cblas_dgemv(CblasRowMajor, CblasNoTrans, Int32(j + 1), Int32(n), 1, pq.baseAddress!, Int32(n),
                                        pz.baseAddress!, 1, 0, ph.baseAddress!, 1)
                            cblas_dgemv(CblasRowMajor, CblasTrans, Int32(j + 1), Int32(n), -1, pq.baseAddress!, Int32(n),
                                        ph.baseAddress!, 1, 1, pz.baseAddress!, 1)
                        }
                    }
                    bj = cblas_dnrm2(Int32(n), pz.baseAddress!, 1)
                }
                return true
            }
            guard finite else { break }
            // The top Ritz pair of T_j.
            guard let (theta, s) = Tridiagonal.topEigenpair(diagonal: alpha, offDiagonal: beta) else { break }
            let rExact = bj * abs(s[j])
            // U₁: the Ritz vector against everything else.
            let r = rExact + slack * Double(j + 2)
            let c = max(0, f2 - theta) + slack
            var upper = Double.infinity
            if theta > c {
                let half = (theta - c) / 2
                upper = (theta + c) / 2 + (half * half + r * r).squareRoot()
            }
            // U₂: the Krylov space against the rest (trace(C) = ‖B‖_F² − Σα).
            let tail = max(0, f2 - alpha.reduce(0, +)) + slack * Double(j + 2)
            if let m = Tridiagonal.largestEigenvalue(diagonal: alpha + [tail], offDiagonal: beta + [bj]) {
                upper = min(upper, m + slack * Double(j + 4))
            }
            let lower = min((theta * theta + rExact * rExact).squareRoot(), upper)   // ‖Gv‖ ≤ σ₁²
            func ritzVector() -> [Double] {
                var v = [Double](repeating: 0, count: n)
                basis.withUnsafeBufferPointer { pq in
                    cblas_dgemv(CblasRowMajor, CblasTrans, Int32(j + 1), Int32(n), 1, pq.baseAddress!, Int32(n), s, 1, 0, &v, 1)
                }
                let norm = Vector.norm(v)
                return norm > 0 && norm.isFinite ? v.map { $0 / norm } : x
            }
            // σ = √λ: relative accuracy of √ is half that of λ.
            if upper.isFinite && upper - lower <= 2 * tolerance * lower {
                certified += 1
                next = .lanczos
                ritz = ritzVector()
                result = ((upper + lower) / 2).squareRoot()
                break
            }
            // Give up when the Krylov space is invariant, at the step limit, or when the mass outside it is not
            // shrinking fast enough to fall below θ within the remaining steps (spread spectrum).
            let hopeless = j >= 3 && tail > theta && tail - theta > Double(steps - 1 - j) * (lastTail - tail)
            // … or when θ has stopped growing while U₁ cannot apply (measured: U₂ then rarely closes either).
            let stalled = theta <= c && j >= 2 && theta <= previous * (1 + 1e-2)
            if hopeless || stalled || bj <= 1e-14 * max(theta, f2) || j == steps - 1 {
                ritz = ritzVector()
                break
            }
            lastTail = tail
            previous = theta
            beta.append(bj)
            let inv = 1 / bj
            for i in 0..<n { basis[(j + 1) * n + i] = z[i] * inv }
        }
        if !ritz.isEmpty { x = ritz }
        return result
    }

    /// Vectors in the block stage: n/8 between 8 and 64, enough to hold most of ‖B‖_F² at short lags of dense
    /// models, where it otherwise fails (measured on the benchmark models: 52 SVD fallbacks with 8 vectors,
    /// 14 with 64, for an LSTM with n = 256 over 1,000 lags).
    static func blockSize(_ n: Int) -> Int { max(8, min(64, n / 8)) }
    /// Smaller matrices go straight to the SVD, which is cheaper there than a block iteration.
    static let minimumBlockDimension = 24
    static let blockIterations = 12

    /// Which stage should start the next call, from the top Ritz values (or eigenvalues) θ of this product: Lanczos
    /// when one direction holds half of ‖B‖_F² (measured: with less, 16 Lanczos steps rarely certify), the block
    /// stage when its k vectors leave less than θ₁ outside, the Gram stage otherwise.
    static func stage(after theta: [Double], f2: Double) -> Stage {
        guard let top = theta.first else { return .lanczos }
        if f2 - top < top { return .lanczos }
        return f2 - theta.reduce(0, +) < 0.8 * top ? .block : .gram
    }

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
                    next = Self.stage(after: theta, f2: f2)
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
            guard let nextQ = try? QR.decompose(zr, positiveDiagonal: false).q, nextQ.cols == k else { return nil }
            q = nextQ
        }
        block = q
        return nil
    }

    /// The Gram stage: Kato–Temple with a second eigenvalue bounded by a shifted Cholesky factorisation (see the
    /// type's documentation). nil when the bracket does not close (σ₁ nearly repeated) or LAPACK fails.
    private mutating func gramEstimate(_ a: Matrix, _ b: MatrixBlock, f2: Double) -> Double? {
        // After a (nearly) repeated σ₁ the previous top vector usually still is one: try the bracket with it
        // before asking LAPACK for a new one (the proof does not depend on where v came from).
        if lastGramRepeated, let value = gramEstimate(a, b, f2: f2, warm: true) { return value }
        return gramEstimate(a, b, f2: f2, warm: false)
    }

    private mutating func gramEstimate(_ a: Matrix, _ b: MatrixBlock, f2: Double, warm: Bool) -> Double? {
        lastGramRepeated = false
        let rows = b.rows.count, cols = b.cols.count
        let left = warmStartLeft
        let n = left ? rows : cols, inner = left ? cols : rows
        guard n >= 2 else { return nil }
        if gram.count != n * n { gram = [Double](repeating: 0, count: n * n); gramWork = gram }
        // Ĝ = BBᵀ (left) or BᵀB: its upper triangle in row-major order is the lower one in column-major order.
        a.data.withUnsafeBufferPointer { pa in
            cblas_dsyrk(CblasRowMajor, CblasUpper, left ? CblasNoTrans : CblasTrans, Int32(n), Int32(inner), 1,
                        pa.baseAddress! + b.rows.lowerBound * a.cols + b.cols.lowerBound, Int32(a.cols), 0, &gram, Int32(n))
        }
        guard gram.allSatisfy(\.isFinite) else { return nil }
        var v = [Double](repeating: 0, count: n)
        var lambda2 = Double.infinity       // (warm: not computed; only the repeated bracket below is tried)
        if warm {
            guard x.count == n else { return nil }
            v = x
        } else {
        // Candidates from LAPACK (not trusted): the two largest eigenvalues of Ĝ (Householder tridiagonalisation,
        // bisection) and the top eigenvector (inverse iteration, back-transformed).
        for i in 0..<(n * n) { gramWork[i] = gram[i] }
        var d = [Double](repeating: 0, count: n), e = [Double](repeating: 0, count: n), tau = [Double](repeating: 0, count: n)
        let uplo = Int8(UInt8(ascii: "L"))
        guard LAPACKE_dsytrd(LAPACK_COL_MAJOR, uplo, Int32(n), &gramWork, Int32(n), &d, &e, &tau) == 0 else { return nil }
        var found: Int32 = 0, splits: Int32 = 0
        var w = [Double](repeating: 0, count: n), iblock = [Int32](repeating: 0, count: n), isplit = [Int32](repeating: 0, count: n)
        guard LAPACKE_dstebz(Int8(UInt8(ascii: "I")), Int8(UInt8(ascii: "E")), Int32(n), 0, 0, Int32(n - 1), Int32(n), 0,
                             d, e, &found, &splits, &w, &iblock, &isplit) == 0, found == 2 else { return nil }
        let top = 1
        var failed: Int32 = 0
        // (LAPACKE checks n entries of the eigenvalue array for NaNs, whatever m is.)
        var wTop = [Double](repeating: 0, count: n), bTop = [Int32](repeating: 1, count: n)
        wTop[0] = w[top]; bTop[0] = iblock[top]
        guard LAPACKE_dstein(LAPACK_COL_MAJOR, Int32(n), d, e, 1, wTop, bTop, isplit, &v, Int32(n), &failed) == 0,
              LAPACKE_dormtr(LAPACK_COL_MAJOR, Int8(UInt8(ascii: "L")), uplo, Int8(UInt8(ascii: "N")), Int32(n), 1,
                             gramWork, Int32(n), tau, &v, Int32(n)) == 0 else { return nil }
        lambda2 = w[top - 1]
        }
        let vn = Vector.norm(v)
        guard vn > 0 && vn.isFinite else { return nil }
        for i in 0..<n { v[i] /= vn }
        // Gv, θ = vᵀGv and r = ‖Gv − θv‖ from B itself.
        y.withUnsafeMutableBufferPointer { py in Self.apply(a, b, trans: left, v, py.baseAddress!) }
        z.withUnsafeMutableBufferPointer { pz in y.withUnsafeBufferPointer { py in Self.apply(a, b, trans: !left, py.baseAddress!, pz.baseAddress!) } }
        let theta = Vector.dot(v, z)
        var r2 = 0.0
        for i in 0..<n { let d = z[i] - theta * v[i]; r2 += d * d }
        let yNorm = Vector.norm(y), zNorm = Vector.norm(z), rc = r2.squareRoot()
        guard theta.isFinite, zNorm.isFinite, rc.isFinite else { return nil }
        // Two ways to close the bracket, both through one Cholesky factorisation that proves a matrix positive
        // definite:
        // - a gap below θ: α between λ̂₂ and θ, and H = αI − Ĝ + ρvvᵀ (ρ = θ) positive definite proves λ₂(G) < α,
        //   so Kato–Temple bounds λ₁(G) from θ and the residual;
        // - σ₁ (nearly) repeated, no gap to use (identity-like products, e.g. IRNN): α just above θ and
        //   H = αI − Ĝ (ρ = 0) positive definite proves λ₁(G) < α outright, while ‖Gv̂‖ bounds it from below.
        // Either way H is shifted down by every rounding error first.
        let repeated = !(theta > lambda2) || theta - lambda2 < 16 * tolerance * theta
        let alpha = repeated ? theta * (1 + tolerance) : lambda2 + (theta - lambda2) / 4
        let rho = repeated ? 0 : theta
        let u = Double.ulpOfOne / 2
        func gamma(_ m: Int) -> Double { Double(m) * u / (1 - Double(m) * u) }
        var trace = 0.0
        for i in 0..<n { trace += alpha - gram[i * n + i] + rho * v[i] * v[i] }
        let cholesky = 2 * gamma(n + 1) / (1 - 2 * gamma(n + 1))
        let formed = gamma(inner) * f2 + gamma(3) * (rho + f2 * (1 + gamma(inner)) + Double(n).squareRoot() * abs(alpha))
        let shift = 1.01 * (formed + cholesky * max(trace, 0)) + Double.leastNormalMagnitude
        guard alpha - shift > (repeated ? theta : lambda2) else { return nil }
        // Column-major lower triangle of H − shift·I (Ĝ's lower triangle in column-major is `gram`'s upper in row-major).
        for col in 0..<n {
            for row in col..<n {
                gramWork[col * n + row] = rho * v[row] * v[col] - gram[col * n + row]
            }
            gramWork[col * n + col] += alpha - shift
        }
        guard LAPACKE_dpotrf(LAPACK_COL_MAJOR, Int8(UInt8(ascii: "L")), Int32(n), &gramWork, Int32(n)) == 0 else { return nil }
        // Rounding in Gv, θ and r. Proven now: ‖B‖₂² = λ₁(G) ≤ λ₁(G − ρvvᵀ) + ρ‖v‖² < σ̄² = α + ρ‖v‖². With
        // fl(op(B)x) = op(B + Δ)x, |Δ| ≤ γ_k|B| (k the inner dimension), ‖fl(Gv) − Gv‖ ≤ γ‖B‖_F(‖ŷ‖ + σ̄‖v‖) = e_z;
        // the values below are those of the unit vector v/‖v‖ (‖v‖² within 4γ_n of 1).
        let vNorm = Vector.norm(v), delta = 4 * gamma(n)
        let fro = f2.squareRoot() * (1 + gamma(rows + cols))
        let sigmaBar = ((alpha + rho * vNorm * vNorm) * (1 + 4 * u)).squareRoot()
        let eZ = 1.01 * (gamma(inner) * fro * yNorm + gamma(n) * fro * sigmaBar * vNorm)
        let eTheta = 1.01 * (eZ + gamma(n) * zNorm + delta * abs(theta))
        let eR = 1.01 * (eZ + eTheta + gamma(2) * (zNorm + abs(theta)) + (gamma(n) + delta) * rc)
        let lower0 = (zNorm * (1 - gamma(n)) - eZ) / (1 + delta)            // ≤ ‖Gv̂‖ ≤ σ₁²
        let upper: Double
        if repeated {
            // λ₁(G) < α (ρ = 0 above).
            upper = alpha * (1 + 4 * u)
        } else {
            // Kato–Temple with λ₂ < α.
            let gap = theta - eTheta - alpha
            guard gap > 0 else { return nil }
            let r = rc + eR
            upper = theta + eTheta + r * r / gap
        }
        let lower = min(lower0, upper)
        guard upper - lower <= 2 * tolerance * lower else { return nil }
        certified += 1
        gramCertified += 1
        lastGramRepeated = repeated
        x = v
        // The next call: Lanczos if one direction holds half of ‖B‖_F²; the block stage if the participation
        // ratio (Σλ)²/Σλ² = ‖B‖_F⁴/‖G‖_F² (the effective number of directions) is well below its k vectors
        // (measured on the benchmark models: the block stage then certifies the next product); else this stage.
        if theta > f2 - theta {
            next = .lanczos
        } else {
            var g2 = 0.0
            for c in 0..<n { for r in c..<n { let x = gram[c * n + r]; g2 += (r == c ? x * x : 2 * x * x) } }
            next = f2 * f2 < 0.6 * Double(Self.blockSize(n)) * g2 ? .block : .gram
        }
        return ((upper + lower) / 2).squareRoot()
    }

    /// Deterministic start vector with every entry non-zero.
    static func start(_ n: Int) -> [Double] {
        var v = (0..<n).map { 1 + 0.1 * Double(($0 * 7919) % 13) / 13 }
        let s = Vector.norm(v)
        for i in 0..<n { v[i] /= s }
        return v
    }
}

/// Small symmetric tridiagonal eigenproblems (the Lanczos matrices, a few to a few dozen rows) by the implicit
/// QL method with Wilkinson shifts: no allocation beyond the result, no LAPACK call overhead. Backward stable:
/// the eigenvalues are exact for a matrix within a few ε·‖T‖ of the input, far below the estimator's slack.
enum Tridiagonal {
    /// QL iterations on d (diagonal) and e (e[i] couples i and i+1); if `z` is given (n×n row-major, starting
    /// as the identity), its columns become the eigenvectors. False if an eigenvalue did not converge.
    static func ql(_ d: inout [Double], _ e: inout [Double], _ z: UnsafeMutablePointer<Double>?) -> Bool {
        let n = d.count
        if n <= 1 { return true }
        e.append(0)
        for l in 0..<n {
            var iter = 0
            while true {
                var m = l
                while m < n - 1 {
                    let dd = abs(d[m]) + abs(d[m + 1])
                    if abs(e[m]) <= Double.ulpOfOne / 2 * dd { break }
                    m += 1
                }
                if m == l { break }
                iter += 1
                if iter > 60 { return false }
                var g = (d[l + 1] - d[l]) / (2 * e[l])
                var r = hypot(g, 1)
                g = d[m] - d[l] + e[l] / (g + (g < 0 ? -r : r))
                var s = 1.0, c = 1.0, p = 0.0
                var i = m - 1
                var deflated = false
                while i >= l {
                    let f = s * e[i], b = c * e[i]
                    r = hypot(f, g)
                    e[i + 1] = r
                    if r == 0 {
                        d[i + 1] -= p
                        e[m] = 0
                        deflated = true
                        break
                    }
                    s = f / r
                    c = g / r
                    g = d[i + 1] - p
                    r = (d[i] - g) * s + 2 * c * b
                    p = s * r
                    d[i + 1] = g + p
                    g = c * r - b
                    if let z {
                        for k in 0..<n {
                            let t = z[k * n + i + 1]
                            z[k * n + i + 1] = s * z[k * n + i] + c * t
                            z[k * n + i] = c * z[k * n + i] - s * t
                        }
                    }
                    i -= 1
                }
                if deflated { continue }
                d[l] -= p
                e[l] = g
                e[m] = 0
            }
        }
        return true
    }

    /// The largest eigenvalue and its unit eigenvector.
    static func topEigenpair(diagonal: [Double], offDiagonal: [Double]) -> (value: Double, vector: [Double])? {
        let n = diagonal.count
        guard n > 0 else { return nil }
        var d = diagonal, e = offDiagonal
        var z = [Double](repeating: 0, count: n * n)
        for i in 0..<n { z[i * n + i] = 1 }
        let ok = z.withUnsafeMutableBufferPointer { ql(&d, &e, $0.baseAddress!) }
        guard ok, let top = d.indices.max(by: { d[$0] < d[$1] }), d[top].isFinite else { return nil }
        return (d[top], (0..<n).map { z[$0 * n + top] })
    }

    static func largestEigenvalue(diagonal: [Double], offDiagonal: [Double]) -> Double? {
        var d = diagonal, e = offDiagonal
        guard !d.isEmpty, ql(&d, &e, nil), let top = d.max(), top.isFinite else { return nil }
        return top
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
