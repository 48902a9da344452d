import Dynamics
import Foundation
import GradLab
import Linear
import XCTest

/// The story corpus, the saliency (input gradients) against finite differences, the experiment's
/// determinism and validation, and `gradlab language` as a user runs it.
final class LanguageTests: XCTestCase {
    var tmp: String!
    override func setUpWithError() throws { tmp = try Scratch.folder("language") }
    override func tearDown() { Scratch.remove(tmp) }

    /// Parses a story back from its words alone: (A, B, distance), or a failure message.
    func parse(_ words: [String], names: [String]) -> (a: String, b: String, distance: Int)? {
        guard words.count >= 15 else { return nil }
        // "<B> walked in too ." — find it by its words, not by position.
        let hits = (0..<(words.count - 4)).filter { Array(words[($0 + 1)...($0 + 4)]) == ["walked", "in", "too", "."] }
        guard hits.count == 1, let b = hits.first, names.contains(words[b]) else { return nil }
        guard Array(words[1...5]) == ["walked", "into", "the", "room", "."], names.contains(words[0]) else { return nil }
        guard Array(words.suffix(3)) == ["said", "hi", "to"], words[words.count - 4] == words[0] else { return nil }
        // No other name anywhere.
        let nameSlots = words.indices.filter { names.contains(words[$0]) }
        guard nameSlots == [0, b, words.count - 4] else { return nil }
        return (words[0], words[b], words.count - 1 - b)
    }

    func testCorpusIsSeededAndEveryAnswerParsesBack() throws {
        let corpus = StoryCorpus(minDistance: 8, maxDistance: 39)
        var rng = SeededRNG(seed: 7)
        var seen = Set<Int>()
        for _ in 0..<3000 {
            let s = corpus.story(rng: &rng)
            let p = try XCTUnwrap(parse(s.words, names: corpus.names), s.text)
            XCTAssertNotEqual(p.a, p.b)
            XCTAssertEqual(corpus.names[s.answer], p.b, s.text)
            XCTAssertEqual(corpus.names[s.first], p.a, s.text)
            XCTAssertEqual(s.distance, p.distance, s.text)
            XCTAssertEqual(s.words[s.answerPosition], p.b)
            XCTAssertTrue((8...39).contains(s.distance))
            XCTAssertEqual(s.words.count, s.distance + 7)
            XCTAssertTrue(s.words.allSatisfy { corpus.wordIndex($0) != nil })
            seen.insert(s.distance)
        }
        XCTAssertEqual(seen, Set(8...39), "every distance of the range occurs")
        // Every exact distance can be asked for.
        for d in 8...60 {
            let s = StoryCorpus(minDistance: 8, maxDistance: 60).story(distance: d, rng: &rng)
            XCTAssertEqual(parse(s.words, names: corpus.names)?.distance, d, s.text)
        }
        // Seeded: the same seed gives the same stories, another seed others.
        var a = SeededRNG(seed: 3), b = SeededRNG(seed: 3), c = SeededRNG(seed: 4)
        let sa = (0..<50).map { _ in corpus.story(rng: &a) }
        XCTAssertEqual(sa, (0..<50).map { _ in corpus.story(rng: &b) })
        XCTAssertNotEqual(sa, (0..<50).map { _ in corpus.story(rng: &c) })
    }

    func testTensorsAreOneHotPaddedAtTheFrontWithTheAnswerAsClass() throws {
        let corpus = StoryCorpus(names: Array(StoryCorpus.defaultNames.prefix(5)), minDistance: 8, maxDistance: 20)
        var rng = SeededRNG(seed: 1)
        let (stories, batch) = corpus.batch(size: 20, rng: &rng)
        XCTAssertEqual(batch.steps, 27)
        XCTAssertEqual(batch.inputSize, corpus.vocabulary.count)
        XCTAssertEqual(batch.lossSteps, [27])
        XCTAssertEqual(batch.targets, .classes([stories.map(\.answer)]))
        for (r, s) in stories.enumerated() {
            let pad = 27 - s.words.count
            for t in 0..<27 {
                let row = (0..<batch.inputSize).map { batch.inputs[t][r, $0] }
                XCTAssertEqual(row.reduce(0, +), 1)
                let word = corpus.vocabulary[row.firstIndex(of: 1)!]
                XCTAssertEqual(word, t < pad ? StoryCorpus.pad : s.words[t - pad])
            }
        }
        let task = StoryTask(corpus: corpus)
        XCTAssertEqual(task.outputSize, 5)
        XCTAssertEqual(task.baselineLoss, log(4.0), accuracy: 1e-15)
        XCTAssertEqual(task.loss, .crossEntropy)
    }

