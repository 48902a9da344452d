import Foundation
import XCTest
import Dynamics
import Linear

/// Jacobian products against closed forms, explicit products and the bounds.
final class ProductTests: XCTestCase {
    /// A linear RNN with no input and W_hh = ρ·Q (Q orthogonal): ∂h_t/∂h_k = (ρQ)^(t−k), whose singular
    /// values all equal ρ^(t−k). Over 10,000 steps this reaches 10^±457, far outside Double's range.
    func testLinearOrthogonalRNNGivesExactPowerOfRhoOverTenThousandSteps() throws {
        for rho in [0.9, 1.1] {
            var rng = SeededRNG(seed: 11)
            let n = 16
            let params = CellParameters(kind: .linear, hiddenSize: n, inputSize: 0,
                                        weightIH: Matrix(rows: n, cols: 0), weightHH: Init.orthogonal(n: n, gain: rho, rng: &rng),
                                        biasIH: .init(repeating: 0, count: n), biasHH: .init(repeating: 0, count: n))
            let model = Model(parameters: params, h0: .init(repeating: 0, count: n), inputs: .init(repeating: [], count: 10_000))
            let curves = JacobianProducts.curves(try Trajectory(model: model))
            XCTAssertEqual(curves.lags.count, 10_001)
            for lag in [0, 1, 10, 100, 1000, 5000, 10_000] {
                XCTAssertEqual(curves.log10Spectral[lag], Double(lag) * log10(rho), accuracy: 1e-9, "ρ=\(rho) lag \(lag)")
                // All n singular values equal ρ^lag, so ‖·‖_F = √n ρ^lag.
                XCTAssertEqual(curves.log10Frobenius[lag], Double(lag) * log10(rho) + log10(Double(n)) / 2, accuracy: 1e-9)
                // β_h = 1 and β_W = ρ: the classical bound is tight.
                XCTAssertEqual(curves.log10Bound[lag], Double(lag) * log10(rho), accuracy: 1e-9)
            }
        }
    }

    /// IRNN: with positive pre-activations every ReLU is in its linear region, J = W_hh = I, norm exactly 1.
    func testIRNNWithPositivePreactivationsHasUnitNorm() throws {
        var model = RandomModels.make(RandomModelSpec(kind: .irnn, hidden: 10, input: 4, steps: 500, gain: 1, seed: 3))
        model.h0 = .init(repeating: 1, count: 10)
        model.inputs = model.inputs.map { $0.map { abs($0) } }
        model.parameters.weightIH = Matrix(rows: 10, cols: 4, data: model.parameters.weightIH.data.map { abs($0) })
        let traj = try Trajectory(model: model)
        let curves = JacobianProducts.curves(traj)
        for lag in curves.lags {
            XCTAssertEqual(curves.log10Spectral[lag], 0, accuracy: 1e-12)
            XCTAssertEqual(curves.log10Frobenius[lag], log10(10.0) / 2, accuracy: 1e-12)
        }
    }

    /// The renormalised sweep agrees with the plain product for short horizons, for every cell.
    func testSweepMatchesExplicitProducts() throws {
        for kind in CellKind.allCases {
            let model = RandomModels.make(RandomModelSpec(kind: kind, hidden: 6, input: 3, steps: 12, gain: 1.4, seed: 5, forgetBias: 1))
            let traj = try Trajectory(model: model)
            let curves = JacobianProducts.curves(traj)
            var p = Matrix.identity(traj.cell.stateSize)
            for lag in 1...12 {
                p = p * traj.jacobian(at: 12 - lag + 1)
                let hh = p.block(rows: 0..<6, cols: 0..<6)
                XCTAssertEqual(curves.log10Spectral[lag], log10(hh.spectralNorm), accuracy: 1e-9, "\(kind) lag \(lag)")
                XCTAssertEqual(curves.log10Frobenius[lag], log10(hh.frobeniusNorm), accuracy: 1e-9, "\(kind) lag \(lag)")
                if kind == .lstm {
                    XCTAssertEqual(curves.log10SpectralState![lag], log10(p.spectralNorm), accuracy: 1e-9)
                    let cc = p.block(rows: 6..<12, cols: 6..<12)
                    XCTAssertEqual(curves.log10SpectralCell![lag], log10(cc.spectralNorm), accuracy: 1e-9)
                    XCTAssertEqual(curves.log10FrobeniusCell![lag], log10(cc.frobeniusNorm), accuracy: 1e-9)
                }
            }
        }
    }

    /// actual ≤ trajectory bound ≤ worst-case bound at every lag, on 100 random models per cell.
    func testBoundsHoldOnRandomModels() throws {
        var rng = SeededRNG(seed: 99)
        for kind in CellKind.allCases {
            for trial in 0..<100 {
                let gain = rng.uniform(0.3, 3)
                var spec = RandomModelSpec(kind: kind, hidden: 8, input: 3, steps: 25, gain: gain, seed: UInt64(trial),
                                           initialization: trial % 2 == 0 ? .gaussian : .orthogonal,
                                           forgetBias: rng.uniform(-1, 2))
                spec.inputScale = rng.uniform(0.1, 3)
                let curves = JacobianProducts.curves(try Trajectory(model: RandomModels.make(spec)))
                for lag in curves.lags {
                    let tol = 1e-9
                    let actual = [curves.log10Spectral[lag], curves.log10SpectralState?[lag], curves.log10SpectralCell?[lag]]
                        .compactMap { $0 }.max()!
                    XCTAssertLessThanOrEqual(actual, curves.log10TrajectoryBound[lag] + tol, "\(kind) trial \(trial) lag \(lag)")
                    XCTAssertLessThanOrEqual(curves.log10TrajectoryBound[lag], curves.log10Bound[lag] + tol, "\(kind) trial \(trial)")
                }
            }
        }
    }

