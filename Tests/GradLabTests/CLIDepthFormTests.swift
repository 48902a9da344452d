import Foundation
import XCTest

/// `--layers` and `--form` on the command line, through the built binary.
final class CLIDepthFormTests: XCTestCase {
    var tmp: String!
    override func setUpWithError() throws {
        try Scratch.requireBinary()
        tmp = try Scratch.folder("depth")
    }
    override func tearDown() { Scratch.remove(tmp) }

    private func ok(_ args: [String], file: StaticString = #filePath, line: UInt = #line) throws -> String {
        try Scratch.ok(args, file: file, line: line)
    }

    private func usageError(_ args: [String], mentions: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let r = try CLITests.run(args)
        XCTAssertEqual(r.status, 64, "\(args): \(r.stderr)", file: file, line: line)
        XCTAssertTrue(r.stderr.contains(mentions), "\(args): stderr was \(r.stderr)", file: file, line: line)
        XCTAssertEqual(r.stderr.trimmingCharacters(in: .newlines).split(separator: "\n").count, 1, "one line: \(r.stderr)", file: file, line: line)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: tmp), [], "no output file may be left", file: file, line: line)
    }

    /// The numbers of a curves CSV without its label column.
    private func values(_ path: String) throws -> [String] {
        try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").dropFirst().map { $0.split(separator: ",", maxSplits: 1)[1].description }
    }

    func testStackSavedAsNpzIsReadBackByImportWithTheSameCurves() throws {
        for (cell, importCell) in [("tanh", ["--cell", "tanh"]), ("lstm", []), ("irnn", ["--cell", "relu"])] {
            let npz = tmp + "/\(cell).npz"
            let out = try ok(["curves", "--cells", cell, "--layers", "3", "--hidden", "10", "--steps", "80", "--gain", "1.2",
                              "--save-model", npz, "--csv", tmp + "/a.csv", "--grid-csv", tmp + "/ga.csv"])
            XCTAssertTrue(out.contains("gradlab import \(npz)"), out)
            _ = try ok(["import", npz, "--steps", "5", "--csv", tmp + "/b.csv", "--grid-csv", tmp + "/gb.csv"] + importCell)
            let a = try values(tmp + "/a.csv"), b = try values(tmp + "/b.csv")
            XCTAssertEqual(a.count, 3 * 81)
            XCTAssertEqual(a, b, cell)
            XCTAssertEqual(try values(tmp + "/ga.csv"), try String(contentsOfFile: tmp + "/gb.csv", encoding: .utf8).split(separator: "\n").dropFirst().map(String.init), cell)
        }
    }

    func testSameSeedGivesTheSameStackAndChart() throws {
        let args = ["curves", "--cells", "gru,tanh", "--layers", "2", "--hidden", "8", "--steps", "60", "--json"]
        _ = try ok(args + [tmp + "/a.json", "--out", tmp + "/a.svg"])
        _ = try ok(args + [tmp + "/b.json", "--out", tmp + "/b.svg"])
        XCTAssertEqual(FileManager.default.contents(atPath: tmp + "/a.json"), FileManager.default.contents(atPath: tmp + "/b.json"))
        XCTAssertEqual(FileManager.default.contents(atPath: tmp + "/a.svg"), FileManager.default.contents(atPath: tmp + "/b.svg"))
        let doc = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: tmp + "/a.json"))) as! [String: Any]
        XCTAssertEqual(doc["format"] as? String, "gradlab.curves-stack/1")
        XCTAssertEqual((doc["stacks"] as? [[String: Any]])?.count, 2)
    }

    func testHeatmapThroughDepth() throws {
        let out = try ok(["heatmap", "--cell", "lstm", "--layers", "3", "--hidden", "8", "--steps", "50", "--csv", tmp + "/h.csv", "--out", tmp + "/h.png"])
        XCTAssertTrue(out.contains("lstm, 3 layers"), out)
        let lines = try String(contentsOfFile: tmp + "/h.csv", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.first, "layer,lag,log10_norm")
        XCTAssertEqual(lines.count, 1 + 3 * 51)
        // The top layer at lag 0 is the identity: norm 1 (to the certified norm's 1e-11).
        let top0 = lines.first { $0.hasPrefix("2,0,") }.map { Double($0.split(separator: ",")[2])! }
        XCTAssertEqual(top0 ?? .nan, 0, accuracy: 1e-11)
    }

    func testWOfFFormRoundTripsThroughAModelFileAndRunsInEveryView() throws {
        let m = tmp + "/m.json"
        _ = try ok(["curves", "--cells", "tanh", "--form", "w-of-f", "--steps", "60", "--save-model", m, "--csv", tmp + "/a.csv"])
        XCTAssertTrue(try String(contentsOfFile: m, encoding: .utf8).contains("\"form\":\"w-of-f\""))
        _ = try ok(["curves", "--model", m, "--csv", tmp + "/b.csv"])
        XCTAssertEqual(try values(tmp + "/a.csv"), try values(tmp + "/b.csv"))
        let fs = try ok(["curves", "--cells", "tanh", "--steps", "60", "--csv", tmp + "/c.csv"])
        XCTAssertNotEqual(try values(tmp + "/a.csv"), try values(tmp + "/c.csv"), "the two forms give different curves")
        XCTAssertFalse(fs.contains("w-of-f"))
        let h = try ok(["heatmap", "--cell", "sigmoid", "--form", "w-of-f", "--steps", "30"])
        XCTAssertTrue(h.contains("31×31 pairs"), h)
        let s = try ok(["spectrum", "--cells", "tanh,relu", "--form", "w-of-f", "--steps", "40", "--hidden", "16"])
        XCTAssertTrue(s.contains("tanh w-of-f") && s.contains("relu w-of-f"), s)
    }

    func testBadDepthAndFormOptionsGiveOneLineErrors() throws {
        let csv = ["--csv", tmp + "/x.csv"]
        try usageError(["curves", "--layers", "0"] + csv, mentions: "--layers must lie between 1 and 16 (got 0)")
        try usageError(["curves", "--layers", "-2"] + csv, mentions: "--layers must lie between 1 and 16")
        try usageError(["curves", "--layers", "2", "--cells", "tanh,leaky"] + csv, mentions: "--layers: leaky cells cannot be stacked")
        try usageError(["curves", "--layers", "2", "--cells", "tanh", "--form", "w-of-f"] + csv, mentions: "--form w-of-f takes one layer")
        try usageError(["curves", "--form", "w-of-f"] + csv, mentions: "--form w-of-f applies to the vanilla cells")
        try usageError(["curves", "--form", "sideways"] + csv, mentions: "--form")
        try usageError(["curves", "--grid-csv", tmp + "/g.csv"], mentions: "--grid-csv needs --layers")
        try usageError(["curves", "--layers", "2", "--cells", "tanh", "--save-model", tmp + "/s.json"], mentions: "give a .npz file name")
        try usageError(["heatmap", "--layers", "3", "--model", tmp + "/m.json"], mentions: "--layers builds random stacks")
        // Sixteen such layers are over the budget (one fits: DepthTests), and the message says what to lower.
        try usageError(["curves", "--layers", "16", "--cells", "lstm", "--hidden", "256", "--steps", "20000"] + csv, mentions: "lower --layers, --steps")
        try usageError(["heatmap", "--layers", "16", "--cell", "lstm", "--hidden", "1024", "--steps", "20000"] + csv, mentions: "or --layers")
    }
}
