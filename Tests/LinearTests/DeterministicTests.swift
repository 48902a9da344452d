import Foundation
import Linear
import XCTest

/// The training path's kernels: the product must equal the plain sequential sum bit for bit on every
/// kernel path, and the elementary functions must be accurate against the C library.
final class DeterministicTests: XCTestCase {
    override func tearDown() {
        DetLinear.setPath("avx")   // back to the CPU's best
        super.tearDown()
    }

    /// C[i][j] = ((C₀ + a₀b₀) + a₁b₁) + … : the order the kernel promises.
    func reference(_ a: Matrix, _ b: Matrix, _ c0: Matrix, transA: Bool, transB: Bool, accumulate: Bool) -> Matrix {
        let m = transA ? a.cols : a.rows, k = transA ? a.rows : a.cols, n = transB ? b.rows : b.cols
        var c = c0
        for i in 0..<m {
            for j in 0..<n {
                var s = accumulate ? c0[i, j] : 0
                for p in 0..<k {
                    let x = transA ? a[p, i] : a[i, p], y = transB ? b[j, p] : b[p, j]
                    s = s + x * y
                }
                c[i, j] = s
            }
        }
        return c
    }

    func random(_ r: Int, _ c: Int, _ rng: inout SeededRNG) -> Matrix {
        // Wide dynamic range, so a different summation order would show in the last bits.
        Matrix(rows: r, cols: c, data: (0..<(r * c)).map { _ in rng.gaussian() * pow(10, Double(Int(rng.next() % 7)) - 3) })
    }

    func bits(_ m: Matrix) -> [UInt64] { m.data.map(\.bitPattern) }

    func testProductIsTheSequentialSumOnEveryPath() {
        var rng = SeededRNG(seed: 5)
        let sizes = [1, 2, 3, 4, 5, 7, 8, 9, 12, 17, 33]
        var cases = 0
        for path in ["generic", "avx"] {
            let used = DetLinear.setPath(path)
            for _ in 0..<120 {
                let m = sizes[Int(rng.next() % UInt64(sizes.count))], n = sizes[Int(rng.next() % UInt64(sizes.count))]
                let k = sizes[Int(rng.next() % UInt64(sizes.count))]
                let tA = rng.next() % 2 == 0, tB = rng.next() % 2 == 0, acc = rng.next() % 2 == 0
                let a = tA ? random(k, m, &rng) : random(m, k, &rng)
                let b = tB ? random(n, k, &rng) : random(k, n, &rng)
                let c0 = random(m, n, &rng)
                var c = c0
                DetLinear.gemm(a, b, into: &c, transA: tA, transB: tB, accumulate: acc)
                let want = reference(a, b, c0, transA: tA, transB: tB, accumulate: acc)
                XCTAssertEqual(bits(c), bits(want), "\(used): \(m)×\(k)·\(k)×\(n) transA \(tA) transB \(tB) accumulate \(acc)")
                // The packed form gives the same bits.
                var cp = c0
                DetLinear.gemm(a, PackedMatrix(b, transposed: tB), into: &cp, transA: tA, accumulate: acc)
                XCTAssertEqual(bits(cp), bits(want), "packed, \(used)")
                cases += 1
            }
        }
        XCTAssertEqual(cases, 240)
    }

    func testBothPathsAgreeOnTrainingShapes() {
        // The BPTT shapes of an LSTM with n = 128, batch 32 (forward, backward, weight gradient).
        var rng = SeededRNG(seed: 9)
        let h = random(32, 128, &rng), w = random(512, 128, &rng), d = random(32, 512, &rng)
        func run() -> [[UInt64]] {
            var f = Matrix(rows: 32, cols: 512), g = Matrix(rows: 32, cols: 128), gw = Matrix(rows: 512, cols: 128)
            DetLinear.gemm(h, w, into: &f, transB: true)
            DetLinear.gemm(d, w, into: &g)
            DetLinear.gemm(d, h, into: &gw, transA: true)
            return [bits(f), bits(g), bits(gw)]
        }
        DetLinear.setPath("generic")
        let generic = run()
        DetLinear.setPath("avx")
        XCTAssertEqual(run(), generic)
        // And the product is close to BLAS's (which sums in another order).
        let blas = BLAS.multiply(h, w.transposed)
        var f = Matrix(rows: 32, cols: 512)
        DetLinear.gemm(h, w, into: &f, transB: true)
        XCTAssertLessThan((f - blas).maxAbs, 1e-12 * blas.maxAbs)
    }

