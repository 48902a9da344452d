import Charts
import Foundation
import XCTest

/// Tests that look at rendered pixels.
final class RenderTests: XCTestCase {
    private func isMagenta(_ p: (r: UInt8, g: UInt8, b: UInt8, a: UInt8)) -> Bool {
        p.r > 200 && p.g < 90 && p.b > 200
    }

    /// A horizontal magenta line at y = 10^−3 on a log axis from 10^−6 to 10^0 must be drawn
    /// exactly half-way up the plot area, and nowhere else.
    func testCurveLandsOnTheRowTheScalePredicts() throws {
        for scale in [1.0, 2.0] {
            let fig = Figure(width: 600, height: 400, scale: scale)
            let ax = fig.axes
            ax.yScale = .log10
            ax.yRange = 1e-6...1
            ax.xRange = 0...10
            ax.showGrid = false
            ax.plot([0, 10], [1e-3, 1e-3], color: Color(hex: 0xFF00FF), width: 3)
            let image = fig.renderRGBA()
            XCTAssertEqual(image.width, Int(600 * scale)); XCTAssertEqual(image.height, Int(400 * scale))

            let plot = fig.layout()[0].plotRect
            let expectedRow = (plot.minY + plot.height / 2) * scale       // −3 is the middle of −6…0
            XCTAssertEqual(fig.pixelPosition(axes: ax, x: 5, y: 1e-3).y, expectedRow, accuracy: 1e-9)

            var rows = Set<Int>(), count = 0
            for y in 0..<image.height { for x in 0..<image.width where isMagenta(image.pixel(x: x, y: y)) {
                rows.insert(y); count += 1
                XCTAssertTrue(Double(x) >= plot.minX * scale - 1 && Double(x) <= plot.maxX * scale + 1)
            } }
            XCTAssertGreaterThan(count, Int(plot.width * scale), "line missing at scale \(scale)")
            for r in rows { XCTAssertEqual(Double(r) + 0.5, expectedRow, accuracy: 2 * scale + 0.5) }
        }
    }

    func testLog10DataAxisPlacesHugeExponents() throws {
        let fig = Figure(width: 600, height: 400)
        let ax = fig.axes
        ax.yScale = .log10Data
        ax.yRange = -3000...0
        ax.plot([0, 1], [-1500, -1500], color: Color(hex: 0xFF00FF))
        let plot = fig.layout()[0].plotRect
        XCTAssertEqual(fig.pixelPosition(axes: ax, x: 0.5, y: -1500).y, plot.midY, accuracy: 1e-9)
        let ticks = fig.layout()[0].yTicks.compactMap(\.exponent)
        XCTAssertEqual(ticks.first, -3000); XCTAssertEqual(ticks.last, 0)
    }

    func testNonFiniteValuesAreOmittedAndNoted() throws {
        let fig = Figure(rows: 1, cols: 3, width: 900, height: 300)
        let a = fig[0, 0]
        a.yScale = .log10Data
        a.plot([0, 1, 2, 3, 4], [0, .nan, -2, -.infinity, -4], label: "tanh", color: Color(hex: 0xFF00FF))
        a.plot([0, 1], [Double.nan, .nan], label: "empty")                 // no finite point at all
        a.band([0, 1, 2], lower: [-1, .nan, -3], upper: [1, 2, .infinity])
        let b = fig[0, 1]
        b.yScale = .log10
        b.plot([1, 2, 3], [1, 0, -5], label: "relu")                        // ≤ 0 on a log axis
        b.plot([1, 2], [1e308, 1e-308])                                   // extreme but finite
        b.hline(0, label: "impossible")                                   // cannot be drawn on log
        // fig[0, 2] stays empty.

        let notes = fig.notes
        XCTAssertTrue(notes.contains("panel 1: tanh: 2 non-finite points omitted"), "\(notes)")
        XCTAssertTrue(notes.contains("panel 1: empty: 2 non-finite points omitted"), "\(notes)")
        XCTAssertTrue(notes.contains { $0.hasPrefix("panel 1: band 1: 2 non-finite") }, "\(notes)")
        XCTAssertTrue(notes.contains("panel 2: relu: 2 non-positive points omitted (log axis)"), "\(notes)")
        XCTAssertTrue(notes.contains { $0.contains("impossible") }, "\(notes)")

        let image = fig.renderRGBA()
        XCTAssertEqual(image.width, 900)
        // The magenta segment 0→(NaN) is broken: no magenta between x=0 and x=2 except the isolated
        // first point (a single point is not a line), so every magenta pixel is right of x = 2.
        let x2 = fig.pixelPosition(axes: a, x: 2, y: -2).x
        for y in 0..<image.height { for x in 0..<Int(x2) - 2 {
            XCTAssertFalse(isMagenta(image.pixel(x: x, y: y)), "line drawn across a NaN at (\(x), \(y))")
        } }
        for format in OutputFormat.allCases { XCTAssertFalse(try fig.data(format).isEmpty) }
    }

