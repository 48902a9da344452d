import Charts
import Foundation
import XCTest

final class OutputTests: XCTestCase {
    private var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("charts-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: dir.path)
        try? FileManager.default.removeItem(at: dir)
    }

    private func sample() -> Figure {
        let fig = Figure(width: 400, height: 300)
        fig.title = "sample"
        fig.axes.plot([1, 2, 3], [1, 4, 9], label: "squares", marker: .square)
        return fig
    }

    private func files() throws -> [String] { try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() }

    func testFormatsBySignature() throws {
        let fig = sample()
        for name in ["a.png", "b.SVG", "c.Pdf"] { try fig.save(to: dir.appendingPathComponent(name).path) }
        XCTAssertEqual(try files(), ["a.png", "b.SVG", "c.Pdf"])        // no temporary files left behind
        let png = try Data(contentsOf: dir.appendingPathComponent("a.png"))
        XCTAssertEqual(Array(png.prefix(8)), [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        let decoded = try XCTUnwrap(RGBAImage.decodePNG(Array(png)))
        XCTAssertEqual(decoded.width, 400); XCTAssertEqual(decoded.height, 300)
        let svg = try String(contentsOf: dir.appendingPathComponent("b.SVG"), encoding: .utf8)
        XCTAssertTrue(svg.hasPrefix("<?xml")); XCTAssertTrue(svg.contains("<svg"))
        let pdf = try Data(contentsOf: dir.appendingPathComponent("c.Pdf"))
        XCTAssertTrue(pdf.starts(with: Array("%PDF-".utf8)))
        XCTAssertGreaterThan(pdf.count, 1000)
    }

    func testScaleMultipliesPNGPixels() throws {
        let fig = sample()
        fig.scale = 2
        let image = try XCTUnwrap(RGBAImage.decodePNG(try fig.data(.png)))
        XCTAssertEqual(image.width, 800); XCTAssertEqual(image.height, 600)
    }

    func testUnknownExtensionThrowsAndWritesNothing() throws {
        for name in ["chart.jpg", "chart"] {
            let path = dir.appendingPathComponent(name).path
            XCTAssertThrowsError(try sample().save(to: path)) { error in
                let message = "\(error)"
                XCTAssertTrue(message.contains(path), message)
                XCTAssertTrue(message.contains(".png, .svg or .pdf"), message)
                XCTAssertFalse(message.contains("\n"))
            }
        }
        XCTAssertEqual(try files(), [])
    }

    func testUnwritableDestinationThrowsAndLeavesNoFile() throws {
        let missing = dir.appendingPathComponent("no/such/dir/chart.png").path
        XCTAssertThrowsError(try sample().save(to: missing)) { error in
            XCTAssertTrue("\(error)".contains(missing), "\(error)")
            XCTAssertTrue("\(error)".contains("does not exist"), "\(error)")
        }
        // A read-only directory (meaningless for root, who may write anyway).
        guard getuid() != 0 else { return }
        try FileManager.default.setAttributes([.posixPermissions: 0o555], ofItemAtPath: dir.path)
        let path = dir.appendingPathComponent("chart.png").path
        XCTAssertThrowsError(try sample().save(to: path)) { error in XCTAssertTrue("\(error)".contains(path)) }
        XCTAssertEqual(try files(), [])
    }

    func testFailedRenameLeavesNoTemporaryFile() throws {
        // The destination is an existing directory: rename fails after the temporary file was written.
        let target = dir.appendingPathComponent("taken.png")
        try FileManager.default.createDirectory(at: target.appendingPathComponent("inner"), withIntermediateDirectories: true)
        XCTAssertThrowsError(try sample().save(to: target.path)) { error in
            XCTAssertTrue("\(error)".contains(target.path))
        }
        XCTAssertEqual(try files(), ["taken.png"])
    }

    func testOverwriteReplacesExistingFile() throws {
        let path = dir.appendingPathComponent("x.svg").path
        try "old".write(toFile: path, atomically: false, encoding: .utf8)
        try sample().save(to: path)
        XCTAssertTrue(try String(contentsOfFile: path, encoding: .utf8).hasPrefix("<?xml"))
    }

    /// Charts encodes PNG itself (for speed); libpng (through Cairo) must read back identical pixels.
    func testPNGEncoderRoundTrips() throws {
        for fig in [Gallery.logCurves(), Gallery.heatmap()] {
            let decoded = try XCTUnwrap(RGBAImage.decodePNG(try fig.data(.png)))
            let direct = fig.renderRGBA()
            XCTAssertEqual(decoded.width, direct.width)
            XCTAssertEqual(decoded.height, direct.height)
            XCTAssertTrue(decoded.pixels == direct.pixels, "decoded PNG differs from the rendered pixels")
        }
    }
}
