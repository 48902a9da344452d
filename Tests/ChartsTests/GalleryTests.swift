import Charts
import Foundation
import XCTest

/// Renders the example figures. Set CHARTS_GALLERY=/some/dir to also write them as PNG
/// (for looking at them); always checks they render.
final class GalleryTests: XCTestCase {
    func testGalleryRenders() throws {
        let dir = ProcessInfo.processInfo.environment["CHARTS_GALLERY"]
        let figures: [(String, Figure)] = [("a-log-curves", Gallery.logCurves()), ("b-functions", Gallery.functions()),
                                           ("c-heatmap", Gallery.heatmap()), ("d-huge-range", Gallery.hugeRange()),
                                           ("e-bands", Gallery.bandsAndScatter()),
                                           ("f-crowded", Gallery.crowded())]
        for (name, fig) in figures {
            let png = try fig.data(.png)
            XCTAssertGreaterThan(png.count, 10_000, name)
            if let dir {
                try fig.save(to: "\(dir)/charts-\(name).png")
                try fig.save(to: "\(dir)/charts-\(name).svg")
                try fig.save(to: "\(dir)/charts-\(name).pdf")
            }
        }
        XCTAssertEqual(Gallery.hugeRange().notes.count, 1)
    }
}
