import XCTest
import Foundation
import Linear

final class LinearTests: XCTestCase {
    func testGemmMatchesNaiveProduct() {
        var rng = SeededRNG(seed: 1)
        let a = Init.gaussian(rows: 5, cols: 7, std: 1, rng: &rng)
        let b = Init.gaussian(rows: 7, cols: 3, std: 1, rng: &rng)
        let c = a * b
        for i in 0..<5 { for j in 0..<3 {
            var s = 0.0; for k in 0..<7 { s += a[i, k] * b[k, j] }
            XCTAssertEqual(c[i, j], s, accuracy: 1e-12)
        } }
        var ct = Matrix(rows: 3, cols: 5)
        BLAS.gemm(b, a, into: &ct, transA: true, transB: true)
        for i in 0..<15 { XCTAssertEqual(ct.data[i], c.transposed.data[i], accuracy: 1e-12) }
        let x = rng.gaussians(7)
        let y = a * x
        for i in 0..<5 { XCTAssertEqual(y[i], (0..<7).reduce(0) { $0 + a[i, $1] * x[$1] }, accuracy: 1e-12) }
    }

    func testSVDAndNorms() throws {
        // diag(3, −2, 0.5) rotated by orthogonal matrices has singular values 3, 2, 0.5.
        var rng = SeededRNG(seed: 2)
        let q1 = Init.orthogonal(n: 3, rng: &rng), q2 = Init.orthogonal(n: 3, rng: &rng)
        let a = q1 * Matrix.diagonal([3, -2, 0.5]) * q2
        let s = try SVD.singularValues(a)
        XCTAssertEqual(s[0], 3, accuracy: 1e-12); XCTAssertEqual(s[1], 2, accuracy: 1e-12); XCTAssertEqual(s[2], 0.5, accuracy: 1e-12)
        XCTAssertEqual(a.spectralNorm, 3, accuracy: 1e-12)
        XCTAssertEqual(a.frobeniusNorm, (9 + 4 + 0.25).squareRoot(), accuracy: 1e-12)
        let (u, sv, vt) = try SVD.decompose(a)
        let back = u.scalingColumns(by: sv) * vt
        for i in 0..<9 { XCTAssertEqual(back.data[i], a.data[i], accuracy: 1e-12) }
        XCTAssertThrowsError(try SVD.singularValues(Matrix(rows: 1, cols: 1, data: [.nan])))
    }

    func testFrobeniusNormDoesNotOverflowOrUnderflow() {
        XCTAssertEqual(Vector.norm([3e300, 4e300]), 5e300, accuracy: 1e286)
        XCTAssertEqual(Vector.norm([3e-300, 4e-300]), 5e-300, accuracy: 1e-314)
        XCTAssertEqual(Vector.norm([]), 0)
    }

    func testQROrthogonalAndPositiveDiagonal() throws {
        var rng = SeededRNG(seed: 3)
        let a = Init.gaussian(rows: 6, cols: 4, std: 1, rng: &rng)
        let (q, r) = try QR.decompose(a)
        XCTAssertEqual(q.rows, 6); XCTAssertEqual(q.cols, 4); XCTAssertEqual(r.rows, 4)
        let qtq = q.transposed * q
        for i in 0..<4 { for j in 0..<4 { XCTAssertEqual(qtq[i, j], i == j ? 1 : 0, accuracy: 1e-12) } }
        for i in 0..<4 { XCTAssertGreaterThan(r[i, i], 0); for j in 0..<i { XCTAssertEqual(r[i, j], 0) } }
        let back = q * r
        for i in 0..<24 { XCTAssertEqual(back.data[i], a.data[i], accuracy: 1e-12) }
    }

    func testOrthogonalInitialiserHasAllSingularValuesEqualToGain() throws {
        var rng = SeededRNG(seed: 4)
        let w = Init.orthogonal(n: 16, gain: 1.3, rng: &rng)
        for s in try SVD.singularValues(w) { XCTAssertEqual(s, 1.3, accuracy: 1e-12) }
    }

    func testEigenvaluesAndSpectralRadius() throws {
        // Rotation by θ scaled by 2: eigenvalues 2e^{±iθ}, spectral radius 2 (while ‖A‖₂ is also 2).
        let t = 0.3
        let a = Matrix(rows: 2, cols: 2, data: [2 * cos(t), -2 * sin(t), 2 * sin(t), 2 * cos(t)])
        XCTAssertEqual(try Eigen.spectralRadius(a), 2, accuracy: 1e-12)
        // Non-normal: radius 0.5 while the norm is about 10.
        let j = Matrix(rows: 2, cols: 2, data: [0.5, 10, 0, 0.5])
        XCTAssertEqual(try Eigen.spectralRadius(j), 0.5, accuracy: 1e-12)
        XCTAssertGreaterThan(j.spectralNorm, 10)
    }

    func testPowerIterationAgreesWithSVD() {
        var rng = SeededRNG(seed: 5)
        var est = SpectralNormEstimator()
        var p = Matrix.identity(32)
        for _ in 0..<50 {
            p = p * Init.recurrent(n: 32, gain: 1, rng: &rng)
            p = p * (1 / p.frobeniusNorm)
            let s = est.norm(p)
            XCTAssertEqual(s, p.spectralNorm, accuracy: 1e-10 * p.spectralNorm)
        }
        XCTAssertLessThan(est.fallbacks, 25, "warm start should converge for most products")
    }

    func testSeededRNGIsDeterministicAndGaussian() {
        var a = SeededRNG(seed: 42), b = SeededRNG(seed: 42), c = SeededRNG(seed: 43)
        let xa = a.gaussians(20000), xb = b.gaussians(20000), xc = c.gaussians(5)
        XCTAssertEqual(xa, xb)
        XCTAssertNotEqual(Array(xa.prefix(5)), xc)
        let mean = xa.reduce(0, +) / 20000
        let variance = xa.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / 20000
        XCTAssertEqual(mean, 0, accuracy: 0.03)
        XCTAssertEqual(variance, 1, accuracy: 0.04)
        var r = SeededRNG(seed: 7)
        let w = Init.recurrent(n: 200, gain: 1.5, rng: &r)
        let std = (w.data.reduce(0) { $0 + $1 * $1 } / Double(w.data.count)).squareRoot()
        XCTAssertEqual(std, 1.5 / 200.0.squareRoot(), accuracy: 0.002)
    }
}

