import CLapack

/// A dense real matrix, row-major, contiguous `Double` storage.
///
/// Row-major matches PyTorch's weight layout (`weight_hh[i][j]` is row i, column j), so model files
/// map straight onto `data`. Products and decompositions go through OpenBLAS / LAPACKE (see `BLAS.swift`).
public struct Matrix: Equatable, Sendable, CustomStringConvertible {
    public let rows: Int
    public let cols: Int
    public var data: [Double]

    public init(rows: Int, cols: Int, data: [Double]) {
        precondition(rows >= 0 && cols >= 0 && data.count == rows * cols, "Matrix: data count \(data.count) ≠ \(rows)×\(cols)")
        self.rows = rows
        self.cols = cols
        self.data = data
    }

    public init(rows: Int, cols: Int, repeating value: Double = 0) {
        self.init(rows: rows, cols: cols, data: [Double](repeating: value, count: rows * cols))
    }

    /// Builds a matrix from nested rows; all rows must have the same length.
    public init?(nestedRows: [[Double]]) {
        let r = nestedRows.count
        let c = nestedRows.first?.count ?? 0
        guard nestedRows.allSatisfy({ $0.count == c }) else { return nil }
        self.init(rows: r, cols: c, data: nestedRows.flatMap { $0 })
    }

    public static func identity(_ n: Int) -> Matrix {
        var m = Matrix(rows: n, cols: n)
        for i in 0..<n { m.data[i * n + i] = 1 }
        return m
    }

    public static func diagonal(_ d: [Double]) -> Matrix {
        var m = Matrix(rows: d.count, cols: d.count)
        for i in 0..<d.count { m.data[i * d.count + i] = d[i] }
        return m
    }

    @inline(__always)
    public subscript(i: Int, j: Int) -> Double {
        get { data[i * cols + j] }
        set { data[i * cols + j] = newValue }
    }

    public var isSquare: Bool { rows == cols }
    public var nestedRows: [[Double]] { (0..<rows).map { Array(data[($0 * cols)..<(($0 + 1) * cols)]) } }
    public var transposed: Matrix {
        var t = Matrix(rows: cols, cols: rows)
        for i in 0..<rows { for j in 0..<cols { t.data[j * rows + i] = data[i * cols + j] } }
        return t
    }
    public var allFinite: Bool { data.allSatisfy { $0.isFinite } }

    /// Rows `r0..<r1`, columns `c0..<c1` as a new matrix.
    public func block(rows r: Range<Int>, cols c: Range<Int>) -> Matrix {
        var b = Matrix(rows: r.count, cols: c.count)
        for (bi, i) in r.enumerated() {
            for (bj, j) in c.enumerated() { b.data[bi * c.count + bj] = data[i * cols + j] }
        }
        return b
    }

    /// Writes `b` into this matrix with its top-left corner at (r, c).
    public mutating func setBlock(_ b: Matrix, at r: Int, _ c: Int) {
        precondition(r + b.rows <= rows && c + b.cols <= cols)
        for i in 0..<b.rows { for j in 0..<b.cols { data[(r + i) * cols + c + j] = b.data[i * b.cols + j] } }
    }

    /// diag(d) · self: scales row i by d[i].
    public func scalingRows(by d: [Double]) -> Matrix {
        precondition(d.count == rows)
        var m = self
        for i in 0..<rows { for j in 0..<cols { m.data[i * cols + j] *= d[i] } }
        return m
    }

    /// self · diag(d): scales column j by d[j].
    public func scalingColumns(by d: [Double]) -> Matrix {
        precondition(d.count == cols)
        var m = self
        for i in 0..<rows { for j in 0..<cols { m.data[i * cols + j] *= d[j] } }
        return m
    }

    public static func * (a: Matrix, s: Double) -> Matrix { Matrix(rows: a.rows, cols: a.cols, data: a.data.map { $0 * s }) }
    public static func + (a: Matrix, b: Matrix) -> Matrix {
        precondition(a.rows == b.rows && a.cols == b.cols)
        return Matrix(rows: a.rows, cols: a.cols, data: zip(a.data, b.data).map { $0 + $1 })
    }
    public static func - (a: Matrix, b: Matrix) -> Matrix {
        precondition(a.rows == b.rows && a.cols == b.cols)
        return Matrix(rows: a.rows, cols: a.cols, data: zip(a.data, b.data).map { $0 - $1 })
    }
    /// Matrix product via `cblas_dgemm`.
    public static func * (a: Matrix, b: Matrix) -> Matrix { BLAS.multiply(a, b) }
    /// Matrix–vector product via `cblas_dgemv`.
    public static func * (a: Matrix, x: [Double]) -> [Double] { BLAS.multiply(a, x) }

    public var description: String {
        nestedRows.map { $0.map { String(format: "%10.5f", $0) }.joined(separator: " ") }.joined(separator: "\n")
    }

    // MARK: norms

    /// Frobenius norm. Fast path: BLAS dot product; when that under- or overflows, the scaled (dnrm2-style)
    /// sum, so huge and tiny entries are still exact.
    public var frobeniusNorm: Double {
        let ss = data.withUnsafeBufferPointer { cblas_ddot(Int32($0.count), $0.baseAddress, 1, $0.baseAddress, 1) }
        if ss.isFinite && ss > 1e-280 && ss < 1e280 { return ss.squareRoot() }
        return Vector.norm(data)
    }

    /// Multiplies every entry by `s` in place (cblas_dscal).
    public mutating func scale(by s: Double) {
        data.withUnsafeMutableBufferPointer { cblas_dscal(Int32($0.count), s, $0.baseAddress, 1) }
    }
    /// Largest absolute entry.
    public var maxAbs: Double { data.reduce(0) { max($0, abs($1)) } }
    /// Spectral norm ‖A‖₂ = σ_max, from LAPACK's SVD.
    public var spectralNorm: Double { (try? SVD.singularValues(self).first) ?? .nan }
}

/// Vector helpers on `[Double]`.
public enum Vector {
    /// Euclidean norm with scaling (LAPACK's dnrm2 approach): safe for huge and tiny entries.
    public static func norm(_ x: [Double]) -> Double {
        x.withUnsafeBufferPointer { norm($0) }
    }
    public static func norm(_ x: UnsafeBufferPointer<Double>) -> Double {
        var scale = 0.0, ssq = 1.0
        for v in x where v != 0 {
            let a = abs(v)
            if scale < a { ssq = 1 + ssq * (scale / a) * (scale / a); scale = a } else { ssq += (a / scale) * (a / scale) }
        }
        return scale * ssq.squareRoot()
    }
    public static func dot(_ a: [Double], _ b: [Double]) -> Double {
        precondition(a.count == b.count)
        return cblas_ddot(Int32(a.count), a, 1, b, 1)
    }
    public static func maxAbs(_ x: [Double]) -> Double { x.reduce(0) { max($0, abs($1)) } }
}