    func testEdgeShapes() {
        var c = Matrix(rows: 2, cols: 3, repeating: 7)
        DetLinear.gemm(Matrix(rows: 2, cols: 0), Matrix(rows: 0, cols: 3), into: &c, accumulate: true)
        XCTAssertEqual(c.data, [Double](repeating: 7, count: 6), "k = 0 keeps C when accumulating")
        DetLinear.gemm(Matrix(rows: 2, cols: 0), Matrix(rows: 0, cols: 3), into: &c)
        XCTAssertEqual(c.data, [Double](repeating: 0, count: 6), "k = 0 gives zeros otherwise")
        var e = Matrix(rows: 0, cols: 3)
        DetLinear.gemm(Matrix(rows: 0, cols: 4), Matrix(rows: 4, cols: 3), into: &e)
        XCTAssertEqual(e.data.count, 0)
        // Non-finite entries propagate as in the plain sum (padding never leaks into results).
        var z = Matrix(rows: 5, cols: 5)
        let a = Matrix(rows: 5, cols: 1, data: [1, .infinity, 0, .nan, -1])
        DetLinear.gemm(a, Matrix(rows: 1, cols: 5, data: [1, 1, 1, 1, 1]), into: &z)
        XCTAssertEqual(z[0, 4], 1)
        XCTAssertEqual(z[1, 0], .infinity)
        XCTAssertTrue(z[3, 2].isNaN)
        XCTAssertEqual(z[4, 4], -1)
    }

    func testNorms() {
        let x = [3.0, 4, 0, -12]
        XCTAssertEqual(DetLinear.norm(x), 13)
        XCTAssertEqual(DetLinear.norm([1e200, 1e200]), 1e200 * 2.0.squareRoot(), accuracy: 1e186)
        XCTAssertEqual(DetLinear.norm([1e-200, 1e-200]), 1e-200 * 2.0.squareRoot(), accuracy: 1e-214)
        XCTAssertEqual(DetLinear.norm([]), 0)
        XCTAssertEqual(DetLinear.frobeniusNorm(Matrix(rows: 2, cols: 2, data: [1, 2, 2, 4])), 5)
    }

    // MARK: elementary functions

    /// Distance in units in the last place (0 for equal values, including both NaN).
    func ulps(_ a: Double, _ b: Double) -> UInt64 {
        if a.isNaN || b.isNaN { return a.isNaN && b.isNaN ? 0 : .max }
        if a == b { return 0 }
        func ordered(_ x: Double) -> Int64 {
            let i = Int64(bitPattern: x.bitPattern)
            return i < 0 ? Int64.min - i : i
        }
        let d = ordered(a).subtractingReportingOverflow(ordered(b))
        return d.overflow ? .max : d.partialValue.magnitude
    }

    /// Points spread over [lo, hi]: a grid, random values, and their neighbours.
    func samples(_ lo: Double, _ hi: Double, count: Int, seed: UInt64) -> [Double] {
        var rng = SeededRNG(seed: seed)
        var xs = (0...count).map { lo + (hi - lo) * Double($0) / Double(count) }
        xs += (0..<count).map { _ in rng.uniform(lo, hi) }
        return xs
    }

