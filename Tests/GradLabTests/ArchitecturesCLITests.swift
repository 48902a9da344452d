import Charts
import Dynamics
import Foundation
import GradLab
import XCTest

/// `gradlab architectures paths|reversal` through the built binary: outputs, determinism, refusals.
final class ArchitecturesCLITests: XCTestCase {
    var tmp: String!
    override func setUpWithError() throws {
        try Scratch.requireBinary()
        tmp = try Scratch.folder("arch")
    }
    override func tearDown() { Scratch.remove(tmp) }

    private func ok(_ args: [String], file: StaticString = #filePath, line: UInt = #line) throws -> String {
        try Scratch.ok(args, file: file, line: line)
    }

    private func usageError(_ args: [String], mentions: String, code: Int32 = 64, file: StaticString = #filePath, line: UInt = #line) throws {
        let r = try CLITests.run(args)
        XCTAssertEqual(r.status, code, "\(args): \(r.stderr)", file: file, line: line)
        XCTAssertTrue(r.stderr.contains(mentions), "\(args): stderr was \(r.stderr)", file: file, line: line)
        XCTAssertEqual(r.stderr.trimmingCharacters(in: .newlines).split(separator: "\n").count, 1, "one line: \(r.stderr)", file: file, line: line)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: tmp), [], "no output file may be left", file: file, line: line)
    }

    private func text(_ name: String) throws -> String { try String(contentsOfFile: tmp + "/" + name, encoding: .utf8) }

    func testPathsWritesEveryOutputAndTheSameSeedGivesTheSameBytes() throws {
        let args = ["architectures", "paths", "--cell", "gru", "--steps", "8", "--source-length", "6", "--target-length", "4", "--hidden", "6"]
        let out = try ok(args + ["--out", tmp + "/p.png", "--length-chart", tmp + "/l.svg", "--csv", tmp + "/a.csv", "--json", tmp + "/a.json"])
        XCTAssertTrue(out.contains("encoder-decoder"), out)
        for f in ["p.png", "l.svg", "a.csv", "a.json"] { XCTAssertTrue(FileManager.default.fileExists(atPath: tmp + "/" + f), f) }
        let rows = try text("a.csv").split(separator: "\n")
        // echo D = 3: 5 outputs × 8 inputs; majority 1 × 8; caption 7 × 1; encoder–decoder 4 × 6.
        XCTAssertEqual(rows.count, 1 + 40 + 8 + 7 + 24)
        XCTAssertEqual(rows[0], "architecture,reversed_source,output_step,input_step,path_length,grad_norm,log10_grad_norm,matching")
        // Path lengths in the CSV follow each architecture's formula.
        for row in rows.dropFirst() {
            let c = row.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            let j = Int(c[2])!, i = Int(c[3])!
            switch c[0] {
            case "encoder-decoder": XCTAssertEqual(c[4], "\(6 - i + j)")
            default: XCTAssertEqual(c[4], j >= i ? "\(j - i)" : "")
            }
        }
        let json = try JSONSerialization.jsonObject(with: Data(text("a.json").utf8)) as! [String: Any]
        XCTAssertEqual(json["format"] as? String, "gradlab.architectures-paths/1")
        XCTAssertEqual((json["maps"] as? [Any])?.count, 4)
        _ = try ok(args + ["--csv", tmp + "/b.csv"])
        XCTAssertEqual(try text("a.csv"), try text("b.csv"))
        _ = try ok(args + ["--seed", "1", "--csv", tmp + "/c.csv"])
        XCTAssertNotEqual(try text("a.csv"), try text("c.csv"))
    }

    func testReversalReportsPathsAndLossesAndIsDeterministic() throws {
        let args = ["architectures", "reversal", "--cell", "tanh", "--hidden", "8", "--source-length", "5", "--iters", "30",
                    "--seeds", "2", "--eval-every", "10", "--eval-size", "32", "--batch", "8"]
        let out = try ok(args + ["--out", tmp + "/r.pdf", "--maps-chart", tmp + "/m.png", "--csv", tmp + "/r.csv", "--json", tmp + "/r.json"])
        XCTAssertTrue(out.contains("in order shortest 5, mean 5.0; reversed shortest 1, mean 5.0"), out)
        let rows = try text("r.csv").split(separator: "\n")
        XCTAssertEqual(rows.count, 1 + 2 * 2 * 4)        // 2 orders × 2 seeds × evaluations at 0, 10, 20, 30
        XCTAssertTrue(rows[1].hasPrefix("in-order,0,0,"))
        let json = try JSONSerialization.jsonObject(with: Data(text("r.json").utf8)) as! [String: Any]
        XCTAssertEqual(json["path_lengths_reversed"] as? [Int], [1, 3, 5, 7, 9])
        XCTAssertEqual(json["path_lengths_in_order"] as? [Int], [5, 5, 5, 5, 5])
        _ = try ok(args + ["--csv", tmp + "/r2.csv"])
        XCTAssertEqual(try text("r.csv"), try text("r2.csv"))
        // The reverse task in order has the short paths: the report says so.
        let rev = try ok(["architectures", "reversal", "--task", "reverse", "--hidden", "4", "--source-length", "4", "--iters", "2", "--seeds", "1"])
        XCTAssertTrue(rev.contains("in order shortest 1, mean 4.0; reversed shortest 4, mean 4.0"), rev)
    }

    func testBadInputGivesOneLineErrorsAndNoFiles() throws {
        let csv = ["--csv", tmp + "/x.csv"]
        try usageError(["architectures", "paths", "--hidden", "0"] + csv, mentions: "--hidden must be a positive integer")
        try usageError(["architectures", "paths", "--source-length", "5", "--target-length", "6"] + csv, mentions: "--target-length must be at most --source-length = 5")
        try usageError(["architectures", "paths", "--steps", "5", "--delay", "5"] + csv, mentions: "--delay must be less than --steps = 5")
        try usageError(["architectures", "paths", "--steps", "1"] + csv, mentions: "--steps must be at least 2")
        try usageError(["architectures", "paths", "--symbols", "1"] + csv, mentions: "--symbols must be at least 2")
        try usageError(["architectures", "paths", "--cell", "skip"] + csv, mentions: "skip")
        try usageError(["architectures", "reversal", "--iters", "0"] + csv, mentions: "--iters must be a positive integer")
        try usageError(["architectures", "reversal", "--no-clip", "--clip-norm", "1"] + csv, mentions: "--no-clip contradicts --clip-norm")
        try usageError(["architectures", "reversal", "--task", "sort"] + csv, mentions: "sort")
        try usageError(["architectures", "reversal", "--lr", "nan"] + csv, mentions: "--lr must be a finite number")
        try usageError(["architectures", "paths", "--out", tmp + "/x.txt"], mentions: ".txt")
        try usageError(["architectures", "paths", "--out", tmp + "/a.png", "--length-chart", tmp + "/a.png"], mentions: "--length-chart")
        // Too much work is refused before it starts, with an estimate naming what to lower.
        try usageError(["architectures", "reversal", "--hidden", "256", "--source-length", "200", "--iters", "100000", "--seeds", "20"] + csv,
                       mentions: "lower --batch, --source-length, --hidden, --iters or --seeds")
        try usageError(["architectures", "paths", "--csv", tmp + "/missing/x.csv"], mentions: "does not exist", code: 73)
    }
}

