import Foundation
import XCTest
import Dynamics
import Linear

/// Every spectral norm the sweeps report is σ₁ of the product — on structured weights too, where a warm-started
/// power iteration can settle on a smaller singular value — and the structured Jacobian kernels equal the
/// dense products.
final class CertifiedNormTests: XCTestCase {
    enum Structure: CaseIterable {
        case diagonal, blockDiagonal, permutation, decoupledUnit, rankOne, repeatedSingularValues, zero, dense
    }

    /// An n×n matrix of the given structure with entries of size about `gain`.
    static func matrix(_ s: Structure, n: Int, gain: Double, rng: inout SeededRNG) -> Matrix {
        var w = Matrix(rows: n, cols: n)
        switch s {
        case .diagonal:
            for i in 0..<n { w[i, i] = gain * (0.4 + 1.2 * rng.uniform()) * (rng.uniform() < 0.5 ? -1 : 1) }
        case .blockDiagonal:
            var i = 0
            while i < n {
                let b = min(n - i, 1 + Int(rng.uniform() * 3))
                let blk = Init.recurrent(n: b, gain: gain * 1.3, rng: &rng)
                w.setBlock(blk, at: i, i)
                i += b
            }
        case .permutation:
            var perm = Array(0..<n)
            for i in stride(from: n - 1, to: 0, by: -1) { perm.swapAt(i, Int(rng.uniform() * Double(i + 1)) % (i + 1)) }
            for i in 0..<n { w[i, perm[i]] = gain * (0.6 + 0.8 * rng.uniform()) }
        case .decoupledUnit:
            w = Init.recurrent(n: n, gain: gain * 0.8, rng: &rng)
            let u = Int(rng.uniform() * Double(n)) % n
            for j in 0..<n { w[u, j] = 0; w[j, u] = 0 }
            w[u, u] = gain * 1.15
        case .rankOne:
            let a = rng.gaussians(n), b = rng.gaussians(n)
            for i in 0..<n { for j in 0..<n { w[i, j] = gain * a[i] * b[j] / Double(n) } }
        case .repeatedSingularValues:
            let q1 = Init.orthogonal(n: n, gain: 1, rng: &rng), q2 = Init.orthogonal(n: n, gain: 1, rng: &rng)
            let d = (0..<n).map { gain * ($0 < (n + 1) / 2 ? 1.1 : 0.5) }
            w = q1 * Matrix.diagonal(d) * q2
        case .zero:
            break
        case .dense:
            w = Init.recurrent(n: n, gain: gain, rng: &rng)
        }
        return w
    }

    /// A random model of `kind` whose every recurrent block (and W_skip) has the structure, driven by inputs
    /// that are mostly zero with occasional spikes (as in the reproducer) or Gaussian.
    static func model(_ kind: CellKind, _ s: Structure, n: Int, steps: Int, seed: UInt64) -> Model {
        var rng = SeededRNG(seed: seed)
        var m = RandomModels.make(RandomModelSpec(kind: kind, hidden: n, input: 2, steps: steps, gain: 1, seed: seed,
                                                  forgetBias: 1, leakRange: 0.1...0.9, skipLength: 3))
        let g = kind.gateCount
        let gain = 0.6 + 0.9 * rng.uniform()
        var whh = Matrix(rows: g * n, cols: n)
        for k in 0..<g { whh.setBlock(matrix(s, n: n, gain: gain, rng: &rng), at: k * n, 0) }
        m.parameters.weightHH = whh
        if kind == .skip { m.parameters.skipWeight = matrix(s, n: n, gain: gain / 2, rng: &rng) }
        let spiky = rng.uniform() < 0.5
        m.inputs = (0..<steps).map { t in
            spiky ? (t % 17 == 16 ? [4 * rng.uniform() - 2, 1] : [0, 0]) : rng.gaussians(2).map { $0 * 0.7 }
        }
        return m
    }

