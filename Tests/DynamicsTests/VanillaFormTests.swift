import Foundation
import XCTest
import Dynamics
import Linear

/// The other textbook form of the vanilla RNN, h_t = W f(h_{t−1}) + U x_t + b ("w-of-f"), against gradlab's
/// h_t = f(W h_{t−1} + U x_t + b) ("f-of-sum"): its Jacobian W·diag(f′(h_{t−1})) against finite differences, its
/// structured kernels against the dense Jacobian, the classical bound, and how its curves relate to the other form's.
final class VanillaFormTests: XCTestCase {
    static let kinds: [CellKind] = [.sigmoid, .tanh, .relu, .linear, .irnn]

    /// A w-of-f model with random biases and initial state (every term of the Jacobian exercised).
    private func model(_ kind: CellKind, seed: UInt64, hidden: Int = 7, steps: Int = 8, gain: Double = 1.3,
                       form: VanillaForm = .wOfF) -> Model {
        var m = RandomModels.make(RandomModelSpec(kind: kind, hidden: hidden, input: 3, steps: steps, gain: gain, seed: seed, form: form))
        var rng = SeededRNG(seed: seed + 100)
        m.parameters.biasIH = rng.gaussians(m.parameters.biasIH.count, std: 0.5)
        m.parameters.biasHH = rng.gaussians(m.parameters.biasHH.count, std: 0.5)
        if kind == .irnn { m.parameters.weightIH = Init.gaussian(rows: hidden, cols: 3, std: 0.5, rng: &rng) }
        m.h0 = rng.gaussians(hidden, std: 0.5)
        return m
    }

    func testStepIsWTimesFOfTheStatePlusInput() throws {
        let m = model(.tanh, seed: 1)
        let cell = try m.cell()
        let p = m.parameters
        let x = m.inputs[0]
        let next = cell.step(state: m.h0, input: x)
        let recurrent = p.weightHH * m.h0.map { Foundation.tanh($0) }, fromInput = p.weightIH * x
        for i in 0..<7 { XCTAssertEqual(next[i], recurrent[i] + fromInput[i] + p.biasIH[i] + p.biasHH[i], accuracy: 1e-13) }
    }

    func testWOfFJacobianMatchesFiniteDifferences() throws {
        var worst = 0.0
        for kind in Self.kinds {
            for seed in UInt64(0)..<5 {
                let m = model(kind, seed: seed)
                let traj = try Trajectory(model: m)
                let state = traj.states[4], input = m.inputs[4]
                let analytic = traj.cell.stateJacobian(state: state, input: input)
                let numeric = FiniteDifference.stateJacobian(traj.cell, state: state, input: input)
                let rel = (analytic - numeric).frobeniusNorm / analytic.frobeniusNorm
                worst = max(worst, rel)
                XCTAssertLessThan(rel, 1e-6, "\(kind) seed \(seed): relative error \(rel)")
                XCTAssertGreaterThan(analytic.frobeniusNorm, 1e-3, "\(kind): Jacobian should not be trivially zero")
                // The structure: W · diag(f′(h_{t−1})), columns scaled (not rows, as in the f-of-sum form).
                let act = kind.vanillaActivation!
                let w = m.parameters.weightHH
                for r in 0..<7 { for c in 0..<7 {
                    XCTAssertEqual(analytic[r, c], w[r, c] * act.derivative(state[c]), accuracy: 1e-15)
                } }
            }
        }
        print("w-of-f one-step Jacobian vs central differences: worst relative error \(worst)")
    }

    func testInputJacobianOfWOfFIsTheInputWeights() throws {
        let m = model(.sigmoid, seed: 3)
        let run = try StackedTrajectory(model: StackedModel(layers: [m.parameters], initialStates: [m.h0], inputs: m.inputs))
        let b = run.inputJacobian(layer: 0, at: 3)
        let cell = try m.cell()
        let s = run.layers[0].states[2], x = m.inputs[2], eps = 1e-6
        for c in 0..<3 {
            var xp = x, xm = x
            xp[c] += eps; xm[c] -= eps
            let fp = cell.step(state: s, input: xp), fm = cell.step(state: s, input: xm)
            for r in 0..<7 { XCTAssertEqual(b[r, c], (fp[r] - fm[r]) / (2 * eps), accuracy: 1e-8) }
        }
        XCTAssertEqual(b, m.parameters.weightIH)
    }

