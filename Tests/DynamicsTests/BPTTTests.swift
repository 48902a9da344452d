import Dynamics
import Linear
import XCTest

final class BPTTTests: XCTestCase {
    static let allKinds: [CellKind] = [.sigmoid, .tanh, .relu, .linear, .irnn, .lstm, .gru, .leaky]

    /// A small random network whose weights are large enough that every path matters (and, for IRNN, not
    /// the identity, so ReLU units are both on and off).
    func net(_ kind: CellKind, d: Int = 3, n: Int = 5, m: Int = 3, seed: UInt64 = 1) -> RNN {
        var rnn = RNN.initialized(kind: kind, input: d, hidden: n, output: m, seed: seed)
        var rng = SeededRNG(seed: seed + 100)
        var flat = rnn.flat
        for i in flat.indices { flat[i] += 0.3 * rng.gaussian() }
        rnn.setFlat(flat)
        return rnn
    }

    func batch(_ loss: LossKind, d: Int = 3, m: Int = 3, steps: Int = 7, b: Int = 4, lossSteps: [Int]? = nil, seed: UInt64 = 2) -> SequenceBatch {
        var rng = SeededRNG(seed: seed)
        let inputs = (0..<steps).map { _ in Matrix(rows: b, cols: d, data: rng.gaussians(b * d)) }
        let ls = lossSteps ?? Array(1...steps)
        switch loss {
        case .mse:
            return SequenceBatch(inputs: inputs, lossSteps: ls,
                                 targets: .values(ls.map { _ in Matrix(rows: b, cols: m, data: rng.gaussians(b * m)) }))
        case .crossEntropy:
            return SequenceBatch(inputs: inputs, lossSteps: ls,
                                 targets: .classes(ls.map { _ in (0..<b).map { _ in Int(rng.next() % UInt64(m)) } }))
        }
    }

    /// Central differences of the loss over every parameter.
    func numericGradient(_ net: RNN, _ batch: SequenceBatch, truncation: Int? = nil, eps: Double = 1e-6) -> [Double] {
        let theta = net.flat
        var out = [Double](repeating: 0, count: theta.count)
        for i in theta.indices {
            var a = net, b = net
            var ta = theta, tb = theta
            ta[i] += eps; tb[i] -= eps
            a.setFlat(ta); b.setFlat(tb)
            out[i] = (BPTT.loss(a, batch) - BPTT.loss(b, batch)) / (2 * eps)
        }
        return out
    }

    func relativeError(_ a: [Double], _ b: [Double]) -> Double {
        let diff = Vector.norm(zip(a, b).map { $0 - $1 })
        return diff / max(Vector.norm(a), Vector.norm(b), 1e-300)
    }

    func testGradientsMatchFiniteDifferencesForEveryCellAndLoss() {
        for kind in Self.allKinds {
            for loss in LossKind.allCases {
                for setup in ["many-to-one", "many-to-many"] {
                    let rnn = net(kind)
                    let bt = batch(loss, lossSteps: setup == "many-to-one" ? [7] : nil)
                    let g = BPTT.gradient(rnn, bt).gradient.flat
                    let fd = numericGradient(rnn, bt)
                    let err = relativeError(g, fd)
                    XCTAssertLessThan(err, 1e-5, "\(kind) \(loss) \(setup): relative error \(err)")
                    XCTAssertGreaterThan(Vector.norm(g), 1e-3, "\(kind) \(loss): gradient should not be trivial")
                }
            }
        }
    }

    func testEveryParameterBlockMatchesFiniteDifferences() {
        // Block by block, so a wrong W_ih cannot hide behind a large, correct W_hh.
        for kind in [CellKind.lstm, .gru, .leaky, .tanh] {
            let rnn = net(kind)
            let bt = batch(.mse, lossSteps: [3, 7])
            var analytic = RNNGradient(zerosLike: rnn)
            analytic = BPTT.gradient(rnn, bt).gradient
            var numeric = analytic
            numeric.setFlat(numericGradient(rnn, bt))
            let pairs: [(String, [Double], [Double])] = [
                ("weight_ih", analytic.weightIH.data, numeric.weightIH.data), ("weight_hh", analytic.weightHH.data, numeric.weightHH.data),
                ("bias_ih", analytic.biasIH, numeric.biasIH), ("bias_hh", analytic.biasHH, numeric.biasHH),
                ("readout", analytic.readoutWeight.data, numeric.readoutWeight.data), ("readout bias", analytic.readoutBias, numeric.readoutBias)]
            for (name, a, n) in pairs {
                XCTAssertLessThan(relativeError(a, n), 1e-5, "\(kind) \(name)")
            }
        }
    }

