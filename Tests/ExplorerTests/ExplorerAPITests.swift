import Foundation
import XCTest
@testable import Explorer
import GradLabCLI

/// The explorer's HTTP API, in process: `ExplorerApp.respond` without sockets, and the CLI's own bytes
/// for comparison (the built binary, as in CLITests).
final class ExplorerAPITests: XCTestCase {
    let app = ExplorerApp(backend: CommandBackend(), gate: ComputeGate(slots: 2))

    static var binary: URL {
        let dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        let candidates = [dir.appendingPathComponent("gradlab"), dir.deletingLastPathComponent().appendingPathComponent("gradlab")]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) } ?? candidates[0]
    }

    func get(_ uri: String) async -> (Int, [String: Any], Reply) {
        let r = await app.respond(method: "GET", uri: uri)
        let o = (try? JSONSerialization.jsonObject(with: Data(r.body))) as? [String: Any] ?? [:]
        return (r.status, o, r)
    }

    /// Runs `gradlab args` in a fresh folder and returns the bytes of `file` there.
    func cli(_ args: [String], file: String) throws -> [UInt8] { try Self.cli(args, file: file) }

    static func cli(_ args: [String], file: String) throws -> [UInt8] {
        guard FileManager.default.isExecutableFile(atPath: Self.binary.path) else {
            XCTFail("gradlab binary not found at \(Self.binary.path): run `swift build -c release` first (make test does)")
            throw XCTSkip("no binary")
        }
        let dir = NSTemporaryDirectory() + "gradlab-explorer-\(getpid())-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let p = Process()
        p.executableURL = Self.binary
        p.arguments = args
        p.currentDirectoryURL = URL(fileURLWithPath: dir)
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0, "gradlab \(args.joined(separator: " "))")
        return Array(try Data(contentsOf: URL(fileURLWithPath: dir + "/" + file)))
    }

    func testPageAndAssetsAreServedByTheBinary() async {
        for (path, type) in [("/", "text/html"), ("/explorer.js", "text/javascript"), ("/live.js", "text/javascript"), ("/explorer.css", "text/css")] {
            let r = await app.respond(method: "GET", uri: path)
            XCTAssertEqual(r.status, 200, path)
            XCTAssertTrue(r.contentType.hasPrefix(type), r.contentType)
            XCTAssertGreaterThan(r.body.count, 500, path)
            // Nothing from elsewhere: no absolute URL to another host in the page or its assets.
            XCTAssertFalse(r.text.contains("http://") && !r.text.contains("http://www.w3.org"), "\(path) refers to another host")
            XCTAssertFalse(r.text.contains("https://"), "\(path) refers to another host")
        }
        let csp = await app.respond(method: "GET", uri: "/").headers.first { $0.0 == "Content-Security-Policy" }?.1
        XCTAssertEqual(csp?.hasPrefix("default-src 'self'"), true)
    }

    func testViewsCarryTheCommandLineDefaults() async {
        let (status, o, _) = await get("/api/views")
        XCTAssertEqual(status, 200)
        let views = o["views"] as? [[String: Any]] ?? []
        XCTAssertEqual(views.map { $0["name"] as? String }, ["curves", "heatmap", "spectrum", "carousel", "compare", "import"])
        XCTAssertEqual((o["jobs"] as? [[String: Any]])?.map { $0["name"] as? String }, ["train", "sweep"])
        let curves = views[0]["defaults"] as? [String: String] ?? [:]
        XCTAssertEqual(curves["gain"], "1")
        XCTAssertEqual(curves["hidden"], "32")
        XCTAssertEqual(curves["steps"], "100")
        XCTAssertEqual(curves["cells"], "sigmoid,tanh,relu,irnn,lstm")
        let options = views[0]["options"] as? [String] ?? []
        for fileOption in ["out", "csv", "json", "model", "save-model"] { XCTAssertFalse(options.contains(fileOption), fileOption) }
    }

    func testCurvesViewGivesChartSummaryReadoutAndCommand() async {
        let (status, o, _) = await get("/api/view/curves?cells=tanh,lstm&gain=0.5&steps=60&hidden=16&width=800&height=500")
        XCTAssertEqual(status, 200, "\(o)")
        XCTAssertTrue((o["svg"] as? String ?? "").contains("<svg"))
        XCTAssertEqual(o["width"] as? Double, 800)
        XCTAssertEqual(o["command"] as? String, "gradlab curves --cells tanh,lstm --gain 0.5 --steps 60 --hidden 16 --width 800 --height 500")
        let summary = o["summary"] as? [[[String]]] ?? []
        XCTAssertEqual(summary.count, 2)
        XCTAssertEqual(summary.first?.first(where: { $0[0] == "regime" })?[1], "vanishing")
        let hover = o["hover"] as? [String: Any] ?? [:]
        let panel = (hover["panels"] as? [[String: Any]])?.first ?? [:]
        let x = panel["x"] as? [Double] ?? [], px = panel["px"] as? [Double] ?? []
        XCTAssertEqual(x.count, 61)
        XCTAssertEqual(px.count, 61)
        // Pixel x grows with the lag and stays inside the 800-point canvas.
        XCTAssertTrue(zip(px, px.dropFirst()).allSatisfy { $0 < $1 })
        XCTAssertTrue(px.allSatisfy { $0 > 0 && $0 < 800 })
        let names = (panel["series"] as? [[String: Any]] ?? []).map { $0["name"] as? String ?? "" }
        XCTAssertEqual(names, ["tanh", "tanh bound", "lstm", "lstm bound"])
        // Lag 0 reads 10^0 = 1 for every curve.
        XCTAssertEqual(((panel["series"] as? [[String: Any]])?.first?["values"] as? [Double])?.first ?? -1, 0, accuracy: 1e-12)
    }

    func testGainSweepChangesTheRegime() async {
        var regimes: [String] = []
        for g in ["0.5", "2"] {
            // Small inputs keep tanh out of saturation, so the gain alone decides.
            let (status, o, _) = await get("/api/view/curves?cells=tanh&gain=\(g)&input-scale=0.1")
            XCTAssertEqual(status, 200)
            regimes.append((o["summary"] as? [[[String]]])?.first?.first(where: { $0[0] == "regime" })?[1] ?? "")
        }
        XCTAssertEqual(regimes, ["vanishing", "exploding"])
    }

    /// Every download is the file the equivalent command writes, byte for byte.
    func testDownloadsAreTheCommandsBytes() async throws {
        let query = "cells=tanh,lstm&gain=1.3&steps=40&hidden=12&seed=7&width=640&height=400"
        let args = ["curves", "--cells", "tanh,lstm", "--gain", "1.3", "--steps", "40", "--hidden", "12", "--seed", "7", "--width", "640", "--height", "400"]
        for (kind, option, file) in [("csv", "--csv", "c.csv"), ("json", "--json", "c.json"), ("png", "--out", "c.png"), ("svg", "--out", "c.svg"), ("pdf", "--out", "c.pdf")] {
            let (status, _, r) = await get("/download/curves/\(kind)?\(query)")
            XCTAssertEqual(status, 200, kind)
            XCTAssertEqual(r.body, try cli(args + [option, file], file: file), "\(kind) differs from gradlab curves \(option)")
        }
        let (status, _, model) = await get("/download/curves/model?\(query)&_model=1")
        XCTAssertEqual(status, 200)
        XCTAssertEqual(model.body, try cli(args + ["--save-model", "m-{cell}.json"], file: "m-tanh.json"))
        let (hs, _, heat) = await get("/download/heatmap/csv?cell=gru&steps=20&hidden=6")
        XCTAssertEqual(hs, 200)
        XCTAssertEqual(heat.body, try cli(["heatmap", "--cell", "gru", "--steps", "20", "--hidden", "6", "--csv", "h.csv"], file: "h.csv"))
        let (ss, _, spec) = await get("/download/spectrum/json?cells=lstm&steps=30&hidden=8&lags=5")
        XCTAssertEqual(ss, 200)
        XCTAssertEqual(spec.body, try cli(["spectrum", "--cells", "lstm", "--steps", "30", "--hidden", "8", "--lags", "5", "--json", "s.json"], file: "s.json"))
        let (cs, _, car) = await get("/download/carousel/svg?forget-biases=-1,2&steps=30&hidden=8")
        XCTAssertEqual(cs, 200)
        XCTAssertEqual(car.body, try cli(["carousel", "--forget-biases=-1,2", "--steps", "30", "--hidden", "8", "--out", "c.svg"], file: "c.svg"))
    }

    /// Depth and the other textbook form on the page are `curves/heatmap --layers L` and `--form w-of-f`:
    /// the same bytes as the command, a layer-by-lag read-out for the stack heatmap.
    func testLayersAndFormAreTheCommandsBytes() async throws {
        let cq = "cells=tanh,gru&layers=3&steps=40&hidden=8&seed=2&width=640&height=400"
        let ca = ["curves", "--cells", "tanh,gru", "--layers", "3", "--steps", "40", "--hidden", "8", "--seed", "2", "--width", "640", "--height", "400"]
        for (kind, option, file) in [("csv", "--csv", "d.csv"), ("json", "--json", "d.json"), ("svg", "--out", "d.svg")] {
            let (status, _, r) = await get("/download/curves/\(kind)?\(cq)")
            XCTAssertEqual(status, 200, kind)
            XCTAssertEqual(r.body, try cli(ca + [option, file], file: file), "\(kind) differs from gradlab curves --layers 3 \(option)")
        }
        let (hs, heat, _) = await get("/api/view/heatmap?cell=lstm&layers=4&steps=30&hidden=6")
        XCTAssertEqual(hs, 200, "\(heat)")
        let hover = heat["hover"] as? [String: Any] ?? [:]
        XCTAssertEqual(hover["rows"] as? Int, 4)
        XCTAssertEqual(hover["cols"] as? Int, 31)
        XCTAssertEqual(hover["lag"] as? Bool, false)
        XCTAssertEqual((hover["values"] as? [[Any]])?.count, 4)
        let (hd, _, hcsv) = await get("/download/heatmap/csv?cell=lstm&layers=4&steps=30&hidden=6")
        XCTAssertEqual(hd, 200)
        XCTAssertEqual(hcsv.body, try cli(["heatmap", "--cell", "lstm", "--layers", "4", "--steps", "30", "--hidden", "6", "--csv", "h.csv"], file: "h.csv"))
        let (fs, _, fcsv) = await get("/download/curves/csv?cells=tanh,relu&form=w-of-f&steps=30&hidden=8")
        XCTAssertEqual(fs, 200)
        XCTAssertEqual(fcsv.body, try cli(["curves", "--cells", "tanh,relu", "--form", "w-of-f", "--steps", "30", "--hidden", "8", "--csv", "f.csv"], file: "f.csv"))
        let (ws, wo, _) = await get("/api/view/curves?cells=tanh&form=w-of-f&layers=2")
        XCTAssertEqual(ws, 400)
        XCTAssertTrue((wo["error"] as? String ?? "").contains("--form w-of-f takes one layer"), "\(wo)")
        let (ls, lo, _) = await get("/api/view/heatmap?cell=tanh&layers=99")
        XCTAssertEqual(ls, 400)
        XCTAssertTrue((lo["error"] as? String ?? "").contains("--layers"), "\(lo)")
    }

    func testEveryViewAnswers() async {
        for uri in ["/api/view/heatmap?cell=lstm&steps=30&hidden=8", "/api/view/spectrum?cells=tanh,gru&lags=10&steps=30",
                    "/api/view/carousel?forget-biases=0,1,3&steps=50", "/api/view/compare?activations=sigmoid,relu&range=3"] {
            let (status, o, _) = await get(uri)
            XCTAssertEqual(status, 200, "\(uri): \(o)")
            XCTAssertTrue((o["svg"] as? String ?? "").contains("<svg"), uri)
            XCTAssertNotNil(o["hover"], uri)
        }
        let (_, heat, _) = await get("/api/view/heatmap?cell=tanh&steps=10&hidden=4")
        let h = heat["hover"] as? [String: Any] ?? [:]
        XCTAssertEqual(h["kind"] as? String, "grid")
        XCTAssertEqual(h["size"] as? Int, 11)
        let rows = h["values"] as? [[Any]] ?? []
        XCTAssertTrue(rows[3][5] is NSNull, "k > t is undefined")
        XCTAssertEqual(rows[3][3] as? Double ?? 1, 0, accuracy: 1e-12, "∂h_t/∂h_t = I has norm 1")
    }

    /// Bad values get 400 with a JSON error naming the parameter, as the command line names the option.
    func testBadQueriesAreRefusedNamingTheParameter() async {
        let cases: [(String, String?, String)] = [
            ("gain=nan", "gain", "finite"),
            ("gain=1e999", "gain", "finite"),
            ("gain=-1", "gain", "positive"),
            ("hidden=-5", "hidden", "positive"),
            ("hidden=abc", "hidden", "hidden"),
            ("hidden=99999999", "hidden", "4096"),
            ("steps=1000000&hidden=4096", "steps", "memory"),
            ("cells=tanh,frob", "cells", "unknown cell"),
            ("out=/etc/passwd", "out", "unknown parameter"),
            ("save-model=/tmp/x.json", "save-model", "unknown parameter"),
            ("model=/etc/passwd", "model", "unknown parameter"),
            ("gain=1&gain=2", "gain", "twice"),
            ("gain=%zz", nil, "percent"),
            ("width=5", "width", "width"),
            ("no-bounds=maybe", "no-bounds", "switch"),
            ("norm=l1", "norm", "norm"),
            ("title=" + String(repeating: "x", count: 3000), "title", "too long"),
        ]
        for (q, parameter, mentions) in cases {
            let (status, o, _) = await get("/api/view/curves?" + q)
            XCTAssertEqual(status, 400, "\(q.prefix(60)): \(o)")
            let error = o["error"] as? String ?? ""
            XCTAssertFalse(error.isEmpty, String(q.prefix(60)))
            XCTAssertFalse(error.contains("\n"), "one line: \(error)")
            if let parameter { XCTAssertEqual(o["parameter"] as? String, parameter, "\(q.prefix(60)): \(error)") }
            XCTAssertTrue(error.lowercased().contains(mentions.lowercased()), "\(q.prefix(60)): \(error)")
        }
        let many = (0..<80).map { "p\($0)=1" }.joined(separator: "&")
        let (s1, o1, _) = await get("/api/view/curves?" + many)
        XCTAssertEqual(s1, 400, "\(o1)")
        let (s2, _, _) = await get("/api/view/nosuch")
        XCTAssertEqual(s2, 404)
        let (s3, _, _) = await get("/download/curves/exe")
        XCTAssertEqual(s3, 404)
        let post = await app.respond(method: "POST", uri: "/api/view/curves")
        XCTAssertEqual(post.status, 405)
    }

    /// Work beyond the command line's budget is refused before it starts, with the estimate.
    func testBudgetIsTheCommandLines() async {
        let (status, o, _) = await get("/api/view/heatmap?steps=2000&hidden=2048")
        XCTAssertEqual(status, 400)
        XCTAssertNotNil(o["error"])
    }

    /// A newer request of the same page supersedes older ones: waiting ones never start, a running one stops.
    func testNewerRequestSupersedesOlder() throws {
        let gate = ComputeGate(slots: 1, queueLimit: 8, maxWait: 20)
        let release = DispatchSemaphore(value: 0)
        let finished = DispatchGroup()
        var outcomes: [String: String] = [:]
        let lock = NSLock()
        func record(_ name: String) -> (ComputeGate.Outcome<Int>) -> Void {
            finished.enter()
            return { o in
                lock.lock()
                switch o {
                case .done(let v): outcomes[name] = "done \(v)"
                case .superseded: outcomes[name] = "superseded"
                case .busy: outcomes[name] = "busy"
                case .failed(let e): outcomes[name] = "failed \(e)"
                }
                lock.unlock()
                finished.leave()
            }
        }
        var sawStop = false
        // seq 1 runs and waits; seq 2 waits for the slot; seq 3 arrives: 2 is dropped unstarted, 1 is told to stop.
        gate.submit(client: "tab", seq: 1, { stop in
            release.wait()
            sawStop = stop()
            if sawStop { throw ExplorerCancelled() }
            return 1
        }, done: record("first"))
        Thread.sleep(forTimeInterval: 0.05)
        gate.submit(client: "tab", seq: 2, { _ in 2 }, done: record("second"))
        gate.submit(client: "tab", seq: 3, { _ in 3 }, done: record("third"))
        // Another tab is not affected.
        gate.submit(client: "other", seq: 1, { _ in 4 }, done: record("other"))
        release.signal()
        XCTAssertEqual(finished.wait(timeout: .now() + 10), .success)
        XCTAssertTrue(sawStop)
        XCTAssertEqual(outcomes, ["first": "superseded", "second": "superseded", "third": "done 3", "other": "done 4"])
    }

    /// Downloads run alone: an exclusive job waits for the running ones, and nothing starts beside it.
    func testExclusiveJobsRunAlone() throws {
        let gate = ComputeGate(slots: 2, queueLimit: 8, maxWait: 20)
        let lock = NSLock()
        var active = 0, maxWithExclusive = 0, exclusiveActive = false
        let group = DispatchGroup()
        func job(_ exclusive: Bool) {
            group.enter()
            gate.submit(client: nil, seq: 0, exclusive: exclusive, { _ -> Int in
                lock.lock(); active += 1; if exclusive { exclusiveActive = true }
                if exclusiveActive { maxWithExclusive = max(maxWithExclusive, active) }
                lock.unlock()
                Thread.sleep(forTimeInterval: 0.05)
                lock.lock(); active -= 1; if exclusive { exclusiveActive = false }; lock.unlock()
                return 0
            }, done: { _ in group.leave() })
        }
        job(false); job(false); job(true); job(false); job(false)
        XCTAssertEqual(group.wait(timeout: .now() + 10), .success)
        XCTAssertEqual(maxWithExclusive, 1)
    }

    func testFullQueueAnswersBusy() throws {
        let gate = ComputeGate(slots: 1, queueLimit: 1, maxWait: 20)
        let release = DispatchSemaphore(value: 0)
        let group = DispatchGroup()
        var busy = 0, done = 0
        let lock = NSLock()
        for i in 0..<4 {
            group.enter()
            gate.submit(client: nil, seq: i, { _ in if i == 0 { release.wait() }; return i }, done: { o in
                lock.lock(); if case .busy = o { busy += 1 } else if case .done = o { done += 1 }; lock.unlock()
                group.leave()
            })
        }
        release.signal()
        XCTAssertEqual(group.wait(timeout: .now() + 10), .success)
        XCTAssertEqual(busy, 2, "one runs, one waits, the rest are told the server is busy")
        XCTAssertEqual(done, 2)
    }
}