    func maxUlps(_ xs: [Double], _ f: (Double) -> Double, _ g: (Double) -> Double) -> (UInt64, Double) {
        var worst: (UInt64, Double) = (0, .nan)
        for x in xs {
            let u = ulps(f(x), g(x))
            if u > worst.0 { worst = (u, x) }
        }
        return worst
    }

    // References: the C library in extended precision where the platform has it (x86-64), rounded once to
    // Double (≈ 0.5 ulp from the true value); otherwise the C library's Double functions.
    #if arch(x86_64)
    static let refExp: (Double) -> Double = { Double(Foundation.expl(Float80($0))) }
    static let refLog: (Double) -> Double = { Double(Foundation.logl(Float80($0))) }
    static let refTanh: (Double) -> Double = { Double(Foundation.tanhl(Float80($0))) }
    static let refSigmoid: (Double) -> Double = { Double(1 / (1 + Foundation.expl(-Float80($0)))) }
    static let slack: UInt64 = 0
    #else
    static let refExp: (Double) -> Double = { Foundation.exp($0) }
    static let refLog: (Double) -> Double = { Foundation.log($0) }
    static let refTanh: (Double) -> Double = { Foundation.tanh($0) }
    static let refSigmoid: (Double) -> Double = { $0 >= 0 ? 1 / (1 + Foundation.exp(-$0)) : Foundation.exp($0) / (1 + Foundation.exp($0)) }
    static let slack: UInt64 = 1
    #endif

    func testExp() {
        var xs = samples(-745, 709.78, count: 100_000, seed: 1) + samples(-1, 1, count: 50_000, seed: 2)
        xs += samples(-1e-6, 1e-6, count: 1000, seed: 3) + [0, -0.0, 1e-300, -1e-300, 0x1p-1074, 709.782712893383, -708.39, -744.4]
        let (u, x) = maxUlps(xs, DetMath.exp, Self.refExp)
        XCTAssertLessThanOrEqual(u, 1 + Self.slack, "exp(\(x)) is \(u) ulp off")
        XCTAssertEqual(DetMath.exp(0), 1)
        XCTAssertEqual(DetMath.exp(1), M_E, accuracy: 0)   // e rounds correctly
        XCTAssertEqual(DetMath.exp(.infinity), .infinity)
        XCTAssertEqual(DetMath.exp(-.infinity), 0)
        XCTAssertEqual(DetMath.exp(710), .infinity)
        XCTAssertEqual(DetMath.exp(-746), 0)
        XCTAssertTrue(DetMath.exp(.nan).isNaN)
        XCTAssertTrue(DetMath.exp(-740).isSubnormal)
        XCTAssertEqual(DetMath.exp(709.78).isFinite, true)
    }

    func testLog() {
        var rng = SeededRNG(seed: 4)
        var xs = (0..<100_000).map { _ in Double(sign: .plus, exponent: Int(rng.next() % 2046) - 1022, significand: 1 + rng.uniform()) }
        xs += samples(0.5, 2, count: 50_000, seed: 5) + samples(1 - 1e-6, 1 + 1e-6, count: 1000, seed: 6)
        xs += [0x1p-1074, 1e-310, 3e-320, .greatestFiniteMagnitude, .leastNormalMagnitude, 2, 0.5, 10]
        let (u, x) = maxUlps(xs, DetMath.log, Self.refLog)
        XCTAssertLessThanOrEqual(u, 1 + Self.slack, "log(\(x)) is \(u) ulp off")
        XCTAssertEqual(DetMath.log(1), 0)
        XCTAssertEqual(DetMath.log(0), -.infinity)
        XCTAssertEqual(DetMath.log(-0.0), -.infinity)
        XCTAssertTrue(DetMath.log(-1).isNaN)
        XCTAssertTrue(DetMath.log(-.infinity).isNaN)
        XCTAssertTrue(DetMath.log(.nan).isNaN)
        XCTAssertEqual(DetMath.log(.infinity), .infinity)
    }

