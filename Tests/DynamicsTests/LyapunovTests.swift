import Foundation
import XCTest
import Dynamics
import Linear

final class LyapunovTests: XCTestCase {
    func testDigammaKnownValues() {
        let eulerGamma = 0.57721566490153286061
        XCTAssertEqual(Lyapunov.digamma(1), -eulerGamma, accuracy: 1e-14)
        XCTAssertEqual(Lyapunov.digamma(0.5), -eulerGamma - 2 * log(2.0), accuracy: 1e-14)
        XCTAssertEqual(Lyapunov.digamma(2), 1 - eulerGamma, accuracy: 1e-14)
        XCTAssertEqual(Lyapunov.digamma(1.5), 2 - eulerGamma - 2 * log(2.0), accuracy: 1e-14)
        // ψ(n) = H_{n−1} − γ
        let h9 = (1...9).reduce(0.0) { $0 + 1 / Double($1) }
        XCTAssertEqual(Lyapunov.digamma(10), h9 - eulerGamma, accuracy: 1e-14)
        XCTAssertEqual(Lyapunov.digamma(100), 4.600161852738087, accuracy: 1e-13)
        XCTAssertEqual(Lyapunov.digamma(0.1), -10.423754940411076, accuracy: 1e-12)
        XCTAssertEqual(Lyapunov.digamma(-0.5), 0.03648997397857652, accuracy: 1e-13)
        XCTAssertTrue(Lyapunov.digamma(0).isNaN)
        XCTAssertTrue(Lyapunov.digamma(-2).isNaN)
        // Recurrence ψ(x+1) = ψ(x) + 1/x across the series switch-over.
        for x in stride(from: 0.3, to: 9.0, by: 0.37) {
            XCTAssertEqual(Lyapunov.digamma(x + 1), Lyapunov.digamma(x) + 1 / x, accuracy: 1e-13)
        }
    }

    func testLinearOrthogonalRNNGivesLogRho() throws {
        for rho in [0.9, 1.0, 1.3] {
            let spec = RandomModelSpec(kind: .linear, hidden: 32, input: 4, steps: 400, gain: rho, seed: 5, initialization: .orthogonal)
            let traj = try Trajectory(model: RandomModels.make(spec))
            let top = try Lyapunov.exponents(traj, count: 1)
            XCTAssertEqual(top.top, log(rho), accuracy: 1e-9)
            // Every direction grows at the same rate: the full spectrum is flat at log ρ.
            let all = try Lyapunov.exponents(traj, warmup: 10)
            XCTAssertEqual(all.exponents.count, 32)
            for l in all.exponents { XCTAssertEqual(l, log(rho), accuracy: 1e-9) }
            XCTAssertEqual(all.decadesPerStep[0], log10(rho), accuracy: 1e-9)
        }
    }

    func testLinearNormalMatrixGivesLogSpectralRadius() throws {
        // W = O diag-block(rotations scaled by r_i) Oᵀ is normal; its exponents are log |eigenvalues|.
        var rng = SeededRNG(seed: 11)
        let n = 6
        let o = Init.orthogonal(n: n, rng: &rng)
        var d = Matrix(rows: n, cols: n)
        let radii = [1.2, 0.8, 0.5]
        for (b, r) in radii.enumerated() {
            let th = 0.3 + Double(b)
            d[2 * b, 2 * b] = r * cos(th); d[2 * b, 2 * b + 1] = -r * sin(th)
            d[2 * b + 1, 2 * b] = r * sin(th); d[2 * b + 1, 2 * b + 1] = r * cos(th)
        }
        let w = o * d * o.transposed
        let res = try Lyapunov.exponents(dimension: n, count: n, steps: 3000, warmup: 200) { _, j in j = w }
        let expected = radii.flatMap { [log($0), log($0)] }
        for (a, e) in zip(res.exponents, expected) { XCTAssertEqual(a, e, accuracy: 2e-3) }
        XCTAssertEqual(res.top, log(try Eigen.spectralRadius(w)), accuracy: 2e-3)
    }

