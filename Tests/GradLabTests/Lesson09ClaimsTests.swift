import Dynamics
import Foundation
import GradLab
import XCTest

/// The claims lesson 9 makes, checked on the numbers of its own blocks (same options).
final class Lesson09ClaimsTests: XCTestCase {
    /// `architectures paths --cell tanh --steps 16 --source-length 10 --target-length 6`.
    static var pathsOptions: ArchitectureOptions {
        var o = ArchitectureOptions()
        o.cell = .tanh; o.hidden = 16; o.steps = 16; o.sourceLength = 10; o.targetLength = 6
        return o
    }

    /// Each map has its architecture's shape, and in every one the gradient is weaker on the longest paths
    /// than on the shortest.
    func testEachArchitectureHasItsShapeAndLongPathsCarryLessGradient() throws {
        let r = try ArchitectureExperiment.paths(Self.pathsOptions)
        XCTAssertEqual(r.maps.map(\.architecture), Architecture.allCases)
        let shapes = r.maps.map { ($0.outputSteps.count, $0.inputsPresent.count) }
        XCTAssertEqual(shapes.map(\.0), [13, 1, 15, 6])     // echo D = 3: outputs 4…16; majority: T; caption: 2…16; decoder 1…6
        XCTAssertEqual(shapes.map(\.1), [16, 16, 1, 10])
        for m in r.maps {
            let pts = m.lengthPoints
            let lengths = pts.map(\.length)
            func mean(_ l: Int) -> Double { let v = pts.filter { $0.length == l }.map(\.log10); return v.reduce(0, +) / Double(v.count) }
            XCTAssertGreaterThan(mean(lengths.min()!) - mean(lengths.max()!), 0.4, "\(m.architecture): shortest vs longest path")
        }
        // The encoder–decoder's shortest path is 1 step (last source symbol → first output), its longest S − 1 + T′.
        let ed = r.maps[3]
        XCTAssertEqual(ed.lengthPoints.map(\.length).min(), 1)
        XCTAssertEqual(ed.lengthPoints.map(\.length).max(), 10 - 1 + 6)
        // Causality in the many-to-many map: no gradient from a later input.
        let mm = r.maps[0]
        for (row, j) in mm.outputSteps.enumerated() where j < 16 {
            XCTAssertEqual(mm.norms[row][j], 0, "output \(j) must not depend on input \(j + 1)")
        }
    }

    /// `architectures reversal --cell lstm --source-length 10 --iters 300 --seeds 3`: the shortest path falls from
    /// S to 1, the mean stays S, and the reversed source ends with a lower loss for every seed, both far below
    /// the memoryless baseline. The maps: reversed, the first output's symbol sits on the strongest cell.
    func testReversingTheSourceShortensTheShortestPathAndLowersTheLoss() throws {
        var o = ArchitectureOptions()
        o.cell = .lstm; o.hidden = 32; o.sourceLength = 10; o.iterations = 300; o.seeds = 3
        let r = try ArchitectureExperiment.reversal(o)
        XCTAssertEqual(r.pathsNormal, Array(repeating: 10, count: 10))
        XCTAssertEqual(r.pathsReversed, (1...10).map { 2 * $0 - 1 })
        XCTAssertEqual(r.pathsReversed.reduce(0, +), r.pathsNormal.reduce(0, +))
        for (a, b) in zip(r.normal, r.reversed) {
            XCTAssertNil(a.divergedAt); XCTAssertNil(b.divergedAt)
            XCTAssertLessThan(b.finalLoss, a.finalLoss)
            XCTAssertLessThan(a.finalLoss, r.baseline / 2)
        }
        let m = r.mapReversed
        let first = m.norms[0][m.matchingInput![0] - 1]
        XCTAssertEqual(first, m.norms.flatMap { $0 }.max(), "reversed: output 1's source symbol is the strongest pair")
        let n = r.mapNormal
        XCTAssertLessThan(n.norms[0][n.matchingInput![0] - 1], first / 3, "in order the first pair is S steps away")
    }

    /// `heatmap --cell tanh --layers 4 --steps 60 --gain 1.2` and `curves --cells tanh --layers 3 --gain 1.2
    /// --steps 100`: at the longest lag the gradient reaching the bottom layer is far larger than the one
    /// reaching the top layer itself (the route through the slowest-decaying layer dominates).
    func testDepthAddsRoutesTheBottomLayerIsNotTheWeakest() throws {
        for (layers, steps, factor) in [(4, 60, 100.0), (3, 100, 300.0)] {
            var o = CurvesOptions()
            o.cells = [.tanh]; o.layers = layers; o.steps = steps; o.gain = 1.2
            let (label, model) = try DepthExperiment.stacks(o)[0]
            let g = try DepthExperiment.analyse(model, label: label, curves: false).grid
            let bottom = g.log10Spectral[0][steps], top = g.log10Spectral[layers - 1][steps]
            XCTAssertGreaterThan(bottom - top, log10(factor), "\(layers) layers, T = \(steps): bottom \(bottom), top \(top)")
        }
    }

    /// The two textbook forms decay at the same rate (the `×/step` columns of the lesson's two tables).
    func testBothTextbookFormsDecayAtTheSameRate() throws {
        var o = CurvesOptions()
        o.cells = [.sigmoid, .tanh]; o.gain = 1.5; o.steps = 200
        let fOfSum = try CurvesExperiment.run(o)
        o.form = .wOfF
        let wOfF = try CurvesExperiment.run(o)
        for (a, b) in zip(fOfSum, wOfF) {
            XCTAssertEqual(a.perStepFactor, b.perStepFactor, accuracy: 0.005, "\(a.label)")
            XCTAssertEqual(a.betaW, b.betaW)
        }
    }
}
