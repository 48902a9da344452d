import XCTest
import Dynamics
import GradLab

/// The cost model is a pure function of sizes: these pin its shape (monotone, overflow-free, named limits)
/// and the budget's parsing, independently of the CLI.
final class CostModelTests: XCTestCase {
    func testBudgetParsesSizesAndRefusesNonsense() throws {
        XCTAssertEqual(Budget.parseBytes("4G"), 4 * 1_073_741_824)
        XCTAssertEqual(Budget.parseBytes("512M"), 512 * 1_048_576)
        XCTAssertEqual(Budget.parseBytes("1.5GiB"), 1.5 * 1_073_741_824)
        XCTAssertEqual(Budget.parseBytes("1000"), 1000)
        for bad in ["", "lots", "-1G", "0", "nan", "inf"] { XCTAssertNil(Budget.parseBytes(bad), bad) }
        XCTAssertThrowsError(try Budget.fromEnvironment(["GRADLAB_MAX_MINUTES": "0"]))
        let b = try Budget.fromEnvironment(["GRADLAB_MAX_MEMORY": "1G", "GRADLAB_MAX_MINUTES": "2"])
        XCTAssertEqual(b.maxBytes, 1_073_741_824)
        XCTAssertEqual(b.maxOperations, 2 * 60 * Budget.operationsPerSecond)
    }

    func testEstimatesGrowWithEverySizeAndNeverTrap() {
        let base = CostModel.Layer(kind: .tanh, hidden: 64, input: 8, steps: 100)
        let c = CostModel.curves(base)
        for bigger in [CostModel.Layer(kind: .tanh, hidden: 128, input: 8, steps: 100),
                       CostModel.Layer(kind: .tanh, hidden: 64, input: 80, steps: 100),
                       CostModel.Layer(kind: .tanh, hidden: 64, input: 8, steps: 1000),
                       CostModel.Layer(kind: .lstm, hidden: 64, input: 8, steps: 100)] {
            let e = CostModel.curves(bigger)
            XCTAssertGreaterThan(e.bytes, c.bytes, "\(bigger)")
            XCTAssertGreaterThan(e.operations, c.operations, "\(bigger)")
        }
        // The LSTM's products are 2n × 2n: 8× the tanh's s³ term.
        XCTAssertEqual(CostModel.Layer(kind: .lstm, hidden: 64, input: 8, steps: 1).stateSize, 128)
        XCTAssertEqual(CostModel.Layer(kind: .skip, hidden: 64, input: 8, steps: 1, skip: 5).stateSize, 320)
        // Sizes far beyond Int arithmetic stay finite or +∞ (Double), never trap.
        let absurd = CostModel.Layer(kind: .lstm, hidden: Int.max, input: Int.max, steps: Int.max)
        XCTAssertFalse(CostModel.heatmap(absurd).operations.isNaN)
        XCTAssertThrowsError(try Budget().check(CostModel.heatmap(absurd)))
        XCTAssertGreaterThan(CostModel.heatmap(base).operations, 25 * c.operations, "a heatmap costs T²/2 products, not T")
    }

    func testRefusalNamesTheLimitingPartAndItsOptions() {
        let e = CostModel.curves(CostModel.Layer(kind: .tanh, hidden: 32, input: 100_000_000, steps: 1000))
        XCTAssertThrowsError(try Budget().check(e)) { error in
            let text = "\(error)"
            XCTAssertEqual((error as? GradLabError)?.exitCode, 64)
            XCTAssertTrue(text.contains("input sequence") && text.contains("--input"), text)
            XCTAssertTrue(text.contains("GRADLAB_MAX_MEMORY"), text)
        }
        XCTAssertThrowsError(try Budget().check(e, origin: .file("m.json"))) { error in
            XCTAssertEqual((error as? GradLabError)?.exitCode, 65)
            XCTAssertTrue("\(error)".hasPrefix("m.json: needs ~"), "\(error)")
        }
        let slow = CostModel.curves(CostModel.Layer(kind: .tanh, hidden: 4096, input: 8, steps: 1000))
        XCTAssertThrowsError(try Budget(maxBytes: 1e15).check(slow)) { error in
            XCTAssertTrue("\(error)".contains("Jacobian products") && "\(error)".contains("GRADLAB_MAX_MINUTES"), "\(error)")
        }
        // What the defaults and the lessons do fits comfortably.
        XCTAssertNoThrow(try Budget().check(CostModel.curves(CostModel.Layer(kind: .lstm, hidden: 256, input: 8, steps: 1000))))
        XCTAssertNoThrow(try Budget().check(CostModel.sweep(SweepOptions())))
        XCTAssertNoThrow(try Budget().check(CostModel.trainingSweep(TrainSweepOptions())))
    }

    /// A tighter budget on one thread (the explorer's uploads) applies there only, and only while it lasts.
    func testBudgetWithinAppliesToItsThreadOnly() throws {
        let path = Fixtures.path("lstm2_f4.npz")
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        let tight = Budget(maxBytes: 2000, maxMinutes: 1)
        XCTAssertThrowsError(try Budget.within(tight) { try WeightImport.load(bytes: bytes, name: "m.npz", drive: DriveOptions()) }) { e in
            XCTAssertTrue("\(e)".contains("memory limit"), "\(e)")
        }
        // Meanwhile on another thread, and afterwards here, the process's budget holds.
        let other = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var elsewhere: Double = 0
        try Budget.within(tight) {
            Thread { elsewhere = (try? Budget.active().maxBytes) ?? 0; other.signal() }.start()
            other.wait()
        }
        XCTAssertEqual(elsewhere, try Budget.active().maxBytes)
        XCTAssertGreaterThan(elsewhere, 2000)
        XCTAssertNoThrow(try WeightImport.load(bytes: bytes, name: "m.npz", drive: DriveOptions()))
        // Never looser than the process's own.
        XCTAssertEqual(try Budget.within(Budget(maxBytes: 1e30)) { try Budget.active().maxBytes }, try Budget.active().maxBytes)
    }

    func testQuotingIsShortAndEscaped() {
        XCTAssertEqual(quoted("elman"), "'elman'")
        XCTAssertEqual(quoted("a\nb"), "'a\\nb'")
        let q = quoted(String(repeating: "x", count: 1_000_000))
        XCTAssertLessThanOrEqual(q.count, 83)
        XCTAssertTrue(q.hasSuffix("…'"))
    }
}
