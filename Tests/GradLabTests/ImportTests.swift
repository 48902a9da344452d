import Foundation
import XCTest
import Dynamics
import GradLab
import Linear

final class ImportTests: XCTestCase {
    func testNpzGivesTheSameCurvesAsTheEquivalentModelFile() throws {
        for (npz, json, cell) in [("rnn_tanh.npz", "rnn_tanh.json", CellKind.tanh), ("lstm2_f4.npz", "lstm2_layer0.json", nil)] {
            let imported = try WeightImport.load(Fixtures.path(npz), cell: cell, drive: DriveOptions())
            XCTAssertEqual(imported.inputSource, "file")
            let layer0 = imported.model.layerModel(0, inputs: imported.model.inputs)
            let fromFile = try ModelFile.load(Fixtures.path(json))
            XCTAssertEqual(layer0, fromFile, npz)
            let a = try CurvesExperiment.analyse(layer0, label: "x"), b = try CurvesExperiment.analyse(fromFile, label: "x")
            XCTAssertEqual(a.curves.log10Spectral, b.curves.log10Spectral)
            XCTAssertEqual(a.curves.log10Bound, b.curves.log10Bound)
            XCTAssertEqual(CurvesExperiment.csv([a]), CurvesExperiment.csv([b]))
        }
    }

    func testTwoLayerLSTMIsAnalysedPerLayerAndThroughDepth() throws {
        let imported = try WeightImport.load(Fixtures.path("lstm2_f4.npz"), drive: DriveOptions())
        XCTAssertEqual(imported.layerSummary, ["lstm 3→5", "lstm 5→5"])
        let report = try ImportExperiment.run(imported, source: "lstm2_f4.npz", exponents: 2)
        XCTAssertEqual(report.layers.map(\.label), ["l0-lstm", "l1-lstm"])
        XCTAssertEqual(report.exponents.map { $0.exponents.count }, [2, 2])
        XCTAssertEqual(report.grid.log10Spectral.count, 2)
        XCTAssertEqual(report.grid.endStep, 25)
        // The top layer's own curve is the grid's top row.
        for lag in 0...25 { XCTAssertEqual(report.grid.log10Frobenius[1][lag], report.layers[1].curves.log10Frobenius[lag], accuracy: 1e-10) }
        XCTAssertTrue(ImportExperiment.table(report).contains("through depth and time"))
        XCTAssertTrue(ImportExperiment.gridCSV(report).hasPrefix("layer,lag,log10_spectral,log10_frobenius\n0,0,"))
    }

    func testGatesInferredPrefixAndGaussianDrive() throws {
        let drive = DriveOptions(steps: 40, seed: 3, inputScale: 0.5)
        let gru = try WeightImport.load(Fixtures.path("gru_be.npz"), drive: drive)
        XCTAssertEqual(gru.model.layers[0].kind, .gru)
        XCTAssertEqual(gru.inputSource, "gaussian")
        XCTAssertEqual(gru.model.inputs.count, 40)
        XCTAssertEqual(gru.model.inputs, try WeightImport.load(Fixtures.path("gru_be.npz"), prefix: "encoder.", drive: drive).model.inputs)
        let zero = try WeightImport.load(Fixtures.path("gru_be.npz"), drive: DriveOptions(steps: 5, inputScale: 0))
        XCTAssertEqual(zero.inputSource, "zero")
        XCTAssertTrue(zero.model.inputs.allSatisfy { $0.allSatisfy { $0 == 0 } })
    }

