import Dispatch
import Linear

/// Scratch space reused by the structured Jacobian products of one sweep (no allocation per step).
public struct JacobianWork {
    var a = Matrix(rows: 0, cols: 0)
    var b = Matrix(rows: 0, cols: 0)
    var j = Matrix(rows: 0, cols: 0)
    /// Set by a kernel that computed, on the way, Σ of squared entries of its output's four blocks (rows and
    /// columns split at the hidden size), as `Matrix.frobeniusSquaredQuadrants(split:)` returns them; nil otherwise.
    public var squares: (hh: Double, hc: Double, ch: Double, cc: Double)?
    public init() {}

    static func ensure(_ m: inout Matrix, _ rows: Int, _ cols: Int) {
        if m.rows != rows || m.cols != cols { m = Matrix(rows: rows, cols: cols) }
    }
}

/// Products with the per-step state Jacobian J_j, using each cell's structure instead of a dense
/// stateSize × stateSize product. `rightMultiply` serves backward sweeps (P ← P·J_j, every lag of one
/// end step), `leftMultiply` forward sweeps (P ← J_j·P, every end step of one start step).
///
/// Rows (for P·J) and columns (for J·P) of P are independent, so a sweep may track only the rows or columns
/// it reports: the skip cell's curves need only the h_t rows of its windowed state, and heatmaps only the
/// h_k columns of every cell.
public protocol StructuredJacobian {
    /// out = P · J_j, for P with `stateSize` columns and any number of rows.
    func rightMultiply(_ p: Matrix, previous: [Double], preactivation: [Double], next: [Double],
                       into out: inout Matrix, work: inout JacobianWork)
    /// out = J_j · P, for P with `stateSize` rows and any number of columns.
    func leftMultiply(_ p: Matrix, previous: [Double], preactivation: [Double], next: [Double],
                      into out: inout Matrix, work: inout JacobianWork)
    /// out = P · (s·J_j) for a power of two s. The vanilla, leaky and LSTM kernels fold s into the per-unit
    /// scalings they apply anyway, so a sweep's renormalisation (`LogScale`) costs no pass over P. Scaling by a
    /// power of two is exact, so the result is the same as scaling P first (unless an entry is subnormal).
    func rightMultiply(_ p: Matrix, previous: [Double], preactivation: [Double], next: [Double], scaledBy s: Double,
                       into out: inout Matrix, work: inout JacobianWork)
}

public extension StructuredJacobian {
    /// The default: the product, then one scaling pass.
    func rightMultiply(_ p: Matrix, previous: [Double], preactivation: [Double], next: [Double], scaledBy s: Double,
                       into out: inout Matrix, work: inout JacobianWork) {
        rightMultiply(p, previous: previous, preactivation: preactivation, next: next, into: &out, work: &work)
        if s != 1 { out.scale(by: s) }
    }
}

public extension RecurrentCell {
    /// The dense fallback: form J_j, then one product.
    func denseRightMultiply(_ p: Matrix, previous: [Double], preactivation: [Double], next: [Double],
                            into out: inout Matrix, work: inout JacobianWork) {
        JacobianWork.ensure(&work.j, stateSize, stateSize)
        stateJacobian(previous: previous, preactivation: preactivation, next: next, into: &work.j)
        JacobianWork.ensure(&out, p.rows, stateSize)
        BLAS.gemm(p, work.j, into: &out)
    }

    func denseLeftMultiply(_ p: Matrix, previous: [Double], preactivation: [Double], next: [Double],
                           into out: inout Matrix, work: inout JacobianWork) {
        JacobianWork.ensure(&work.j, stateSize, stateSize)
        stateJacobian(previous: previous, preactivation: preactivation, next: next, into: &work.j)
        JacobianWork.ensure(&out, stateSize, p.cols)
        BLAS.gemm(work.j, p, into: &out)
    }
}

