import Foundation
import XCTest
import Dynamics
import Linear

final class SpectrumTests: XCTestCase {
    /// Explicit product J_t ⋯ J_{k+1}.
    func product(_ traj: Trajectory, t: Int, lag: Int) -> Matrix {
        var p = Matrix.identity(traj.cell.stateSize)
        for j in stride(from: t, to: t - lag, by: -1) { p = p * traj.jacobian(at: j) }
        return p
    }

    func testSpectraMatchExplicitProducts() throws {
        for kind in [CellKind.tanh, .gru, .lstm] {
            let traj = try Trajectory(model: RandomModels.make(RandomModelSpec(kind: kind, hidden: 10, input: 3, steps: 30, gain: 1.2, seed: 4)))
            let lags = [0, 1, 5, 20, 99]
            let spectra = try SingularSpectra.compute(traj, lags: lags)
            XCTAssertEqual(spectra.map(\.lag), [0, 1, 5, 20])
            for s in spectra {
                var p = product(traj, t: 30, lag: s.lag)
                if kind == .lstm { p = p.block(rows: 0..<10, cols: 0..<10) }
                let exact = try SVD.singularValues(p)
                XCTAssertEqual(s.log10Values.count, 10)
                for (a, e) in zip(s.log10Values, exact) where log10(e) > s.log10Floor + 2 {
                    // Both products lose relative accuracy ≈ ε·σ_1/σ_i on the small values: allow that much.
                    let tol = 1e-9 + 100 * pow(10, s.log10Floor - log10(e))
                    XCTAssertEqual(a, log10(e), accuracy: tol, "\(kind) lag \(s.lag)")
                }
                XCTAssertEqual(s.log10Values, s.log10Values.sorted(by: >))
            }
            XCTAssertEqual(spectra[0].log10Values.allSatisfy { abs($0) < 1e-12 }, true)
            if kind == .lstm {
                let full = try SingularSpectra.compute(traj, lags: [5], block: .state)
                XCTAssertEqual(full[0].log10Values.count, 20)
            }
        }
    }

    func testOrthogonalLinearSpectrumIsFlat() throws {
        let traj = try Trajectory(model: RandomModels.make(RandomModelSpec(kind: .linear, hidden: 16, input: 2, steps: 300, gain: 0.9, seed: 1, initialization: .orthogonal)))
        let s = try SingularSpectra.compute(traj, lags: [300])[0]
        for v in s.log10Values { XCTAssertEqual(v, 300 * log10(0.9), accuracy: 1e-9) }
        XCTAssertEqual(s.resolvedCount, 16)
        XCTAssertEqual(s.count(withinDecades: 1), 16)
    }

    func testLongLagSpectrumCollapsesTowardsTopDirections() throws {
        let traj = try Trajectory(model: RandomModels.make(RandomModelSpec(kind: .tanh, hidden: 32, input: 4, steps: 200, gain: 1, seed: 2)))
        let s = try SingularSpectra.compute(traj, lags: [1, 200])
        XCTAssertGreaterThan(s[0].count(withinDecades: 1), s[1].count(withinDecades: 1))
        XCTAssertLessThan(s[1].resolvedCount, 32)
    }
}