    func testForwardPassMatchesTheAnalysisCells() throws {
        // The batched training forward pass and the per-sample cells of the Jacobian analysis agree.
        for kind in Self.allKinds {
            let rnn = net(kind)
            let bt = batch(.mse)
            let fp = ForwardPass(net: rnn, batch: bt)
            let cell = try makeCell(rnn.cell)
            for r in 0..<bt.batchSize {
                var s = [Double](repeating: 0, count: cell.stateSize)
                for t in 1...bt.steps {
                    s = cell.step(state: s, input: Array(bt.inputs[t - 1].data[(r * 3)..<(r * 3 + 3)]))
                    for j in 0..<5 { XCTAssertEqual(fp.h[t][r, j], s[j], accuracy: 1e-12, "\(kind) t=\(t)") }
                }
            }
        }
    }

    func testLagContributionsSumToTheFullGradient() {
        for kind in Self.allKinds {
            for lossSteps in [[7], [2, 5, 7], Array(1...7)] {
                let rnn = net(kind)
                let bt = batch(.crossEntropy, lossSteps: lossSteps)
                let full = BPTT.gradient(rnn, bt)
                let rec = BPTT.gradient(rnn, bt, options: BPTTOptions(recordLagContributions: true))
                let c = rec.lagContributions!
                XCTAssertEqual(c.count, 7)
                let sum = c.dropFirst().reduce(c[0], +)
                XCTAssertLessThan(relativeError(sum.data, full.gradient.weightHH.data), 1e-12, "\(kind) \(lossSteps)")
                // Recording does not change the gradient itself.
                XCTAssertLessThan(relativeError(rec.gradient.flat, full.gradient.flat), 1e-12)
                // Many-to-one at T = 7: nothing can reach W_hh through 7 or more steps; lag 6 (k = 1) multiplies h_0 = 0.
                XCTAssertEqual(c[6].frobeniusNorm, 0)
            }
        }
    }

    func testLagContributionMatchesExplicitChainRule() throws {
        // Many-to-one, vanilla tanh: C_ℓ = (δ_T ∏ J) outer-product form, checked against the analysis cell's
        // Jacobians: ∂L/∂h_k = ∂L/∂h_T · J_T ⋯ J_{k+1}, and C_{T−k} = Σ_b diag(f′(a_k)) ∂L/∂h_k ⊗ h_{k−1}.
        let rnn = net(.tanh), bt = batch(.mse, b: 1, lossSteps: [7])
        let res = BPTT.gradient(rnn, bt, options: BPTTOptions(recordLagContributions: true))
        let fp = ForwardPass(net: rnn, batch: bt)
        let cell = try makeCell(rnn.cell)
        guard case .values(let tv) = bt.targets else { return XCTFail() }
        let dy = Matrix(rows: 1, cols: 3, data: (0..<3).map { 2 * (fp.outputs[0][0, $0] - tv[0][0, $0]) / 3 })
        var dL = BLAS.multiply(dy, rnn.readout.weight).data
        for k in stride(from: 7, through: 1, by: -1) {
            let hk = Array(fp.h[k].data), hp = Array(fp.h[k - 1].data)
            let delta = zip(dL, hk).map { $0 * (1 - $1 * $1) }
            var expected = Matrix(rows: 5, cols: 5)
            for i in 0..<5 { for j in 0..<5 { expected[i, j] = delta[i] * hp[j] } }
            XCTAssertLessThan(relativeError(expected.data, res.lagContributions![7 - k].data), 1e-12, "lag \(7 - k)")
            let j = cell.stateJacobian(state: hp, input: Array(bt.inputs[k - 1].data))
            dL = BLAS.multiply(j.transposed, dL)
        }
    }

