@testable import Charts
import Foundation
import XCTest

/// The byte scanner that renumbers Cairo's surface ids gives exactly what the earlier regular-expression
/// version gave (kept here as the reference).
final class RenumberTests: XCTestCase {
    static func reference(_ bytes: [UInt8]) -> [UInt8] {
        var text = String(decoding: bytes, as: UTF8.self)
        for prefix in ["surface", "image"] {
            let re = try! NSRegularExpression(pattern: "(?<=[\"#])\(prefix)([0-9]+)(?=\")")
            var numbers: [String: Int] = [:]
            let ns = text as NSString
            let matches = re.matches(in: text, range: NSRange(location: 0, length: ns.length))
            guard !matches.isEmpty else { continue }
            var out = "", last = 0
            for m in matches {
                let digits = ns.substring(with: m.range(at: 1))
                let n = numbers[digits] ?? { numbers[digits] = numbers.count + 1; return numbers.count }()
                out += ns.substring(with: NSRange(location: last, length: m.range.location - last)) + prefix + String(n)
                last = m.range.location + m.range.length
            }
            out += ns.substring(from: last)
            text = out
        }
        return Array(text.utf8)
    }

    func testMatchesTheReferenceOnEdgeCases() {
        let cases = [
            "", "surface1", "\"surface12\"", "#surface7\" x=\"surface7\" \"surface9\"", "\"surface\"", "\"surface1x\"",
            "a\"surface3\"b#image44\"c\"image44\" \"image45\"#surface3\"", "\"surface0010\" \"surface10\"", "\"images1\"",
            "#surface99", "\"surface5\"\"surface6\"", "é\"surface2\"ü",
        ]
        for c in cases {
            XCTAssertEqual(String(decoding: Figure.renumberSurfaceIDs(Array(c.utf8)), as: UTF8.self),
                           String(decoding: Self.reference(Array(c.utf8)), as: UTF8.self), c)
        }
    }

    func testMatchesTheReferenceOnRealCharts() throws {
        for _ in 0..<3 {
            let fig = Figure(rows: 1, cols: 2, width: 700, height: 400)
            fig.title = "ids"
            fig[0, 0].plot([0, 1, 2, 3], [1, 3, 2, 4], label: "a")
            _ = fig[0, 1].heatmap([[1, 2], [3, 4]], x: 0...1, y: 0...1)
            let raw = try fig.data(.svg)
            XCTAssertEqual(Figure.renumberSurfaceIDs(raw), Self.reference(raw))
        }
        // Two renders in one process: the same bytes.
        let make = { () -> Figure in let f = Figure(width: 400, height: 300); _ = f.axes.heatmap([[1, 2], [3, 4]], x: 0...1, y: 0...1); return f }
        XCTAssertEqual(try make().data(.svg), try make().data(.svg))
    }
}