    /// The saliency ‖∂L/∂x_t‖ comes from BPTT's input gradients: every entry of ∂L/∂x_t (the one-hot entry
    /// of the word and all the others) against central differences of the loss, for each trainable cell kind
    /// used here, at the answer's step, a middle step and the last step.
    func testSaliencyEqualsFiniteDifferencesOfTheLoss() throws {
        let corpus = StoryCorpus(names: Array(StoryCorpus.defaultNames.prefix(4)), minDistance: 8, maxDistance: 12)
        var rng = SeededRNG(seed: 5)
        let story = corpus.story(distance: 10, rng: &rng)
        let batch = corpus.tensors([story])
        let pad = batch.steps - story.words.count
        var worst = 0.0
        for cell in [CellKind.tanh, .gru, .lstm] {
            let net = RNN.initialized(kind: cell, input: corpus.vocabulary.count, hidden: 6, output: 4, seed: 2)
            let sal = LanguageExperiment.saliency(net, corpus: corpus, story: story)
            let r = BPTT.backward(ForwardPass(net: net, batch: batch), options: BPTTOptions(recordInputGradients: true))
            let grads = try XCTUnwrap(r.inputGradients)
            XCTAssertEqual(sal.norms.count, story.words.count)
            XCTAssertEqual(sal.loss, r.loss)
            for t in [pad + story.answerPosition, pad + 9, batch.steps - 1] {
                let analytic = grads[t].data
                XCTAssertEqual(sal.norms[t - pad], DetLinear.norm(analytic), accuracy: 1e-15)
                var numeric = [Double](repeating: 0, count: analytic.count)
                let h = 1e-5
                for j in 0..<analytic.count {
                    var up = batch, down = batch
                    up.inputs[t][0, j] += h
                    down.inputs[t][0, j] -= h
                    numeric[j] = (ForwardPass(net: net, batch: up).loss - ForwardPass(net: net, batch: down).loss) / (2 * h)
                }
                let diff = zip(numeric, analytic).map { $0 - $1 }
                let rel = DetLinear.norm(diff) / DetLinear.norm(analytic)
                XCTAssertGreaterThan(DetLinear.norm(analytic), 1e-6, "\(cell) t=\(t): a gradient too small to test")
                XCTAssertLessThan(rel, 1e-6, "\(cell) step \(t) (\(story.words[t - pad])): relative error \(rel)")
                worst = max(worst, rel)
            }
        }
        print("saliency against finite differences: largest relative error \(worst)")
    }

    static func small() -> LanguageOptions {
        var o = LanguageOptions()
        o.hidden = 6
        o.iterations = 12
        o.batchSize = 8
        o.minDistance = 8
        o.maxDistance = 15
        o.nameCount = 4
        o.evalPerBucket = 8
        o.jobs = 2
        return o
    }

    func testSameSeedSameNumbersWhateverTheJobs() throws {
        var o = Self.small()
        let a = try LanguageExperiment.run(o)
        o.jobs = 1
        let b = try LanguageExperiment.run(o)
        XCTAssertEqual(a.runs.map(\.losses), b.runs.map(\.losses))
        XCTAssertEqual(a.runs.map(\.buckets), b.runs.map(\.buckets))
        XCTAssertEqual(a.runs.map(\.saliency), b.runs.map(\.saliency))
        XCTAssertEqual(LanguageExperiment.accuracyCSV(a), LanguageExperiment.accuracyCSV(b))
        XCTAssertEqual(try LanguageExperiment.json(a), try LanguageExperiment.json(b))
        XCTAssertEqual(a.runs.map(\.cell), [.tanh, .gru, .lstm])
        XCTAssertEqual(a.runs[0].buckets.map(\.distances), [8...11, 12...15])
        XCTAssertEqual(a.runs[0].buckets.map(\.stories), [8, 8])
        XCTAssertEqual(a.chance, 1.0 / 3, accuracy: 1e-15)
        XCTAssertEqual(a.baseline, log(3.0), accuracy: 1e-15)
        o.seed = 1
        XCTAssertNotEqual(try LanguageExperiment.run(o).runs.map(\.losses), a.runs.map(\.losses))
    }