    /// For vanilla cells the worst-case bound is exactly (β_W β_h)^(t−k).
    func testClassicalBoundValue() throws {
        let model = RandomModels.make(RandomModelSpec(kind: .sigmoid, hidden: 20, input: 5, steps: 40, gain: 2, seed: 1))
        let curves = JacobianProducts.curves(try Trajectory(model: model))
        let beta = model.parameters.weightHH.spectralNorm * 0.25
        for lag in curves.lags { XCTAssertEqual(curves.log10Bound[lag], Double(lag) * log10(beta), accuracy: 1e-10) }
    }

    func testForwardOverflowIsDetectedAndCurvesStayFinite() throws {
        let model = RandomModels.make(RandomModelSpec(kind: .relu, hidden: 16, input: 4, steps: 2000, gain: 2, seed: 0,
                                                      initialization: .orthogonal))
        let traj = try Trajectory(model: model)
        let step = try XCTUnwrap(traj.overflowStep)
        XCTAssertGreaterThan(step, 100)
        XCTAssertLessThan(step, 2000)
        XCTAssertEqual(traj.steps, step - 1)
        let curves = JacobianProducts.curves(traj)
        XCTAssertFalse(curves.log10Spectral.contains { $0.isNaN })
        XCTAssertEqual(curves.lags.count, step)
    }

    func testDeadReLUGivesExactZeroAsMinusInfinity() throws {
        var model = RandomModels.make(RandomModelSpec(kind: .relu, hidden: 5, input: 2, steps: 10, gain: 1, seed: 0))
        model.parameters.biasHH = .init(repeating: -100, count: 5)   // every unit off
        let curves = JacobianProducts.curves(try Trajectory(model: model))
        XCTAssertEqual(curves.log10Spectral[0], 0)
        for lag in 1...10 { XCTAssertEqual(curves.log10Spectral[lag], -.infinity) }
    }

    func testAllPairsAgreesWithSweepAtFinalStep() throws {
        for kind in [CellKind.tanh, .lstm] {
            let model = RandomModels.make(RandomModelSpec(kind: kind, hidden: 6, input: 2, steps: 15, gain: 1.2, seed: 2))
            let traj = try Trajectory(model: model)
            let grid = JacobianProducts.allPairs(traj)
            let curves = JacobianProducts.curves(traj)
            for k in 0...15 { XCTAssertEqual(grid[15][k], curves.log10Spectral[15 - k], accuracy: 1e-9) }
            XCTAssertTrue(grid[3][7].isNaN)
            let curves9 = JacobianProducts.curves(traj, endStep: 9)
            for k in 0...9 { XCTAssertEqual(grid[9][k], curves9.log10Spectral[9 - k], accuracy: 1e-9) }
        }
    }

    func testSameSpecGivesIdenticalModelsAndVanillaCellsShareWeights() {
        let a = RandomModels.make(RandomModelSpec(kind: .tanh, seed: 9))
        let b = RandomModels.make(RandomModelSpec(kind: .tanh, seed: 9))
        let s = RandomModels.make(RandomModelSpec(kind: .sigmoid, seed: 9))
        let c = RandomModels.make(RandomModelSpec(kind: .tanh, seed: 10))
        XCTAssertEqual(a, b)
        XCTAssertEqual(a.parameters.weightHH, s.parameters.weightHH)
        XCTAssertEqual(a.inputs, s.inputs)
        XCTAssertNotEqual(a.parameters.weightHH, c.parameters.weightHH)
    }

    func testValidationNamesTheProblem() {
        var model = RandomModels.make(RandomModelSpec(kind: .gru, hidden: 4, input: 2, steps: 3))
        model.parameters.weightHH = Matrix(rows: 4, cols: 4)
        XCTAssertThrowsError(try model.validate()) { e in
            XCTAssertEqual("\(e)", "weight_hh must be 12×4 for a gru cell with hidden_size 4, got 4×4")
        }
        var lstm = RandomModels.make(RandomModelSpec(kind: .lstm, hidden: 4, input: 2, steps: 3))
        lstm.c0 = nil
        XCTAssertThrowsError(try lstm.validate())
        lstm.c0 = [0, 0, 0, .nan]
        XCTAssertThrowsError(try lstm.validate()) { e in XCTAssertEqual("\(e)", "c0 contains NaN or infinity") }
    }

    /// Skip cell with W_hh = 0: h_t depends on h_{t−D} only, so ∂h_t/∂h_{t−L} is exactly zero unless D divides L,
    /// and otherwise it is a product of L/D factors diag(tanh′) W_skip.
    func testSkipCellPathsOnlyExistAtMultiplesOfTheSkipLength() throws {
        var model = RandomModels.make(RandomModelSpec(kind: .skip, hidden: 6, input: 2, steps: 24, gain: 1.2, seed: 4, skipLength: 3))
        model.parameters.weightHH = Matrix(rows: 6, cols: 6)
        let traj = try Trajectory(model: model)
        XCTAssertEqual(traj.cell.stateSize, 18)
        let curves = JacobianProducts.curves(traj)
        for lag in 1...24 {
            if lag % 3 == 0 { XCTAssertTrue(curves.log10Spectral[lag].isFinite, "lag \(lag)") }
            else { XCTAssertEqual(curves.log10Spectral[lag], -.infinity, "lag \(lag)") }
        }
        // Lag 3 is one factor diag(tanh′(a_24)) W_skip.
        let a = traj.preactivations[23]
        let one = model.parameters.skipWeight!.scalingRows(by: a.map(Activation.tanh.derivative))
        XCTAssertEqual(curves.log10Spectral[3], log10(one.spectralNorm), accuracy: 1e-10)
    }
}
