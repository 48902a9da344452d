import Foundation
import XCTest
import Dynamics
import GradLab

final class SweepTests: XCTestCase {
    func testGainRangeParsing() throws {
        let g = try GainRange(parsing: "0.5:2.0:0.05")
        XCTAssertEqual(g.values.count, 31)
        XCTAssertEqual(g.values.first, 0.5); XCTAssertEqual(g.values.last!, 2.0, accuracy: 1e-12)
        XCTAssertEqual(try GainRange(parsing: "0.5,1,2").values, [0.5, 1, 2])
        XCTAssertEqual(try GainRange(parsing: "1.5").values, [1.5])
        for bad in ["1:0.5:0.1", "0.5:2:0", "a:b:c", "0.5:2", "-1,1", "1,,x"] {
            XCTAssertThrowsError(try GainRange(parsing: bad), bad) { e in
                XCTAssertEqual((e as? GradLabError)?.exitCode, 64)
                XCTAssertTrue("\(e)".contains("--gain"), "\(e)")
            }
        }
    }

    func small(jobs: Int) -> SweepOptions {
        var o = SweepOptions()
        o.cells = [.tanh, .linear]
        o.gains = GainRange(values: [0.6, 0.8, 1.2, 1.4])
        o.seeds = 3; o.hidden = 16; o.steps = 200; o.jobs = jobs
        o.initialization = .orthogonal
        return o
    }

    func testResultsDoNotDependOnJobsAndEdgesAreFound() throws {
        let one = try SweepExperiment.run(small(jobs: 1)), two = try SweepExperiment.run(small(jobs: 2))
        XCTAssertEqual(one.points, two.points)
        XCTAssertEqual(try SweepExperiment.json(one), try SweepExperiment.json(two))
        XCTAssertEqual(SweepExperiment.csv(one), SweepExperiment.csv(two))
        XCTAssertEqual(one.points.count, 24)
        // Linear cell, orthogonal W = g·Q: λ₁ = log g exactly for every seed, so the edge is at g = 1.
        for p in one.points where p.cell == .linear { XCTAssertEqual(p.exponent, log(p.gain), accuracy: 1e-9) }
        let linearEdge = one.edges.first { $0.cell == .linear }!.gain!
        // Linear interpolation of log g between 0.8 and 1.2.
        XCTAssertEqual(linearEdge, 0.8 + 0.4 * (-log(0.8)) / (log(1.2) - log(0.8)), accuracy: 1e-9)
        let stats = one.stats(for: .tanh)
        XCTAssertEqual(stats.map(\.gain), [0.6, 0.8, 1.2, 1.4])
        XCTAssertTrue(stats.allSatisfy { $0.min <= $0.mean && $0.mean <= $0.max })
        XCTAssertTrue(SweepExperiment.table(one, decades: true).contains("edge"))
    }

    func testProgressIsReportedForEveryPoint() throws {
        final class Counter: @unchecked Sendable { var calls = 0; var last = 0 }
        let c = Counter()
        _ = try SweepExperiment.run(small(jobs: 2)) { done, total in c.calls += 1; c.last = done; XCTAssertEqual(total, 24) }
        XCTAssertEqual(c.calls, 24); XCTAssertEqual(c.last, 24)
    }

    func testEdgeInterpolation() {
        func s(_ g: Double, _ m: Double) -> SweepStat { SweepStat(cell: .tanh, gain: g, mean: m, std: 0, min: m, max: m, zeroCount: 0, overflowCount: 0) }
        XCTAssertEqual(SweepExperiment.edge([s(1, -0.2), s(2, 0.2)]), 1.5)
        XCTAssertNil(SweepExperiment.edge([s(1, -0.2), s(2, -0.1)]))
        XCTAssertEqual(SweepExperiment.edge([s(1, -.infinity), s(2, 0.1)]), 2)
    }

    func testValidation() {
        var o = SweepOptions(); o.seeds = 0
        XCTAssertThrowsError(try o.validate()) { XCTAssertTrue("\($0)".contains("--seeds")) }
        o = SweepOptions(); o.warmup = 500
        XCTAssertThrowsError(try o.validate()) { XCTAssertTrue("\($0)".contains("--warmup")) }
        o = SweepOptions(); o.jobs = 0
        XCTAssertThrowsError(try o.validate()) { XCTAssertTrue("\($0)".contains("--jobs")) }
    }
}