    func testGaussianProductsMatchNewman() throws {
        let n = 64, steps = 10_000
        var rng = SeededRNG(seed: 2024)
        let std = 1 / Double(n).squareRoot()
        let res = try Lyapunov.exponents(dimension: n, count: n, steps: steps) { _, j in
            for i in 0..<(n * n) { j.data[i] = std * rng.gaussian() }
        }
        let newman = Lyapunov.newman(n: n, variance: 1 / Double(n))
        var num = 0.0, den = 0.0, worstRel = 0.0
        for i in 0..<n {
            let e = res.exponents[i] - newman[i]
            num += e * e; den += newman[i] * newman[i]
            // The top exponents sit near 0 (λ_1 ≈ −0.008 for σ² = 1/n), where a relative error is meaningless;
            // the statistical error of a 10,000-step average is ≈ 0.001 there.
            if abs(newman[i]) > 0.1 { worstRel = max(worstRel, abs(e / newman[i])) } else { XCTAssertEqual(res.exponents[i], newman[i], accuracy: 0.005) }
        }
        let rel = (num / den).squareRoot()
        print("Newman n=64, 10,000 steps: relative ℓ2 error \(rel), worst per-exponent relative error \(worstRel) (|λ| > 0.1), λ_1 = \(res.exponents[0]) vs \(newman[0]), λ_64 = \(res.exponents[63]) vs \(newman[63])")
        XCTAssertLessThan(rel, 0.02)
        XCTAssertLessThan(worstRel, 0.02)
        // The sum (volume growth) is E log|det G| per step, the most precise check.
        XCTAssertEqual(res.sum, newman.reduce(0, +), accuracy: 0.02 * abs(newman.reduce(0, +)))
    }

    /// The same check with N(0, 1) entries: every exponent shifts by ½ ln n ≈ 2.08, so a relative tolerance
    /// is meaningful for the top exponents too: all exponents away from zero (here all but the bottom two)
    /// within 2 % of Newman's formula.
    func testUnitVarianceGaussianProductsMatchNewmanWithinTwoPercent() throws {
        let n = 64
        var rng = SeededRNG(seed: 7)
        let res = try Lyapunov.exponents(dimension: n, count: n, steps: 10_000) { _, j in
            for i in 0..<(n * n) { j.data[i] = rng.gaussian() }
        }
        let newman = Lyapunov.newman(n: n, variance: 1)
        XCTAssertEqual(newman[0], 0.5 * (log(2) + Lyapunov.digamma(32)), accuracy: 1e-12)
        for i in 0..<n where abs(newman[i]) > 0.1 {
            XCTAssertEqual(res.exponents[i], newman[i], accuracy: 0.02 * abs(newman[i]), "λ_\(i + 1)")
        }
        XCTAssertEqual(res.exponents[0], newman[0], accuracy: 0.02 * newman[0])
    }

    func testTopExponentMatchesCurveSlopeAndIsDeterministic() throws {
        let spec = RandomModelSpec(kind: .tanh, hidden: 32, input: 4, steps: 2000, gain: 1.5, seed: 3)
        let traj = try Trajectory(model: RandomModels.make(spec))
        let a = try Lyapunov.exponents(traj, count: 3, warmup: 100)
        let b = try Lyapunov.exponents(traj, count: 3, warmup: 100)
        XCTAssertEqual(a, b)
        XCTAssertGreaterThanOrEqual(a.exponents[0], a.exponents[1])
        XCTAssertGreaterThanOrEqual(a.exponents[1], a.exponents[2])
        // The top-m exponents do not depend on m (the leading directions evolve the same way).
        let one = try Lyapunov.exponents(traj, count: 1, warmup: 100)
        XCTAssertEqual(one.top, a.top, accuracy: 1e-3)
        // λ_1/ln 10 is the asymptotic slope of log10‖∂h_t/∂h_k‖ against the lag.
        let curves = JacobianProducts.curves(traj, spectral: false)
        let c = curves.log10Frobenius
        let slope = (c[1800] - c[800]) / 1000
        XCTAssertEqual(slope, a.decadesPerStep[0], accuracy: 0.01)
    }

    func testReluAllOffGivesMinusInfinity() throws {
        var spec = RandomModelSpec(kind: .relu, hidden: 8, input: 2, steps: 20, gain: 1, seed: 1)
        spec.inputScale = 0
        let traj = try Trajectory(model: RandomModels.make(spec))
        let r = try Lyapunov.exponents(traj, count: 2)
        XCTAssertEqual(r.exponents, [-.infinity, -.infinity])
    }
}
