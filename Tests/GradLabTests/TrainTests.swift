import Dynamics
import Foundation
import GradLab
import XCTest

final class TrainTests: XCTestCase {
    var tmp: String!
    override func setUpWithError() throws { tmp = try Scratch.folder("train") }
    override func tearDown() { Scratch.remove(tmp) }

    func small(_ cell: CellKind = .lstm) -> TrainOptions {
        var o = TrainOptions()
        o.cell = cell
        o.steps = 10
        o.hidden = 8
        o.iterations = 60
        o.batchSize = 16
        o.evalEvery = 20
        o.evalSize = 64
        o.snapshots = 2
        return o
    }

    func testSameSeedGivesIdenticalRunsAndOtherSeedsDiffer() throws {
        var o = small(.gru)
        o.truncation = 3
        o.clipValue = 0.1
        let a = try TrainExperiment.run(o), b = try TrainExperiment.run(o)
        XCTAssertEqual(a.records, b.records)
        XCTAssertEqual(a.snapshots, b.snapshots)
        XCTAssertEqual(TrainExperiment.csv([a]), TrainExperiment.csv([b]))
        o.seed = 1
        XCTAssertNotEqual(try TrainExperiment.run(o).records, a.records)
    }

    func testTrainingLowersTheLossForEveryCellAndTask() throws {
        for cell in [CellKind.tanh, .irnn, .lstm, .gru, .leaky] {
            for task in TrainTaskKind.allCases {
                var o = small(cell)
                o.task = task
                o.steps = task == .copy ? 12 : 10
                o.copyLength = 2
                o.symbols = 3
                o.iterations = 150
                o.clipNorm = 1
                let r = try TrainExperiment.run(o)
                XCTAssertNil(r.divergedAt, "\(cell) \(task)")
                XCTAssertLessThan(r.finalEvalLoss, r.evaluations[0].loss, "\(cell) \(task) should learn something")
                XCTAssertEqual(r.records.count, 150)
            }
        }
    }

    func testClippingIsRecordedBeforeAndAfter() throws {
        var o = small(.tanh)
        o.clipNorm = 0.05
        let r = try TrainExperiment.run(o)
        for rec in r.records {
            XCTAssertLessThanOrEqual(rec.clippedNorm, 0.05 * (1 + 1e-12))
            if rec.gradNorm <= 0.05 { XCTAssertEqual(rec.clippedNorm, rec.gradNorm) } else { XCTAssertEqual(rec.clippedNorm, 0.05, accuracy: 1e-12) }
        }
        XCTAssertGreaterThan(r.clippedIterations, 0)
        o.clipNorm = nil
        o.clipValue = 1e-4
        for rec in try TrainExperiment.run(o).records { XCTAssertLessThanOrEqual(rec.clippedNorm, rec.gradNorm) }
    }

    func testTruncationReportsTheCutOffShare() throws {
        var o = small(.tanh)
        o.truncation = 2
        let r = try TrainExperiment.run(o)
        XCTAssertEqual(r.snapshots.count, 2)
        for s in r.snapshots {
            XCTAssertEqual(s.norms.count, 10)
            let share = try XCTUnwrap(s.cutOffShare)
            XCTAssertGreaterThan(share, 0)
        }
        XCTAssertTrue(TrainExperiment.report(r).contains("truncation K=2"))
        let csv = TrainExperiment.contributionsCSV([r]).split(separator: "\n")
        XCTAssertEqual(csv.count, 1 + 2 * 10)
        XCTAssertTrue(csv[3].hasSuffix(",1"), "lag 2 is cut off: \(csv[3])")
        XCTAssertTrue(csv[2].hasSuffix(",0"), "lag 1 is kept: \(csv[2])")
    }

    func testDivergenceStopsTheRunAndClippingPreventsIt() throws {
        // Plain SGD with a huge learning rate on an IRNN: the ReLU state and the gradients blow up.
        var o = small(.irnn)
        o.steps = 30
        o.optimizer = .sgd
        o.learningRate = 20
        o.iterations = 100
        let a = try TrainExperiment.run(o)
        XCTAssertNotNil(a.divergedAt)
        XCTAssertLessThan(a.records.count, 100)
        o.clipNorm = 0.01
        let b = try TrainExperiment.run(o)
        XCTAssertNil(b.divergedAt)
    }

    func testValidationNamesTheFlag() {
        func message(_ change: (inout TrainOptions) -> Void) -> String {
            var o = TrainOptions()
            change(&o)
            do { try o.validate(); return "" } catch { return "\(error)" }
        }
        XCTAssertTrue(message { $0.clipNorm = 1; $0.clipValue = 1 }.contains("--clip-norm and --clip-value"))
        XCTAssertTrue(message { $0.learningRate = -1 }.contains("--lr must be positive"))
        XCTAssertTrue(message { $0.truncation = 0 }.contains("--truncate"))
        XCTAssertTrue(message { $0.task = .copy; $0.steps = 8 }.contains("at least 2·copy-length + 1 = 11"))
        XCTAssertTrue(message { $0.momentum = 1 }.contains("--momentum"))
        XCTAssertEqual(message { _ in }, "")
        XCTAssertThrowsError(try TrainExperiment.compareClipping(small()))
    }