    /// log10 σ₁ of the h→h block of the explicit, renormalised dense product, lag by lag (LAPACK's SVD).
    static func referenceCurve(_ traj: Trajectory) throws -> (hh: [Double], state: [Double], cc: [Double]) {
        let cell = traj.cell, m = cell.stateSize, n = cell.hiddenSize, t = traj.steps
        var p = Matrix.identity(m)
        var scale = 0.0
        var hh = [0.0], state = [0.0], cc = [0.0]
        for lag in 1...t {
            p = p * traj.jacobian(at: t - lag + 1)
            let f = p.frobeniusNorm
            guard f > 0 else {
                hh.append(-.infinity); state.append(-.infinity); cc.append(-.infinity); continue
            }
            p = p * (1 / f)
            scale += log10(f)
            func top(_ a: Matrix) throws -> Double { let s = try SVD.singularValues(a)[0]; return s > 0 ? scale + log10(s) : -.infinity }
            hh.append(try top(p.block(rows: 0..<n, cols: 0..<n)))
            state.append(try top(p))
            cc.append(m == 2 * n && cell.kind == .lstm ? try top(p.block(rows: n..<m, cols: n..<m)) : .nan)
        }
        return (hh, state, cc)
    }

    /// 1e−10 relative in σ is 4.3e−11 in log10.
    static let log10Tolerance = 4.4e-11

    func assertClose(_ a: Double, _ b: Double, _ what: @autoclosure () -> String) {
        if b == -.infinity || a == -.infinity {
            XCTAssertEqual(a, b, what())
        } else {
            XCTAssertEqual(a, b, accuracy: Self.log10Tolerance, what())
        }
    }

    /// The reproducer: a diagonal 2-unit tanh model whose dominant unit changes with the lag.
    func testReproducerGivesTheSVDValueAtEveryLag() throws {
        let inputs = [[Double]](repeating: [0], count: 59) + [[5]]
        let p = CellParameters(kind: .tanh, hiddenSize: 2, inputSize: 1, weightIH: Matrix(rows: 2, cols: 1, data: [0, 1]),
                               weightHH: Matrix(rows: 2, cols: 2, data: [0.8, 0, 0, 1.2]), biasIH: [0, 0], biasHH: [0, 0])
        let traj = try Trajectory(model: Model(parameters: p, h0: [0, 0], inputs: inputs))
        let curves = JacobianProducts.curves(traj)
        let ref = try Self.referenceCurve(traj)
        for lag in 0...60 { assertClose(curves.log10Spectral[lag], ref.hh[lag], "lag \(lag)") }
        // σ₁ at lag 30 is 4.31e−02 (the old power iteration reported 1.24e−03, 1.5 decades too low).
        XCTAssertEqual(pow(10, curves.log10Spectral[30]), 4.31e-2, accuracy: 0.005e-2)
        XCTAssertEqual(pow(10, curves.log10Spectral[41]), 3.20e-1, accuracy: 0.005e-1)
        let grid = JacobianProducts.allPairs(traj)
        for k in 0...60 { assertClose(grid[60][k], ref.hh[60 - k], "heatmap k=\(k)") }
    }

    /// Every cell × every structure, small and larger n (the larger ones exercise the block stage): curves and
    /// heatmaps agree with LAPACK's SVD of the explicit product at every lag.
    func testStructuredModelsAgreeWithSVDEverywhere() throws {
        var checked = 0
        for kind in CellKind.allCases {
            for (si, s) in Structure.allCases.enumerated() {
                for (n, steps) in [(5, 40), (24, 30)] {
                    let model = Self.model(kind, s, n: n, steps: steps, seed: UInt64(100 * si + n))
                    let traj = try Trajectory(model: model)
                    let curves = JacobianProducts.curves(traj)
                    let ref = try Self.referenceCurve(traj)
                    for lag in 0...traj.steps {
                        assertClose(curves.log10Spectral[lag], ref.hh[lag], "\(kind) \(s) n=\(n) lag \(lag)")
                        if kind == .lstm {
                            assertClose(curves.log10SpectralState![lag], ref.state[lag], "\(kind) \(s) n=\(n) state lag \(lag)")
                            assertClose(curves.log10SpectralCell![lag], ref.cc[lag], "\(kind) \(s) n=\(n) c→c lag \(lag)")
                        }
                        checked += 1
                    }
                    if n == 5 {
                        // Heatmap: every (t, k) against the explicit forward product.
                        let grid = JacobianProducts.allPairs(traj)
                        let m = traj.cell.stateSize
                        for k in 0..<traj.steps {
                            var p = Matrix.identity(m)
                            var scale = 0.0
                            var zero = false
                            for t in (k + 1)...traj.steps {
                                if !zero {
                                    p = traj.jacobian(at: t) * p
                                    let f = p.frobeniusNorm
                                    if f == 0 { zero = true } else { p = p * (1 / f); scale += log10(f) }
                                }
                                let s1 = zero ? 0 : try SVD.singularValues(p.block(rows: 0..<n, cols: 0..<n))[0]
                                assertClose(grid[t][k], s1 > 0 ? scale + log10(s1) : -.infinity, "\(kind) \(s) heatmap t=\(t) k=\(k)")
                            }
                        }
                    }
                }
            }
        }
        XCTAssertGreaterThan(checked, 2000)
    }