    func testStructuredKernelsMatchTheDenseJacobian() throws {
        for kind in Self.kinds {
            let m = model(kind, seed: 2)
            let traj = try Trajectory(model: m)
            var rng = SeededRNG(seed: 9)
            let p = Matrix(rows: 7, cols: 7, data: rng.gaussians(49))
            var out = Matrix(rows: 0, cols: 0), work = JacobianWork()
            for j in 1...traj.steps {
                let dense = traj.jacobian(at: j)
                traj.rightMultiply(p, byJacobianAt: j, into: &out, work: &work)
                XCTAssertLessThan((out - p * dense).frobeniusNorm, 1e-13 * max(1, (p * dense).frobeniusNorm), "\(kind) P·J at \(j)")
                traj.rightMultiply(p, byJacobianAt: j, scaledBy: 0.25, into: &out, work: &work)
                XCTAssertLessThan((out - (p * dense) * 0.25).frobeniusNorm, 1e-13 * max(1, (p * dense).frobeniusNorm), "\(kind) P·sJ at \(j)")
                traj.leftMultiply(p, byJacobianAt: j, into: &out, work: &work)
                XCTAssertLessThan((out - dense * p).frobeniusNorm, 1e-13 * max(1, (dense * p).frobeniusNorm), "\(kind) J·P at \(j)")
            }
        }
    }

    /// h_t after perturbing h_k by `delta`, by a full forward run.
    private func perturbed(_ m: Model, cell: any RecurrentCell, step k: Int, delta: [Double], t: Int) -> [Double] {
        var s = m.h0
        if k == 0 { for i in s.indices { s[i] += delta[i] } }
        for j in 1...t {
            s = cell.step(state: s, input: m.inputs[j - 1])
            if j == k { for i in s.indices { s[i] += delta[i] } }
        }
        return s
    }

    /// The products the curves and the heatmap report, ‖∂h_t/∂h_k‖ for every k, against the finite-difference
    /// Jacobian of a full forward run (relative error of the norms).
    func testProductNormsMatchFiniteDifferencesOfTheForwardRun() throws {
        var worst = 0.0
        for kind in Self.kinds {
            let m = model(kind, seed: 4, steps: 8, gain: 1.1)
            let traj = try Trajectory(model: m)
            let cell = traj.cell
            let t = 8
            let curves = JacobianProducts.curves(traj)
            let grid = JacobianProducts.allPairs(traj, norm: .frobenius)
            for k in 0..<t {
                let eps = 1e-6
                var jac = Matrix(rows: 7, cols: 7)
                for c in 0..<7 {
                    var d = [Double](repeating: 0, count: 7)
                    d[c] = eps
                    let plus = perturbed(m, cell: cell, step: k, delta: d, t: t)
                    d[c] = -eps
                    let minus = perturbed(m, cell: cell, step: k, delta: d, t: t)
                    for r in 0..<7 { jac[r, c] = (plus[r] - minus[r]) / (2 * eps) }
                }
                guard jac.frobeniusNorm > 1e-3 else { continue }   // ReLU units all off: the product is (near) zero
                let lag = t - k
                let relS = abs(pow(10, curves.log10Spectral[lag]) / jac.spectralNorm - 1)
                let relF = abs(pow(10, curves.log10Frobenius[lag]) / jac.frobeniusNorm - 1)
                let relH = abs(pow(10, grid[t][k]) / jac.frobeniusNorm - 1)
                worst = max(worst, relS, relF, relH)
                XCTAssertLessThan(relS, 1e-6, "\(kind) k=\(k) spectral")
                XCTAssertLessThan(relF, 1e-6, "\(kind) k=\(k) frobenius")
                XCTAssertLessThan(relH, 1e-6, "\(kind) k=\(k) heatmap")
            }
        }
        print("w-of-f products vs finite differences of the forward run: worst relative error \(worst)")
    }

