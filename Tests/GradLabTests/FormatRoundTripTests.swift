import Foundation
import XCTest
import GradLab

/// CSV and JSON numbers: the shortest text that reads back to the very same Double.
final class FormatRoundTripTests: XCTestCase {
    func testExactIsShortestAndRoundTrips() {
        XCTAssertEqual(Format.exact(0.85), "0.85")
        XCTAssertEqual(Format.exact(0.1 + 0.2), "0.30000000000000004")   // a different Double from 0.3: all 17 digits needed
        XCTAssertEqual(Format.exact(0.3), "0.3")
        XCTAssertEqual(Format.exact(-.infinity), "-inf")
        XCTAssertEqual(Format.exact(.infinity), "inf")
        XCTAssertEqual(Format.exact(.nan), "nan")
        XCTAssertEqual(Format.exact(1e-310), "1e-310")                 // subnormal
        var rng = SystemRandomNumberGenerator()
        for i in 0..<20_000 {
            // Random bit patterns cover every exponent; uniform values cover the common range.
            let v = i % 2 == 0 ? Double(bitPattern: rng.next()) : Double.random(in: -10...10, using: &rng)
            guard v.isFinite else { continue }
            let text = Format.exact(v)
            XCTAssertEqual(Double(text)?.bitPattern, v.bitPattern, text)
            // Shortest: one significant digit fewer no longer reads back (unless it is already minimal).
            if let e = text.firstIndex(where: { $0 == "e" }) ?? Optional(text.endIndex), text[..<e].count > 3 {
                let mantissa = text[..<e]
                let shorter = String(mantissa.dropLast()) + text[e...]
                if mantissa.last != "." && mantissa.dropLast().last != "." {
                    XCTAssertNotEqual(Double(shorter)?.bitPattern, v.bitPattern, "\(text) is not the shortest")
                }
            }
        }
    }

    /// JSON writers go through JSONSerialization: its numbers must read back exactly as well, and 0.85 stay 0.85.
    func testJSONNumbersRoundTrip() throws {
        var rng = SystemRandomNumberGenerator()
        let values = [0.85, 0.1, 1e-300, -2.5e10] + (0..<2000).map { _ in Double.random(in: -1e6...1e6, using: &rng) * pow(10, Double.random(in: -20...20, using: &rng)) }
        let data = try JSONSerialization.data(withJSONObject: values.map(Format.json))
        let text = String(decoding: data, as: UTF8.self)
        XCTAssertTrue(text.hasPrefix("[0.85,0.1,"), String(text.prefix(40)))
        // Read back with Double(String): swift-corelibs-foundation's JSONSerialization *reader* is off by an ulp
        // now and then (the text is exact; JSONDecoder, which model files use, reads it exactly).
        let tokens = text.dropFirst().dropLast().split(separator: ",")
        XCTAssertEqual(tokens.count, values.count)
        for (v, t) in zip(values, tokens) {
            XCTAssertEqual(Double(String(t))?.bitPattern, v.bitPattern, "\(v) written as \(t)")
            let shortest = "\(v)".hasSuffix(".0") ? String("\(v)".dropLast(2)) : "\(v)"   // JSON writes 3.0 as 3
            XCTAssertEqual(String(t), shortest, "not the shortest text")
        }
        XCTAssertEqual(String(decoding: try JSONSerialization.data(withJSONObject: [Format.json(-.infinity), Format.json(.nan)]), as: UTF8.self),
                       "[null,null]")
    }
}