/// The architecture charts, at every size and style, with the layout check every chart builder passes.
final class ArchitectureChartLayoutTests: XCTestCase {
    func testArchitectureChartsLayOutCleanly() throws {
        var po = ArchitectureOptions()
        po.hidden = 6; po.steps = 10; po.sourceLength = 8; po.targetLength = 5
        let paths = try ArchitectureExperiment.paths(po)
        var ro = ArchitectureOptions()
        ro.cell = .gru; ro.hidden = 6; ro.sourceLength = 6; ro.iterations = 20; ro.seeds = 2; ro.evalEvery = 5; ro.evalSize = 16; ro.batchSize = 8
        let rev = try ArchitectureExperiment.reversal(ro)
        let builders: [(String, (ChartSize) -> Figure)] = [
            ("paths", { ArchitectureCharts.pathsFigure(paths, size: $0) }),
            ("path-lengths", { ArchitectureCharts.lengthFigure(paths, size: $0) }),
            ("reversal", { ArchitectureCharts.reversalFigure(rev, size: $0) }),
            ("reversal-maps", { ArchitectureCharts.reversalMapsFigure(rev, size: $0) }),
        ]
        var failures: [String] = []
        for style in ChartStyle.allCases {
            for s in ChartLayoutTests.sizes {
                var size = ChartSize()
                size.style = style
                if let s { size.width = s.0; size.height = s.1 }
                for (name, make) in builders {
                    let fig = make(size)
                    let roomy = style == .screen && fig.width >= 1200
                    let p = ChartLayoutTests.problems(fig, minHeightShare: roomy ? 0.5 : 0.14)
                    if !p.isEmpty, let dir = ProcessInfo.processInfo.environment["GRADLAB_LAYOUT_DUMP"] {
                        try fig.save(to: "\(dir)/\(name)-\(style.rawValue)-\(Int(fig.width))x\(Int(fig.height)).png")
                    }
                    if !p.isEmpty { failures.append("\(name) \(style.rawValue) \(Int(fig.width))×\(Int(fig.height)): " + p.prefix(3).joined(separator: "; ")) }
                }
            }
        }
        XCTAssertTrue(failures.isEmpty, "\(failures.count) layouts fail:\n" + failures.joined(separator: "\n"))
    }
}