    func testTruncatedGradientIsTheSumOfTheLastKLags() {
        for kind in Self.allKinds {
            for lossSteps in [[9], [3, 6, 9], Array(1...9)] {
                let rnn = net(kind)
                let bt = batch(.mse, steps: 9, lossSteps: lossSteps)
                let lags = BPTT.gradient(rnn, bt, options: BPTTOptions(recordLagContributions: true)).lagContributions!
                for k in [1, 2, 4, 9, 20] {
                    let trunc = BPTT.gradient(rnn, bt, options: BPTTOptions(truncation: k)).gradient.weightHH
                    let expected = lags.prefix(min(k, 9)).dropFirst().reduce(lags[0], +)
                    XCTAssertLessThan(relativeError(trunc.data, expected.data), 1e-12, "\(kind) K=\(k) \(lossSteps)")
                    let rec = BPTT.gradient(rnn, bt, options: BPTTOptions(truncation: k, recordLagContributions: true)).lagContributions!
                    for l in min(k, 9)..<9 { XCTAssertEqual(rec[l].frobeniusNorm, 0) }
                }
                // K ≥ T is full BPTT.
                let full = BPTT.gradient(rnn, bt).gradient.flat
                XCTAssertEqual(BPTT.gradient(rnn, bt, options: BPTTOptions(truncation: 9)).gradient.flat, full)
            }
        }
    }

    func testTruncatedGradientMatchesFiniteDifferencesOfADetachedModel() {
        // Many-to-one with K = 1: only the last step's direct dependence counts. Equivalent: finite differences
        // of W_hh's effect at step T alone, with h_{T−1} held fixed — i.e. C_0.
        let rnn = net(.gru), bt = batch(.mse, lossSteps: [7])
        let g1 = BPTT.gradient(rnn, bt, options: BPTTOptions(truncation: 1)).gradient
        let c0 = BPTT.gradient(rnn, bt, options: BPTTOptions(recordLagContributions: true)).lagContributions![0]
        XCTAssertLessThan(relativeError(g1.weightHH.data, c0.data), 1e-12)
        // The readout gradient is never truncated.
        XCTAssertEqual(g1.readoutWeight, BPTT.gradient(rnn, bt).gradient.readoutWeight)
    }

    func testNormClippingKeepsDirectionValueClippingDoesNot() {
        let g = [3.0, -0.1, 0.05, 4.0]
        var a = g, b = g
        let (before, after) = GradientClipping.norm(1).apply(to: &a)
        XCTAssertEqual(before, Vector.norm(g), accuracy: 1e-15)
        XCTAssertEqual(after, 1, accuracy: 1e-12)
        let cosA = Vector.dot(a, g) / (Vector.norm(a) * Vector.norm(g))
        XCTAssertEqual(cosA, 1, accuracy: 1e-12, "norm scaling keeps the direction")
        GradientClipping.value(0.5).apply(to: &b)
        XCTAssertEqual(b, [0.5, -0.1, 0.05, 0.5])
        let cosB = Vector.dot(b, g) / (Vector.norm(b) * Vector.norm(g))
        XCTAssertLessThan(cosB, 0.99, "value clipping bends the direction")
        // Below the threshold nothing changes.
        var c = [0.1, 0.2]
        GradientClipping.norm(1).apply(to: &c)
        XCTAssertEqual(c, [0.1, 0.2])
    }

    func testTasksAreSeededAndHaveTheDocumentedBaseline() {
        let task = AddingProblem(steps: 50)
        var r1 = SeededRNG(seed: 5), r2 = SeededRNG(seed: 5)
        let a = task.batch(size: 2000, rng: &r1), b = task.batch(size: 2000, rng: &r2)
        XCTAssertEqual(a, b)
        // Two markers per sequence, one per half; the constant-1 predictor's MSE ≈ 1/6.
        var mse = 0.0
        guard case .values(let t) = a.targets else { return XCTFail() }
        for r in 0..<2000 {
            let marks = (0..<50).filter { a.inputs[$0][r, 1] == 1 }
            XCTAssertEqual(marks.count, 2)
            XCTAssertTrue(marks[0] < 25 && marks[1] >= 25)
            XCTAssertEqual(t[0][r, 0], a.inputs[marks[0]][r, 0] + a.inputs[marks[1]][r, 0], accuracy: 1e-15)
            mse += (t[0][r, 0] - 1) * (t[0][r, 0] - 1) / 2000
        }
        XCTAssertEqual(mse, task.baselineLoss, accuracy: 0.015)

        let copy = CopyTask(steps: 20, length: 4, symbols: 6)
        var r3 = SeededRNG(seed: 1)
        let c = copy.batch(size: 3, rng: &r3)
        XCTAssertEqual(c.lossSteps, [17, 18, 19, 20])
        guard case .classes(let cls) = c.targets else { return XCTFail() }
        for r in 0..<3 {
            for i in 0..<4 { XCTAssertEqual(c.inputs[i][r, cls[i][r]], 1) }
            XCTAssertEqual(c.inputs[15][r, 7], 1, "go marker at step T − L")
            for t in 0..<20 { XCTAssertEqual(c.inputs[t].nestedRows[r].reduce(0, +), 1, "one-hot") }
        }
    }

