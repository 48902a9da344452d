import Foundation
import XCTest

/// Hostile inputs against the real binary (issue 12): every case must end with exactly one line on stderr,
/// exit 64/65/66/73, no signal, no file left behind, within a few seconds and well under 1 GB.
/// The child runs under `ulimit -v` (virtual memory) so a regression cannot take the machine down, and
/// the peak RSS of every child is checked with getrusage(RUSAGE_CHILDREN).
final class HostileInputTests: XCTestCase {
    static let allowedFailures: Set<Int32> = [64, 65, 66, 73]
    /// Virtual-memory cap of each child, KiB (the Swift runtime and OpenBLAS reserve ~0.5 GB of address space).
    static let addressSpaceKiB = 2_000_000
    static let maxSeconds = 10.0
    static let maxRSSBytes = 1_000_000_000

    struct Run {
        var status: Int32
        var signalled: Bool
        var stdout: String
        var stderr: String
        var seconds: Double
    }

    var tmp: String!
    override func setUpWithError() throws {
        try Scratch.requireBinary()
        tmp = try Scratch.folder("hostile")
    }

    override func tearDown() {
        if let tmp { try? FileManager.default.removeItem(atPath: tmp) }
        // The largest child so far (ru_maxrss is KiB on Linux).
        var u = rusage()
        getrusage(RUSAGE_CHILDREN.rawValue, &u)
        XCTAssertLessThan(Int(u.ru_maxrss) * 1024, Self.maxRSSBytes, "a child process peaked above 1 GB")
    }

    /// Runs gradlab in `cwd` (default: the case folder) under the memory cap.
    func run(_ args: [String], env: [String: String] = [:], closeStderr: Bool = false, cwd: String? = nil) throws -> Run {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        let redirect = closeStderr ? " 2>&-" : ""
        p.arguments = ["-c", "ulimit -v \(Self.addressSpaceKiB); exec \"$0\" \"$@\"\(redirect)", CLITests.binary.path] + args
        var environment = ProcessInfo.processInfo.environment
        for (k, v) in env { environment[k] = v }
        p.environment = environment
        p.currentDirectoryURL = URL(fileURLWithPath: cwd ?? tmp)
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        let start = Date()
        try p.run()
        // Read both pipes concurrently: a chatty child must not block on a full pipe.
        final class Box: @unchecked Sendable { var data = Data() }
        let errBox = Box()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async { errBox.data = err.fileHandleForReading.readDataToEndOfFile(); group.leave() }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        let errData = errBox.data
        p.waitUntilExit()
        return Run(status: p.terminationStatus, signalled: p.terminationReason == .uncaughtSignal,
                   stdout: String(decoding: outData, as: UTF8.self), stderr: String(decoding: errData, as: UTF8.self),
                   seconds: Date().timeIntervalSince(start))
    }

    /// The contract of a refused input. `leaves` lists files that may exist afterwards (inputs the case made).
    @discardableResult
    func refuse(_ args: [String], code: Int32? = nil, mentions: String? = nil, env: [String: String] = [:], leaves: Set<String> = [],
                cwd: String? = nil, file: StaticString = #filePath, line: UInt = #line) throws -> Run {
        let before = Set(try FileManager.default.contentsOfDirectory(atPath: tmp))
        let r = try run(args, env: env, cwd: cwd)
        let what = args.joined(separator: " ").prefix(200)
        XCTAssertFalse(r.signalled, "\(what): killed by signal \(r.status)", file: file, line: line)
        if let code { XCTAssertEqual(r.status, code, "\(what): \(r.stderr.prefix(300))", file: file, line: line) }
        XCTAssertTrue(Self.allowedFailures.contains(r.status), "\(what): exit \(r.status): \(r.stderr.prefix(300))", file: file, line: line)
        let lines = r.stderr.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        XCTAssertEqual(lines.count, 1, "\(what): stderr must be one line: \(r.stderr.prefix(600))", file: file, line: line)
        XCTAssertTrue(r.stderr.hasPrefix("gradlab: "), "\(what): \(r.stderr.prefix(300))", file: file, line: line)
        XCTAssertLessThan(r.stderr.utf8.count, 600, "\(what): the message must be short", file: file, line: line)
        if let mentions { XCTAssertTrue(r.stderr.contains(mentions), "\(what): \(r.stderr.prefix(300)) should mention \(mentions)", file: file, line: line) }
        XCTAssertLessThan(r.seconds, Self.maxSeconds, "\(what): took \(r.seconds) s", file: file, line: line)
        let after = Set(try FileManager.default.contentsOfDirectory(atPath: tmp))
        XCTAssertEqual(after.subtracting(before).subtracting(leaves), [], "\(what): files left behind", file: file, line: line)
        return r
    }

