import Dynamics
import Foundation
import GradLab
import XCTest

/// The claims lesson 10 makes, checked on the numbers of its own commands.
final class Lesson10ClaimsTests: XCTestCase {
    /// `language --cells tanh,gru,lstm --iters 1000` (the lesson's main block; every other option its default).
    static var lessonOptions: LanguageOptions {
        var o = LanguageOptions()
        o.cells = [.tanh, .gru, .lstm]
        o.iterations = 1000
        return o
    }

    static let main: LanguageResult = try! LanguageExperiment.run(lessonOptions)

    /// The corpus facts the lesson states: 68 words, T = 46, distances 8–39, baseline ln 7, chance 1/7.
    func testTheCorpusIsTheOneTheLessonDescribes() {
        let o = Self.lessonOptions
        XCTAssertEqual(o.corpus.vocabulary.count, 68)
        XCTAssertEqual(o.corpus.steps, 46)
        XCTAssertEqual(o.minDistance, 8)
        XCTAssertEqual(o.maxDistance, 39)
        XCTAssertEqual(o.learningRate, 0.003)
        XCTAssertEqual(o.clipNorm, 1)
        XCTAssertEqual(o.hidden, 32)
        XCTAssertEqual(StoryTask(corpus: o.corpus).baselineLoss, log(7.0), accuracy: 1e-15)
        XCTAssertEqual(Self.main.chance, 1.0 / 7, accuracy: 1e-15)
    }

    /// GRU and LSTM answer (nearly) every held-out story at every distance; the tanh RNN is well above the
    /// no-memory level but far below them, and not better at the short distances than at the long ones.
    func testGatedCellsHoldAtEveryDistanceAndTanhDoesNot() {
        let r = Self.main
        let tanh = r.runs[0], gru = r.runs[1], lstm = r.runs[2]
        XCTAssertEqual([tanh.cell, gru.cell, lstm.cell], [.tanh, .gru, .lstm])
        for run in [gru, lstm] {
            XCTAssertTrue(run.buckets.allSatisfy { $0.accuracy >= 0.98 }, "\(run.cell): \(run.buckets.map(\.accuracy))")
            XCTAssertLessThan(run.finalLoss, 0.05 * r.baseline)
        }
        XCTAssertGreaterThan(tanh.accuracy, 2 * r.chance)
        XCTAssertLessThan(tanh.accuracy, 0.7)
        XCTAssertTrue(tanh.buckets.allSatisfy { $0.accuracy < 0.7 }, "\(tanh.buckets.map(\.accuracy))")
        XCTAssertLessThanOrEqual(tanh.buckets[0].accuracy, tanh.buckets.last!.accuracy, "short stories are not easier for it here")
        XCTAssertTrue([tanh, gru, lstm].allSatisfy { $0.divergedAt == nil })
    }

    /// Before training, the gradient at the blank reaching B (39 words back), relative to the query's largest,
    /// is smallest for the GRU, then the LSTM, then the tanh RNN (orthogonal W_hh); after training the GRU's and
    /// LSTM's saliency at B exceeds every word of the query, and the tanh RNN's is about 1 everywhere.
    func testSaliencyBeforeAndAfterTraining() {
        let r = Self.main
        let b = r.runs[0].saliency.story.answerPosition
        XCTAssertEqual(r.runs[0].saliency.story.distance, 39)
        func ratio(_ n: [Double]) -> Double { n[b] / n.suffix(4).max()! }
        let before = r.runs.map { ratio($0.initialSaliency.norms) }, after = r.runs.map { ratio($0.saliency.norms) }
        XCTAssertLessThan(before[1], 1e-6, "GRU")
        XCTAssertLessThan(before[1], before[2])
        XCTAssertLessThan(before[2], before[0])
        XCTAssertLessThan(before[0], 0.05, "tanh")
        XCTAssertGreaterThan(after[1], 1, "GRU after training")
        XCTAssertGreaterThan(after[2], 1, "LSTM after training")
        let tanhAfter = r.runs[0].saliency.norms
        XCTAssertTrue(tanhAfter.allSatisfy { $0 > 0.3 && $0 < 10 }, "\(tanhAfter)")
    }

    /// `language --cells tanh --iters 1000 --max-distance 15`: with short stories only, the tanh RNN answers all.
    func testTanhLearnsWhenEveryStoryIsShort() throws {
        var o = LanguageOptions()
        o.cells = [.tanh]
        o.iterations = 1000
        o.maxDistance = 15
        let r = try LanguageExperiment.run(o)
        XCTAssertTrue(r.runs[0].buckets.allSatisfy { $0.accuracy >= 0.98 }, "\(r.runs[0].buckets.map(\.accuracy))")
    }
}