    /// ‖∂h_t/∂h_k‖₂ ≤ (β_W β_h)^(t−k) for the w-of-f form, over random models, gains and every lag.
    func testClassicalBoundHoldsForWOfF() throws {
        var checked = 0, tightest = -Double.infinity
        for kind in Self.kinds {
            for gain in [0.5, 1.0, 2.0, 4.0] {
                for seed in UInt64(0)..<4 {
                    for initialization in RecurrentInit.allCases {
                        let m = RandomModels.make(RandomModelSpec(kind: kind, hidden: 16, input: 4, steps: 150, gain: gain, seed: seed,
                                                                  initialization: initialization, form: .wOfF))
                        let traj = try Trajectory(model: m)
                        let c = JacobianProducts.curves(traj)
                        let betaW = m.parameters.weightHH.spectralNorm, betaH = kind.vanillaActivation!.derivativeSup
                        for lag in 1...c.endStep where c.log10Spectral[lag].isFinite {
                            XCTAssertEqual(c.log10Bound[lag], Double(lag) * log10(betaW * betaH), accuracy: 1e-9 * Double(lag))
                            XCTAssertLessThanOrEqual(c.log10Spectral[lag], c.log10Bound[lag] + 1e-9, "\(kind) g=\(gain) seed \(seed) lag \(lag)")
                            XCTAssertLessThanOrEqual(c.log10Spectral[lag], c.log10TrajectoryBound[lag] + 1e-9, "\(kind) g=\(gain) seed \(seed) lag \(lag)")
                            tightest = max(tightest, c.log10Spectral[lag] - c.log10Bound[lag])
                            checked += 1
                        }
                    }
                }
            }
        }
        XCTAssertGreaterThan(checked, 10_000)
        // The linear cell with an orthogonal W is the one case where the bound is attained.
        XCTAssertEqual(tightest, 0, accuracy: 1e-9)
        print("w-of-f bound: \(checked) (model, lag) pairs, all under (β_W β_h)^lag; closest approach \(tightest) decades")
    }

    /// With the same weights and inputs and g_0 = f(h_0), the w-of-f state is the f-of-sum pre-activation, and
    /// ∂h^{wf}_t/∂h^{wf}_k = W · ∂h^{fs}_{t−1}/∂h^{fs}_k · diag(f′(a_k)): the same product, one step shorter, with a
    /// boundary factor at each end.
    func testWOfFIsTheFOfSumProductShiftedByOneStep() throws {
        for kind in Self.kinds {
            let wf = model(kind, seed: 6, steps: 12, gain: 1.2)
            var fs = wf
            fs.parameters.form = .fOfSum
            let act = kind.vanillaActivation!
            fs.h0 = wf.h0.map(act.value)
            let a = try Trajectory(model: fs), b = try Trajectory(model: wf)
            for t in 1...12 {
                for i in 0..<7 {
                    XCTAssertEqual(b.states[t][i], a.preactivations[t - 1][i], accuracy: 1e-12 * max(1, abs(a.preactivations[t - 1][i])))
                }
            }
            let w = wf.parameters.weightHH
            func product(_ tr: Trajectory, _ t: Int, _ k: Int) -> Matrix {
                var p = Matrix.identity(7)
                for j in stride(from: t, to: k, by: -1) { p = p * tr.jacobian(at: j) }
                return p
            }
            for t in 2...12 {
                for k in 1..<t {
                    let dk = a.preactivations[k - 1].map(act.derivative)
                    let expected = w * product(a, t - 1, k).scalingColumns(by: dk)
                    let got = product(b, t, k)
                    XCTAssertLessThan((got - expected).frobeniusNorm, 1e-12 * max(1e-300, expected.frobeniusNorm), "\(kind) t=\(t) k=\(k)")
                }
            }
        }
    }

