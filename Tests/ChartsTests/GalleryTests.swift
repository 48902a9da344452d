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

    /// Not a pass/fail test: prints the time to render and encode a 1200×800 PNG of 5 × 1,000 points.
    func testRenderTimeReport() throws {
        let fig = Gallery.benchmark()
        _ = try fig.data(.png)   // warm up (fonts, tables)
        var times: [Double] = []
        var bytes = 0
        for _ in 0..<10 {
            let t0 = Date()
            bytes = try fig.data(.png).count
            times.append(Date().timeIntervalSince(t0) * 1000)
        }
        times.sort()
        var rgba: [Double] = []
        for _ in 0..<10 { let t0 = Date(); _ = fig.renderRGBA(); rgba.append(Date().timeIntervalSince(t0) * 1000) }
        rgba.sort()
        print(String(format: "Charts timing: 1200×800 PNG, 5×1000 points: median %.1f ms, min %.1f ms (%d bytes); "
                     + "render to RGBA alone: median %.1f ms", times[times.count / 2], times[0], bytes, rgba[5]))
    }
}
