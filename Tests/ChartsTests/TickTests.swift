import Charts
import Foundation
import XCTest

final class TickTests: XCTestCase {
    private func majors(_ ticks: [Tick]) -> [Tick] { ticks.filter(\.isMajor) }

    func testLogTicksLabelEveryDecadeOverAFewDecades() {
        let ticks = TickGenerator.logarithmic(lo: -6, hi: 2)
        XCTAssertEqual(majors(ticks).compactMap(\.exponent), Array(-6...2))
        XCTAssertEqual(majors(ticks).map { $0.label?.plainText }, (-6...2).map { "10^" + ($0 < 0 ? "−\(-$0)" : "\($0)") })
        // Minor ticks at 2…9 × 10^k.
        let minors = ticks.filter { !$0.isMajor }.map(\.position)
        XCTAssertEqual(minors.count, 8 * 8)
        XCTAssertTrue(minors.contains { abs($0 - (-6 + log10(2))) < 1e-12 })
        XCTAssertTrue(minors.contains { abs($0 - (1 + log10(9))) < 1e-12 })
    }

    func testLogTicksStepThroughManyDecades() {
        let m = majors(TickGenerator.logarithmic(lo: -300, hi: 0)).compactMap(\.exponent)
        XCTAssertTrue((4...8).contains(m.count), "\(m)")
        let steps = Set(zip(m, m.dropFirst()).map { $1 - $0 })
        XCTAssertEqual(steps.count, 1)
        XCTAssertTrue(steps.isSubset(of: [50, 100]), "\(steps)")
        XCTAssertEqual(m.first, -300); XCTAssertEqual(m.last, 0)

        let huge = majors(TickGenerator.logarithmic(lo: -3050, hi: 10)).compactMap(\.exponent)
        XCTAssertEqual(huge, [-3000, -2500, -2000, -1500, -1000, -500, 0])
    }

    func testLogTickLabelsUseRealSuperscriptAndMinus() {
        let label = RichText.power(exponent: -3)
        XCTAssertEqual(label.runs, [TextRun("10"), TextRun("−3", shift: .superscript)])
        XCTAssertEqual(RichText("‖∂h_{t}‖ = 10^{-4}").runs,
                       [TextRun("‖∂h"), TextRun("t", shift: .subscript), TextRun("‖ = 10"), TextRun("−4", shift: .superscript)])
    }

    func testNarrowLogRangeStillGetsLabels() {
        let ticks = majors(TickGenerator.logarithmic(lo: log10(2e-5), hi: log10(8e-5)))
        XCTAssertGreaterThanOrEqual(ticks.count, 2)
        XCTAssertTrue(ticks.allSatisfy { $0.label != nil })
    }

    func testLinearNiceTicks() {
        let t = TickGenerator.linear(lo: 0, hi: 1)
        XCTAssertEqual(t.map { $0.label!.plainText }, ["0.0", "0.2", "0.4", "0.6", "0.8", "1.0"])
        XCTAssertEqual(t.map(\.position), [0, 0.2, 0.4, 0.6, 0.8, 1.0].map { $0 }, accuracy: 1e-12)

        // No floating-point junk such as 0.30000000000000004.
        let fine = TickGenerator.linear(lo: 0.1, hi: 0.7, maxCount: 8)
        XCTAssertTrue(fine.allSatisfy { $0.label!.plainText.count <= 4 }, "\(fine.map { $0.label!.plainText })")
        XCTAssertTrue(fine.map { $0.label!.plainText }.contains("0.3"))

        let symmetric = TickGenerator.linear(lo: -5, hi: 5).map { $0.label!.plainText }
        XCTAssertEqual(symmetric, ["−4", "−2", "0", "2", "4"])

        let big = TickGenerator.linear(lo: 0, hi: 3e7).map { $0.label!.plainText }
        XCTAssertTrue(big.contains("10^7"), "\(big)")
        XCTAssertTrue(big.contains("2×10^7"), "\(big)")
    }
}

private func XCTAssertEqual(_ a: [Double], _ b: [Double], accuracy: Double, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.count, b.count, file: file, line: line)
    for (x, y) in zip(a, b) { XCTAssertEqual(x, y, accuracy: accuracy, file: file, line: line) }
}