    /// Thousands of random structured models: no reported σ₁ lies below ‖P‖_F/√rank or above ‖P‖_F.
    func testNoSpectralNormBelowFrobeniusOverRootRank() throws {
        var rng = SeededRNG(seed: 77)
        var models = 0
        for i in 0..<2400 {
            let kind = CellKind.allCases[i % CellKind.allCases.count]
            let s = Structure.allCases[(i / CellKind.allCases.count) % Structure.allCases.count]
            let n = 2 + Int(rng.uniform() * 9)
            let model = Self.model(kind, s, n: n, steps: 8 + Int(rng.uniform() * 20), seed: UInt64(1000 + i))
            let curves = JacobianProducts.curves(try Trajectory(model: model))
            let half = log10(Double(n)) / 2
            for lag in curves.lags where curves.log10Frobenius[lag].isFinite {
                let sp = curves.log10Spectral[lag], fr = curves.log10Frobenius[lag]
                XCTAssertGreaterThanOrEqual(sp, fr - half - 1e-12, "\(kind) \(s) n=\(n) lag \(lag)")
                XCTAssertLessThanOrEqual(sp, fr + 1e-12, "\(kind) \(s) n=\(n) lag \(lag)")
            }
            models += 1
        }
        XCTAssertEqual(models, 2400)
    }

    /// The structured kernels P·J and J·P equal the dense products for every cell, with P of other shapes too.
    func testStructuredKernelsEqualDenseProducts() throws {
        for kind in CellKind.allCases {
            let model = RandomModels.make(RandomModelSpec(kind: kind, hidden: 7, input: 3, steps: 5, gain: 1.3, seed: 4,
                                                          forgetBias: 0.5, leakRange: 0.2...0.8, skipLength: 3))
            let traj = try Trajectory(model: model)
            let m = traj.cell.stateSize
            var rng = SeededRNG(seed: 8)
            var work = JacobianWork()
            for rows in [1, 7, m] {
                let p = Matrix(rows: rows, cols: m, data: rng.gaussians(rows * m))
                var out = Matrix(rows: 0, cols: 0)
                traj.rightMultiply(p, byJacobianAt: 3, into: &out, work: &work)
                let dense = p * traj.jacobian(at: 3)
                for i in 0..<dense.data.count { XCTAssertEqual(out.data[i], dense.data[i], accuracy: 1e-13, "\(kind) P·J") }
                let q = Matrix(rows: m, cols: rows, data: rng.gaussians(rows * m))
                traj.leftMultiply(q, byJacobianAt: 3, into: &out, work: &work)
                let dense2 = traj.jacobian(at: 3) * q
                for i in 0..<dense2.data.count { XCTAssertEqual(out.data[i], dense2.data[i], accuracy: 1e-13, "\(kind) J·P") }
            }
        }
    }

    /// The estimator on its own: matrices built to defeat a warm-started power iteration.
    func testEstimatorIsNeverFooledByItsWarmStart() throws {
        var est = SpectralNormEstimator(warmStartLeft: true)
        // Converge on the first unit, then make the second unit dominant: the warm vector has no component there.
        XCTAssertEqual(est.norm(Matrix(rows: 2, cols: 2, data: [2, 0, 0, 1])), 2, accuracy: 1e-12)
        XCTAssertEqual(est.norm(Matrix(rows: 2, cols: 2, data: [2, 0, 0, 3])), 3, accuracy: 1e-12)
        // Larger: diagonal 40×40 whose maximum moves around.
        var rng = SeededRNG(seed: 3)
        for _ in 0..<50 {
            let d = (0..<40).map { _ in rng.uniform() }
            let a = Matrix.diagonal(d)
            XCTAssertEqual(est.norm(a), d.max()!, accuracy: 1e-11 * d.max()!)
        }
        // Blocks read in place, with huge and tiny scales.
        for s in [1e-250, 1e-100, 1.0, 1e100, 1e250] {
            var a = Matrix(rows: 30, cols: 30, data: rng.gaussians(900).map { $0 * s })
            a[3, 4] = 50 * s
            let b = MatrixBlock(rows: 2..<27, cols: 1..<29)
            let ref = try SVD.singularValues(a.block(rows: 2..<27, cols: 1..<29))[0]
            XCTAssertEqual(est.norm(a, block: b) / ref, 1, accuracy: 1e-10, "scale \(s)")
        }
        XCTAssertEqual(est.norm(Matrix(rows: 3, cols: 3)), 0)
        XCTAssertGreaterThan(est.certified + est.fallbacks, 50)
    }