    func testTanh() {
        var xs = samples(-25, 25, count: 100_000, seed: 7) + samples(-1, 1, count: 50_000, seed: 8)
        xs += samples(-1e-4, 1e-4, count: 5000, seed: 9) + [0x1p-1074, -1e-310, 1e-20, 0x1p-28, 0.55, 22, -22, 21.99]
        let (u, x) = maxUlps(xs, DetMath.tanh, Self.refTanh)
        XCTAssertLessThanOrEqual(u, 2 + Self.slack, "tanh(\(x)) is \(u) ulp off")
        XCTAssertEqual(DetMath.tanh(.infinity), 1)
        XCTAssertEqual(DetMath.tanh(-.infinity), -1)
        XCTAssertEqual(DetMath.tanh(1000), 1)
        XCTAssertTrue(DetMath.tanh(.nan).isNaN)
        XCTAssertEqual(DetMath.tanh(-0.0).sign, .minus)
        XCTAssertEqual(DetMath.tanh(0x1p-1074), 0x1p-1074)
        // Odd.
        for x in xs.prefix(1000) { XCTAssertEqual(DetMath.tanh(-x), -DetMath.tanh(x)) }
    }

    func testSigmoid() {
        let xs = samples(-745, 40, count: 100_000, seed: 10) + samples(-5, 5, count: 50_000, seed: 11)
        let (u, x) = maxUlps(xs, DetMath.sigmoid, Self.refSigmoid)
        XCTAssertLessThanOrEqual(u, 2 + Self.slack, "sigmoid(\(x)) is \(u) ulp off")
        XCTAssertEqual(DetMath.sigmoid(0), 0.5)
        XCTAssertEqual(DetMath.sigmoid(.infinity), 1)
        XCTAssertEqual(DetMath.sigmoid(-.infinity), 0)
        XCTAssertEqual(DetMath.sigmoid(-800), 0)
        XCTAssertEqual(DetMath.sigmoid(40), 1)
        XCTAssertTrue(DetMath.sigmoid(.nan).isNaN)
    }

    // MARK: initialisation

    func testGaussianAndOrthogonal() {
        var rng = SeededRNG(seed: 12)
        let g = (0..<200_000).map { _ in DetRandom.gaussian(&rng) }
        let mean = g.reduce(0, +) / Double(g.count)
        let variance = g.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(g.count)
        XCTAssertEqual(mean, 0, accuracy: 0.01)
        XCTAssertEqual(variance, 1, accuracy: 0.01)
        XCTAssertEqual(Double(g.filter { abs($0) > 1.959964 }.count) / Double(g.count), 0.05, accuracy: 0.003)

        for n in [1, 2, 5, 32] {
            var r1 = SeededRNG(seed: 3), r2 = SeededRNG(seed: 3)
            let q = DetRandom.orthogonal(n: n, gain: 2, rng: &r1)
            XCTAssertEqual(q.data.map(\.bitPattern), DetRandom.orthogonal(n: n, gain: 2, rng: &r2).data.map(\.bitPattern))
            let qtq = DetLinear.multiply(q, q, transA: true)
            XCTAssertLessThan((qtq - Matrix.identity(n) * 4).maxAbs, 1e-13, "n = \(n): QᵀQ = 4·I")
        }
        // Haar: diag(R) > 0 means Q = G R⁻¹ has a positive-diagonal triangular R = Qᵀ G.
        var r3 = SeededRNG(seed: 8), r4 = SeededRNG(seed: 8)
        let q = DetRandom.orthogonal(n: 6, rng: &r3)
        let gm = DetRandom.gaussian(rows: 6, cols: 6, std: 1, rng: &r4)
        let r = DetLinear.multiply(q, gm, transA: true)
        for i in 0..<6 {
            XCTAssertGreaterThan(r[i, i], 0)
            for j in 0..<i { XCTAssertEqual(r[i, j], 0, accuracy: 1e-12) }
        }
    }
}