extension Trajectory {
    /// out = P · J_j (1 ≤ j ≤ steps).
    public func rightMultiply(_ p: Matrix, byJacobianAt j: Int, into out: inout Matrix, work: inout JacobianWork) {
        cell.rightMultiply(p, previous: states[j - 1], preactivation: preactivations[j - 1], next: states[j], into: &out, work: &work)
    }

    /// out = P · (s·J_j) for a power of two s (see `StructuredJacobian`).
    public func rightMultiply(_ p: Matrix, byJacobianAt j: Int, scaledBy s: Double, into out: inout Matrix, work: inout JacobianWork) {
        cell.rightMultiply(p, previous: states[j - 1], preactivation: preactivations[j - 1], next: states[j], scaledBy: s,
                           into: &out, work: &work)
    }

    /// out = J_j · P (1 ≤ j ≤ steps).
    public func leftMultiply(_ p: Matrix, byJacobianAt j: Int, into out: inout Matrix, work: inout JacobianWork) {
        cell.leftMultiply(p, previous: states[j - 1], preactivation: preactivations[j - 1], next: states[j], into: &out, work: &work)
    }
}

/// Row loops of the kernels on two threads: the sweep's matrix products keep both cores busy, its O(n²) passes
/// would otherwise use one. Each half writes its own rows and its own partial results, so the outcome does not
/// depend on scheduling.
enum Halves {
    /// body(0..<count/2) and body(count/2..<count) concurrently when there are at least `minimum` element
    /// operations in all, sequentially (body(0..<count) as halves 0 and 1 in order) otherwise.
    static func run(_ count: Int, elements: Int, minimum: Int = 1 << 17, _ body: (_ half: Int, _ rows: Range<Int>) -> Void) {
        let mid = count / 2
        if elements >= minimum && count >= 2 {
            DispatchQueue.concurrentPerform(iterations: 2) { h in body(h, h == 0 ? 0..<mid : mid..<count) }
        } else {
            body(0, 0..<mid)
            body(1, mid..<count)
        }
    }

    /// Σ x_k² over k in 0..<count with four SIMD accumulators (a fixed order: the same bits on every run).
    @inline(__always)
    static func squares(_ x: UnsafePointer<Double>, _ count: Int) -> Double {
        var acc = SIMD4<Double>(), k = 0
        let raw = UnsafeRawPointer(x)
        while k + 4 <= count {
            let v = raw.loadUnaligned(fromByteOffset: k * 8, as: SIMD4<Double>.self)
            acc += v * v
            k += 4
        }
        var s = (acc[0] + acc[1]) + (acc[2] + acc[3])
        while k < count { s += x[k] * x[k]; k += 1 }
        return s
    }
}

/// Column and row scalings used by the kernels (plain loops over contiguous rows).
enum Scale {
    /// out = P · diag(d) (columns of P scaled), shapes equal; row halves on two threads.
    static func columns(_ p: Matrix, by d: [Double], into out: inout Matrix) {
        JacobianWork.ensure(&out, p.rows, p.cols)
        let c = p.cols
        p.data.withUnsafeBufferPointer { pp in
            out.data.withUnsafeMutableBufferPointer { po in
                d.withUnsafeBufferPointer { pd in
                    let pp = pp.baseAddress!, po = po.baseAddress!, pd = pd.baseAddress!
                    Halves.run(p.rows, elements: p.rows * c) { _, rows in
                        for r in rows {
                            let base = r * c
                            for k in 0..<c { po[base + k] = pp[base + k] * pd[k] }
                        }
                    }
                }
            }
        }
    }

