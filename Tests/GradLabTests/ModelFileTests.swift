import Foundation
import XCTest
import Dynamics
import GradLab
import Linear

final class ModelFileTests: XCTestCase {
    func testRoundTripIsExactForEveryCell() throws {
        for kind in CellKind.allCases {
            var model = RandomModels.make(RandomModelSpec(kind: kind, hidden: 5, input: 3, steps: 7, gain: 1.7, seed: 4, forgetBias: 1))
            var rng = SeededRNG(seed: 8)
            model.h0 = rng.gaussians(5)                       // values with full 17-digit mantissas
            model.parameters.biasHH = rng.gaussians(model.parameters.biasHH.count, std: 1e-300)
            let back = try ModelFile.decode(try ModelFile.encode(model), source: "mem")
            XCTAssertEqual(back, model, "\(kind)")
            XCTAssertEqual(back.parameters.weightHH.data.map(\.bitPattern), model.parameters.weightHH.data.map(\.bitPattern))
        }
    }

    private func decodeError(_ json: String) -> String {
        do { _ = try ModelFile.decode(Data(json.utf8), source: "m.json"); return "no error" } catch { return "\(error)" }
    }

    func testMalformedFilesGiveOneLineErrorsNamingTheProblem() throws {
        XCTAssertEqual(decodeError("{"), "m.json: not valid JSON")
        XCTAssertEqual(decodeError("{\"format\":\"gradlab.model/1\"}"), "m.json: missing field \"cell\"")
        let good = String(decoding: try ModelFile.encode(RandomModels.make(RandomModelSpec(kind: .tanh, hidden: 2, input: 1, steps: 2))), as: UTF8.self)
        XCTAssertEqual(decodeError(good.replacingOccurrences(of: "\"cell\":\"tanh\"", with: "\"cell\":\"elman\"")),
                       "m.json: unknown cell \"elman\" (expected one of sigmoid, tanh, relu, linear, irnn, lstm, gru, leaky, skip)")
        XCTAssertEqual(decodeError(good.replacingOccurrences(of: "\"hidden_size\":2", with: "\"hidden_size\":3")),
                       "m.json: weight_ih must be 3×1 for a tanh cell with hidden_size 3, got 2×1")
        XCTAssertEqual(decodeError(good.replacingOccurrences(of: "gradlab.model/1", with: "gradlab.model/9")),
                       "m.json: format is \"gradlab.model/9\", expected \"gradlab.model/1\"")
        XCTAssertEqual(decodeError(good.replacingOccurrences(of: "\"h0\":[0,0]", with: "\"h0\":[0,\"x\"]")),
                       "m.json: field \"h0[1]\" has the wrong type or is null")
        XCTAssertFalse(decodeError(good).contains("\n"))
        XCTAssertEqual(decodeError(good), "no error")
    }

    func testSameSeedGivesByteIdenticalCSVAndDifferentSeedDoesNot() throws {
        var o = CurvesOptions()
        o.hidden = 12; o.steps = 40; o.cells = [.sigmoid, .tanh, .lstm, .gru]
        let a = CurvesExperiment.csv(try CurvesExperiment.run(o))
        let b = CurvesExperiment.csv(try CurvesExperiment.run(o))
        XCTAssertEqual(a, b)
        o.seed = 1
        XCTAssertNotEqual(a, CurvesExperiment.csv(try CurvesExperiment.run(o)))
        XCTAssertEqual(a.split(separator: "\n").count, 1 + 4 * 41)
    }

    func testSavedModelReproducesTheCurves() throws {
        var o = CurvesOptions()
        o.hidden = 6; o.steps = 30; o.cells = [.lstm]
        let direct = try CurvesExperiment.run(o)
        let path = NSTemporaryDirectory() + "gradlab-test-\(getpid()).json"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try ModelFile.save(direct[0].model, to: path)
        var p = CurvesOptions()
        p.modelPaths = [path]
        XCTAssertEqual(CurvesExperiment.csv(try CurvesExperiment.run(p)), CurvesExperiment.csv(direct))
    }

    func testSummaryClassifiesRegimes() throws {
        var o = CurvesOptions()
        o.hidden = 16; o.steps = 200; o.cells = [.linear]; o.initialization = .orthogonal
        for (gain, regime) in [(0.9, Regime.vanishing), (1.0, .neutral), (1.1, .exploding)] {
            o.gain = gain
            let r = try CurvesExperiment.run(o)[0]
            XCTAssertEqual(r.regime, regime, "gain \(gain)")
            XCTAssertEqual(r.perStepFactor, gain, accuracy: 1e-9)
        }
    }
}
