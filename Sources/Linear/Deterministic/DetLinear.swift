import CDetGEMM

/// Matrix products and reductions whose results do not depend on the CPU: the training path's linear
/// algebra (BLAS may pick a different kernel, and so a different summation order, on every CPU).
///
/// Every output element of a product is C[i,j] = ((C₀ + A[i,0]·B[0,j]) + A[i,1]·B[1,j]) + … in increasing k,
/// with separate multiplies and adds: the kernel (CDetGEMM) vectorises across output columns, so the SIMD
/// width (SSE2, AVX, NEON) changes the speed, never the bits. `DetLinear.path` names the kernel in use.
public enum DetLinear {
    /// "avx" or "generic": the instantiation of the kernel this CPU runs (GRADLAB_KERNEL=generic forces
    /// the generic one). Both give identical results.
    public static var path: String { gdk_path() == 1 ? "avx" : "generic" }

    /// Chooses the kernel (tests compare the two); "avx" falls back to generic on CPUs without AVX.
    /// Returns the path now in use.
    @discardableResult
    public static func setPath(_ name: String) -> String {
        gdk_set_path(name == "avx" ? 1 : 0) == 1 ? "avx" : "generic"
    }

    /// C ← (accumulate ? C : 0) + op(A)·op(B).
    public static func gemm(_ a: Matrix, _ b: Matrix, into c: inout Matrix,
                            transA: Bool = false, transB: Bool = false, accumulate: Bool = false) {
        let m = transA ? a.cols : a.rows, k = transA ? a.rows : a.cols
        let kb = transB ? b.cols : b.rows, n = transB ? b.rows : b.cols
        precondition(k == kb && c.rows == m && c.cols == n,
                     "gemm: shapes \(a.rows)×\(a.cols), \(b.rows)×\(b.cols) → \(c.rows)×\(c.cols)")
        let (rsa, csa) = transA ? (1, a.cols) : (a.cols, 1)
        let (rsb, csb) = transB ? (1, b.cols) : (b.cols, 1)
        a.data.withUnsafeBufferPointer { pa in
            b.data.withUnsafeBufferPointer { pb in
                c.data.withUnsafeMutableBufferPointer { pc in
                    gdk_gemm(m, n, k, pa.baseAddress, rsa, csa, pb.baseAddress, rsb, csb, pc.baseAddress, c.cols,
                             accumulate ? 1 : 0)
                }
            }
        }
    }

    /// C ← (accumulate ? C : 0) + op(A)·B for a B packed once (e.g. a weight matrix used at every step).
    public static func gemm(_ a: Matrix, _ b: PackedMatrix, into c: inout Matrix, transA: Bool = false, accumulate: Bool = false) {
        let m = transA ? a.cols : a.rows, k = transA ? a.rows : a.cols
        precondition(k == b.rows && c.rows == m && c.cols == b.cols,
                     "gemm: shapes \(a.rows)×\(a.cols), packed \(b.rows)×\(b.cols) → \(c.rows)×\(c.cols)")
        let (rsa, csa) = transA ? (1, a.cols) : (a.cols, 1)
        a.data.withUnsafeBufferPointer { pa in
            b.storage.withUnsafeBufferPointer { pb in
                c.data.withUnsafeMutableBufferPointer { pc in
                    gdk_gemm_packed(m, b.cols, k, pa.baseAddress, rsa, csa, pb.baseAddress, b.panelWidth, pc.baseAddress,
                                    c.cols, accumulate ? 1 : 0)
                }
            }
        }
    }