    func testImportErrorsAreClear() {
        func message(_ file: String, cell: CellKind? = nil, prefix: String? = nil) -> (String, Int32) {
            do { _ = try WeightImport.load(Fixtures.path(file), cell: cell, prefix: prefix, drive: DriveOptions()); return ("", 0) } catch let e as GradLabError {
                return ("\(e)", e.exitCode)
            } catch { return ("other \(error)", -1) }
        }
        var (m, code) = message("rnn_tanh.npz")
        XCTAssertTrue(m.contains("pass --cell tanh or --cell relu"), m); XCTAssertEqual(code, 64)
        (m, code) = message("rnn_tanh.npz", cell: .lstm)
        XCTAssertTrue(m.contains("--cell lstm contradicts"), m); XCTAssertEqual(code, 64)
        (m, code) = message("bad_shape.npz", cell: .tanh)
        XCTAssertTrue(m.contains("'weight_hh_l0' has shape (6, 7)"), m); XCTAssertEqual(code, 65)
        (m, code) = message("missing_whh.npz", cell: .tanh)
        XCTAssertTrue(m.hasSuffix("missing array 'weight_hh_l0'"), m); XCTAssertEqual(code, 65)
        (m, code) = message("gru_be.npz", prefix: "decoder.")
        XCTAssertTrue(m.contains("--prefix 'decoder.' matches no arrays"), m)
        (m, code) = message("nope.npz")
        XCTAssertEqual(code, 66)
        for (_, e) in [message("rnn_tanh.npz"), message("bad_shape.npz", cell: .tanh)] { XCTAssertNotEqual(e, 0) }
        XCTAssertFalse(m.contains("\n"))
    }

    func testStateDictMappingFromArrays() throws {
        // A wrapper module's keys, a bias-free layer, and shapes checked across layers.
        let n = 3, d = 2
        func arr(_ r: Int, _ c: Int, _ v: Double) -> NpyArray { NpyArray(shape: [r, c], values: [Double](repeating: v, count: r * c)) }
        let arrays: [(name: String, array: NpyArray)] = [
            ("rnn.weight_ih_l0", arr(n, d, 0.1)), ("rnn.weight_hh_l0", arr(n, n, 0.2)),
            ("rnn.weight_ih_l1", arr(n, n, 0.1)), ("rnn.weight_hh_l1", arr(n, n, 0.2)),
            ("head.weight", arr(1, n, 1)), ("head.bias", NpyArray(shape: [1], values: [0])),
        ]
        let imp = try WeightImport.fromStateDict(arrays, source: "s", cell: .relu, prefix: nil, drive: DriveOptions(steps: 7))
        XCTAssertEqual(imp.model.depth, 2)
        XCTAssertEqual(imp.model.layers[1].biasIH, [0, 0, 0])
        XCTAssertEqual(imp.model.layers[0].kind, .relu)
        var bad = arrays
        bad[2] = ("rnn.weight_ih_l1", arr(n, 4, 0.1))
        XCTAssertThrowsError(try WeightImport.fromStateDict(bad, source: "s", cell: .relu, prefix: nil, drive: DriveOptions())) { e in
            XCTAssertTrue("\(e)".contains("'weight_ih_l1' has 4 columns but layer 0 has hidden size 3"), "\(e)")
        }
        let reverse = arrays + [("rnn.weight_ih_l0_reverse", arr(n, d, 0))]
        XCTAssertThrowsError(try WeightImport.fromStateDict(reverse, source: "s", cell: .relu, prefix: nil, drive: DriveOptions())) { e in
            XCTAssertTrue("\(e)".contains("bidirectional"), "\(e)")
        }
    }
}

/// The commands as a user runs them (the built `gradlab` binary next to the test bundle).
final class ImportCLITests: XCTestCase {
    static var binary: URL { CLITests.binary }

    /// Runs the binary (see `CLITests.run`).
    func run(_ args: [String]) throws -> (status: Int32, out: String, err: String) {
        let r = try CLITests.run(args)
        return (r.status, r.stdout, r.stderr)
    }

    var tmp = ""
    override func setUpWithError() throws {
        guard FileManager.default.isExecutableFile(atPath: Self.binary.path) else { XCTFail("gradlab binary not built: run `swift build -c release` first (make test does)"); return }
        tmp = NSTemporaryDirectory() + "gradlab-import-\(getpid())-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: tmp, withIntermediateDirectories: true)
    }
    override func tearDown() { try? FileManager.default.removeItem(atPath: tmp) }