    // MARK: - Impossible work is refused up front (the cost model)

    func testImpossibleWorkIsRefusedBeforeItStarts() throws {
        try refuse(["curves", "--cells", "tanh", "--input", "100000000", "--steps", "1000"], code: 64, mentions: "--input")
        try refuse(["train", "--iters", "1000000000"], code: 64, mentions: "--iters")
        try refuse(["sweep", "--hidden", "1024", "--steps", "1000000", "--seeds", "2"], code: 64, mentions: "--steps")
        try refuse(["train", "--cell", "lstm", "--hidden", "1024", "--steps", "10000", "--batch", "4096"], code: 64, mentions: "--batch")
        // The whole suite is refused up front, not case by case in child processes (it was exit 1 with two lines).
        try refuse(["bench", "--repetitions", "4096"], code: 64, mentions: "--repetitions")
        for c in ["curves", "lyapunov", "carousel"] {
            try refuse([c, "--hidden", "4096", "--steps", "1000000"], code: 64, mentions: "--steps or --hidden")
        }
        try refuse(["spectrum", "--hidden", "2048", "--steps", "2000"], code: 64, mentions: "GRADLAB_MAX_MINUTES")
        try refuse(["bench", "--only", "tanh:4096:1000000"], code: 64, mentions: "needs ~")
        try refuse(["heatmap", "--hidden", "4096", "--steps", "2000"], code: 64, mentions: "pair")
        try refuse(["train-sweep", "--hidden", "1024", "--lengths", "5000,10000", "--batch", "4096"], code: 64, mentions: "needs ~")
        try refuse(["train", "--bench", "--hidden", "1024", "--steps", "10000", "--batch", "4096"], code: 64, mentions: "needs ~")
        // The budget is configurable, and a bad setting is itself a usage error.
        try refuse(["curves", "--hidden", "256", "--steps", "1000"], code: 64, mentions: "GRADLAB_MAX_MEMORY", env: ["GRADLAB_MAX_MEMORY": "1M"])
        try refuse(["curves"], code: 64, mentions: "GRADLAB_MAX_MEMORY must", env: ["GRADLAB_MAX_MEMORY": "lots"])
        try refuse(["curves", "--hidden", "512", "--steps", "2000"], code: 64, mentions: "GRADLAB_MAX_MINUTES", env: ["GRADLAB_MAX_MINUTES": "0.01"])
    }

    /// Files do not bypass the caps: a model file's own T and n go through the same budget (exit 65).
    func testModelFilesAreBudgetedLikeOptions() throws {
        let steps = 20_000, n = 64
        var rng = SystemRandomNumberGenerator()
        func row(_ k: Int) -> [Double] { (0..<k).map { _ in Double.random(in: -0.1...0.1, using: &rng) } }
        let model: [String: Any] = [
            "format": "gradlab.model/1", "cell": "tanh", "hidden_size": n, "input_size": 1,
            "weight_ih": (0..<n).map { _ in row(1) }, "weight_hh": (0..<n).map { _ in row(n) },
            "bias_ih": row(n), "bias_hh": row(n), "h0": [Double](repeating: 0, count: n),
            "inputs": (0..<steps).map { _ in [0.5] },
        ]
        let path = tmp + "/long.json"
        try JSONSerialization.data(withJSONObject: model).write(to: URL(fileURLWithPath: path))
        try refuse(["heatmap", "--model", path, "--out", tmp + "/h.png"], code: 65, mentions: "long.json: needs ~", leaves: ["long.json"])
        // The same file is fine for curves (linear in T).
        let ok = try run(["curves", "--model", path, "--csv", tmp + "/c.csv"])
        XCTAssertEqual(ok.status, 0, ok.stderr)
    }

    // MARK: - Crashes: conversions, overflow, closed stderr

    func testNumbersThatUsedToTrap() throws {
        try refuse(["compare", "--range", "1e308", "--out", tmp + "/o.png"], code: 64, mentions: "--range")
        try refuse(["sweep", "--gain", "0.5:2:1e-300"], code: 64, mentions: "too many")
        try refuse(["sweep", "--gain", "1e-300:1e300:1e-300"], code: 64, mentions: "too many")
        try refuse(["clip", "--magnitude", "1e308"], code: 64, mentions: "--magnitude")
    }

