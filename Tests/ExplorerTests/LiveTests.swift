import Foundation
import XCTest
@testable import Explorer
import GradLabCLI

/// The explorer's long jobs and uploads, in process: live training streams the rows `gradlab train --csv`
/// writes, a sweep streams its points and stops when told, uploads are read by `gradlab import`'s reader,
/// and the limits hold (jobs per page and per server, time, unwatched jobs, budgets).
final class LiveTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("GradLabTests/Fixtures")

    func makeApp(_ configure: (inout JobRegistry.Limits) -> Void = { _ in }) -> ExplorerApp {
        var limits = JobRegistry.Limits()
        configure(&limits)
        return ExplorerApp(backend: CommandBackend(), gate: ComputeGate(slots: 2), jobs: JobRegistry(limits: limits))
    }

    func post(_ app: ExplorerApp, _ uri: String, body: [UInt8] = []) async -> (Int, [String: Any]) {
        let r = await app.respond(ExplorerApp.Request(method: "POST", uri: uri, body: body))
        return (r.status, (try? JSONSerialization.jsonObject(with: Data(r.body))) as? [String: Any] ?? [:])
    }

    func get(_ app: ExplorerApp, _ uri: String) async -> (Int, [String: Any], Reply) {
        let r = await app.respond(method: "GET", uri: uri)
        return (r.status, (try? JSONSerialization.jsonObject(with: Data(r.body))) as? [String: Any] ?? [:], r)
    }

    /// An event stream read to its end (or `timeout`): (event name, data) in order, and the frames' ids.
    final class Stream: @unchecked Sendable {
        private let lock = NSLock()
        private var buffer: [UInt8] = []
        private(set) var ended = false
        let done = DispatchSemaphore(value: 0)
        var cancel: (@Sendable () -> Void)?

        func receive(_ frame: [UInt8], _ last: Bool) {
            lock.lock()
            buffer += frame
            if last && !ended { ended = true; done.signal() }
            lock.unlock()
        }

        var events: [(id: Int, name: String, data: [String: Any])] {
            lock.lock(); defer { lock.unlock() }
            var out: [(Int, String, [String: Any])] = []
            for block in String(decoding: buffer, as: UTF8.self).components(separatedBy: "\n\n") where !block.hasPrefix(":") && !block.isEmpty {
                var id = -1, name = "", data: [String: Any] = [:]
                for line in block.split(separator: "\n") {
                    if line.hasPrefix("id: ") { id = Int(line.dropFirst(4)) ?? -1 }
                    if line.hasPrefix("event: ") { name = String(line.dropFirst(7)) }
                    if line.hasPrefix("data: ") {
                        data = (try? JSONSerialization.jsonObject(with: Data(line.dropFirst(6).utf8))) as? [String: Any] ?? [:]
                    }
                }
                out.append((id, name, data))
            }
            return out
        }

        func wait(_ seconds: Double) -> Bool { done.wait(timeout: .now() + seconds) == .success }
    }

    func listen(_ app: ExplorerApp, _ id: String, lastEventID: String? = nil) async throws -> Stream {
        let r = await app.respond(ExplorerApp.Request(method: "GET", uri: "/api/jobs/\(id)/events", lastEventID: lastEventID))
        XCTAssertEqual(r.status, 200)
        XCTAssertTrue(r.contentType.hasPrefix("text/event-stream"))
        let s = Stream()
        let stream = try XCTUnwrap(r.stream)
        s.cancel = stream { frame, last in s.receive(frame, last) }
        return s
    }

    func testLiveTrainingStreamsTheRowsOfTrainCSV() async throws {
        let app = makeApp()
        let q = "cell=lstm&steps=12&hidden=8&iters=120&snapshots=3&clip-norm=0.5&truncate=6&eval-every=10"
        let (status, o) = await post(app, "/api/jobs/train?_client=a&" + q)
        XCTAssertEqual(status, 201, "\(o)")
        let id = try XCTUnwrap(o["id"] as? String)
        XCTAssertEqual(o["command"] as? String, "gradlab train --cell lstm --steps 12 --hidden 8 --iters 120 --snapshots 3 --clip-norm 0.5 --truncate 6 --eval-every 10 --csv train.csv")
        let info = try XCTUnwrap(o["info"] as? [String: Any])
        XCTAssertEqual(info["baseline"] as? Double ?? 0, 1.0 / 6, accuracy: 1e-15)
        XCTAssertEqual(info["iterations"] as? Int, 120)
        XCTAssertEqual(info["truncate"] as? Int, 6)

        let s = try await listen(app, id)
        XCTAssertTrue(s.wait(60), "the run ends")
        let events = s.events
        XCTAssertEqual(events.map(\.id), Array(0..<events.count), "ids count up from 0")
        XCTAssertEqual(events.last?.name, "end")
        XCTAssertEqual(events.last?.data["state"] as? String, "done")
        var lines = [TrainCSV.header]
        var rows: [[Any]] = []
        for e in events where e.name == "progress" {
            lines += e.data["csv"] as? [String] ?? []
            rows += e.data["rows"] as? [[Any]] ?? []
        }
        XCTAssertEqual(rows.count, 121, "iteration 0 and every iteration")
        XCTAssertEqual(rows.first?.first as? Int, 0)
        let streamed = lines.joined(separator: "\n") + "\n"
        let cli = try ExplorerAPITests.cli(["train"] + TrainCSV.arguments(q) + ["--csv", "t.csv"], file: "t.csv")
        XCTAssertEqual(streamed, String(decoding: cli, as: UTF8.self), "the stream is gradlab train --csv, byte for byte")

        let snapshots = events.filter { $0.name == "snapshot" }
        XCTAssertEqual(snapshots.map { $0.data["iteration"] as? Int }, [1, 61, 120])
        XCTAssertEqual((snapshots[0].data["norms"] as? [Double])?.count, 12, "one ‖C_ℓ‖ per lag")
        XCTAssertNotNil(snapshots[0].data["cut_off_share"] as? Double, "truncation: the share it cuts off")

        // Files of the ended job are the command's.
        let (fs, _, file) = await get(app, "/api/jobs/\(id)/files/csv")
        XCTAssertEqual(fs, 200)
        XCTAssertEqual(file.body, cli)
        let contrib = try ExplorerAPITests.cli(["train"] + TrainCSV.arguments(q) + ["--contrib-csv", "c.csv"], file: "c.csv")
        let (_, _, c) = await get(app, "/api/jobs/\(id)/files/contrib-csv")
        XCTAssertEqual(c.body, contrib)
        let svg = try ExplorerAPITests.cli(["train"] + TrainCSV.arguments(q) + ["--loss-chart", "loss.svg"], file: "loss.svg")
        let (_, _, l) = await get(app, "/api/jobs/\(id)/files/loss.svg")
        XCTAssertEqual(l.body, svg, "the loss chart is gradlab train's")
        let (missing, m, _) = await get(app, "/api/jobs/\(id)/files/nope.png")
        XCTAssertEqual(missing, 404, "\(m)")
    }

    /// A stack trains live too: the per-layer ‖∂L/∂W_hh^(l)‖ columns stream as `train --layers 2 --csv` writes them.
    func testLiveStackStreamsTheRowsOfTrainLayersCSV() async throws {
        let app = makeApp()
        let q = "cell=gru&layers=2&steps=10&hidden=6&iters=40&eval-every=10"
        let (status, o) = await post(app, "/api/jobs/train?_client=s&" + q)
        XCTAssertEqual(status, 201, "\(o)")
        let id = try XCTUnwrap(o["id"] as? String)
        let info = try XCTUnwrap(o["info"] as? [String: Any])
        XCTAssertEqual(info["layers"] as? Int, 2)
        let header = try XCTUnwrap(info["csv_header"] as? String)
        XCTAssertTrue(header.hasSuffix(",grad_norm_hh_l0,grad_norm_hh_l1"), header)
        let s = try await listen(app, id)
        XCTAssertTrue(s.wait(60), "the run ends")
        var lines = [header]
        for e in s.events where e.name == "progress" { lines += e.data["csv"] as? [String] ?? [] }
        XCTAssertEqual(lines.count, 42, "header, iteration 0 and 40 iterations")
        let cli = try ExplorerAPITests.cli(["train"] + TrainCSV.arguments(q) + ["--csv", "t.csv"], file: "t.csv")
        XCTAssertEqual(lines.joined(separator: "\n") + "\n", String(decoding: cli, as: UTF8.self))
        let (bad, b) = await post(app, "/api/jobs/train?_client=s&cell=tanh&layers=2&truncate=5")
        XCTAssertEqual(bad, 400)
        XCTAssertTrue((b["error"] as? String ?? "").contains("--truncate"), "\(b)")
    }

    func testPauseResumeAndStop() async throws {
        let app = makeApp()
        let (_, o) = await post(app, "/api/jobs/train?_client=p&cell=tanh&steps=40&hidden=32&iters=100000")
        let id = try XCTUnwrap(o["id"] as? String)
        let s = try await listen(app, id)
        try await Task.sleep(nanoseconds: 300_000_000)
        let (st, _) = await post(app, "/api/jobs/\(id)/pause?_client=p")
        XCTAssertEqual(st, 200)
        let (forbidden, f) = await post(app, "/api/jobs/\(id)/stop?_client=q")
        XCTAssertEqual(forbidden, 403, "another page cannot stop it: \(f)")
        try await Task.sleep(nanoseconds: 300_000_000)
        func lastIteration() -> Int { s.events.filter { $0.name == "progress" }.last.flatMap { $0.data["iteration"] as? Int } ?? -1 }
        let paused = lastIteration()
        let cpu0 = ExplorerApp.cpuSeconds()
        try await Task.sleep(nanoseconds: 700_000_000)
        XCTAssertEqual(lastIteration(), paused, "no iteration while paused")
        XCTAssertLessThan(ExplorerApp.cpuSeconds() - cpu0, 0.2, "a paused job holds no core")
        XCTAssertEqual(s.events.filter { $0.name == "state" }.last?.data["state"] as? String, "paused")
        let (r, _) = await post(app, "/api/jobs/\(id)/resume?_client=p")
        XCTAssertEqual(r, 200)
        try await Task.sleep(nanoseconds: 500_000_000)
        XCTAssertGreaterThan(lastIteration(), paused, "it runs again")
        let (stop, _) = await post(app, "/api/jobs/\(id)/stop?_client=p")
        XCTAssertEqual(stop, 200)
        XCTAssertTrue(s.wait(10))
        let end = try XCTUnwrap(s.events.last)
        XCTAssertEqual(end.data["state"] as? String, "stopped")
        XCTAssertTrue((end.data["report"] as? String ?? "").contains("stopped after"), "\(end.data)")
        let (again, _) = await post(app, "/api/jobs/\(id)/stop?_client=p")
        XCTAssertEqual(again, 409, "it has ended")
        XCTAssertEqual(app.jobs.counts.running + app.jobs.counts.paused, 0)
    }

    func testLimitsPerPageServerTimeAndBudget() async throws {
        let app = makeApp { $0.maxJobs = 3 }
        let long = "cell=tanh&steps=20&hidden=8&iters=100000"
        var ids: [String] = []
        for client in ["a", "a"] {
            let (s, o) = await post(app, "/api/jobs/train?_client=\(client)&" + long)
            XCTAssertEqual(s, 201, "\(o)")
            ids.append(o["id"] as? String ?? "")
        }
        let (perPage, p) = await post(app, "/api/jobs/train?_client=a&" + long)
        XCTAssertEqual(perPage, 429, "\(p)")
        XCTAssertTrue((p["error"] as? String ?? "").contains("2 jobs"), "\(p)")
        let (third, t) = await post(app, "/api/jobs/train?_client=b&" + long)
        XCTAssertEqual(third, 201, "\(t)")
        ids.append(t["id"] as? String ?? "")
        let (perServer, q) = await post(app, "/api/jobs/train?_client=c&" + long)
        XCTAssertEqual(perServer, 429, "\(q)")
        let (noClient, n) = await post(app, "/api/jobs/train?" + long)
        XCTAssertEqual(noClient, 400)
        XCTAssertEqual(n["parameter"] as? String, "_client")
        let (bad, b) = await post(app, "/api/jobs/train?_client=d&cell=skip")
        XCTAssertEqual(bad, 400)
        XCTAssertEqual(b["parameter"] as? String, "cell")
        let (file, f) = await post(app, "/api/jobs/train?_client=d&csv=/etc/passwd")
        XCTAssertEqual(file, 400, "options that name files are not offered: \(f)")
        for (i, id) in ids.enumerated() { _ = await post(app, "/api/jobs/\(id)/stop?_client=\(["a", "a", "b"][i])") }
        // Work longer than a job may take is refused before it starts, with the estimate.
        let slow = makeApp { $0.maxSeconds = 1 }
        let (big, g) = await post(slow, "/api/jobs/train?_client=e&cell=lstm&hidden=512&steps=500&iters=20000")
        XCTAssertEqual(big, 400, "\(g)")
        XCTAssertTrue((g["error"] as? String ?? "").contains("~"), "names the estimate: \(g)")
        XCTAssertEqual(slow.jobs.all.count, 0)
        let (unknown, _, _) = await get(app, "/api/jobs/j999/events")
        XCTAssertEqual(unknown, 404)
        let (kind, _) = await post(app, "/api/jobs/lyapunov?_client=a")
        XCTAssertEqual(kind, 404)
        let (method, _, _) = await get(app, "/api/jobs/train")
        XCTAssertEqual(method, 405)
    }

    func testUnwatchedAndOverlongJobsEnd() async throws {
        let app = makeApp { $0.unwatchedSeconds = 1; $0.maxSeconds = 120 }
        let (_, o) = await post(app, "/api/jobs/train?_client=u&cell=tanh&steps=20&hidden=8&iters=100000")
        let id = try XCTUnwrap(o["id"] as? String)
        // Watched for a while, then the tab closes: the job stops by itself.
        let s = try await listen(app, id)
        try await Task.sleep(nanoseconds: 1_500_000_000)
        XCTAssertFalse(s.ended, "watched: it runs on")
        s.cancel?()
        try await Task.sleep(nanoseconds: 3_000_000_000)
        let job = try XCTUnwrap(app.jobs.job(id))
        XCTAssertEqual(job.state, .stopped)
        let late = try await listen(app, id)
        XCTAssertTrue(late.wait(5), "an ended job's stream replays and ends")
        XCTAssertEqual(late.events.last?.data["message"] as? String, "stopped: no page was watching it")

        // Admitted (its estimate is checked against a longer time here), it runs past the limit: "expired".
        let short = makeApp { $0.maxSeconds = 2; $0.admitSeconds = 600 }
        let (_, l) = await post(short, "/api/jobs/train?_client=x&cell=tanh&steps=20&hidden=8&iters=100000")
        let lid = try XCTUnwrap(l["id"] as? String, "\(l)")
        let s3 = try await listen(short, lid)
        XCTAssertTrue(s3.wait(20), "a job past its time ends")
        XCTAssertEqual(s3.events.last?.data["state"] as? String, "expired")
    }

    func testReconnectingStreamGetsTheEventsAfterLastEventID() async throws {
        let app = makeApp()
        let (_, o) = await post(app, "/api/jobs/train?_client=r&cell=gru&steps=10&hidden=8&iters=60&snapshots=2")
        let id = try XCTUnwrap(o["id"] as? String)
        let all = try await listen(app, id)
        XCTAssertTrue(all.wait(30))
        let total = all.events.count
        XCTAssertGreaterThan(total, 3)
        let rest = try await listen(app, id, lastEventID: "1")
        XCTAssertTrue(rest.wait(5))
        XCTAssertEqual(rest.events.map(\.id), Array(2..<total))
    }

    func testSweepStreamsItsPointsAndStops() async throws {
        let app = makeApp()
        let q = "cells=tanh,relu&gain=0.5:1.5:0.25&seeds=3&steps=120&hidden=16"
        let (status, o) = await post(app, "/api/jobs/sweep?_client=s&" + q)
        XCTAssertEqual(status, 201, "\(o)")
        XCTAssertEqual((o["info"] as? [String: Any])?["total"] as? Int, 30)
        let s = try await listen(app, o["id"] as? String ?? "")
        XCTAssertTrue(s.wait(60))
        let points = s.events.filter { $0.name == "points" }.flatMap { $0.data["points"] as? [[String: Any]] ?? [] }
        XCTAssertEqual(points.count, 30)
        XCTAssertEqual(Set(points.map { "\($0["cell"]!) \($0["gain"]!) \($0["seed"]!)" }).count, 30, "each point once")
        let end = try XCTUnwrap(s.events.last?.data)
        XCTAssertEqual((end["stats"] as? [Any])?.count, 10)
        // The streamed exponents are the command's (its CSV's means, in decades per step).
        let csv = String(decoding: try ExplorerAPITests.cli(["sweep"] + TrainCSV.arguments(q) + ["--csv", "s.csv"], file: "s.csv"), as: UTF8.self)
        let (_, _, file) = await get(app, "/api/jobs/\(o["id"] as? String ?? "")/files/csv")
        XCTAssertEqual(file.text, csv)
        let tanhHalf = points.filter { $0["cell"] as? String == "tanh" && $0["gain"] as? Double == 0.5 }.compactMap { $0["exponent"] as? Double }
        let row = csv.split(separator: "\n").first { $0.hasPrefix("tanh,0.5,") }.map { $0.split(separator: ",") }
        let meanNats = Double(row?[3] ?? "") ?? .nan
        XCTAssertEqual(tanhHalf.reduce(0, +) / 3, meanNats / log(10), accuracy: 1e-12)

        // A large sweep, stopped: it ends at once, with the points done so far.
        let (_, big) = await post(app, "/api/jobs/sweep?_client=s&cells=lstm,gru&gain=0.5:2:0.01&seeds=10&steps=2000&hidden=64")
        let bid = try XCTUnwrap(big["id"] as? String, "\(big)")
        let b = try await listen(app, bid)
        try await Task.sleep(nanoseconds: 1_000_000_000)
        let t0 = Date()
        _ = await post(app, "/api/jobs/\(bid)/stop?_client=s")
        XCTAssertTrue(b.wait(10))
        XCTAssertLessThan(Date().timeIntervalSince(t0), 3, "stopping ends it within a point or two")
        XCTAssertEqual(b.events.last?.data["state"] as? String, "stopped")
        XCTAssertLessThan(b.events.last?.data["done"] as? Int ?? 99999, 3020)
        let (pause, _) = await post(app, "/api/jobs/\(bid)/pause?_client=s")
        XCTAssertEqual(pause, 409)
    }

    func testUploadIsReadLikeImportAndEveryViewWorksOnIt() async throws {
        let app = makeApp()
        let path = Self.fixtures.appendingPathComponent("lstm2_f4.npz").path
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        let tmpBefore = try FileManager.default.contentsOfDirectory(atPath: NSTemporaryDirectory()).filter { $0.hasPrefix("gradlab-npz") }
        let (status, o) = await post(app, "/api/models?name=lstm2_f4.npz&steps=40&seed=3", body: bytes)
        XCTAssertEqual(status, 201, "\(o)")
        XCTAssertEqual(o["depth"] as? Int, 2)
        XCTAssertEqual(o["cells"] as? [String], ["lstm", "lstm"])
        XCTAssertEqual(o["command"] as? String, "gradlab import lstm2_f4.npz --steps 40 --seed 3")
        let tmpAfter = try FileManager.default.contentsOfDirectory(atPath: NSTemporaryDirectory()).filter { $0.hasPrefix("gradlab-npz") }
        XCTAssertEqual(tmpBefore, tmpAfter, "nothing written to disk")
        let id = try XCTUnwrap(o["id"] as? String)

        // The import view: gradlab import's chart and CSV.
        let (vs, v, _) = await get(app, "/api/view/import?_upload=\(id)&width=900&height=500")
        XCTAssertEqual(vs, 200, "\(v)")
        XCTAssertTrue((v["svg"] as? String ?? "").contains("<svg"))
        XCTAssertEqual((v["summary"] as? [Any])?.count, 2, "a row per layer")
        let importCSV = try ExplorerAPITests.cli(["import", path, "--steps", "40", "--seed", "3", "--csv", "i.csv"], file: "i.csv")
        let (_, _, d) = await get(app, "/download/import/csv?_upload=\(id)")
        XCTAssertEqual(d.body, importCSV)

        // A layer's curves: gradlab import --save-model, then gradlab curves --model on that layer.
        let layerModel = try ExplorerAPITests.cli(["import", path, "--steps", "40", "--seed", "3", "--save-model", "m.json"], file: "m-l1.json")
        let (_, _, saved) = await get(app, "/download/import/model?_upload=\(id)&_model=1")
        XCTAssertEqual(saved.body, layerModel, "layer 1 as import --save-model writes it")
        let (cs, c, _) = await get(app, "/api/view/curves?_upload=\(id)&_layer=1&norm=frobenius")
        XCTAssertEqual(cs, 200, "\(c)")
        XCTAssertEqual(c["command"] as? String, "gradlab import lstm2_f4.npz --steps 40 --seed 3 --save-model layer.json && gradlab curves --model layer-l1.json --norm frobenius")
        for view in ["heatmap", "spectrum"] {
            let (s, r, _) = await get(app, "/api/view/\(view)?_upload=\(id)&_layer=0")
            XCTAssertEqual(s, 200, "\(view): \(r)")
        }
        // What does not apply is refused, naming it.
        let (g, ge, _) = await get(app, "/api/view/curves?_upload=\(id)&gain=2")
        XCTAssertEqual(g, 400)
        XCTAssertEqual(ge["parameter"] as? String, "gain")
        let (l, le, _) = await get(app, "/api/view/curves?_upload=\(id)&_layer=2")
        XCTAssertEqual(l, 400, "\(le)")
        let (car, _, _) = await get(app, "/api/view/carousel?_upload=\(id)")
        XCTAssertEqual(car, 400)
        let (none, _, _) = await get(app, "/api/view/import")
        XCTAssertEqual(none, 400)
        let (gone, _, _) = await get(app, "/api/view/import?_upload=u999")
        XCTAssertEqual(gone, 404)
    }

    func testBadUploadsGetOneLineErrors() async throws {
        let app = makeApp()
        let good = Array(try Data(contentsOf: Self.fixtures.appendingPathComponent("lstm2_f4.npz")))
        let rnn = Array(try Data(contentsOf: Self.fixtures.appendingPathComponent("rnn_tanh.npz")))
        let json = Array(try Data(contentsOf: Self.fixtures.appendingPathComponent("rnn_tanh.json")))
        let cases: [(String, [UInt8], String, String?)] = [
            ("name=cut.npz", Array(good.prefix(1500)), "cut.npz", nil),
            ("name=flip.npz", good.enumerated().map { $0.offset == 700 ? $0.element ^ 0xFF : $0.element }, "flip.npz", nil),
            ("name=rnn.npz", rnn, "--cell tanh or --cell relu", "cell"),
            ("name=x.json", Array("{\"format\": \"nope\"}".utf8), "x.json", nil),
            ("name=empty.npz", [], "empty", nil),
            ("name=rnn.json&cell=relu", json, "contradicts", "cell"),
            ("name=rnn.npz&cell=tanh&steps=0", rnn, "--steps", "steps"),
            ("name=rnn.npz&cell=tanh&exponents=2", rnn, "unknown parameter", "exponents"),
        ]
        for (query, body, needle, parameter) in cases {
            let (s, o) = await post(app, "/api/models?" + query, body: body)
            XCTAssertEqual(s, 400, query)
            let e = o["error"] as? String ?? ""
            XCTAssertTrue(e.contains(needle), "\(query): \(e)")
            XCTAssertFalse(e.contains("\n"), "one line")
            XCTAssertEqual(o["parameter"] as? String, parameter, query)
        }
        XCTAssertEqual(app.uploads.count, 0)
        let (ok, _) = await post(app, "/api/models?name=../../etc/rnn.npz&cell=tanh", body: rnn)
        XCTAssertEqual(ok, 201)
        XCTAssertEqual(ExplorerApp.uploadName("../../etc/r n;$(x).npz"), "r_n___x_.npz")
    }
}

/// Turning a query into the command's arguments, for running the CLI beside the explorer.
enum TrainCSV {
    static let header = "run,iteration,loss,eval_loss,grad_norm,grad_norm_clipped"
    static func arguments(_ query: String) -> [String] {
        query.split(separator: "&").flatMap { kv -> [String] in
            let p = kv.split(separator: "=", maxSplits: 1).map(String.init)
            return ["--" + p[0], p[1]]
        }
    }
}