    /// Σ of squared entries of m's four blocks, rows and columns split at `split` (as
    /// `Matrix.frobeniusSquaredQuadrants`), row halves on two threads.
    static func rowSquares(_ m: Matrix, split n: Int) -> (hh: Double, hc: Double, ch: Double, cc: Double) {
        let c = m.cols, left = min(n, c)
        let partial = UnsafeMutablePointer<Double>.allocate(capacity: 8)
        defer { partial.deallocate() }
        partial.initialize(repeating: 0, count: 8)
        m.data.withUnsafeBufferPointer { pm in
            let pm = pm.baseAddress!
            Halves.run(m.rows, elements: m.rows * c) { half, rows in
                var hh = 0.0, hc = 0.0, ch = 0.0, cc = 0.0
                for i in rows {
                    let a = Halves.squares(pm + i * c, left), b = Halves.squares(pm + i * c + left, c - left)
                    if i < n { hh += a; hc += b } else { ch += a; cc += b }
                }
                partial[4 * half] = hh; partial[4 * half + 1] = hc; partial[4 * half + 2] = ch; partial[4 * half + 3] = cc
            }
        }
        return (partial[0] + partial[4], partial[1] + partial[5], partial[2] + partial[6], partial[3] + partial[7])
    }

    /// m ← diag(d) · m (rows scaled in place).
    static func rows(_ m: inout Matrix, by d: [Double]) {
        let c = m.cols
        m.data.withUnsafeMutableBufferPointer { pm in
            for r in 0..<m.rows {
                let s = d[r], base = r * c
                for k in 0..<c { pm[base + k] *= s }
            }
        }
    }

    /// The first `rows` rows of m scaled by d.
    static func rowsOfBlock(_ m: inout Matrix, rows: Int, by d: [Double]) {
        let c = m.cols
        m.data.withUnsafeMutableBufferPointer { pm in
            for r in 0..<rows {
                let s = d[r], base = r * c
                for k in 0..<c { pm[base + k] *= s }
            }
        }
    }

    /// out += P · diag(d) (columns of P scaled, added).
    static func addColumns(_ p: Matrix, by d: [Double], into out: inout Matrix) {
        let c = p.cols
        p.data.withUnsafeBufferPointer { pp in
            out.data.withUnsafeMutableBufferPointer { po in
                for r in 0..<p.rows {
                    let base = r * c
                    for k in 0..<c { po[base + k] += pp[base + k] * d[k] }
                }
            }
        }
    }

    /// out += diag(d) · P (rows of P scaled, added).
    static func addRows(_ p: Matrix, by d: [Double], into out: inout Matrix) {
        let c = p.cols
        p.data.withUnsafeBufferPointer { pp in
            out.data.withUnsafeMutableBufferPointer { po in
                for r in 0..<p.rows {
                    let s = d[r], base = r * c
                    for k in 0..<c { po[base + k] += s * pp[base + k] }
                }
            }
        }
    }
}

// MARK: - Vanilla and leaky cells: J = diag(α) + diag(s)·W_hh

extension VanillaCell: StructuredJacobian {
    /// P·J = (P·diag(f′(a)))·W_hh: a column scaling and one product; J is never formed.
    public func rightMultiply(_ p: Matrix, previous: [Double], preactivation a: [Double], next: [Double],
                              into out: inout Matrix, work: inout JacobianWork) {
        rightMultiply(p, previous: previous, preactivation: a, next: next, scaledBy: 1, into: &out, work: &work)
    }

    /// P·(sJ) = (P·diag(s·f′(a)))·W_hh; the column scaling and a pass summing the output's squares (rows split
    /// at n, `JacobianWork.squares`) run on two threads.
    /// w-of-f form (J = W_hh·diag(f′(h_{j−1}))): P·(sJ) = (P·W_hh)·diag(s·f′(h_{j−1})), one product then a column scaling.
    public func rightMultiply(_ p: Matrix, previous: [Double], preactivation a: [Double], next: [Double], scaledBy s: Double,
                              into out: inout Matrix, work: inout JacobianWork) {
        if form == .wOfF {
            JacobianWork.ensure(&work.a, p.rows, stateSize)
            BLAS.gemm(p, parameters.weightHH, into: &work.a)
            Scale.columns(work.a, by: previous.prefix(stateSize).map { activation.derivative($0) * s }, into: &out)
            work.squares = Scale.rowSquares(out, split: parameters.hiddenSize)
            return
        }
        Scale.columns(p, by: a.map { activation.derivative($0) * s }, into: &work.a)
        JacobianWork.ensure(&out, p.rows, stateSize)
        BLAS.gemm(work.a, parameters.weightHH, into: &out)
        work.squares = Scale.rowSquares(out, split: parameters.hiddenSize)
    }

