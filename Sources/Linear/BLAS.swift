import CLapack

/// Thin Swift wrappers over CBLAS (OpenBLAS). All matrices are row-major.
public enum BLAS {
    /// OpenBLAS's own thread count. gradlab sets it to 1 when it parallelises over experiments itself.
    public static var threads: Int {
        get { Int(openblas_get_num_threads()) }
        set { openblas_set_num_threads(Int32(max(1, newValue))) }
    }

    /// C = A · B.
    public static func multiply(_ a: Matrix, _ b: Matrix) -> Matrix {
        var c = Matrix(rows: a.rows, cols: b.cols)
        gemm(a, b, into: &c)
        return c
    }

    /// C ← α·op(A)·op(B) + β·C, writing into existing storage (no allocation in hot loops).
    public static func gemm(_ a: Matrix, _ b: Matrix, into c: inout Matrix,
                            transA: Bool = false, transB: Bool = false, alpha: Double = 1, beta: Double = 0) {
        let m = transA ? a.cols : a.rows
        let k = transA ? a.rows : a.cols
        let kb = transB ? b.cols : b.rows
        let n = transB ? b.rows : b.cols
        precondition(k == kb && c.rows == m && c.cols == n, "gemm: shapes \(a.rows)×\(a.cols), \(b.rows)×\(b.cols) → \(c.rows)×\(c.cols)")
        if m == 0 || n == 0 { return }
        if k == 0 { for i in c.data.indices { c.data[i] *= beta }; return }
        a.data.withUnsafeBufferPointer { pa in
            b.data.withUnsafeBufferPointer { pb in
                c.data.withUnsafeMutableBufferPointer { pc in
                    cblas_dgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                                Int32(m), Int32(n), Int32(k), alpha, pa.baseAddress, Int32(a.cols),
                                pb.baseAddress, Int32(b.cols), beta, pc.baseAddress, Int32(c.cols))
                }
            }
        }
    }

    /// y = A · x.
    public static func multiply(_ a: Matrix, _ x: [Double]) -> [Double] {
        var y = [Double](repeating: 0, count: a.rows)
        gemv(a, x, into: &y)
        return y
    }

    /// y ← α·op(A)·x + β·y.
    public static func gemv(_ a: Matrix, _ x: [Double], into y: inout [Double], trans: Bool = false,
                            alpha: Double = 1, beta: Double = 0) {
        precondition(x.count == (trans ? a.rows : a.cols) && y.count == (trans ? a.cols : a.rows), "gemv: shape mismatch")
        if a.rows == 0 || a.cols == 0 { for i in y.indices { y[i] *= beta }; return }
        a.data.withUnsafeBufferPointer { pa in
            y.withUnsafeMutableBufferPointer { py in
                cblas_dgemv(CblasRowMajor, trans ? CblasTrans : CblasNoTrans, Int32(a.rows), Int32(a.cols), alpha,
                            pa.baseAddress, Int32(a.cols), x, 1, beta, py.baseAddress, 1)
            }
        }
    }

    /// y ← op(B)·x for the block B of `a`, read in place (leading dimension `a.cols`).
    public static func gemv(_ a: Matrix, block b: MatrixBlock, _ x: [Double], into y: inout [Double], trans: Bool = false) {
        let m = b.rows.count, n = b.cols.count
        precondition(x.count == (trans ? m : n) && y.count == (trans ? n : m), "gemv: block shape mismatch")
        if m == 0 || n == 0 { for i in y.indices { y[i] = 0 }; return }
        a.data.withUnsafeBufferPointer { pa in
            y.withUnsafeMutableBufferPointer { py in
                cblas_dgemv(CblasRowMajor, trans ? CblasTrans : CblasNoTrans, Int32(m), Int32(n), 1,
                            pa.baseAddress! + b.rows.lowerBound * a.cols + b.cols.lowerBound, Int32(a.cols), x, 1, 0,
                            py.baseAddress, 1)
            }
        }
    }

    /// C_blk ← A_blk · B_blk + β·C_blk on blocks read and written in place (each with its matrix's leading
    /// dimension). The blocks must not overlap C's block.
    public static func gemm(_ a: Matrix, _ ab: MatrixBlock, _ b: Matrix, _ bb: MatrixBlock,
                            into c: inout Matrix, _ cb: MatrixBlock, beta: Double = 0) {
        let m = ab.rows.count, k = ab.cols.count, n = bb.cols.count
        precondition(bb.rows.count == k && cb.rows.count == m && cb.cols.count == n, "gemm: block shapes")
        if m == 0 || n == 0 { return }
        a.data.withUnsafeBufferPointer { pa in
            b.data.withUnsafeBufferPointer { pb in
                c.data.withUnsafeMutableBufferPointer { pc in
                    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(m), Int32(n), Int32(k), 1,
                                pa.baseAddress! + ab.rows.lowerBound * a.cols + ab.cols.lowerBound, Int32(a.cols),
                                pb.baseAddress! + bb.rows.lowerBound * b.cols + bb.cols.lowerBound, Int32(b.cols), beta,
                                pc.baseAddress! + cb.rows.lowerBound * c.cols + cb.cols.lowerBound, Int32(c.cols))
                }
            }
        }
    }

    /// C ← op(A_blk) · B for a block of A read in place; B and C whole matrices.
    public static func gemm(_ a: Matrix, block ab: MatrixBlock, transA: Bool, _ b: Matrix, into c: inout Matrix) {
        let m = transA ? ab.cols.count : ab.rows.count, k = transA ? ab.rows.count : ab.cols.count, n = b.cols
        precondition(b.rows == k && c.rows == m && c.cols == n, "gemm: block shapes")
        if m == 0 || n == 0 { return }
        a.data.withUnsafeBufferPointer { pa in
            b.data.withUnsafeBufferPointer { pb in
                c.data.withUnsafeMutableBufferPointer { pc in
                    cblas_dgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, CblasNoTrans, Int32(m), Int32(n), Int32(k), 1,
                                pa.baseAddress! + ab.rows.lowerBound * a.cols + ab.cols.lowerBound, Int32(a.cols),
                                pb.baseAddress, Int32(b.cols), 0, pc.baseAddress, Int32(c.cols))
                }
            }
        }
    }
}
