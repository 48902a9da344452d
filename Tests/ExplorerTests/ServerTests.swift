import Foundation
import XCTest
@testable import Explorer
import GradLabCLI
#if canImport(Glibc)
import Glibc
#endif

/// The socket layer with hostile clients: huge, malformed, slow and pipelined requests leave it serving.
final class ServerTests: XCTestCase {
    var server: ExplorerServer!
    var port = 0

    override func setUpWithError() throws {
        var limits = ExplorerServer.Limits()
        limits.headDeadline = .seconds(1)
        limits.idleTimeout = .seconds(2)
        server = ExplorerServer(app: ExplorerApp(backend: CommandBackend(), gate: ComputeGate(slots: 2)), limits: limits)
        port = try server.start(host: "127.0.0.1", port: 0)
    }

    override func tearDown() { server.stop() }

    /// A raw TCP connection to the server.
    final class Conn {
        let fd: Int32
        init(port: Int) throws {
            fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var addr = sockaddr_in()
            addr.sin_family = sa_family_t(AF_INET)
            addr.sin_port = in_port_t(UInt16(port).bigEndian)
            addr.sin_addr.s_addr = inet_addr("127.0.0.1")
            var tv = timeval(tv_sec: 15, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
            let r = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
            guard r == 0 else { throw NSError(domain: "connect", code: Int(errno)) }
        }
        /// Sends what it can; false once the peer has closed.
        @discardableResult func send(_ s: String) -> Bool { send(Array(s.utf8)) }
        @discardableResult func send(_ bytes: [UInt8]) -> Bool {
            var off = 0
            while off < bytes.count {
                let n = bytes[off...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                if n <= 0 { return false }
                off += n
            }
            return true
        }
        /// Reads until the peer closes or `until` appears (or the 15 s timeout).
        func read(until marker: String? = nil) -> String {
            var out: [UInt8] = []
            var buf = [UInt8](repeating: 0, count: 65536)
            while true {
                let n = recv(fd, &buf, buf.count, 0)
                if n <= 0 { break }
                out += buf[0..<n]
                if let marker, String(decoding: out, as: UTF8.self).contains(marker) { break }
            }
            return String(decoding: out, as: UTF8.self)
        }
        deinit { close(fd) }
    }

    func healthy(file: StaticString = #filePath, line: UInt = #line) throws {
        let c = try Conn(port: port)
        c.send("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        let r = c.read()
        XCTAssertTrue(r.hasPrefix("HTTP/1.1 200"), "still serving: \(r.prefix(200))", file: file, line: line)
    }

    func testAnswersOverHTTP() throws {
        let c = try Conn(port: port)
        c.send("GET /api/view/curves?cells=tanh&steps=20&hidden=4 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        let r = c.read()
        XCTAssertTrue(r.hasPrefix("HTTP/1.1 200"), String(r.prefix(300)))
        XCTAssertTrue(r.contains("\"svg\":\"<?xml") || r.contains("<svg"))
    }

    func testKeepAliveServesSeveralRequests() throws {
        let c = try Conn(port: port)
        c.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /api/views HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        let r = c.read()
        XCTAssertEqual(r.components(separatedBy: "HTTP/1.1 200").count - 1, 2, String(r.prefix(400)))
    }

    func testTenMegabyteQueryIsRefused() throws {
        let c = try Conn(port: port)
        let huge = "GET /api/view/curves?title=" + String(repeating: "a", count: 10 * 1024 * 1024) + " HTTP/1.1\r\nHost: x\r\n\r\n"
        c.send(huge)   // the server may close before it has all of it
        let r = c.read()
        XCTAssertTrue(r.hasPrefix("HTTP/1.1 431"), String(r.prefix(200)))
        XCTAssertTrue(r.contains("\"error\""))
        try healthy()
    }

    func testManyHeadersAreRefused() throws {
        let c = try Conn(port: port)
        var s = "GET /healthz HTTP/1.1\r\n"
        for i in 0..<5000 { s += "X-Filler-\(i): \(String(repeating: "b", count: 20))\r\n" }
        c.send(s + "\r\n")
        XCTAssertTrue(c.read().hasPrefix("HTTP/1.1 431"))
        try healthy()
    }

    func testSlowlorisIsCutOff() throws {
        // Twenty connections that send a few header bytes and then stall.
        let slow = try (0..<20).map { _ -> Conn in
            let c = try Conn(port: port)
            c.send("GET /healthz HTTP/1.1\r\nX-A: ")
            return c
        }
        // The server keeps serving others meanwhile…
        try healthy()
        // …and each stalled head is answered 408 and closed after the deadline (1 s here).
        let start = Date()
        for c in slow { XCTAssertTrue(c.read().hasPrefix("HTTP/1.1 408")) }
        XCTAssertLessThan(Date().timeIntervalSince(start), 10)
        try healthy()
    }

    func testMalformedRequestsLeaveItServing() throws {
        for junk in ["\u{0}\u{1}\u{2}garbage\r\n\r\n", "GET\r\n\r\n", "GET / HTTP/9.9\r\n\r\n", "GET / HTTP/1.1\r\nContent-Length: -5\r\n\r\n",
                     "GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nZZZ\r\n"] {
            let c = try Conn(port: port)
            c.send(junk)
            let r = c.read()
            XCTAssertFalse(r.hasPrefix("HTTP/1.1 200") && junk.hasPrefix("\u{0}"), "answered junk with 200")
            try healthy()
        }
    }

    func testLargeBodyIsRefused() throws {
        let c = try Conn(port: port)
        c.send("POST /api/view/curves HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n")
        c.send([UInt8](repeating: 65, count: 200_000))
        XCTAssertTrue(c.read().hasPrefix("HTTP/1.1 413"))
        try healthy()
    }

    /// `gradlab serve` refuses a bad port (64) and a port in use (73) with one line.
    func testServeCommandErrors() throws {
        let binary = ExplorerAPITests.binary
        guard FileManager.default.isExecutableFile(atPath: binary.path) else { throw XCTSkip("no binary") }
        for (args, code, mentions) in [(["serve", "--port", "99999"], Int32(64), "--port"),
                                       (["serve", "--port", "\(port)"], Int32(73), "in use"),
                                       (["serve", "--host", "300.1.1.1"], Int32(64), "--host")] {
            let p = Process()
            p.executableURL = binary
            p.arguments = args
            let err = Pipe()
            p.standardError = err
            p.standardOutput = FileHandle.nullDevice
            try p.run()
            let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            p.waitUntilExit()
            XCTAssertEqual(p.terminationStatus, code, "\(args): \(text)")
            XCTAssertTrue(text.contains(mentions), text)
            XCTAssertEqual(text.split(separator: "\n").count, 1, text)
        }
    }

    func testIdleConnectionsAreClosed() throws {
        let c = try Conn(port: port)
        c.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        let start = Date()
        let r = c.read()   // returns when the server closes the idle keep-alive connection
        XCTAssertTrue(r.hasPrefix("HTTP/1.1 200"))
        XCTAssertLessThan(Date().timeIntervalSince(start), 8)
        for _ in 0..<40 where server.openConnections > 0 { Thread.sleep(forTimeInterval: 0.05) }
        XCTAssertEqual(server.openConnections, 0, "closed connections are counted down")
    }

    // MARK: long jobs and uploads over the socket

    func post(_ c: Conn, _ path: String, body: [UInt8] = []) -> String {
        c.send("POST \(path) HTTP/1.1\r\nHost: x\r\nContent-Length: \(body.count)\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n")
        c.send(body)
        return c.read()
    }

    /// A training run streams over chunked HTTP for longer than the idle timeout (2 s here), to its `end`.
    func testEventStreamOverHTTP() throws {
        let started = post(try Conn(port: port), "/api/jobs/train?_client=s&cell=tanh&steps=30&hidden=16&iters=100000")
        XCTAssertTrue(started.hasPrefix("HTTP/1.1 201"), String(started.prefix(300)))
        let id = try XCTUnwrap(started.range(of: "\"id\":\"").map { String(started[$0.upperBound...].prefix { $0 != "\"" }) })
        let c = try Conn(port: port)
        c.send("GET /api/jobs/\(id)/events HTTP/1.1\r\nHost: x\r\n\r\n")
        let head = c.read(until: "event: progress")
        XCTAssertTrue(head.hasPrefix("HTTP/1.1 200"), String(head.prefix(300)))
        XCTAssertTrue(head.lowercased().contains("content-type: text/event-stream"))
        XCTAssertTrue(head.lowercased().contains("transfer-encoding: chunked"))
        Thread.sleep(forTimeInterval: 3)   // past the idle timeout: a stream is not idle
        let stop = post(try Conn(port: port), "/api/jobs/\(id)/stop?_client=s")
        XCTAssertTrue(stop.hasPrefix("HTTP/1.1 200"), String(stop.prefix(200)))
        let rest = c.read()   // until the server closes after `end`
        XCTAssertTrue(rest.contains("event: end"), String(rest.suffix(400)))
        XCTAssertTrue(rest.contains("\"state\":\"stopped\""))
        XCTAssertTrue(rest.hasSuffix("0\r\n\r\n"), "the chunked body is terminated")
        try healthy()
    }

    /// Closing the page's connection stops its job (the registry stops jobs unwatched for a while).
    func testClosedStreamStopsItsJob() throws {
        var limits = JobRegistry.Limits()
        limits.unwatchedSeconds = 1
        let app = ExplorerApp(backend: CommandBackend(), gate: ComputeGate(slots: 2), jobs: JobRegistry(limits: limits))
        let s = ExplorerServer(app: app)
        let p = try s.start(host: "127.0.0.1", port: 0)
        defer { s.stop() }
        let started = post(try Conn(port: p), "/api/jobs/train?_client=z&cell=tanh&steps=30&hidden=16&iters=100000")
        let id = try XCTUnwrap(started.range(of: "\"id\":\"").map { String(started[$0.upperBound...].prefix { $0 != "\"" }) })
        do {
            let c = try Conn(port: p)
            c.send("GET /api/jobs/\(id)/events HTTP/1.1\r\nHost: x\r\n\r\n")
            _ = c.read(until: "event: progress")
            Thread.sleep(forTimeInterval: 1.5)
            XCTAssertEqual(app.jobs.job(id)?.state, .running, "watched: it runs")
        }   // the connection closes here
        for _ in 0..<60 where app.jobs.job(id)?.state == .running { Thread.sleep(forTimeInterval: 0.1) }
        XCTAssertEqual(app.jobs.job(id)?.state, .stopped)
    }

    /// An upload larger than the ordinary body limit is read; one declared larger than 64 MiB is refused
    /// before its body is sent.
    func testUploadsOverHTTP() throws {
        // A gradlab.model/1 file of ~200 KB (n = 64, T = 100).
        let big = try ExplorerAPITests.cli(["curves", "--cells", "tanh", "--hidden", "64", "--steps", "100", "--save-model", "m.json"], file: "m.json")
        XCTAssertGreaterThan(big.count, 100_000)
        let ok = post(try Conn(port: port), "/api/models?name=m.json", body: big)
        XCTAssertTrue(ok.hasPrefix("HTTP/1.1 201"), String(ok.prefix(400)))
        XCTAssertTrue(ok.contains("\"layers\":[\"tanh 8→64\"]"), ok)
        let c = try Conn(port: port)
        c.send("POST /api/models?name=huge.npz HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\n\r\n")
        let r = c.read()
        XCTAssertTrue(r.hasPrefix("HTTP/1.1 413"), String(r.prefix(200)))
        XCTAssertTrue(r.contains("64 MiB"))
        let get = try Conn(port: port)
        get.send("GET /api/models HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        XCTAssertTrue(get.read().hasPrefix("HTTP/1.1 405"))
        try healthy()
    }

    /// Uploads being received share a server-wide cap: beyond it a new one gets 503, and the bytes are
    /// given back when an upload ends or its connection closes.
    func testUploadBytesInFlightAreCapped() throws {
        var limits = ExplorerServer.Limits()
        limits.maxUploadBytesInFlight = 100_000
        let s = ExplorerServer(app: ExplorerApp(backend: CommandBackend(), gate: ComputeGate(slots: 2)), limits: limits)
        let p = try s.start(host: "127.0.0.1", port: 0)
        defer { s.stop() }
        let first = try Conn(port: p)
        first.send("POST /api/models?name=a.json HTTP/1.1\r\nHost: x\r\nContent-Length: 90000\r\n\r\n")
        first.send([UInt8](repeating: 32, count: 80_000))
        Thread.sleep(forTimeInterval: 0.3)
        let second = post(try Conn(port: p), "/api/models?name=b.json", body: [UInt8](repeating: 32, count: 50_000))
        XCTAssertTrue(second.hasPrefix("HTTP/1.1 503"), String(second.prefix(200)))
        first.send([UInt8](repeating: 32, count: 10_000))
        let r = first.read()
        XCTAssertTrue(r.hasPrefix("HTTP/1.1 400"), "the first is read (and is no model): \(r.prefix(200))")
        // Its bytes were given back: the same upload fits again.
        let third = post(try Conn(port: p), "/api/models?name=c.json", body: [UInt8](repeating: 32, count: 50_000))
        XCTAssertTrue(third.hasPrefix("HTTP/1.1 400"), String(third.prefix(200)))
    }
}