    /// y ← (accumulate ? y : 0) + A·x, each y_i = ((y_i + A[i,0]·x₀) + A[i,1]·x₁) + … in order. Four rows at a
    /// time (independent sums, so the CPU overlaps them); no BLAS, so the same bits on every CPU.
    public static func gemv(_ a: Matrix, _ x: UnsafeBufferPointer<Double>, into y: inout [Double], accumulate: Bool = false) {
        precondition(x.count >= a.cols && y.count == a.rows, "gemv: \(a.rows)×\(a.cols) · \(x.count) → \(y.count)")
        let m = a.rows, k = a.cols
        a.data.withUnsafeBufferPointer { pa in
            y.withUnsafeMutableBufferPointer { py in
                guard let w = pa.baseAddress, let xs = x.baseAddress else {
                    if !accumulate { for i in 0..<m { py[i] = 0 } }
                    return
                }
                var i = 0
                while i + 4 <= m {
                    let r0 = w + i * k, r1 = r0 + k, r2 = r1 + k, r3 = r2 + k
                    var s0 = accumulate ? py[i] : 0, s1 = accumulate ? py[i + 1] : 0
                    var s2 = accumulate ? py[i + 2] : 0, s3 = accumulate ? py[i + 3] : 0
                    for p in 0..<k {
                        let v = xs[p]
                        s0 = s0 + r0[p] * v; s1 = s1 + r1[p] * v; s2 = s2 + r2[p] * v; s3 = s3 + r3[p] * v
                    }
                    py[i] = s0; py[i + 1] = s1; py[i + 2] = s2; py[i + 3] = s3
                    i += 4
                }
                while i < m {
                    let r = w + i * k
                    var s = accumulate ? py[i] : 0
                    for p in 0..<k { s = s + r[p] * xs[p] }
                    py[i] = s
                    i += 1
                }
            }
        }
    }

    /// y ← (accumulate ? y : 0) + A·x (see the pointer form).
    public static func gemv(_ a: Matrix, _ x: [Double], into y: inout [Double], accumulate: Bool = false) {
        x.withUnsafeBufferPointer { gemv(a, $0, into: &y, accumulate: accumulate) }
    }

    /// A · B.
    public static func multiply(_ a: Matrix, _ b: Matrix, transA: Bool = false, transB: Bool = false) -> Matrix {
        var c = Matrix(rows: transA ? a.cols : a.rows, cols: transB ? b.rows : b.cols)
        gemm(a, b, into: &c, transA: transA, transB: transB)
        return c
    }

    /// Σ x_i² in index order.
    public static func sumOfSquares(_ x: [Double]) -> Double {
        x.withUnsafeBufferPointer { p in
            var s = 0.0
            for v in p { s = s + v * v }
            return s
        }
    }

    /// ‖x‖₂ in a fixed order: the plain sum of squares, or the scaled (dnrm2-style) loop of `Vector.norm`
    /// when that sum under- or overflows.
    public static func norm(_ x: [Double]) -> Double {
        let ss = sumOfSquares(x)
        if ss.isFinite && ss > 1e-280 && ss < 1e280 { return ss.squareRoot() }
        return Vector.norm(x)
    }

    /// Frobenius norm in a fixed order (see `norm`).
    public static func frobeniusNorm(_ m: Matrix) -> Double { norm(m.data) }
}

/// op(B) (rows × cols) packed into the kernel's column panels, for products that reuse the same B.
public struct PackedMatrix: Sendable {
    public let rows: Int
    public let cols: Int
    let panelWidth: Int
    let storage: [Double]

    /// Packs `b` (or its transpose) for the kernel path in use.
    public init(_ b: Matrix, transposed: Bool = false) {
        let r = transposed ? b.cols : b.rows, c = transposed ? b.rows : b.cols
        let (rs, cs) = transposed ? (1, b.cols) : (b.cols, 1)
        let nr = gdk_panel_width()
        let panels = (c + nr - 1) / nr
        var out = [Double](repeating: 0, count: max(1, panels * nr * r))
        b.data.withUnsafeBufferPointer { pb in
            out.withUnsafeMutableBufferPointer { po in
                if r > 0 && c > 0 { gdk_pack_b(r, c, pb.baseAddress, rs, cs, nr, po.baseAddress) }
            }
        }
        rows = r
        cols = c
        panelWidth = nr
        storage = out
    }
}
