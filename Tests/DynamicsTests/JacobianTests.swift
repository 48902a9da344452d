import Foundation
import XCTest
import Dynamics
import Linear

/// Analytic per-step Jacobians against central finite differences, for every cell.
final class JacobianTests: XCTestCase {
    /// A model of `kind` advanced a few steps so the state is generic (c ≠ 0 for the LSTM, mixed ReLU signs).
    private func genericPoint(_ kind: CellKind, seed: UInt64) throws -> (cell: any RecurrentCell, state: [Double], input: [Double]) {
        var spec = RandomModelSpec(kind: kind, hidden: 7, input: 3, steps: 6, gain: 1.3, seed: seed, forgetBias: 0.5)
        spec.leakRange = 0.1...0.9
        var model = RandomModels.make(spec)
        var rng = SeededRNG(seed: seed + 100)
        // Random biases and initial state so every term of the Jacobian is exercised.
        model.parameters.biasIH = rng.gaussians(model.parameters.biasIH.count, std: 0.5)
        model.parameters.biasHH = rng.gaussians(model.parameters.biasHH.count, std: 0.5)
        if kind == .irnn { model.parameters.weightIH = Init.gaussian(rows: 7, cols: 3, std: 0.5, rng: &rng) }
        model.h0 = rng.gaussians(7, std: 0.5)
        if kind == .lstm { model.c0 = rng.gaussians(7, std: 1) }
        let traj = try Trajectory(model: model)
        return (traj.cell, traj.states[4], model.inputs[4])
    }

    func testEveryCellJacobianMatchesFiniteDifferences() throws {
        for kind in CellKind.allCases {
            for seed in UInt64(0)..<5 {
                let (cell, state, input) = try genericPoint(kind, seed: seed)
                let analytic = cell.stateJacobian(state: state, input: input)
                let numeric = FiniteDifference.stateJacobian(cell, state: state, input: input)
                XCTAssertEqual(analytic.rows, cell.stateSize)
                let rel = (analytic - numeric).frobeniusNorm / analytic.frobeniusNorm
                XCTAssertLessThan(rel, 1e-6, "\(kind) seed \(seed): relative error \(rel)")
                XCTAssertGreaterThan(analytic.frobeniusNorm, 1e-3, "\(kind): Jacobian should not be trivially zero")
            }
        }
    }

    func testLSTMBlocksHaveTheDocumentedStructure() throws {
        let (cell, state, input) = try genericPoint(.lstm, seed: 3)
        let j = cell.stateJacobian(state: state, input: input)
        let n = 7
        let d = j.block(rows: n..<(2 * n), cols: n..<(2 * n))
        // ∂c_j/∂c_{j−1} = diag(f): off-diagonal zero, diagonal in (0, 1).
        for r in 0..<n { for c in 0..<n {
            if r == c { XCTAssertTrue(d[r, c] > 0 && d[r, c] < 1) } else { XCTAssertEqual(d[r, c], 0) }
        } }
    }

    func testSigmoidStepNormNeverExceedsQuarterOfRecurrentNorm() throws {
        for seed in UInt64(0)..<20 {
            let model = RandomModels.make(RandomModelSpec(kind: .sigmoid, hidden: 12, input: 4, steps: 20, gain: 3, seed: seed))
            let traj = try Trajectory(model: model)
            let wNorm = model.parameters.weightHH.spectralNorm
            for j in 1...traj.steps {
                XCTAssertLessThanOrEqual(traj.jacobian(at: j).spectralNorm, wNorm / 4 * (1 + 1e-12))
            }
        }
    }

    func testActivationDerivativesAndSups() {
        for act in Activation.allCases {
            var sup = 0.0
            for i in -4000...4000 {
                let a = Double(i) / 400 + 1e-7
                if act == .relu && abs(a) < 1e-5 { continue }   // the kink
                let fd = (act.value(a + 1e-6) - act.value(a - 1e-6)) / 2e-6
                XCTAssertEqual(act.derivative(a), fd, accuracy: 1e-6, "\(act) at \(a)")
                sup = max(sup, act.derivative(a))
            }
            XCTAssertEqual(sup, act.derivativeSup, accuracy: 1e-6, "\(act)")
        }
        XCTAssertEqual(Activation.sigmoid(-800), 0, accuracy: 1e-300)
        XCTAssertEqual(Activation.sigmoid(800), 1)
    }
}
