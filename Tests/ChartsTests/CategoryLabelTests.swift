import Charts
import Foundation
import XCTest

/// Text tick labels on the x axis (`Axes.xCategoryLabels`), rotated or not.
final class CategoryLabelTests: XCTestCase {
    static let words = "Anna walked into the room . John walked in too . a dog barked outside . someone opened a window . it was late . Anna said hi to"
        .split(separator: " ").map(String.init)

    func figure(width: Double, rotation: Double, emphasise: Int = 6) -> Figure {
        let fig = Figure(width: width, height: 600)
        let ax = fig.axes
        let x = Self.words.indices.map { Double($0 + 1) }
        ax.plot(x, x.map { pow(10, -$0 / 5) })
        ax.yScale = .log10
        ax.xRange = 0.5...(Double(Self.words.count) + 0.5)
        ax.xCategoryLabels = Self.words.enumerated().map { i, w in
            CategoryLabel(w, at: Double(i + 1), color: i == emphasise ? Color(hex: 0xC0392B) : nil, bold: i == emphasise)
        }
        ax.xTickLabelRotation = rotation
        return fig
    }

    func tickTexts(_ fig: Figure) -> [DrawnText] {
        let plot = fig.layout()[0].plotRect
        return fig.drawnText().filter { $0.kind == .text && $0.rect.minY > plot.maxY }
    }

    func testRotatedWordsAreAllDrawnUprightBelowThePlotWithoutOverlap() throws {
        let fig = figure(width: 1200, rotation: 90)
        let layout = fig.layout()[0]
        XCTAssertEqual(layout.xTicks.count, Self.words.count)
        XCTAssertEqual(layout.xTicks.compactMap { $0.label?.plainText }, Self.words, "every word labelled, in order")
        XCTAssertEqual(layout.xTicks.map(\.position), Self.words.indices.map { Double($0 + 1) })
        XCTAssertTrue(layout.xTicks[6].bold)
        XCTAssertEqual(layout.xTicks[6].color, Color(hex: 0xC0392B))
        XCTAssertFalse(layout.xTicks[5].bold)
        let texts = tickTexts(fig)
        XCTAssertEqual(texts.map(\.text), Self.words)
        for t in texts where t.text.count > 2 {
            XCTAssertGreaterThan(t.rect.height, t.rect.width, "'\(t.text)' is rotated: taller than wide")
        }
        for (a, b) in zip(texts, texts.dropFirst()) {
            XCTAssertFalse(a.rect.insetBy(0.5).intersects(b.rect.insetBy(0.5)), "\(a) and \(b) overlap")
        }
        // Below the plot and inside the canvas.
        for t in texts {
            XCTAssertGreaterThanOrEqual(t.rect.minY, layout.plotRect.maxY)
            XCTAssertLessThanOrEqual(t.rect.maxY, fig.height)
        }
    }

    func testCrowdedLabelsAreThinnedRegularlyKeepingTheEmphasisedOne() throws {
        let fig = figure(width: 420, rotation: 0, emphasise: 7)
        let ticks = fig.layout()[0].xTicks
        XCTAssertEqual(ticks.count, Self.words.count, "every tick mark stays")
        let labelled = ticks.indices.filter { ticks[$0].label != nil }
        XCTAssertTrue(labelled.contains(7), "the emphasised word keeps its label")
        XCTAssertLessThan(labelled.count, Self.words.count)
        XCTAssertGreaterThan(labelled.count, 1)
        let steps = Set(zip(labelled, labelled.dropFirst()).map { $1 - $0 })
        XCTAssertEqual(steps.count, 1, "a regular pattern: \(labelled)")
        let texts = tickTexts(fig)
        for (a, b) in zip(texts, texts.dropFirst()) {
            XCTAssertFalse(a.rect.insetBy(0.5).intersects(b.rect.insetBy(0.5)), "\(a) and \(b) overlap")
        }
    }

    /// In a short panel the rotated labels shrink, then the longest are shortened with "…", so they take at
    /// most 30 % of the panel's height and stay on the canvas.
    func testRotatedLabelsInAShortPanelAreShortenedAndStayOnTheCanvas() throws {
        let fig = figure(width: 900, rotation: 90)
        fig.height = 100
        fig.fontSize = 16
        let texts = tickTexts(fig)
        XCTAssertFalse(texts.isEmpty)
        XCTAssertTrue(texts.contains { $0.text.hasSuffix("…") }, "\(texts.map(\.text))")
        XCTAssertTrue(texts.contains { $0.text == "." }, "short words stay whole")
        for t in texts {
            XCTAssertLessThanOrEqual(t.rect.height, 0.3 * 100 + 1, "\(t)")
            XCTAssertLessThanOrEqual(t.rect.maxY, 100.5, "\(t)")
        }
    }

    func testWithoutCategoriesTheNumericTicksAreUnchanged() {
        let fig = Figure(width: 800, height: 500)
        fig.axes.plot([0, 10], [0, 1])
        let plain = fig.layout()[0].xTicks.map { $0.label?.plainText }
        fig.axes.xTickLabelRotation = 0
        fig.axes.xCategoryLabels = []
        XCTAssertEqual(fig.layout()[0].xTicks.map { $0.label?.plainText }, plain)
        XCTAssertTrue(plain.contains("10"))
    }
}