    /// Spread spectra (dense Gaussian blocks, square and not, either Gram side): neither Lanczos nor the block
    /// stage can close, and the Gram stage certifies σ₁ without LAPACK's SVD.
    func testGramStageCertifiesSpreadSpectra() throws {
        var rng = SeededRNG(seed: 11)
        for (rows, cols, left) in [(64, 64, true), (128, 128, false), (300, 200, true), (90, 160, false)] {
            var est = SpectralNormEstimator(warmStartLeft: left)
            for _ in 0..<3 {
                var a = Matrix(rows: rows + 7, cols: cols + 5, data: rng.gaussians((rows + 7) * (cols + 5)))
                a[2, 3] = 0.5
                let b = MatrixBlock(rows: 4..<(rows + 4), cols: 3..<(cols + 3))
                let ref = try SVD.singularValues(a.block(rows: b.rows, cols: b.cols))[0]
                XCTAssertEqual(est.norm(a, block: b) / ref, 1, accuracy: 1e-11, "\(rows)×\(cols)")
            }
            XCTAssertEqual(est.fallbacks, 0, "\(rows)×\(cols)")
            XCTAssertGreaterThan(est.gramCertified, 0, "\(rows)×\(cols)")
        }
    }

    /// σ₁ repeated exactly (2·orthogonal: every σ is 2) leaves no gap for Kato–Temple, but the Gram stage still
    /// brackets it (2I·… − Ĝ positive definite above, ‖Gv‖ below), with no SVD; so does a 0/1 diagonal (an IRNN's
    /// product with some units off). A gap of 1e−8 relative inside a spread spectrum is certified, and exactly.
    func testRepeatedAndNearlyRepeatedTopSingularValue() throws {
        var rng = SeededRNG(seed: 12)
        let n = 64
        var est = SpectralNormEstimator(warmStartLeft: true)
        XCTAssertEqual(est.norm(Init.orthogonal(n: n, gain: 2, rng: &rng)), 2, accuracy: 1e-11 * 2)
        XCTAssertEqual(est.fallbacks, 0)
        XCTAssertEqual(est.certified, 1)
        var mask = SpectralNormEstimator(warmStartLeft: true)
        let diag = Matrix.diagonal((0..<n).map { $0 % 3 == 0 ? 0 : 1 })
        XCTAssertEqual(mask.norm(diag), 1, accuracy: 1e-11)
        XCTAssertEqual(mask.norm(diag * Init.orthogonal(n: n, gain: 1, rng: &rng)), 1, accuracy: 1e-11)
        XCTAssertEqual(mask.fallbacks, 0)
        let q1 = Init.orthogonal(n: n, gain: 1, rng: &rng), q2 = Init.orthogonal(n: n, gain: 1, rng: &rng)
        for gap in [1e-8, 1e-6, 1e-3] {
            let d = (0..<n).map { i in i == 0 ? 1 : i == 1 ? 1 - gap : 0.5 + 0.45 * rng.uniform() }
            var e = SpectralNormEstimator(warmStartLeft: true)
            XCTAssertEqual(e.norm(q1 * Matrix.diagonal(d) * q2), 1, accuracy: 1e-11, "gap \(gap)")
            XCTAssertEqual(e.fallbacks, 0, "gap \(gap)")
        }
    }

    /// A gain so small that the Jacobians are subnormal: finite values, never NaN.
    func testSubnormalGainGivesNoNaN() throws {
        let model = RandomModels.make(RandomModelSpec(kind: .tanh, hidden: 16, input: 4, steps: 60, gain: 1e-308, seed: 0))
        let curves = JacobianProducts.curves(try Trajectory(model: model))
        for lag in curves.lags {
            XCTAssertFalse(curves.log10Spectral[lag].isNaN, "lag \(lag)")
            XCTAssertFalse(curves.log10Frobenius[lag].isNaN, "lag \(lag)")
            if curves.log10Frobenius[lag].isFinite {
                XCTAssertLessThanOrEqual(curves.log10Spectral[lag], curves.log10Frobenius[lag] + 1e-9)
            }
        }
    }

