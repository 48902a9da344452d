import Foundation
import XCTest
import GradLab
import Charts

/// The lesson runner with a fake command executor: parsing, staging, refresh, stale detection, and
/// the rule that a failing lesson changes no file.
final class NotebookTests: XCTestCase {
    var root: URL!
    var lesson: String { root.appendingPathComponent("notebooks-md/lesson.md").path }

    override func setUpWithError() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("gradlab-nb-\(UUID().uuidString)")
        for d in ["notebooks-md", "plots"] {
            try FileManager.default.createDirectory(at: root.appendingPathComponent(d), withIntermediateDirectories: true)
        }
        try "// test root\n".write(to: root.appendingPathComponent("Package.swift"), atomically: true, encoding: .utf8)
    }
    override func tearDown() { try? FileManager.default.removeItem(at: root) }

    /// `echo WORDS…` prints them; `file NAME TEXT` writes plots/NAME; `fail` throws.
    var runner: NotebookRunner {
        NotebookRunner(root: root, execute: { args in
            switch args.first {
            case "echo": print(args.dropFirst().joined(separator: " "))
            case "file": try OutputFile.write(args[2], to: "plots/\(args[1])")
            case "fail": throw GradLabError.usage("--x must be positive")
            default: throw GradLabError.usage("unknown subcommand '\(args.first ?? "")'")
            }
        })
    }

    func write(_ text: String) throws { try text.write(toFile: lesson, atomically: true, encoding: .utf8) }
    func read() throws -> String { try String(contentsOfFile: lesson, encoding: .utf8) }

    func testRunInsertsOutputThenRefreshesInPlace() throws {
        try write("# L\n\n```gradlab\necho hello \"big world\"\nfile a.png PIXELS\n```\n\nAfter.\n\n```python\n```gradlab\n```\n")
        let o = try runner.run(lesson)
        XCTAssertEqual(o.files, ["plots/a.png"])
        let text = try read()
        XCTAssertTrue(text.contains("```text\nhello big world\n```\n![a.png](../plots/a.png)\n\(Notebook.outputEnd)\n\nAfter."), text)
        XCTAssertEqual(try String(contentsOf: root.appendingPathComponent("plots/a.png"), encoding: .utf8), "PIXELS")
        // A second run replaces the section instead of adding another, and check is clean.
        _ = try runner.run(lesson)
        XCTAssertEqual(try read(), text)
        XCTAssertEqual(try runner.check(lesson), [])
    }

    func testCheckFindsHandEditedOutputsAndFigures() throws {
        try write("```gradlab\necho 1\nfile b.png ORIGINAL\n```\n")
        _ = try runner.run(lesson)
        try "EDITED".write(to: root.appendingPathComponent("plots/b.png"), atomically: true, encoding: .utf8)
        XCTAssertEqual(try runner.check(lesson), ["notebooks-md/lesson.md: plots/b.png differs from what the lesson produces (edited by hand, or stale)"])
        _ = try runner.run(lesson)
        try write(try read().replacingOccurrences(of: "\n1\n", with: "\n2\n"))
        let problems = try runner.check(lesson)
        XCTAssertEqual(problems.count, 1)
        XCTAssertTrue(problems[0].hasPrefix("notebooks-md/lesson.md:8 (block at line 1): output is stale"), problems[0])
    }

    private func assertFailsWithoutChanges(_ text: String, _ message: String, file: StaticString = #filePath, line: UInt = #line) throws {
        try write(text)
        XCTAssertThrowsError(try runner.run(lesson), file: file, line: line) { e in
            XCTAssertEqual("\(e)", message, file: file, line: line)
        }
        XCTAssertEqual(try read(), text, "the lesson must not change", file: file, line: line)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent("plots").path), [],
                       "no figure may be written", file: file, line: line)
    }

    func testMalformedLessonsNameFileAndLineAndChangeNothing() throws {
        try assertFailsWithoutChanges("# L\n\n```gradlab\nfile c.png X\nfail\n```\n", "notebooks-md/lesson.md:5: --x must be positive")
        try assertFailsWithoutChanges("text\n```gradlab\nfile c.png X\n", "notebooks-md/lesson.md:2: unterminated ```gradlab block (no closing fence)")
        try assertFailsWithoutChanges("```gradlab\nfile c.png X\nfrobnicate --now\n```\n", "notebooks-md/lesson.md:3: unknown subcommand 'frobnicate'")
        try assertFailsWithoutChanges("```gradlab\nfile ../c.png X\n```\n",
                                      "notebooks-md/lesson.md:2: path '../c.png' is not allowed: lessons may only use relative paths inside plots/")
        try assertFailsWithoutChanges("```gradlab\necho --out=/etc/x\n```\n",
                                      "notebooks-md/lesson.md:2: path '/etc/x' is not allowed: lessons may only use relative paths inside plots/")
        try assertFailsWithoutChanges("```gradlab\nbench\n```\n", "notebooks-md/lesson.md:2: 'bench' cannot run inside a lesson")
    }

    func testWritesOutsidePlotsAreRefusedEvenWithoutDotDot() throws {
        let r = NotebookRunner(root: root, execute: { _ in try OutputFile.write("x", to: "notebooks-md/evil.md") })
        try write("```gradlab\nsneaky\n```\n")
        XCTAssertThrowsError(try r.run(lesson)) { e in XCTAssertTrue("\(e)".contains("outside plots/"), "\(e)") }
        XCTAssertFalse(FileManager.default.fileExists(atPath: root.appendingPathComponent("notebooks-md/evil.md").path))
    }

    func testWordsAndContinuations() throws {
        let nb = try Notebook(path: "x.md", text: "```gradlab\n# comment\ngradlab curves --cells 'a b' \\\n  --steps 3\n\necho x\n```\n")
        XCTAssertEqual(nb.blocks.count, 1)
        XCTAssertEqual(nb.blocks[0].commands, [.init(line: 3, arguments: ["curves", "--cells", "a b", "--steps", "3"]),
                                               .init(line: 6, arguments: ["echo", "x"])])
    }
}

/// The PNG comparison `notebook check` uses.
final class LessonFilesTests: XCTestCase {
    func testHandEditedChartIsDetectedButIdenticalRenderIsNot() throws {
        func render(_ edit: Bool) throws -> [UInt8] {
            let fig = ChartSize(width: 600, height: 400, scale: 1).figure()
            fig.axes.plot([0, 1, 2], [1, 2, 3], label: "data")
            if edit { fig.axes.annotate("edited", x: 1, y: 1.5) }
            return try fig.data(.png)
        }
        XCTAssertTrue(LessonFiles.pixelsMatch(try render(false), try render(false)))
        XCTAssertFalse(LessonFiles.pixelsMatch(try render(false), try render(true)))
        XCTAssertFalse(LessonFiles.pixelsMatch(try render(false), [1, 2, 3]))
    }
}
