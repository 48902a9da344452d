import Dynamics
import Foundation
import GradLab
import XCTest

/// The claims the lessons make (issue 13's must-show list), checked on the numbers gradlab computes.
final class LessonClaimsTests: XCTestCase {
    /// The default leak rates a ∈ 0.02:0.2 give time constants 1/a from 5 to 50 steps, the units drawn span
    /// most of that, and the cell keeps α = 1 − a of its state per step.
    func testLeakyDefaultTimeConstantsSpanFiveToFiftySteps() throws {
        let o = CurvesOptions()
        XCTAssertEqual(1 / o.leakRange.upperBound, 5, accuracy: 1e-12)
        XCTAssertEqual(1 / o.leakRange.lowerBound, 50, accuracy: 1e-12)
        let m = RandomModels.make(o.spec(.leaky))
        let alpha = try XCTUnwrap(m.parameters.alpha)
        let tau = alpha.map { 1 / (1 - $0) }       // time constant 1/a of each unit (α = retention)
        XCTAssertEqual(tau.count, 32)
        XCTAssertTrue(tau.allSatisfy { $0 >= 5 - 1e-9 && $0 <= 50 + 1e-9 }, "\(tau)")
        XCTAssertLessThan(tau.min()!, 6, "some units react within a few steps")
        XCTAssertGreaterThan(tau.max()!, 25, "others change slowly")
        // The multiple time scales show in the curves: the leaky network keeps its gradient far longer than
        // plain tanh with the same W_hh (before the fix the two were 0.631 and 0.638 per step).
        var c = CurvesOptions()
        c.cells = [.tanh, .leaky]
        c.steps = 200
        let r = try CurvesExperiment.run(c)
        XCTAssertLessThan(r[0].perStepFactor, 0.7)
        XCTAssertGreaterThan(r[1].perStepFactor, 0.9)
        // The step itself: h = α⊙h_prev + (1−α)⊙tanh(a), with α the retention.
        let cell = LeakyCell(m.parameters)
        let h0 = (0..<32).map { Double($0) / 40 }
        var a = [Double](repeating: 0, count: 32)
        let h1 = cell.step(state: h0, input: m.inputs[0], preactivation: &a)
        for i in 0..<32 { XCTAssertEqual(h1[i], alpha[i] * h0[i] + (1 - alpha[i]) * tanh(a[i]), accuracy: 1e-15) }
    }

    /// One model keeps its regime label as T grows; clear cases stay clear.
    func testRegimeOfOneModelIsTheSameForEveryLength() throws {
        func regimes(_ edit: (inout CurvesOptions) -> Void) throws -> [Regime] {
            try [50, 100, 200, 400].map { t in
                var o = CurvesOptions()
                edit(&o)
                o.steps = t
                return try CurvesExperiment.run(o)[0].regime
            }
        }
        let lstm = try regimes { $0.cells = [.lstm]; $0.forgetBias = 3 }
        XCTAssertEqual(Set(lstm).count, 1, "lstm, forget bias 3: \(lstm)")
        XCTAssertEqual(try regimes { $0.cells = [.tanh] }, Array(repeating: .vanishing, count: 4))
        XCTAssertEqual(try regimes { $0.cells = [.tanh]; $0.gain = 3; $0.inputScale = 0.1 }, Array(repeating: .exploding, count: 4))
    }

    /// The sweep's edge interval runs from the largest seed's zero crossing to the smallest seed's.
    func testSweepEdgeIntervalFollowsTheSeedsSpread() {
        func stat(_ g: Double, _ mean: Double, _ spread: Double) -> SweepStat {
            SweepStat(cell: .tanh, gain: g, mean: mean, std: spread / 2, min: mean - spread, max: mean + spread, zeroCount: 0, overflowCount: 0)
        }
        let s = [stat(0.8, -0.2, 0.05), stat(1.0, -0.1, 0.05), stat(1.2, 0.0 + 0.02, 0.05), stat(1.4, 0.1, 0.05)]
        XCTAssertEqual(SweepExperiment.crossing(s, \.max)!, 1.0 + 0.2 * 0.05 / 0.12, accuracy: 1e-12)
        XCTAssertEqual(SweepExperiment.crossing(s, \.min)!, 1.2 + 0.2 * 0.03 / 0.08, accuracy: 1e-12)
        XCTAssertEqual(SweepExperiment.edge(s)!, 1.0 + 0.2 * 0.1 / 0.12, accuracy: 1e-12)
        XCTAssertEqual(SweepExperiment.zeroStateExponent(gain: 0.5), log(0.5), accuracy: 1e-15)
    }

    /// Lesson 3's and the README's example: the clipped run ends below half the 1/6 baseline, the unclipped
    /// one diverges or stalls (ends no better than 90 % of the baseline).
    func testClippingExampleLearnsAndTheUnclippedRunDoesNot() throws {
        let o = LessonClaimsTests.clippingExample
        let (plain, clipped) = try TrainExperiment.compareClipping(o)
        XCTAssertLessThan(clipped.finalEvalLoss, clipped.baseline / 2)
        XCTAssertNil(clipped.divergedAt)
        XCTAssertTrue(plain.divergedAt != nil || !(plain.finalEvalLoss < 0.9 * plain.baseline),
                      "unclipped: \(plain.finalEvalLoss), diverged at \(String(describing: plain.divergedAt))")
    }
}

extension LessonClaimsTests {
    /// `train --cell lstm --task adding --steps 20 --hidden 32 --iters 1500 --optimizer sgd --lr 1 --clip-norm 1
    /// --compare-clipping` (README, lesson 3, `make gallery-training`).
    static var clippingExample: TrainOptions {
        var o = TrainOptions()
        o.cell = .lstm
        o.task = .adding
        o.steps = 20
        o.hidden = 32
        o.iterations = 1500
        o.optimizer = .sgd
        o.learningRate = 1
        o.clipNorm = 1
        return o
    }
}