    func testClosedStderrStillExitsWithTheCode() throws {
        let r = try run(["curves", "--hidden", "0"], closeStderr: true)
        XCTAssertFalse(r.signalled)
        XCTAssertEqual(r.status, 64)
        let w = try run(["curves", "--cells", "relu", "--gain", "2", "--steps", "2000", "--init", "orthogonal", "--hidden", "8"], closeStderr: true)
        XCTAssertEqual(w.status, 0, "a warning on a closed stderr must not crash")
    }

    // MARK: - .npz files

    func testHostileArchivesAreRefusedNamingTheArray() throws {
        func archive(_ name: String, _ members: [(String, Data)], corruptCRC: Bool = false) throws -> String {
            let path = tmp + "/" + name
            try ZipImage.stored(members, corruptCRC: corruptCRC).write(to: URL(fileURLWithPath: path))
            return path
        }
        let w = NpyImage.image(shape: [2, 2], values: [0.1, 0.2, 0.3, 0.4]), b = NpyImage.image(shape: [2], values: [0, 0])
        let x = NpyImage.image(shape: [2, 1], values: [1, 2])
        let good: [(String, Data)] = [("weight_ih_l0.npy", x), ("weight_hh_l0.npy", w), ("bias_ih_l0.npy", b), ("bias_hh_l0.npy", b)]
        var made: Set<String> = []
        func check(_ name: String, _ members: [(String, Data)], corruptCRC: Bool = false, mentions: String, code: Int32 = 65, extra: [String] = []) throws {
            let p = try archive(name, members, corruptCRC: corruptCRC)
            made.insert(name)
            try refuse(["import", p, "--cell", "tanh", "--steps", "20"] + extra, code: code, mentions: mentions, leaves: made)
        }
        let ok = try archive("good.npz", good)
        made.insert("good.npz")
        XCTAssertEqual(try run(["import", ok, "--cell", "tanh", "--steps", "20"]).status, 0)
        // Declared shapes whose size overflows or cannot fit: refused before anything is allocated.
        for (i, shape) in ["(4294967296, 4294967296)", "(9223372036854775807, 2)", "(2305843009213693952,)", "(100000, 100000)"].enumerated() {
            let huge = NpyImage.image(header: "{'descr': '<f8', 'fortran_order': False, 'shape': \(shape), }", payload: [UInt8](repeating: 0, count: 3000))
            try check("shape\(i).npz", [("weight_hh_l0.npy", huge)] + good.dropFirst(2) + [good[0]], mentions: "weight_hh_l0")
        }
        try check("layer.npz", good + [("weight_hh_l9223372036854775807.npy", w)], mentions: "weight_hh_l9223372036854775807")
        try check("crc.npz", good, corruptCRC: true, mentions: "CRC32")
        try check("dup.npz", good + [("weight_hh_l0.npy", w)], mentions: "appears twice")
        try check("inputs.npz", good + [("inputs.npy", NpyImage.image(header: "{'descr': '<f8', 'fortran_order': False, 'shape': (1000000000, 0), }", payload: []))],
                  mentions: "inputs")
        try check("gates.npz", good, mentions: "one of 'tanh', 'relu', 'sigmoid' or 'linear'", code: 64, extra: ["--cell", "lstm"])
        try check("big.npz", [("weight_hh_l0.npy", NpyImage.image(shape: [2, 2], values: [1e308, 0, 0, 1]))] + good.dropFirst(2) + [good[0]],
                  mentions: "so large")
        // An unused array is not even read: a huge declared shape there costs nothing.
        let unused = try archive("unused.npz", good + [("optimizer_state.npy", NpyImage.image(header: "{'descr': '<f8', 'fortran_order': False, 'shape': (2305843009213693952,), }", payload: []))])
        XCTAssertEqual(try run(["import", unused, "--cell", "tanh", "--steps", "20"]).status, 0)
    }

    // MARK: - Outputs

