import CLapack

/// Errors from LAPACK routines.
public enum LinearError: Error, CustomStringConvertible, Equatable {
    case lapack(routine: String, info: Int)
    case notFinite(String)
    public var description: String {
        switch self {
        case let .lapack(r, info): return "LAPACK \(r) failed (info = \(info))"
        case let .notFinite(what): return "\(what) contains NaN or infinity"
        }
    }
}

/// Singular value decomposition via LAPACKE_dgesdd.
public enum SVD {
    /// All singular values, descending.
    public static func singularValues(_ a: Matrix) throws -> [Double] {
        guard a.rows > 0 && a.cols > 0 else { return [] }
        guard a.allFinite else { throw LinearError.notFinite("matrix") }
        var work = a.data
        var s = [Double](repeating: 0, count: min(a.rows, a.cols))
        var dummyU = [Double](repeating: 0, count: 1), dummyVt = [Double](repeating: 0, count: 1)
        let info = LAPACKE_dgesdd(LAPACK_ROW_MAJOR, Int8(UInt8(ascii: "N")), Int32(a.rows), Int32(a.cols), &work,
                                  Int32(a.cols), &s, &dummyU, Int32(a.rows), &dummyVt, Int32(a.cols))
        guard info == 0 else { throw LinearError.lapack(routine: "dgesdd", info: Int(info)) }
        return s
    }

    /// Full thin SVD: A = U · diag(s) · Vᵀ with U (m×r), Vᵀ (r×n), r = min(m, n).
    public static func decompose(_ a: Matrix) throws -> (u: Matrix, s: [Double], vt: Matrix) {
        guard a.allFinite else { throw LinearError.notFinite("matrix") }
        let m = a.rows, n = a.cols, r = min(m, n)
        var work = a.data
        var s = [Double](repeating: 0, count: r)
        var u = Matrix(rows: m, cols: r), vt = Matrix(rows: r, cols: n)
        let info = LAPACKE_dgesdd(LAPACK_ROW_MAJOR, Int8(UInt8(ascii: "S")), Int32(m), Int32(n), &work, Int32(n),
                                  &s, &u.data, Int32(r), &vt.data, Int32(n))
        guard info == 0 else { throw LinearError.lapack(routine: "dgesdd", info: Int(info)) }
        return (u, s, vt)
    }
}

public extension SVD {
    /// The top singular triple (σ₁, u₁, v₁) of a block of `a`, via LAPACKE_dgesvdx (only the first triple is
    /// computed after the bidiagonal reduction).
    static func top(_ a: Matrix, block b: MatrixBlock) throws -> (sigma: Double, u: [Double], v: [Double]) {
        let m = b.rows.count, n = b.cols.count
        guard m > 0 && n > 0 else { return (0, [], []) }
        var work = a.copy(block: b)
        guard work.allFinite else { throw LinearError.notFinite("matrix") }
        var ns: Int32 = 0
        var s = [Double](repeating: 0, count: min(m, n))
        var u = [Double](repeating: 0, count: m), vt = [Double](repeating: 0, count: n)
        var superb = [Int32](repeating: 0, count: 12 * min(m, n))
        let v = Int8(UInt8(ascii: "V"))
        let info = LAPACKE_dgesvdx(LAPACK_ROW_MAJOR, v, v, Int8(UInt8(ascii: "I")), Int32(m), Int32(n), &work.data,
                                   Int32(n), 0, 0, 1, 1, &ns, &s, &u, 1, &vt, Int32(n), &superb)
        guard info == 0, ns >= 1 else { throw LinearError.lapack(routine: "dgesvdx", info: Int(info)) }
        return (s[0], u, vt)
    }
}

