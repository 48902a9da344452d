import Foundation
import XCTest

/// Runs the built `gradlab` binary (built by `make test` before the tests) as a user would.
final class CLITests: XCTestCase {
    static var binary: URL {
        // The test bundle sits in the same build folder as the executable.
        let dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        let candidates = [dir.appendingPathComponent("gradlab"), dir.deletingLastPathComponent().appendingPathComponent("gradlab")]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) } ?? candidates[0]
    }

    struct Run { var status: Int32; var stdout: String; var stderr: String }

    static func run(_ args: [String]) throws -> Run {
        let p = Process()
        p.executableURL = binary
        p.arguments = args
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Run(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
    }

    var tmp: String!
    override func setUpWithError() throws {
        try Scratch.requireBinary()
        tmp = try Scratch.folder("cli")
    }
    override func tearDown() { Scratch.remove(tmp) }

    private func assertUsageError(_ args: [String], mentions: String, code: Int32 = 64, file: StaticString = #filePath, line: UInt = #line) throws {
        let r = try Self.run(args)
        XCTAssertEqual(r.status, code, "\(args): \(r.stderr)", file: file, line: line)
        XCTAssertTrue(r.stderr.contains(mentions), "\(args): stderr was \(r.stderr)", file: file, line: line)
        XCTAssertEqual(r.stderr.trimmingCharacters(in: .newlines).split(separator: "\n").count, 1, "one line: \(r.stderr)", file: file, line: line)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: tmp), [], "no output file may be left", file: file, line: line)
    }

    func testBadInputGivesOneLineErrorsAndNoFiles() throws {
        let csv = ["--csv", tmp + "/out.csv"]
        try assertUsageError(["curves", "--cells", "tanh,elman"] + csv, mentions: "unknown cell 'elman'")
        try assertUsageError(["curves", "--hidden", "0"] + csv, mentions: "--hidden must be a positive integer")
        try assertUsageError(["curves", "--steps", "-5"] + csv, mentions: "--steps must be a positive integer (got -5)")
        try assertUsageError(["curves", "--gain", "nan"] + csv, mentions: "--gain must be a finite number")
        try assertUsageError(["curves", "--norm", "max"] + csv, mentions: "max")
        try assertUsageError(["curves", "--csv", tmp + "/missing/dir/out.csv"], mentions: "does not exist", code: 73)
        try assertUsageError(["frobnicate", "--now"], mentions: "unknown command 'frobnicate' (commands: curves, compare")
        try assertUsageError(["curves", "--model", tmp + "/nope.json"] + csv, mentions: "does not exist", code: 66)
        let bad = tmp + "/bad.json"
        try Data("{\"format\":\"gradlab.model/1\",\"cell\":\"gru\"".utf8).write(to: URL(fileURLWithPath: bad))
        let r = try Self.run(["curves", "--model", bad] + csv)
        XCTAssertEqual(r.status, 65)
        XCTAssertTrue(r.stderr.hasPrefix("gradlab: \(bad): not valid JSON"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: tmp + "/out.csv"))
    }

    func testCurvesWritesCSVJSONAndModelThatReproduces() throws {
        let r = try Self.run(["curves", "--cells", "tanh,lstm", "--hidden", "8", "--steps", "30", "--seed", "3",
                              "--csv", tmp + "/a.csv", "--json", tmp + "/a.json", "--save-model", tmp + "/m.json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("tanh") && r.stdout.contains("lstm") && r.stdout.contains("regime"))
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: tmp + "/a.json"))) as! [String: Any]
        let cells = json["cells"] as! [[String: Any]]
        XCTAssertEqual(cells.count, 2)
        XCTAssertEqual((cells[1]["series"] as! [[String: Any]]).count, 31)
        XCTAssertNotNil((cells[1]["series"] as! [[String: Any]])[5]["log10_spectral_cell"])
        // Re-analysing the saved LSTM model gives the same rows as the random run.
        let r2 = try Self.run(["curves", "--model", tmp + "/m-lstm.json", "--csv", tmp + "/b.csv"])
        XCTAssertEqual(r2.status, 0, r2.stderr)
        let a = try String(contentsOfFile: tmp + "/a.csv", encoding: .utf8).split(separator: "\n").filter { $0.hasPrefix("lstm,") }
        let b = try String(contentsOfFile: tmp + "/b.csv", encoding: .utf8).split(separator: "\n").filter { $0.hasPrefix("lstm,") }
        XCTAssertEqual(a, b)
        XCTAssertEqual(a.count, 31)
    }

    func testForwardOverflowIsReportedWithItsStep() throws {
        let r = try Self.run(["curves", "--cells", "relu", "--gain", "2", "--steps", "2000", "--init", "orthogonal",
                              "--hidden", "16", "--csv", tmp + "/o.csv"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("overflowed at step"), r.stderr)
        let text = try String(contentsOfFile: tmp + "/o.csv", encoding: .utf8)
        XCTAssertFalse(text.contains("nan"))
    }

    /// A gain so large that ‖W_hh‖₂ overflows: every saturated cell's gradient is exactly 0 after one step,
    /// and no output (CSV, JSON, table) may hold NaN or a 300-digit number.
    func testAbsurdGainGivesExactZerosNotNaN() throws {
        let r = try Self.run(["curves", "--cells", "sigmoid,tanh,lstm,gru,leaky", "--gain", "1e308", "--hidden", "8", "--steps", "30",
                              "--csv", tmp + "/g.csv", "--json", tmp + "/g.json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        for f in ["/g.csv", "/g.json"] {
            XCTAssertFalse(try String(contentsOfFile: tmp + f, encoding: .utf8).lowercased().contains("nan"), f)
        }
        let tanh = r.stdout.split(separator: "\n").first { $0.hasPrefix("tanh ") }.map(String.init) ?? ""
        XCTAssertTrue(tanh.contains("vanishing (0 from lag 1)"), r.stdout)
        XCTAssertTrue(tanh.contains("0.000"), tanh)                  // growth factor per step: exactly 0
        XCTAssertLessThan(r.stdout.split(separator: "\n").map(\.count).max() ?? 0, 200, r.stdout)
    }

    func testChartsAreWrittenInTheFormatOfTheirExtension() throws {
        for (ext, magic) in [("png", [UInt8]([0x89, 0x50, 0x4E, 0x47])), ("svg", Array("<?xml".utf8)), ("pdf", Array("%PDF-".utf8))] {
            let path = tmp + "/c.\(ext)"
            let r = try Self.run(["curves", "--cells", "tanh,lstm", "--hidden", "8", "--steps", "20", "--out", path])
            XCTAssertEqual(r.status, 0, r.stderr)
            let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
            XCTAssertGreaterThan(bytes.count, 1000)
            XCTAssertEqual(Array(bytes.prefix(magic.count)), magic, ext)
        }
        let h = try Self.run(["heatmap", "--cell", "gru", "--hidden", "6", "--steps", "12", "--out", tmp + "/h.png", "--csv", tmp + "/h.csv"])
        XCTAssertEqual(h.status, 0, h.stderr)
        XCTAssertEqual(try String(contentsOfFile: tmp + "/h.csv", encoding: .utf8).split(separator: "\n").count, 1 + 13 * 14 / 2)
        let c = try Self.run(["compare", "--out", tmp + "/a.svg"])
        XCTAssertEqual(c.status, 0, c.stderr)
        XCTAssertTrue(c.stdout.contains("0.250"), c.stdout)
    }

    func testChartErrors() throws {
        try assertUsageError(["curves", "--steps", "10", "--out", tmp + "/c.gif"], mentions: "gif")
        try assertUsageError(["curves", "--steps", "10", "--out", tmp + "/c.png", "--width", "-3"], mentions: "--width must be positive")
        try assertUsageError(["compare", "--activations", "sigmoid,swish", "--out", tmp + "/a.png"], mentions: "unknown activation 'swish'")
        try assertUsageError(["heatmap", "--steps", "5000", "--out", tmp + "/h.png"], mentions: "--steps must be at most 2000")
    }

    /// `clip --out` draws its chart; `carousel` reports the carousel ∏f apart from all paths into c;
    /// `--leak-rate` and `--retention` name the two leaky conventions and cannot be combined.
    func testClipChartCarouselColumnsAndLeakConventions() throws {
        let r = try Self.run(["clip", "--gradient", "8,1,-0.5", "--out", tmp + "/clip.png"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(Array(try Data(contentsOf: URL(fileURLWithPath: tmp + "/clip.png")).prefix(4)), [0x89, 0x50, 0x4E, 0x47])
        XCTAssertTrue(r.stdout.contains("40.2°"), r.stdout)
        try FileManager.default.removeItem(atPath: tmp + "/clip.png")
        try assertUsageError(["clip", "--gradient", "8,1", "--out", tmp + "/clip.gif"], mentions: "gif")
        XCTAssertFalse(FileManager.default.fileExists(atPath: tmp + "/clip.gif"))
        let c = try Self.run(["carousel", "--forget-biases", "0,3", "--hidden", "8", "--steps", "40"])
        XCTAssertEqual(c.status, 0, c.stderr)
        XCTAssertTrue(c.stdout.contains("∏f ×/step") && c.stdout.contains("all into c ×/step"), c.stdout)
        let a = try Self.run(["curves", "--cells", "leaky", "--hidden", "8", "--steps", "20", "--retention", "0.8:0.98"])
        let b = try Self.run(["curves", "--cells", "leaky", "--hidden", "8", "--steps", "20", "--leak-range", "0.02:0.2"])
        XCTAssertEqual(a.status, 0, a.stderr)
        XCTAssertTrue(a.stdout.contains("leaky τ=5–50") && b.stdout.contains("leaky τ=5–50"), a.stdout + b.stdout)
        try assertUsageError(["curves", "--cells", "leaky", "--leak-rate", "0.1:0.2", "--retention", "0.8:0.9"], mentions: "not both")
        try assertUsageError(["curves", "--cells", "leaky", "--leak-rate", "0:0.2"], mentions: "--leak-rate")
    }

    /// The real lesson check, end to end: current → passes; a figure edited by hand → fails naming lesson and file.
    func testNotebookCheckFailsWhenACommittedFigureIsEdited() throws {
        for d in ["notebooks-md", "plots"] { try FileManager.default.createDirectory(atPath: tmp + "/" + d, withIntermediateDirectories: true) }
        try "// lesson root\n".write(toFile: tmp + "/Package.swift", atomically: true, encoding: .utf8)
        let lesson = tmp + "/notebooks-md/l.md"
        try "# L\n\n```gradlab\ncurves --cells tanh --hidden 8 --steps 20 --out plots/c.png\n```\n".write(toFile: lesson, atomically: true, encoding: .utf8)
        XCTAssertEqual(try Self.run(["notebook", "run", lesson]).status, 0)
        XCTAssertEqual(try Self.run(["notebook", "check", lesson]).status, 0)
        // Replace the figure by a different (valid) chart of the same size, as a hand edit would.
        let r = try Self.run(["curves", "--cells", "sigmoid", "--hidden", "8", "--steps", "20", "--out", tmp + "/plots/c.png"])
        XCTAssertEqual(r.status, 0)
        let check = try Self.run(["notebook", "check", lesson])
        XCTAssertEqual(check.status, 1)
        XCTAssertTrue(check.stderr.contains("notebooks-md/l.md: plots/c.png differs"), check.stderr)
        // A lesson naming an unknown subcommand fails with file and line, and changes nothing.
        let before = try String(contentsOfFile: lesson, encoding: .utf8)
        try (before + "\n```gradlab\nfrobnicate --now\n```\n").write(toFile: lesson, atomically: true, encoding: .utf8)
        let bad = try Self.run(["notebook", "run", lesson])
        XCTAssertEqual(bad.status, 65)
        let line = before.filter { $0 == "\n" }.count + 3      // after the generated output, whatever its length
        XCTAssertTrue(bad.stderr.contains("notebooks-md/l.md:\(line): unknown command 'frobnicate'"), bad.stderr)
        XCTAssertTrue(try String(contentsOfFile: lesson, encoding: .utf8).hasSuffix("frobnicate --now\n```\n"))
    }

    // MARK: one vocabulary (issue 14)

    private func text(_ name: String) throws -> String { try String(contentsOfFile: tmp + "/" + name, encoding: .utf8) }

    /// Old spellings keep working and give the same numbers as the new ones.
    func testOldAndNewSpellingsAgree() throws {
        let pairs: [([String], [String])] = [
            (["curves", "--cells", "tanh", "--gains", "0.5,1"], ["curves", "--cell", "tanh", "--gain", "0.5,1"]),
            (["heatmap", "--cell", "tanh"], ["heatmap", "--cells", "tanh"]),
            (["lyapunov", "--cells", "tanh"], ["lyapunov", "--cell", "tanh"]),
            (["carousel", "--forget-biases", "0,2"], ["carousel", "--forget-bias", "0,2"]),
        ]
        for (old, new) in pairs {
            let a = try Self.run(old + ["--hidden", "6", "--steps", "12", "--csv", tmp + "/old.csv"])
            let b = try Self.run(new + ["--hidden", "6", "--steps", "12", "--csv", tmp + "/new.csv"])
            XCTAssertEqual(a.status, 0, "\(old): \(a.stderr)"); XCTAssertEqual(b.status, 0, "\(new): \(b.stderr)")
            XCTAssertEqual(try text("old.csv"), try text("new.csv"), "\(old) vs \(new)")
            XCTAssertGreaterThan(try text("new.csv").count, 100)
        }
        let a = try Self.run(["sweep", "--cells", "linear", "--gains", "0.5:1:0.25", "--seeds", "1", "--steps", "30", "--csv", tmp + "/old.csv"])
        let b = try Self.run(["sweep", "--cell", "linear", "--gain", "0.5:1:0.25", "--seeds", "1", "--steps", "30", "--csv", tmp + "/new.csv"])
        XCTAssertEqual(a.status, 0, a.stderr); XCTAssertEqual(b.status, 0, b.stderr)
        XCTAssertEqual(try text("old.csv"), try text("new.csv"))
        // A list of gains where one model is drawn is refused, naming the option.
        try FileManager.default.removeItem(atPath: tmp + "/old.csv"); try FileManager.default.removeItem(atPath: tmp + "/new.csv")
        try assertUsageError(["heatmap", "--gain", "1,2", "--steps", "10"], mentions: "--gain takes one value here")
    }

    /// `--out` is a chart file in `train` and `train-sweep` too; `--prefix` (or an --out without extension,
    /// the old form) names every output; `--chart` (old) still names the chart.
    func testTrainOutIsAFileAndPrefixKeepsTheOldForm() throws {
        let sweep = ["train-sweep", "--cells", "tanh", "--lengths", "4", "--iters", "6", "--hidden", "4", "--eval-size", "8"]
        var r = try Self.run(sweep + ["--out", tmp + "/x.png", "--width", "400", "--height", "260"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: tmp), ["x.png"])
        XCTAssertEqual(r.stderr, "", "no progress bar on a pipe")
        r = try Self.run(sweep + ["--prefix", tmp + "/p"])
        XCTAssertEqual(r.status, 0, r.stderr)
        r = try Self.run(sweep + ["--out", tmp + "/q"])        // old prefix form
        XCTAssertEqual(r.status, 0, r.stderr)
        r = try Self.run(sweep + ["--chart", tmp + "/c.svg"])  // old chart option
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(Set(try FileManager.default.contentsOfDirectory(atPath: tmp)), ["x.png", "p.png", "p.csv", "q.png", "q.csv", "c.svg"])
        for f in try FileManager.default.contentsOfDirectory(atPath: tmp) { try FileManager.default.removeItem(atPath: tmp + "/" + f) }

        let train = ["train", "--cell", "tanh", "--steps", "4", "--iters", "6", "--hidden", "4", "--eval-size", "8", "--snapshots", "1"]
        r = try Self.run(train + ["--out", tmp + "/l.png", "--style", "slides"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: tmp), ["l.png"])
        r = try Self.run(train + ["--prefix", tmp + "/run"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(Set(try FileManager.default.contentsOfDirectory(atPath: tmp)),
                       ["l.png", "run-loss.png", "run-grad-norm.png", "run-contributions.png", "run.csv", "run-contributions.csv"])
        for f in try FileManager.default.contentsOfDirectory(atPath: tmp) { try FileManager.default.removeItem(atPath: tmp + "/" + f) }
        try assertUsageError(train + ["--out", tmp + "/l.png", "--loss-chart", tmp + "/m.png"], mentions: "name the same chart")
        try assertUsageError(train + ["--out", tmp + "/a", "--prefix", tmp + "/b"], mentions: "has no chart extension")
        try assertUsageError(["train", "--cell", "skip"], mentions: "'skip' is invalid for '--cell")
        try assertUsageError(["train-sweep", "--cells", "tanh,skip"], mentions: "skip cannot be trained")
    }

    /// `--title` replaces the built-in title on every chart command that has one.
    func testTitleOnEveryChartCommand() throws {
        let runs: [[String]] = [["compare"], ["heatmap", "--steps", "8", "--hidden", "4"], ["carousel", "--steps", "8", "--hidden", "4"],
                                ["spectrum", "--cells", "tanh", "--steps", "8", "--hidden", "4"],
                                ["lyapunov", "--cells", "tanh", "--steps", "20", "--hidden", "4"],
                                ["sweep", "--cells", "linear", "--gain", "0.5,1", "--seeds", "1", "--steps", "20", "--hidden", "4"],
                                ["curves", "--cells", "tanh", "--steps", "8", "--hidden", "4"]]
        // Text is drawn as glyph outlines (no text in the SVG): the same chart with and without the title differs.
        for args in runs {
            let r = try Self.run(args + ["--title", "Slide seven", "--out", tmp + "/t.png"])
            XCTAssertEqual(r.status, 0, "\(args): \(r.stderr)")
            XCTAssertEqual(try Self.run(args + ["--out", tmp + "/u.png"]).status, 0)
            XCTAssertEqual(try Self.run(args + ["--out", tmp + "/v.png"]).status, 0)
            let t = try Data(contentsOf: URL(fileURLWithPath: tmp + "/t.png")), u = try Data(contentsOf: URL(fileURLWithPath: tmp + "/u.png"))
            XCTAssertEqual(u, try Data(contentsOf: URL(fileURLWithPath: tmp + "/v.png")), "\(args): rendering is not deterministic")
            XCTAssertNotEqual(t, u, "\(args): --title changed nothing")
        }
    }

    /// Options a command does not use are refused, not silently ignored.
    func testCarouselRefusesOptionsThatDoNotApply() throws {
        try assertUsageError(["carousel", "--skip", "3"], mentions: "carousel: --skip does not apply")
        try assertUsageError(["carousel", "--leak-range=0.1:0.2"], mentions: "carousel: --leak-range does not apply")
        try assertUsageError(["carousel", "--cells", "gru"], mentions: "carousel: --cells does not apply")
        try assertUsageError(["import", "x.npz", "--cell", "lstm"], mentions: "'lstm' is invalid for '--cell")
    }

    /// Help shows values as typed, lists only accepted values, and prints examples that survive copy-paste.
    func testHelpShowsNoInternalsAndWholeExamples() throws {
        let commands = ["curves", "compare", "heatmap", "carousel", "demo", "clip", "bench", "train", "train-sweep",
                        "spectrum", "lyapunov", "sweep", "import", "baselines", "architectures", "language"]
        for c in commands {
            let r = try Self.run([c, "--help"])
            XCTAssertEqual(r.status, 0, c)
            let help = r.stdout
            for leak in ["NumberList(", "GainList(", "CellList(", "TrainCell(", "values: [", "Optional("] {
                XCTAssertFalse(help.contains(leak), "\(c) --help shows \(leak):\n\(help)")
            }
            // An example is whole: every line of it fits (nothing wrapped), continuation lines follow a " \\",
            // and the line after its last line is blank or the next example.
            let lines = help.components(separatedBy: "\n")
            var inExample = false
            for (i, line) in lines.enumerated() {
                if line.hasPrefix("  gradlab ") { inExample = true }
                guard inExample else { continue }
                XCTAssertLessThanOrEqual(line.count, 80, "\(c): \(line)")
                if line.hasSuffix(" \\") {
                    XCTAssertTrue(lines[i + 1].hasPrefix("    "), "\(c): continuation of \(line) is \(lines[i + 1])")
                } else {
                    inExample = false
                    let next = lines[i + 1]
                    XCTAssertTrue(next.isEmpty || next.hasPrefix("  gradlab "), "\(c): example wrapped after \(line): \(next)")
                }
            }
        }
        let carousel = try Self.run(["carousel", "--help"]).stdout
        XCTAssertTrue(carousel.contains("(default: 0,1)"), carousel)
        for gone in ["--skip", "--leak-range", "--cells"] { XCTAssertFalse(carousel.contains(gone), "carousel offers \(gone)") }
        let train = try Self.run(["train", "--help"]).stdout
        XCTAssertTrue(train.contains("lstm"), train)
        XCTAssertFalse(train.contains("skip"), "train --help lists skip")
        let importHelp = try Self.run(["import", "--help"]).stdout.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        XCTAssertTrue(importHelp.contains("(values: tanh, relu, sigmoid, linear)"), importHelp)
        XCTAssertTrue(try Self.run(["sweep", "--help"]).stdout.contains("(default: 0.5:2.0:0.05)"))
    }

    /// CSV numbers are the shortest text that reads back to the same Double: a range 0.5:1:0.05 writes 0.85,
    /// and every number in the file parses back to the Double it came from (checked on the JSON twin).
    func testCSVNumbersAreShortestRoundTrip() throws {
        let r = try Self.run(["sweep", "--cells", "linear", "--gain", "0.5:1:0.05", "--seeds", "1", "--steps", "30",
                              "--csv", tmp + "/s.csv", "--json", tmp + "/s.json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let csv = try text("s.csv")
        let gains = csv.split(separator: "\n").dropFirst().map { $0.split(separator: ",")[1] }
        XCTAssertEqual(gains.map(String.init), ["0.5", "0.55", "0.6", "0.65", "0.7", "0.75", "0.8", "0.85", "0.9", "0.95", "1.0"])
        XCTAssertFalse(csv.contains("00000000"), csv)
        // Every number reads back to a Double whose shortest text is the field itself; the JSON holds the same text.
        let json = try text("s.json")
        var checked = 0
        for line in csv.split(separator: "\n").dropFirst() {
            for field in line.split(separator: ",").dropFirst(3).map(String.init) where field.contains(".") {
                guard let v = Double(field) else { XCTFail("\(field) is not a number"); continue }
                XCTAssertEqual("\(v)", field)
                XCTAssertTrue(json.contains(field), "\(field) not in the JSON")
                checked += 1
            }
        }
        XCTAssertGreaterThan(checked, 50)
    }

    /// `--title` on `train` and `train-sweep` replaces the built-in title: the charts change with it, and the
    /// same title gives the same bytes.
    func testTrainTitle() throws {
        let base = ["train", "--cell", "tanh", "--task", "adding", "--steps", "5", "--hidden", "4", "--iters", "3"]
        var bytes: [Data] = []
        for (i, extra) in [[], ["--title", "Adding, T = 5"], ["--title", "Adding, T = 5"], ["--title", "Another"]].enumerated() {
            let path = tmp + "/t\(i).png"
            let r = try Self.run(base + ["--loss-chart", path] + extra)
            XCTAssertEqual(r.status, 0, r.stderr)
            bytes.append(try Data(contentsOf: URL(fileURLWithPath: path)))
        }
        XCTAssertNotEqual(bytes[0], bytes[1])
        XCTAssertEqual(bytes[1], bytes[2])
        XCTAssertNotEqual(bytes[1], bytes[3])
        let a = tmp + "/s1.png", b = tmp + "/s2.png"
        for (path, title) in [(a, "One"), (b, "Two")] {
            let r = try Self.run(["train-sweep", "--cells", "tanh", "--lengths", "5", "--hidden", "4", "--iters", "3", "--out", path, "--title", title])
            XCTAssertEqual(r.status, 0, r.stderr)
        }
        XCTAssertNotEqual(try Data(contentsOf: URL(fileURLWithPath: a)), try Data(contentsOf: URL(fileURLWithPath: b)))
    }
}