    func testTwoOutputsWithTheSamePathAreRefused() throws {
        try refuse(["curves", "--csv", tmp + "/x", "--json", tmp + "/x"], code: 64, mentions: "same file")
        try refuse(["curves", "--cells", "tanh,lstm", "--save-model", tmp + "/m.json", "--csv", tmp + "/m-tanh.json"], code: 64, mentions: "same file")
        try refuse(["sweep", "--csv", tmp + "/./s", "--json", tmp + "/s"], code: 64, mentions: "same file")
        try refuse(["train", "--out", tmp + "/p", "--csv", tmp + "/p-loss.png"], code: 64, mentions: "same file")
    }

    func testSpecialFilesSymlinksAndLongNames() throws {
        // A device is written through, never replaced.
        let r = try run(["curves", "--cells", "tanh", "--hidden", "4", "--steps", "5", "--csv", "/dev/null"])
        XCTAssertEqual(r.status, 0, r.stderr)
        var st = stat()
        XCTAssertEqual(stat("/dev/null", &st), 0)
        XCTAssertEqual(st.st_mode & S_IFMT, S_IFCHR, "/dev/null must stay a character device")
        // A FIFO nobody reads: refused, not replaced and not waited on.
        let fifo = tmp + "/fifo"
        XCTAssertEqual(mkfifo(fifo, 0o644), 0)
        try refuse(["curves", "--cells", "tanh", "--hidden", "4", "--steps", "5", "--csv", fifo], code: 73, mentions: "FIFO", leaves: ["fifo"])
        XCTAssertEqual(lstat(fifo, &st), 0)
        XCTAssertEqual(st.st_mode & S_IFMT, S_IFIFO)
        // A symlink: the file it points to is replaced, the link stays.
        try "old".write(toFile: tmp + "/real.csv", atomically: true, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: tmp + "/link.csv", withDestinationPath: tmp + "/real.csv")
        XCTAssertEqual(try run(["curves", "--cells", "tanh", "--hidden", "4", "--steps", "5", "--csv", tmp + "/link.csv"]).status, 0)
        XCTAssertEqual(lstat(tmp + "/link.csv", &st), 0)
        XCTAssertEqual(st.st_mode & S_IFMT, S_IFLNK)
        XCTAssertTrue(try String(contentsOfFile: tmp + "/real.csv", encoding: .utf8).hasPrefix("cell,"))
        // A valid 249-byte name works (its temporary name must still fit in 255 bytes).
        let long = String(repeating: "a", count: 245) + ".csv"
        let l = try run(["curves", "--cells", "tanh", "--hidden", "4", "--steps", "5", "--csv", tmp + "/" + long])
        XCTAssertEqual(l.status, 0, l.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: tmp + "/" + long))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: tmp).filter { $0.contains("tmp") }, [])
    }

    func testStaleTemporariesAreRemovedAndSignalsCleanUp() throws {
        // A temp left by a killed process (PID that cannot exist) is removed by the next write to that target.
        for stale in [".out.csv.gradlab-tmp-4194304", ".out.csv.tmp-4194305"] {
            try "partial".write(toFile: tmp + "/" + stale, atomically: false, encoding: .utf8)
        }
        XCTAssertEqual(try run(["curves", "--cells", "tanh", "--hidden", "4", "--steps", "5", "--csv", tmp + "/out.csv"]).status, 0)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: tmp).sorted(), ["out.csv"])
        // SIGTERM in the middle of a run: exit 143, nothing left.
        let p = Process()
        p.executableURL = CLITests.binary
        p.arguments = ["sweep", "--hidden", "64", "--steps", "2000", "--seeds", "50", "--csv", tmp + "/s.csv"]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        usleep(700_000)
        p.terminate()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationReason, .exit)
        XCTAssertEqual(p.terminationStatus, 143)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: tmp).sorted(), ["out.csv"])
    }

    // MARK: - Messages

    func testMessagesQuoteAtMostEightyCharactersAndNameTheProblem() throws {
        let model = tmp + "/m.json"
        XCTAssertEqual(try run(["curves", "--cells", "tanh", "--hidden", "3", "--input", "2", "--steps", "4", "--save-model", model]).status, 0)
        var json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: model))) as! [String: Any]
        json["cell"] = String(repeating: "x", count: 5_000_000)
        try JSONSerialization.data(withJSONObject: json).write(to: URL(fileURLWithPath: tmp + "/long.json"))
        try refuse(["curves", "--model", tmp + "/long.json"], code: 65, mentions: "unknown cell", leaves: ["m.json", "long.json"])
        json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: model))) as! [String: Any]
        var w = json["weight_hh"] as! [[Double]]
        w[0][0] = 1e308
        json["weight_hh"] = w
        try JSONSerialization.data(withJSONObject: json).write(to: URL(fileURLWithPath: tmp + "/huge.json"))
        for c in ["curves", "lyapunov", "import"] {
            try refuse(c == "import" ? [c, tmp + "/huge.json"] : [c, "--model", tmp + "/huge.json"], code: 65,
                       mentions: "weight_hh has entries so large", leaves: ["m.json", "long.json", "huge.json"])
        }
        let clip = try run(["clip", "--gradient", "1e308,1e308,1e308"])
        XCTAssertEqual(clip.status, 0, clip.stderr)
        let rows = clip.stdout.split(separator: "\n").filter { $0.hasPrefix("norm scaling, c") || $0.hasPrefix("value clipping, v") }
        XCTAssertEqual(rows.count, 2)
        for row in rows { XCTAssertTrue(row.hasSuffix(" 0.0°"), String(row)) }
        try refuse(["sweep", "--gain", String(repeating: "9", count: 10_000) + "x"], code: 64, mentions: "…")
    }

    // MARK: - The lesson runner

    /// A repository with plots/ and one lesson; returns the lesson's path.
    func repo(_ lesson: String, lineEnding: String = "\n") throws -> String {
        let root = tmp + "/repo"
        for d in ["notebooks-md", "plots"] { try FileManager.default.createDirectory(atPath: root + "/" + d, withIntermediateDirectories: true) }
        try "// root\n".write(toFile: root + "/Package.swift", atomically: true, encoding: .utf8)
        let text = lesson.replacingOccurrences(of: "\n", with: lineEnding)
        try text.write(toFile: root + "/notebooks-md/l.md", atomically: true, encoding: .utf8)
        return root + "/notebooks-md/l.md"
    }

    func testLessonsStayInsidePlotsAndFailCleanly() throws {
        let outside = tmp + "/outside"
        try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
        let small = "curves --cells tanh --hidden 4 --steps 5"
        // A symlinked subfolder of plots/.
        var lesson = try repo("# L\n\n```gradlab\n\(small) --csv plots/evil/x.csv\n```\n")
        try FileManager.default.createSymbolicLink(atPath: tmp + "/repo/plots/evil", withDestinationPath: outside)
        let tmpdir = tmp + "/tmpdir"
        try FileManager.default.createDirectory(atPath: tmpdir, withIntermediateDirectories: true)
        let env = ["TMPDIR": tmpdir]
        try refuse(["notebook", "run", lesson], mentions: "symlink", env: env, leaves: ["repo", "outside", "tmpdir"])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: outside), [])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: tmpdir), [], "no temporary folder may be left")
        // plots/ itself a symlink.
        try FileManager.default.removeItem(atPath: tmp + "/repo")
        lesson = try repo("# L\n\n```gradlab\n\(small) --csv plots/x.csv\n```\n")
        try FileManager.default.removeItem(atPath: tmp + "/repo/plots")
        try FileManager.default.createSymbolicLink(atPath: tmp + "/repo/plots", withDestinationPath: outside)
        try refuse(["notebook", "run", lesson], mentions: "symlink", env: env, leaves: ["repo", "outside", "tmpdir"])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: outside), [])
        // A block that fails after writing one output: none of its outputs reach plots/, no temp folder is left.
        try FileManager.default.removeItem(atPath: tmp + "/repo")
        lesson = try repo("# L\n\n```gradlab\n\(small) --csv plots/a.csv\ncurves --hidden 0\n```\n")
        try refuse(["notebook", "run", lesson], code: 65, mentions: "l.md:5", env: env, leaves: ["repo", "outside", "tmpdir"])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: tmp + "/repo/plots"), [])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: tmpdir), [])
        // --help inside a block.
        try FileManager.default.removeItem(atPath: tmp + "/repo")
        lesson = try repo("# L\n\n```gradlab\ncurves --help\n```\n")
        try refuse(["notebook", "run", lesson], code: 65, mentions: "--help", env: env, leaves: ["repo", "outside", "tmpdir"])
        // An unwritable TMPDIR: exit 73, one line.
        try FileManager.default.removeItem(atPath: tmp + "/repo")
        lesson = try repo("# L\n\n```gradlab\n\(small)\n```\n")
        try refuse(["notebook", "run", lesson], code: 73, mentions: "TMPDIR", env: ["TMPDIR": tmp + "/no/such/dir"], leaves: ["repo", "outside", "tmpdir"])
        // The same budget as commands.
        try FileManager.default.removeItem(atPath: tmp + "/repo")
        lesson = try repo("# L\n\n```gradlab\ncurves --hidden 4096 --steps 1000000\n```\n")
        try refuse(["notebook", "run", lesson], code: 65, mentions: "needs ~", env: env, leaves: ["repo", "outside", "tmpdir"])
    }

    /// A crash inside a block (here a SIGSEGV delivered while the block runs, as a bad access would raise it)
    /// is reported on the real stderr as one line naming lesson and block — stderr is being captured then —
    /// and leaves no temporary folder or output behind.
    func testACrashInsideALessonBlockIsReported() throws {
        let lesson = try repo("# L\n\n```gradlab\nsweep --hidden 64 --steps 2000 --seeds 50 --csv plots/s.csv\n```\n")
        let tmpdir = tmp + "/tmpdir"
        try FileManager.default.createDirectory(atPath: tmpdir, withIntermediateDirectories: true)
        let p = Process()
        p.executableURL = CLITests.binary
        p.arguments = ["notebook", "run", lesson]
        p.environment = ProcessInfo.processInfo.environment.merging(["TMPDIR": tmpdir]) { $1 }
        let err = Pipe()
        p.standardOutput = FileHandle.nullDevice
        p.standardError = err
        try p.run()
        usleep(1_000_000)
        kill(p.processIdentifier, SIGSEGV)
        let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        XCTAssertEqual(p.terminationReason, .exit, text)
        XCTAssertEqual(p.terminationStatus, 70, text)
        XCTAssertEqual(text.split(separator: "\n").count, 1, text)
        XCTAssertTrue(text.hasPrefix("gradlab: notebooks-md/l.md:4 (block at line 3): `sweep"), text)
        XCTAssertTrue(text.contains("crashed"), text)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: tmpdir), [], "no temporary folder may be left")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: tmp + "/repo/plots"), [])
    }

    func testCRLFLessonsRunTheirBlocks() throws {
        let lesson = try repo("# L\n\n```gradlab\ncurves --cells tanh --hidden 4 --steps 5 --csv plots/c.csv\n```\n", lineEnding: "\r\n")
        let r = try run(["notebook", "run", lesson])
        XCTAssertEqual(r.status, 0, r.stderr)
        let text = try String(contentsOfFile: lesson, encoding: .utf8)
        XCTAssertTrue(text.contains("<!-- gradlab:output"), text)
        XCTAssertTrue(text.contains("[c.csv](../plots/c.csv)\r\n"), "line endings are kept: \(text.debugDescription)")
        XCTAssertTrue(FileManager.default.fileExists(atPath: tmp + "/repo/plots/c.csv"))
        XCTAssertEqual(try run(["notebook", "check", lesson]).status, 0)
    }

    // MARK: - Generated cases (seeded)

    static let hostileNumbers = ["0", "-1", "1e308", "-1e308", "nan", "inf", "-inf", "9223372036854775807", "-9223372036854775808",
                                 "99999999999999999999", "1e-300", "4096", "1000000", "2147483648", "0x10", "", "1e19", "3.5", "18446744073709551616"]
    static let commands: [(String, [String])] = [
        ("curves", ["--hidden", "--input", "--steps", "--gain", "--skip", "--forget-bias", "--input-scale", "--width", "--height", "--scale"]),
        ("heatmap", ["--hidden", "--input", "--steps", "--gain", "--skip"]),
        ("spectrum", ["--hidden", "--input", "--steps", "--lags"]),
        ("lyapunov", ["--hidden", "--input", "--steps", "--count", "--warmup"]),
        ("sweep", ["--hidden", "--input", "--steps", "--seeds", "--warmup", "--jobs", "--gain"]),
        ("carousel", ["--hidden", "--steps", "--forget-biases"]),
        ("train", ["--hidden", "--steps", "--iters", "--batch", "--eval-every", "--eval-size", "--snapshots", "--truncate", "--lr", "--symbols", "--copy-length"]),
        ("train-sweep", ["--hidden", "--lengths", "--iters", "--batch", "--jobs"]),
        ("clip", ["--size", "--magnitude", "--clip-norm", "--clip-value", "--gradient"]),
        ("compare", ["--range", "--width", "--scale"]),
        ("bench", ["--only", "--repetitions"]),
        ("language", ["--hidden", "--iters", "--batch", "--min-distance", "--max-distance", "--names", "--bucket", "--eval-per-bucket",
                      "--saliency-distance", "--jobs", "--lr", "--clip-norm"]),
        ("baselines", ["--hidden", "--steps", "--iters", "--seeds", "--batch", "--eval-every", "--eval-size", "--gradient-iters",
                       "--pass-loss-ratio", "--pass-accuracy", "--jobs", "--lr"]),
        ("architectures paths", ["--hidden", "--steps", "--source-length", "--target-length", "--symbols", "--delay", "--classes",
                                 "--batch", "--iters", "--lr"]),
        ("architectures reversal", ["--hidden", "--source-length", "--symbols", "--iters", "--seeds", "--batch", "--eval-size"]),
        ("train", ["--layers", "--hidden", "--steps", "--iters"]),
        ("curves", ["--layers", "--hidden", "--steps"]),
        ("heatmap", ["--layers", "--hidden", "--steps"]),
    ]

    /// Random flag combinations with hostile values, under a small budget (0.05 min, 256 MB) so anything
    /// accepted is quick: either a clean refusal or success, never a signal, a hang or a multi-line error.
    func testGeneratedFlagCombinations() throws {
        var rng = SplitMix(seed: 12)
        let env = ["GRADLAB_MAX_MINUTES": "0.05", "GRADLAB_MAX_MEMORY": "256M"]
        for _ in 0..<100 {
            let (cmd, flags) = Self.commands[Int(rng.next() % UInt64(Self.commands.count))]
            var args = cmd.split(separator: " ").map(String.init)
            for _ in 0..<(1 + Int(rng.next() % 3)) {
                let f = flags[Int(rng.next() % UInt64(flags.count))]
                var v = Self.hostileNumbers[Int(rng.next() % UInt64(Self.hostileNumbers.count))]
                if f == "--only" { v = "tanh:\(v):\(Self.hostileNumbers[Int(rng.next() % 8)])" }
                if f == "--gain" && cmd == "sweep" && rng.next() % 2 == 0 { v = "\(v):\(v):\(Self.hostileNumbers[Int(rng.next() % 19)])" }
                args += [f, v]
            }
            if cmd != "bench" && cmd != "clip" { args += rng.next() % 2 == 0 ? ["--csv", tmp + "/g.csv"] : [] }
            let r = try run(args, env: env)
            let what = args.joined(separator: " ")
            XCTAssertFalse(r.signalled, "\(what): signal \(r.status)")
            XCTAssertLessThan(r.seconds, Self.maxSeconds, "\(what): \(r.seconds) s")
            if r.status == 0 { try? FileManager.default.removeItem(atPath: tmp + "/g.csv"); continue }
            XCTAssertTrue(Self.allowedFailures.contains(r.status), "\(what): exit \(r.status): \(r.stderr.prefix(400))")
            XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, "\(what): \(r.stderr.prefix(400))")
            XCTAssertFalse(FileManager.default.fileExists(atPath: tmp + "/g.csv"), "\(what): output left after a failure")
        }
    }

    /// Random .npy headers and archive damage: one clean line (65) or success.
    func testGeneratedArchives() throws {
        var rng = SplitMix(seed: 7)
        let dims = ["0", "1", "2", "3", "7", "4096", "65536", "2147483648", "4294967296", "9223372036854775807", "9223372036854775808", "-1", "1L", "x", ""]
        let descrs = ["<f8", ">f8", "<f4", "=f8", "<i8", "|u1", "<c16", "'"]
        let names = ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0", "inputs", "weight_hh_l1", "weight_ih_l1",
                     "weight_hh_l99999999999999999999", "rnn.weight_hh_l0", "weight_hh_l0_reverse", "x"]
        for i in 0..<40 {
            var members: [(String, Data)] = []
            for _ in 0..<(1 + Int(rng.next() % 5)) {
                let rank = Int(rng.next() % 3)
                let shape = (0..<rank).map { _ in dims[Int(rng.next() % UInt64(dims.count))] }
                let shapeText = "(" + shape.joined(separator: ", ") + (rank == 1 ? ",)" : ")")
                let descr = descrs[Int(rng.next() % UInt64(descrs.count))]
                let payload = (0..<Int(rng.next() % 200)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
                let header = "{'descr': '\(descr)', 'fortran_order': \(rng.next() % 4 == 0 ? "True" : "False"), 'shape': \(shapeText), }"
                members.append((names[Int(rng.next() % UInt64(names.count))] + ".npy", NpyImage.image(header: header, payload: payload)))
            }
            var data = ZipImage.stored(members, corruptCRC: rng.next() % 5 == 0)
            if rng.next() % 4 == 0, data.count > 10 { data = data.prefix(Int(rng.next() % UInt64(data.count))) }
            let path = tmp + "/gen\(i).npz"
            try data.write(to: URL(fileURLWithPath: path))
            let r = try run(["import", path, "--cell", "tanh", "--steps", "10"], env: ["GRADLAB_MAX_MEMORY": "256M"])
            XCTAssertFalse(r.signalled, "archive \(i): signal \(r.status)")
            XCTAssertLessThan(r.seconds, Self.maxSeconds)
            if r.status != 0 {
                XCTAssertTrue(Self.allowedFailures.contains(r.status), "archive \(i): exit \(r.status): \(r.stderr.prefix(300))")
                XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, "archive \(i): \(r.stderr.prefix(300))")
            }
            try FileManager.default.removeItem(atPath: path)
        }
    }
}