/// Symmetric eigendecomposition via LAPACKE_dsyev.
public enum SymmetricEigen {
    /// Eigenvalues in descending order, with the eigenvectors as the columns of `vectors`.
    public static func decompose(_ a: Matrix) throws -> (values: [Double], vectors: Matrix) {
        precondition(a.isSquare, "a symmetric eigendecomposition needs a square matrix")
        let n = a.rows
        guard n > 0 else { return ([], a) }
        guard a.allFinite else { throw LinearError.notFinite("matrix") }
        var v = a
        var w = [Double](repeating: 0, count: n)
        let info = LAPACKE_dsyev(LAPACK_ROW_MAJOR, Int8(UInt8(ascii: "V")), Int8(UInt8(ascii: "U")), Int32(n), &v.data, Int32(n), &w)
        guard info == 0 else { throw LinearError.lapack(routine: "dsyev", info: Int(info)) }
        // Ascending → descending.
        var out = Matrix(rows: n, cols: n)
        for j in 0..<n { for i in 0..<n { out.data[i * n + j] = v.data[i * n + (n - 1 - j)] } }
        return (w.reversed(), out)
    }
}

/// QR decomposition via LAPACKE_dgeqrf + LAPACKE_dorgqr.
public enum QR {
    /// A = Q·R with Q (m×k) orthonormal columns and R (k×n) upper triangular, k = min(m, n).
    /// The sign convention is LAPACK's (R's diagonal may be negative); `positiveDiagonal` flips signs
    /// so diag(R) ≥ 0, which makes Q unique and is what the orthogonal initialiser and the Lyapunov
    /// QR method need.
    public static func decompose(_ a: Matrix, positiveDiagonal: Bool = true) throws -> (q: Matrix, r: Matrix) {
        let m = a.rows, n = a.cols, k = min(m, n)
        guard k > 0 else { return (Matrix(rows: m, cols: 0), Matrix(rows: 0, cols: n)) }
        guard a.allFinite else { throw LinearError.notFinite("matrix") }
        var work = a.data
        var tau = [Double](repeating: 0, count: k)
        var info = LAPACKE_dgeqrf(LAPACK_ROW_MAJOR, Int32(m), Int32(n), &work, Int32(n), &tau)
        guard info == 0 else { throw LinearError.lapack(routine: "dgeqrf", info: Int(info)) }
        var r = Matrix(rows: k, cols: n)
        for i in 0..<k { for j in i..<n { r.data[i * n + j] = work[i * n + j] } }
        // Q occupies the first k columns of the m×n work array; dorgqr wants an m×k array.
        var q = Matrix(rows: m, cols: k)
        for i in 0..<m { for j in 0..<k { q.data[i * k + j] = work[i * n + j] } }
        info = LAPACKE_dorgqr(LAPACK_ROW_MAJOR, Int32(m), Int32(k), Int32(k), &q.data, Int32(k), tau)
        guard info == 0 else { throw LinearError.lapack(routine: "dorgqr", info: Int(info)) }
        if positiveDiagonal {
            for i in 0..<k where r.data[i * n + i] < 0 {
                for j in 0..<n { r.data[i * n + j] = -r.data[i * n + j] }
                for row in 0..<m { q.data[row * k + i] = -q.data[row * k + i] }
            }
        }
        return (q, r)
    }
}

/// Eigenvalues of a general square matrix via LAPACKE_dgeev.
public enum Eigen {
    public static func eigenvalues(_ a: Matrix) throws -> [(re: Double, im: Double)] {
        precondition(a.isSquare, "eigenvalues need a square matrix")
        let n = a.rows
        guard n > 0 else { return [] }
        guard a.allFinite else { throw LinearError.notFinite("matrix") }
        var work = a.data
        var wr = [Double](repeating: 0, count: n), wi = [Double](repeating: 0, count: n)
        var vl = [Double](repeating: 0, count: 1), vr = [Double](repeating: 0, count: 1)
        let info = LAPACKE_dgeev(LAPACK_ROW_MAJOR, Int8(UInt8(ascii: "N")), Int8(UInt8(ascii: "N")), Int32(n), &work,
                                 Int32(n), &wr, &wi, &vl, 1, &vr, 1)
        guard info == 0 else { throw LinearError.lapack(routine: "dgeev", info: Int(info)) }
        return (0..<n).map { (wr[$0], wi[$0]) }
    }

    /// Spectral radius max |λ|.
    public static func spectralRadius(_ a: Matrix) throws -> Double {
        try eigenvalues(a).reduce(0) { max($0, ($1.re * $1.re + $1.im * $1.im).squareRoot()) }
    }
}