    func testBadOptionsAreUsageErrorsNamingTheOption() {
        func fails(_ edit: (inout LanguageOptions) -> Void, _ mentions: String, line: UInt = #line) {
            var o = Self.small()
            edit(&o)
            XCTAssertThrowsError(try o.validate(), line: line) { e in
                guard let g = e as? GradLabError, case .usage(let m) = g else { return XCTFail("\(e)", line: line) }
                XCTAssertTrue(m.contains(mentions), m, line: line)
            }
        }
        fails({ $0.minDistance = 7 }, "--min-distance must be at least 8")
        fails({ $0.maxDistance = 7 }, "--max-distance must be at least --min-distance")
        fails({ $0.maxDistance = 401 }, "--max-distance must be at most 400")
        fails({ $0.nameCount = 1 }, "--names must be between 2 and 8")
        fails({ $0.nameCount = 9 }, "--names must be between 2 and 8")
        fails({ $0.cells = [.skip] }, "--cells: skip cannot be trained")
        fails({ $0.cells = [] }, "--cells must name at least one cell")
        fails({ $0.hidden = 0 }, "--hidden must be a positive integer")
        fails({ $0.learningRate = .nan }, "--lr must be a finite number")
        fails({ $0.bucketWidth = 0 }, "--bucket must be a positive integer")
        fails({ $0.saliencyDistance = 30 }, "--saliency-distance must lie in")
        fails({ $0.clipNorm = -1 }, "--clip-norm must be positive")
    }

    // MARK: the command

    func testCommandRunsAndIsByteDeterministic() throws {
        guard FileManager.default.isExecutableFile(atPath: CLITests.binary.path) else { throw XCTSkip("no gradlab binary") }
        func run(_ dir: String) throws -> CLITests.Run {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            return try CLITests.run(["language", "--hidden", "6", "--iters", "10", "--batch", "8", "--max-distance", "15", "--names", "4",
                                     "--eval-per-bucket", "8", "--csv", dir + "/a.csv", "--saliency-csv", dir + "/s.csv",
                                     "--json", dir + "/r.json", "--accuracy-chart", dir + "/a.png", "--saliency-chart", dir + "/s.svg"])
        }
        let a = try run(tmp + "/1"), b = try run(tmp + "/2")
        XCTAssertEqual(a.status, 0, a.stderr)
        XCTAssertEqual(b.status, 0, b.stderr)
        for f in ["a.csv", "s.csv", "r.json", "a.png", "s.svg"] {
            let x = try Data(contentsOf: URL(fileURLWithPath: tmp + "/1/" + f)), y = try Data(contentsOf: URL(fileURLWithPath: tmp + "/2/" + f))
            XCTAssertFalse(x.isEmpty, f)
            XCTAssertEqual(x, y, "\(f) differs between two runs")
        }
        XCTAssertTrue(a.stdout.contains("held-out accuracy at the blank"), a.stdout)
        XCTAssertTrue(a.stdout.contains("saliency story (distance 15)"), a.stdout)
        let csv = try String(contentsOfFile: tmp + "/1/a.csv", encoding: .utf8)
        XCTAssertTrue(csv.hasPrefix(LanguageExperiment.accuracyCSVHeader + "\ntanh,8,11,8,"), csv)
        let story = try CLITests.run(["language", "--story"])
        XCTAssertEqual(story.status, 0)
        XCTAssertTrue(story.stdout.contains("distance 39: "), story.stdout)
    }

    func testCommandErrorsAreOneLineWithExit64AndNoFiles() throws {
        guard FileManager.default.isExecutableFile(atPath: CLITests.binary.path) else { throw XCTSkip("no gradlab binary") }
        let csv = ["--csv", tmp + "/out.csv"]
        for (args, mentions) in [
            (["--min-distance", "5"], "--min-distance must be at least 8"),
            (["--cells", "tanh,skip"], "skip cannot be trained"),
            (["--cells", "elman"], "unknown cell 'elman'"),
            (["--story"], "--story prints sample stories and trains nothing: drop --csv"),
            (["--iters", "100000000"], "needs ~"),
            (["--no-clip", "--clip-norm", "1"], "--no-clip contradicts --clip-norm"),
            (["--accuracy-chart", tmp + "/x.gif"], "unsupported format"),
        ] {
            let r = try CLITests.run(["language"] + args + csv)
            XCTAssertEqual(r.status, 64, "\(args): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains(mentions), "\(args): \(r.stderr)")
            XCTAssertEqual(r.stderr.trimmingCharacters(in: .newlines).split(separator: "\n").count, 1, r.stderr)
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: tmp), [], "\(args) left a file")
        }
    }
}