    /// J·P = diag(f′(a))·(W_hh·P); w-of-f: J·P = W_hh·(diag(f′(h_{j−1}))·P).
    public func leftMultiply(_ p: Matrix, previous: [Double], preactivation a: [Double], next: [Double],
                             into out: inout Matrix, work: inout JacobianWork) {
        if form == .wOfF {
            work.a = p
            Scale.rows(&work.a, by: previous.prefix(stateSize).map(activation.derivative))
            JacobianWork.ensure(&out, stateSize, p.cols)
            BLAS.gemm(parameters.weightHH, work.a, into: &out)
            return
        }
        JacobianWork.ensure(&out, stateSize, p.cols)
        BLAS.gemm(parameters.weightHH, p, into: &out)
        Scale.rows(&out, by: a.map(activation.derivative))
    }
}

extension LeakyCell: StructuredJacobian {
    private func rowScale(_ a: [Double]) -> [Double] {
        (0..<stateSize).map { (1 - alpha[$0]) * Activation.tanh.derivative(a[$0]) }
    }

    /// P·J = (P·diag((1−α)⊙tanh′(a)))·W_hh + P·diag(α).
    public func rightMultiply(_ p: Matrix, previous: [Double], preactivation a: [Double], next: [Double],
                              into out: inout Matrix, work: inout JacobianWork) {
        rightMultiply(p, previous: previous, preactivation: a, next: next, scaledBy: 1, into: &out, work: &work)
    }

    /// P·(sJ), with s folded into both diagonal scalings.
    public func rightMultiply(_ p: Matrix, previous: [Double], preactivation a: [Double], next: [Double], scaledBy s: Double,
                              into out: inout Matrix, work: inout JacobianWork) {
        Scale.columns(p, by: s == 1 ? rowScale(a) : rowScale(a).map { $0 * s }, into: &work.a)
        JacobianWork.ensure(&out, p.rows, stateSize)
        BLAS.gemm(work.a, parameters.weightHH, into: &out)
        Scale.addColumns(p, by: s == 1 ? alpha : alpha.map { $0 * s }, into: &out)
        work.squares = Scale.rowSquares(out, split: parameters.hiddenSize)
    }

    /// J·P = diag((1−α)⊙tanh′(a))·(W_hh·P) + diag(α)·P.
    public func leftMultiply(_ p: Matrix, previous: [Double], preactivation a: [Double], next: [Double],
                             into out: inout Matrix, work: inout JacobianWork) {
        JacobianWork.ensure(&out, stateSize, p.cols)
        BLAS.gemm(parameters.weightHH, p, into: &out)
        Scale.rows(&out, by: rowScale(a))
        Scale.addRows(p, by: alpha, into: &out)
    }
}

// MARK: - GRU: J is built by scaling rows of its three gate blocks (O(n²)), then one product

extension GRUCell: StructuredJacobian {
    public func rightMultiply(_ p: Matrix, previous: [Double], preactivation: [Double], next: [Double],
                              into out: inout Matrix, work: inout JacobianWork) {
        denseRightMultiply(p, previous: previous, preactivation: preactivation, next: next, into: &out, work: &work)
    }

    public func leftMultiply(_ p: Matrix, previous: [Double], preactivation: [Double], next: [Double],
                             into out: inout Matrix, work: inout JacobianWork) {
        denseLeftMultiply(p, previous: previous, preactivation: preactivation, next: next, into: &out, work: &work)
    }
}