    /// The constant error carousel proper: ∏_j diag(f_j), in closed form from the forget gates; never above 1.
    func testCarouselSeriesIsTheProductOfForgetGates() throws {
        for bias in [-1.0, 0, 3] {
            let model = RandomModels.make(RandomModelSpec(kind: .lstm, hidden: 6, input: 3, steps: 80, gain: 1, seed: 2, forgetBias: bias))
            let traj = try Trajectory(model: model)
            let curves = JacobianProducts.curves(traj)
            let lstm = traj.cell as! LSTMCell
            var prod = [Double](repeating: 1, count: 6)
            for lag in 1...80 {
                let f = lstm.forgetGates(preactivation: traj.preactivations[80 - lag])
                for i in 0..<6 { prod[i] *= f[i] }
                XCTAssertEqual(curves.log10SpectralCarousel![lag], log10(prod.max()!), accuracy: 1e-12)
                XCTAssertEqual(curves.log10FrobeniusCarousel![lag], log10(Vector.norm(prod)), accuracy: 1e-12)
                XCTAssertLessThan(curves.log10SpectralCarousel![lag], 0)
            }
        }
    }

    /// Stacked layers with structured weights (as `import` analyses them): the depth × time grid agrees with
    /// LAPACK's SVD of the explicit product through both layers, at every lag.
    func testDepthTimeGridOnStructuredStacksAgreesWithSVD() throws {
        for (kinds, s) in [([CellKind.tanh, .tanh], Structure.diagonal), ([.lstm, .gru], .permutation),
                           ([.gru, .lstm], .zero), ([.tanh, .lstm], .decoupledUnit)] {
            let n = [4, 3]
            var layers: [CellParameters] = []
            var inSize = 2
            var rng = SeededRNG(seed: 5)
            for (l, k) in kinds.enumerated() {
                var p = Self.model(k, s, n: n[l], steps: 1, seed: UInt64(40 + l)).parameters
                if l > 0 {
                    p.inputSize = inSize
                    p.weightIH = Matrix(rows: p.weightIH.rows, cols: inSize, data: rng.gaussians(p.weightIH.rows * inSize, std: 0.7))
                }
                layers.append(p)
                inSize = n[l]
            }
            let steps = 25
            let inputs = (0..<steps).map { t in t % 9 == 8 ? [3.0, -1] : [0.0, 0] }
            let run = try StackedTrajectory(model: StackedModel(layers: layers, inputs: inputs))
            let grid = MultilayerProducts.grid(run)
            let s0 = run.layers[0].cell.stateSize, s1 = run.layers[1].cell.stateSize, size = s0 + s1
            func stepMatrix(_ j: Int) -> Matrix {
                let a1 = run.layers[0].jacobian(at: j), a2 = run.layers[1].jacobian(at: j), b2 = run.inputJacobian(layer: 1, at: j)
                var mm = Matrix(rows: size, cols: size)
                mm.setBlock(a1, at: 0, 0)
                mm.setBlock(b2 * a1.block(rows: 0..<n[0], cols: 0..<s0), at: s0, 0)
                mm.setBlock(a2, at: s0, s0)
                return mm
            }
            for k in 1..<steps {
                var p = Matrix.identity(size)
                for j in stride(from: steps, to: k, by: -1) { p = p * stepMatrix(j) }
                var u = Matrix(rows: size, cols: n[0])
                u.setBlock(Matrix.identity(n[0]), at: 0, 0)
                u.setBlock(run.inputJacobian(layer: 1, at: k), at: s0, 0)
                let g0 = (p * u).block(rows: s0..<(s0 + n[1]), cols: 0..<n[0])
                let g1 = p.block(rows: s0..<(s0 + n[1]), cols: s0..<(s0 + n[1]))
                for (l, g) in [(0, g0), (1, g1)] {
                    let sv = try SVD.singularValues(g)[0]
                    let ref = sv > 1e-300 ? log10(sv) : -Double.infinity
                    if ref.isFinite && grid.log10Spectral[l][steps - k].isFinite {
                        XCTAssertEqual(grid.log10Spectral[l][steps - k], ref, accuracy: 1e-9, "\(kinds) \(s) layer \(l) k=\(k)")
                    } else {
                        XCTAssertLessThan(min(ref, grid.log10Spectral[l][steps - k]), -250, "\(kinds) \(s) layer \(l) k=\(k)")
                    }
                }
            }
        }
    }
}