    func testLegendAvoidsDataInTopRightCorner() throws {
        let fig = Figure(width: 800, height: 600)
        let ax = fig.axes
        let x = (0...100).map { Double($0) / 10 }
        ax.plot(x, x.map { $0 * $0 * $0 }, label: "cubic")               // fills the top-right corner
        ax.plot(x, x.map { 500 + 0 * $0 }, label: "flat")
        let layout = fig.layout()[0]
        XCTAssertNotEqual(layout.legendPosition, .upperRight)
        XCTAssertNotEqual(layout.legendPosition, .hidden)
        let legend = try XCTUnwrap(layout.legendRect)
        for (xi, yi) in zip(x, x.map { $0 * $0 * $0 }) {
            let p = fig.pixelPosition(axes: ax, x: xi, y: yi)
            XCTAssertFalse(legend.contains(x: p.x, y: p.y), "legend covers (\(xi), \(yi))")
        }

        ax.legendPosition = .lowerLeft
        XCTAssertEqual(fig.layout()[0].legendPosition, .lowerLeft)
    }

    /// Twelve lines through every corner: the legend goes where it covers (almost) no data, shrinking a
    /// little first; when no corner is free it moves outside and the plot narrows.
    func testCrowdedPlotKeepsTheLegendOffTheData() throws {
        let fig = Gallery.crowded()
        let ax = fig.axes
        let widthWithout: Double = {
            ax.legendPosition = .hidden
            defer { ax.legendPosition = .automatic }
            return fig.layout()[0].plotRect.width
        }()
        let layout = fig.layout()[0]
        let legend = try XCTUnwrap(layout.legendRect)
        XCTAssertNotEqual(layout.legendPosition, .hidden)
        var covered = 0
        for s in ax.lines { for (xi, yi) in zip(s.x, s.y) {
            let p = fig.pixelPosition(axes: ax, x: xi, y: yi)
            if legend.contains(x: p.x, y: p.y) { covered += 1 }
        } }
        XCTAssertLessThanOrEqual(covered, 3, "legend at \(layout.legendPosition) covers \(covered) data points")
        if layout.legendPosition == .outsideRight {
            XCTAssertGreaterThanOrEqual(legend.minX, layout.plotRect.maxX)
            XCTAssertLessThan(layout.plotRect.width, widthWithout)
        }
        XCTAssertLessThanOrEqual(legend.maxX, 800)

        // Made wider than any corner allows, it must leave the plot.
        for s in ax.lines { s.label = (s.label ?? "") + ": a long description of this oscillating mode" }
        let wide = fig.layout()[0]
        XCTAssertTrue([.outsideRight, .below].contains(wide.legendPosition), "\(wide.legendPosition)")
        let r = try XCTUnwrap(wide.legendRect)
        XCTAssertFalse(r.intersects(wide.plotRect), "legend \(r) on the plot \(wide.plotRect)")
    }

    func testHeatmapAndColorbarUseViridisEndpoints() throws {
        XCTAssertEqual(Viridis.color(at: 0).hexString, "#440154")
        XCTAssertEqual(Viridis.color(at: 1).hexString, "#FDE725")
        XCTAssertEqual(Viridis.color(at: 128.0 / 255).hexString, "#21918C")   // matplotlib's entry 128

        let fig = Figure(width: 600, height: 500)
        let ax = fig.axes
        let values: [[Double]] = [[-4, -3], [-2, 0]]                       // log10 values
        ax.heatmap(values, x: 0...2, y: 0...2, mask: [[false, true], [false, false]],
                   colorScale: .log10Data, colorbarLabel: "norm")
        let layout = fig.layout()[0]
        let bar = try XCTUnwrap(layout.colorbarRect)
        let image = fig.renderRGBA()
        func hex(_ x: Double, _ y: Double) -> String {
            let p = image.pixel(x: Int(x), y: Int(y))
            return String(format: "#%02X%02X%02X", p.r, p.g, p.b)
        }
        // Each of the 256 gradient rows is ~1.8 px tall here; sample inside the first and last,
        // just clear of the 1-px outline.
        XCTAssertGreaterThan(bar.height / 256, 1.6)
        XCTAssertEqual(hex(bar.midX, bar.minY + 1.5), "#FDE725")
        XCTAssertEqual(hex(bar.midX, bar.maxY - 1.5), "#440154")
        // Cells: row 0 is at the bottom. (0,0) = −4 → minimum colour; (1,1) = 0 → maximum; (0,1) masked.
        func cell(_ i: Int, _ j: Int) -> String {
            let p = fig.pixelPosition(axes: ax, x: Double(j) + 0.5, y: Double(i) + 0.5)
            return hex(p.x, p.y)
        }
        XCTAssertEqual(cell(0, 0), "#440154")
        XCTAssertEqual(cell(1, 1), "#FDE725")
        XCTAssertEqual(cell(0, 1), "#E4E4E4")
        XCTAssertTrue(fig.notes.isEmpty, "\(fig.notes)")
    }

    func testEmptyFigureRenders() throws {
        let fig = Figure()
        fig.axes.yScale = .log10
        let image = fig.renderRGBA()
        XCTAssertEqual(image.width, 1200)
        XCTAssertEqual(image.pixel(x: 600, y: 400).r, 255)
        XCTAssertFalse(try fig.data(.png).isEmpty)
    }
}