    func testAdamAndSGDDecreaseAQuadratic() {
        for kind in OptimizerKind.allCases {
            var opt = kind.make(learningRate: 0.05)
            var x = [3.0, -2.0]
            for _ in 0..<500 { opt.step(parameters: &x, gradient: x.map { 2 * $0 }) }
            XCTAssertLessThan(Vector.norm(x), 1e-2, "\(kind)")
        }
    }

    // MARK: determinism (issue 11)

    /// Loss and every gradient entry, bit for bit, for each cell (odd sizes, so the kernel's edge tiles run).
    func fingerprint(_ kind: CellKind) -> [UInt64] {
        let rnn = net(kind, d: 3, n: 13, m: 3)
        let bt = batch(.crossEntropy, steps: 9, b: 5, lossSteps: [4, 9])
        let r = BPTT.gradient(rnn, bt, options: BPTTOptions(truncation: 6, recordLagContributions: true))
        return [r.loss.bitPattern] + r.gradient.flat.map(\.bitPattern) + r.lagContributionNorms.map(\.bitPattern)
    }

    func testGradientsAreBitIdenticalOnBothKernelPaths() {
        defer { DetLinear.setPath("avx") }
        for kind in Self.allKinds {
            DetLinear.setPath("generic")
            let generic = fingerprint(kind)
            DetLinear.setPath("avx")
            XCTAssertEqual(fingerprint(kind), generic, "\(kind): the AVX and generic kernels must give the same bits")
        }
    }

    /// Pinned values: a change of summation order, of an elementary function or of the initialisation shows
    /// here (and would make runs differ from those on other machines and in the lessons).
    func testPinnedLossesAndGradientNorms() {
        let pinned: [CellKind: (loss: UInt64, norm: UInt64)] = [
            .sigmoid: (0x3fefae96f214f7a2, 0x4009b5e263c9f40f), .tanh: (0x3feb7040b2c2a841, 0x400d7ecfb98e236a),
            .relu: (0x3ff189867e1534c0, 0x4000bf48fa090894), .linear: (0x3fdb000bd5a7e18d, 0x4020a5d198958606),
            .irnn: (0x3f9b00c67c9a7dd0, 0x3ffb83edec6eaaca), .lstm: (0x3fce0f2ccf898dcc, 0x3ff86b382365129a),
            .gru: (0x3febf9c4ad121f95, 0x4005269b94f0c372), .leaky: (0x3fe7d9a2105319d8, 0x40043514530c5ff6),
        ]
        for kind in Self.allKinds {
            var rnn = RNN.initialized(kind: kind, input: 2, hidden: 7, output: 1, seed: 42)
            var rng = SeededRNG(seed: 43)
            let bt = AddingProblem(steps: 12).batch(size: 6, rng: &rng)
            var opt = Adam(learningRate: 0.01)
            var loss = 0.0, norm = 0.0
            for _ in 0..<5 {
                let r = BPTT.gradient(rnn, bt)
                var g = r.gradient.flat
                loss = r.loss
                norm = GradientClipping.norm(1).apply(to: &g).before
                var theta = rnn.flat
                opt.step(parameters: &theta, gradient: g)
                rnn.setFlat(theta)
            }
            XCTAssertEqual(loss.bitPattern, pinned[kind]?.loss, "\(kind): loss \(loss)")
            XCTAssertEqual(norm.bitPattern, pinned[kind]?.norm, "\(kind): ‖g‖ \(norm)")
        }
    }
}