/// A small deterministic generator for the generated cases (same seed, same cases, every machine).
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Hand-built .npy images.
enum NpyImage {
    static func image(header: String, payload: [UInt8]) -> Data {
        var h = Array(header.utf8)
        while (10 + h.count + 1) % 64 != 0 { h.append(0x20) }
        h.append(0x0A)
        var d = Data([0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(h.count & 0xFF), UInt8(h.count >> 8)])
        d.append(contentsOf: h)
        d.append(contentsOf: payload)
        return d
    }

    static func image(shape: [Int], values: [Double]) -> Data {
        let s = "(" + shape.map(String.init).joined(separator: ", ") + (shape.count == 1 ? ",)" : ")")
        var bytes: [UInt8] = []
        for v in values { withUnsafeBytes(of: v.bitPattern.littleEndian) { bytes += $0 } }
        return image(header: "{'descr': '<f8', 'fortran_order': False, 'shape': \(s), }", payload: bytes)
    }
}

/// A minimal zip writer (stored members, as `np.savez` writes them), with an option to damage the CRCs.
enum ZipImage {
    static let table: [UInt32] = (0..<256).map { i -> UInt32 in
        var c = UInt32(i)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    static func crc32(_ d: Data) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        for b in d { c = table[Int((c ^ UInt32(b)) & 0xFF)] ^ (c >> 8) }
        return c ^ 0xFFFF_FFFF
    }