    /// What the identity means for the curves at t = T: the w-of-f curve at lag m lies within the boundary factors
    /// of the f-of-sum curve at lag m − 1 (end step T − 1), and both decay or grow at the same rate.
    func testCurvesDifferOnlyByBoundaryFactors() throws {
        for kind in [CellKind.sigmoid, .tanh] {
            for gain in [0.8, 1.5, 3.0] {
                let t = 400
                let wf = RandomModels.make(RandomModelSpec(kind: kind, hidden: 24, input: 4, steps: t, gain: gain, seed: 11, form: .wOfF))
                var fs = wf
                fs.parameters.form = .fOfSum
                let act = kind.vanillaActivation!
                fs.h0 = wf.h0.map(act.value)
                let a = try Trajectory(model: fs), b = try Trajectory(model: wf)
                let ca = JacobianProducts.curves(a, endStep: t - 1), cb = JacobianProducts.curves(b)
                let w = wf.parameters.weightHH
                let sv = try SVD.singularValues(w)
                let logMax = log10(sv.first!), logMin = log10(sv.last!)
                var width = 0.0   // the widest interval the boundary factors allow (decades)
                for lag in 1...t {
                    let k = t - lag
                    let dk = k == 0 ? wf.h0.map(act.derivative) : a.preactivations[k - 1].map(act.derivative)
                    let hi = logMax + ca.log10Spectral[lag - 1] + log10(dk.max()!)
                    let lo = logMin + ca.log10Spectral[lag - 1] + log10(dk.min()!)
                    width = max(width, hi - lo)
                    XCTAssertLessThanOrEqual(cb.log10Spectral[lag], hi + 1e-9, "\(kind) g=\(gain) lag \(lag)")
                    XCTAssertGreaterThanOrEqual(cb.log10Spectral[lag], lo - 1e-9, "\(kind) g=\(gain) lag \(lag)")
                }
                // The asymptotic rate is the same: the boundary factors do not grow with the lag.
                let ra = CurvesExperiment_rate(ca.log10Spectral), rb = CurvesExperiment_rate(cb.log10Spectral)
                // A least-squares slope over L lags of a difference confined to an interval of this width moves by at
                // most 6·width/L (plus the one-step shift of the f-of-sum curve).
                let slack = 6 * width / Double(t - t / 10) + abs(ra) / Double(t - t / 10)
                XCTAssertEqual(ra, rb, accuracy: slack, "\(kind) g=\(gain): rates \(ra) vs \(rb)")
                let diffs = (1..<t).map { cb.log10Spectral[$0] - ca.log10Spectral[$0] }
                print("\(kind) g=\(gain): rate f-of-sum \(ra), w-of-f \(rb) dec/step (allowed \(slack)); w-of-f − f-of-sum at the same lag: min \(diffs.min()!), max \(diffs.max()!) decades")
            }
        }
    }

    /// Least-squares slope over lags T/10 … T (decades per step).
    private func CurvesExperiment_rate(_ y: [Double]) -> Double {
        let t = y.count - 1
        let lags = (max(1, t / 10)...t).filter { y[$0].isFinite }
        let xs = lags.map(Double.init), ys = lags.map { y[$0] }
        let mx = xs.reduce(0, +) / Double(xs.count), my = ys.reduce(0, +) / Double(ys.count)
        let sxy = zip(xs, ys).reduce(0) { $0 + ($1.0 - mx) * ($1.1 - my) }
        let sxx = xs.reduce(0) { $0 + ($1 - mx) * ($1 - mx) }
        return sxy / sxx
    }

    func testFormIsValidatedAndDefaultsAreUnchanged() throws {
        let fs = RandomModels.make(RandomModelSpec(kind: .tanh, hidden: 5, input: 2, steps: 3, seed: 1))
        XCTAssertEqual(fs.parameters.form, .fOfSum)
        let wf = RandomModels.make(RandomModelSpec(kind: .tanh, hidden: 5, input: 2, steps: 3, seed: 1, form: .wOfF))
        XCTAssertEqual(wf.parameters.weightHH, fs.parameters.weightHH)
        XCTAssertEqual(wf.inputs, fs.inputs)
        // Gated cells have no w-of-f form: the spec ignores it, and parameters that claim it are refused.
        XCTAssertEqual(RandomModels.make(RandomModelSpec(kind: .lstm, hidden: 5, input: 2, steps: 3, form: .wOfF)).parameters.form, .fOfSum)
        var bad = RandomModels.make(RandomModelSpec(kind: .gru, hidden: 5, input: 2, steps: 3)).parameters
        bad.form = .wOfF
        XCTAssertThrowsError(try bad.validate()) { XCTAssertTrue("\($0)".contains("w-of-f")) }
    }
}
