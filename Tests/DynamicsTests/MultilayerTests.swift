import Foundation
import XCTest
import Dynamics
import Linear

final class MultilayerTests: XCTestCase {
    /// A random stack: layer 0 reads d inputs, the rest read the layer below.
    func stack(_ kinds: [CellKind], hidden: [Int], input d: Int, steps: Int, gain: Double = 1.1, seed: UInt64 = 7) -> StackedModel {
        var layers: [CellParameters] = []
        var inSize = d
        for (l, k) in kinds.enumerated() {
            var p = RandomModels.make(RandomModelSpec(kind: k, hidden: hidden[l], input: inSize, steps: 1, gain: gain, seed: seed &+ UInt64(l))).parameters
            // Non-zero biases so every gate formula is exercised.
            var rng = SeededRNG(seed: seed &+ 100 &+ UInt64(l))
            p.biasIH = rng.gaussians(p.biasIH.count, std: 0.3)
            p.biasHH = rng.gaussians(p.biasHH.count, std: 0.3)
            layers.append(p)
            inSize = hidden[l]
        }
        var rng = SeededRNG(seed: seed &+ 999)
        let inputs = (0..<steps).map { _ in rng.gaussians(d, std: 1) }
        var init0: [[Double]] = []
        for p in layers {
            let size = p.kind.hasCellState ? 2 * p.hiddenSize : p.hiddenSize
            init0.append(rng.gaussians(size, std: 0.2))
        }
        return StackedModel(layers: layers, initialStates: init0, inputs: inputs)
    }

    func testInputJacobiansMatchFiniteDifferences() throws {
        for kind in [CellKind.tanh, .sigmoid, .lstm, .gru, .leaky] {
            let m = stack([kind], hidden: [5], input: 3, steps: 4)
            let run = try StackedTrajectory(model: m)
            let cell = try makeCell(m.layers[0])
            let t = 3
            let b = run.inputJacobian(layer: 0, at: t)
            let s = run.layers[0].states[t - 1], x = m.inputs[t - 1]
            let eps = 1e-6
            for c in 0..<3 {
                var xp = x, xm = x
                xp[c] += eps; xm[c] -= eps
                let fp = cell.step(state: s, input: xp), fm = cell.step(state: s, input: xm)
                for r in 0..<cell.stateSize {
                    XCTAssertEqual(b[r, c], (fp[r] - fm[r]) / (2 * eps), accuracy: 1e-8, "\(kind) [\(r), \(c)]")
                }
            }
        }
    }

    func testGridMatchesFiniteDifferencesOfFullForwardRun() throws {
        for kinds in [[CellKind.tanh, .tanh, .tanh], [.lstm, .gru], [.gru, .lstm, .tanh]] {
            let hidden = [4, 5, 3].prefix(kinds.count).map { $0 }
            let m = stack(kinds, hidden: hidden, input: 2, steps: 6)
            let run = try StackedTrajectory(model: m)
            let t = 6
            let grid = MultilayerProducts.grid(run, spectral: true)
            XCTAssertEqual(grid.log10Spectral.count, kinds.count)
            let top = kinds.count - 1
            for l in 0..<kinds.count {
                for k in 0...t {
                    // Finite-difference Jacobian ∂h^L_t/∂h^l_k (columns = h^l units).
                    let eps = 1e-6
                    var jac = Matrix(rows: hidden[top], cols: hidden[l])
                    for c in 0..<hidden[l] {
                        var d = [Double](repeating: 0, count: hidden[l])
                        d[c] = eps
                        let plus = try FiniteDifference.perturbedTop(m, layer: l, step: k, delta: d, t: t)
                        d[c] = -eps
                        let minus = try FiniteDifference.perturbedTop(m, layer: l, step: k, delta: d, t: t)
                        for r in 0..<hidden[top] { jac[r, c] = (plus[r] - minus[r]) / (2 * eps) }
                    }
                    let lag = t - k
                    let expected = jac.frobeniusNorm
                    if l == top && lag == 0 { XCTAssertEqual(grid.log10Frobenius[l][0], log10(Double(hidden[top])) / 2, accuracy: 1e-12); continue }
                    if expected < 1e-7 {
                        // Layers above l at k = 0 get no same-step path; only truly zero entries may be −∞.
                        continue
                    }
                    XCTAssertEqual(grid.log10Frobenius[l][lag], log10(expected), accuracy: 1e-5, "\(kinds) l=\(l) k=\(k)")
                    XCTAssertEqual(grid.log10Spectral[l][lag], log10(jac.spectralNorm), accuracy: 1e-5, "\(kinds) l=\(l) k=\(k)")
                }
            }
        }
    }

    func testGridMatchesExplicitStackedProducts() throws {
        // Two tanh layers: the one-step Jacobian of S = (h¹, h²) is [[A¹, 0], [B² A¹, A²]], and
        // ∂h²_t/∂h¹_k = [0 I] M_t ⋯ M_{k+1} [I; B²_k] (the same-step path up through layer 2 at time k).
        let m = stack([.tanh, .tanh], hidden: [4, 3], input: 2, steps: 12, gain: 1.4)
        let run = try StackedTrajectory(model: m)
        let grid = MultilayerProducts.grid(run)
        let t = 12
        func stepMatrix(_ j: Int) -> Matrix {
            let a1 = run.layers[0].jacobian(at: j), a2 = run.layers[1].jacobian(at: j), b2 = run.inputJacobian(layer: 1, at: j)
            var mm = Matrix(rows: 7, cols: 7)
            mm.setBlock(a1, at: 0, 0); mm.setBlock(b2 * a1, at: 4, 0); mm.setBlock(a2, at: 4, 4)
            return mm
        }
        for k in 1..<t {
            var p = Matrix.identity(7)
            for j in stride(from: t, to: k, by: -1) { p = p * stepMatrix(j) }
            var u = Matrix(rows: 7, cols: 4)
            u.setBlock(Matrix.identity(4), at: 0, 0)
            u.setBlock(run.inputJacobian(layer: 1, at: k), at: 4, 0)
            let g = (p * u).block(rows: 4..<7, cols: 0..<4)
            XCTAssertEqual(grid.log10Frobenius[0][t - k], log10(g.frobeniusNorm), accuracy: 1e-10)
            let g2 = p.block(rows: 4..<7, cols: 4..<7)
            XCTAssertEqual(grid.log10Frobenius[1][t - k], log10(g2.frobeniusNorm), accuracy: 1e-10)
        }
    }

    func testSingleLayerGridEqualsCurves() throws {
        let model = RandomModels.make(RandomModelSpec(kind: .gru, hidden: 8, input: 3, steps: 50, gain: 1.2, seed: 9))
        let stackModel = StackedModel(layers: [model.parameters], initialStates: [model.h0], inputs: model.inputs)
        let grid = MultilayerProducts.grid(try StackedTrajectory(model: stackModel))
        let curves = JacobianProducts.curves(try Trajectory(model: model))
        for lag in 0...50 {
            XCTAssertEqual(grid.log10Frobenius[0][lag], curves.log10Frobenius[lag], accuracy: 1e-10)
            XCTAssertEqual(grid.log10Spectral[0][lag], curves.log10Spectral[lag], accuracy: 1e-9)
        }
    }

    func testLayerMismatchIsRejected() {
        var m = stack([.tanh, .tanh], hidden: [4, 3], input: 2, steps: 3)
        m.layers[1].inputSize = 5
        XCTAssertThrowsError(try StackedTrajectory(model: m)) { e in
            XCTAssertTrue("\(e)".contains("layer 1"), "\(e)")
        }
    }
}