    func testImportCSVMatchesCurvesOnTheEquivalentJSON() throws {
        let a = try run(["import", Fixtures.path("rnn_tanh.npz"), "--cell", "tanh", "--csv", tmp + "/a.csv", "--grid-csv", tmp + "/g.csv"])
        XCTAssertEqual(a.status, 0, a.err)
        let b = try run(["curves", "--model", Fixtures.path("rnn_tanh.json"), "--csv", tmp + "/b.csv"])
        XCTAssertEqual(b.status, 0, b.err)
        XCTAssertEqual(try String(contentsOfFile: tmp + "/a.csv", encoding: .utf8), try String(contentsOfFile: tmp + "/b.csv", encoding: .utf8))
        XCTAssertTrue(FileManager.default.fileExists(atPath: tmp + "/g.csv"))
    }

    func testImportErrorsAreOneLineWithExitCodes() throws {
        let good = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("rnn_tanh.npz")))
        try good.prefix(good.count - 30).write(to: URL(fileURLWithPath: tmp + "/cut.npz"))
        let cases: [([String], Int32, String)] = [
            (["import", tmp + "/cut.npz", "--cell", "tanh"], 65, "truncated or corrupt"),
            (["import", Fixtures.path("bad_shape.npz"), "--cell", "tanh"], 65, "'weight_hh_l0' has shape (6, 7)"),
            (["import", Fixtures.path("bad_dtype.npz"), "--cell", "tanh"], 65, "unsupported dtype '<i8'"),
            (["import", Fixtures.path("missing_whh.npz"), "--cell", "tanh"], 65, "missing array 'weight_hh_l0'"),
            (["import", Fixtures.path("rnn_tanh.npz")], 64, "--cell tanh or --cell relu"),
            (["import", tmp + "/none.npz"], 66, "does not exist"),
            (["sweep", "--gain", "2:1:0.1", "--csv", tmp + "/s.csv"], 64, "--gain"),
            (["spectrum", "--lags", "1,x", "--csv", tmp + "/s.csv"], 64, "--lags"),
        ]
        for (args, code, text) in cases {
            let r = try run(args + ["--csv", tmp + "/never.csv"].suffix(args.contains("--csv") ? 0 : 2))
            XCTAssertEqual(r.status, code, "\(args): \(r.err)")
            XCTAssertTrue(r.err.contains(text), "\(args): \(r.err)")
            XCTAssertEqual(r.err.trimmingCharacters(in: .newlines).split(separator: "\n").count, 1, r.err)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: tmp + "/never.csv"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: tmp + "/s.csv"))
    }

    func testSweepSpectrumLyapunovRun() throws {
        let s = try run(["sweep", "--cells", "tanh", "--gain", "0.8,1.2", "--seeds", "2", "--hidden", "8", "--steps", "60",
                         "--csv", tmp + "/s.csv", "--json", tmp + "/s.json", "--jobs", "2"])
        XCTAssertEqual(s.status, 0, s.err)
        XCTAssertEqual(try String(contentsOfFile: tmp + "/s.csv", encoding: .utf8).split(separator: "\n").count, 3)
        let l = try run(["lyapunov", "--iid", "--hidden", "8", "--steps", "500", "--csv", tmp + "/l.csv"])
        XCTAssertEqual(l.status, 0, l.err)
        XCTAssertTrue(l.out.contains("Newman"))
        let sp = try run(["spectrum", "--cells", "gru", "--hidden", "6", "--steps", "20", "--lags", "1,5", "--csv", tmp + "/sp.csv"])
        XCTAssertEqual(sp.status, 0, sp.err)
        XCTAssertEqual(try String(contentsOfFile: tmp + "/sp.csv", encoding: .utf8).split(separator: "\n").count, 13)
    }
}