    func testCSVAndChartsAreWritten() throws {
        var o = small(.lstm)
        o.truncation = 4
        o.clipNorm = 0.5
        let r = try TrainExperiment.run(o)
        let csv = TrainExperiment.csv([r]).split(separator: "\n", omittingEmptySubsequences: false)
        XCTAssertEqual(csv[0], Substring(TrainExperiment.csvHeader))
        XCTAssertEqual(csv.count, 1 + 1 + 60 + 1)   // header, iteration 0, iterations, trailing newline
        XCTAssertTrue(csv[1].hasPrefix("lstm,0,,"))
        let paths = ["loss", "grad", "contrib"].map { tmp + "/\($0).png" }
        XCTAssertEqual(try TrainCharts.save(r, loss: paths[0], gradNorm: paths[1], contributions: paths[2]), paths)
        for p in paths {
            let d = try Data(contentsOf: URL(fileURLWithPath: p))
            XCTAssertEqual(Array(d.prefix(4)), [0x89, 0x50, 0x4E, 0x47], p)
        }
        var c = o
        c.iterations = 20
        let (a, b) = try TrainExperiment.compareClipping(c)
        XCTAssertEqual(a.label, "no clipping")
        try TrainCharts.saveClipping(unclipped: a, clipped: b, to: tmp + "/clip.svg")
        XCTAssertTrue(try String(contentsOfFile: tmp + "/clip.svg", encoding: .utf8).contains("<svg"))
        XCTAssertThrowsError(try TrainCharts.save(r, loss: tmp + "/x.gif", gradNorm: nil, contributions: nil))
    }

    func testSweepCoversEveryPairAndIsDeterministic() throws {
        var s = TrainSweepOptions()
        s.cells = [.tanh, .lstm]
        s.lengths = [6, 12]
        s.base.hidden = 6
        s.base.iterations = 15
        s.base.evalSize = 32
        s.base.evalEvery = 5
        let a = try TrainSweep.run(s)
        XCTAssertEqual(a.points.count, 4)
        XCTAssertEqual(a.baseline, 1.0 / 6, accuracy: 1e-15)
        s.jobs = 1
        let b = try TrainSweep.run(s)
        XCTAssertEqual(TrainSweep.csv(a).split(separator: "\n").map { $0.split(separator: ",").prefix(5) },
                       TrainSweep.csv(b).split(separator: "\n").map { $0.split(separator: ",").prefix(5) },
                       "parallel and serial sweeps give the same numbers")
        XCTAssertTrue(TrainSweep.table(a).contains("T=12"))
        try TrainCharts.saveSweep(a, to: tmp + "/sweep.png")
        s.lengths = []
        XCTAssertThrowsError(try TrainSweep.run(s))
    }

    // MARK: command line

    static var binary: URL { CLITests.binary }

    /// Runs the binary (see `CLITests.run`).
    func run(_ args: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        let r = try CLITests.run(args)
        return (r.status, r.stdout, r.stderr)
    }

    func testCommandLineErrorsAreOneLineAndWriteNothing() throws {
        guard FileManager.default.isExecutableFile(atPath: Self.binary.path) else { XCTFail("gradlab binary not built: run `swift build -c release` first (make test does)"); return }
        let out = ["--out", tmp + "/run"]
        let cases: [([String], String, Int32)] = [
            (["train", "--clip-norm", "1", "--clip-value", "1"] + out, "--clip-norm and --clip-value", 64),
            (["train", "--steps", "-5"] + out, "--steps must be a positive integer (got -5)", 64),
            (["train", "--lr", "-0.1"] + out, "--lr must be positive (got -0.1)", 64),
            (["train", "--cell", "elman"] + out, "elman", 64),
            (["train", "--compare-clipping"] + out, "--compare-clipping needs", 64),
            (["train", "--out", tmp + "/missing/run"], "does not exist", 73),
            (["train-sweep", "--lengths", "10,x"] + out, "--lengths must be comma-separated integers", 64),
        ]
        for (args, mention, code) in cases {
            let r = try run(args)
            XCTAssertEqual(r.status, code, "\(args): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains(mention), "\(args): \(r.stderr)")
            XCTAssertEqual(r.stderr.trimmingCharacters(in: .newlines).split(separator: "\n").count, 1, r.stderr)
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: tmp), [])
    }

    func testCommandLineTrainWritesEveryOutput() throws {
        guard FileManager.default.isExecutableFile(atPath: Self.binary.path) else { XCTFail("gradlab binary not built: run `swift build -c release` first (make test does)"); return }
        let r = try run(["train", "--cell", "gru", "--steps", "8", "--hidden", "6", "--iters", "30", "--truncate", "3",
                         "--clip-norm", "1", "--eval-size", "32", "--out", tmp + "/g"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("held-out MSE"), r.stdout)
        let files = Set(try FileManager.default.contentsOfDirectory(atPath: tmp))
        XCTAssertEqual(files, ["g.csv", "g-contributions.csv", "g-loss.png", "g-grad-norm.png", "g-contributions.png"])
        let b = try run(["train", "--bench", "--cell", "tanh", "--hidden", "8", "--steps", "10", "--batch", "4", "--repetitions", "2"])
        XCTAssertEqual(b.status, 0, b.stderr)
        XCTAssertTrue(b.stdout.contains("BPTT pass, tanh n=8 T=10 batch 4"), b.stdout)
    }
}