    static func stored(_ members: [(String, Data)], corruptCRC: Bool = false) -> Data {
        var out = Data(), central = Data()
        func u16(_ v: Int, _ d: inout Data) { d.append(contentsOf: [UInt8(v & 0xFF), UInt8((v >> 8) & 0xFF)]) }
        func u32(_ v: UInt32, _ d: inout Data) { for i in 0..<4 { d.append(UInt8((v >> (8 * UInt32(i))) & 0xFF)) } }
        for (name, data) in members {
            let offset = UInt32(out.count)
            let crc = crc32(data) ^ (corruptCRC ? 1 : 0)
            let n = Array(name.utf8)
            u32(0x0403_4B50, &out); u16(20, &out); u16(0, &out); u16(0, &out); u16(0, &out); u16(0x21, &out)
            u32(crc, &out); u32(UInt32(data.count), &out); u32(UInt32(data.count), &out); u16(n.count, &out); u16(0, &out)
            out.append(contentsOf: n); out.append(data)
            u32(0x0201_4B50, &central); u16(20, &central); u16(20, &central); u16(0, &central); u16(0, &central); u16(0, &central); u16(0x21, &central)
            u32(crc, &central); u32(UInt32(data.count), &central); u32(UInt32(data.count), &central); u16(n.count, &central)
            u16(0, &central); u16(0, &central); u16(0, &central); u16(0, &central); u32(0, &central); u32(offset, &central)
            central.append(contentsOf: n)
        }
        let cdOffset = UInt32(out.count)
        out.append(central)
        u32(0x0605_4B50, &out); u16(0, &out); u16(0, &out); u16(members.count, &out); u16(members.count, &out)
        u32(UInt32(central.count), &out); u32(cdOffset, &out); u16(0, &out)
        return out
    }
}
