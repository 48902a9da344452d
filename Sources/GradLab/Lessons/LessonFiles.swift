import Charts
import Foundation

/// How `notebook check` compares a regenerated file with the committed one.
public enum LessonFiles {
    /// Pixels whose largest channel differs by more than this count as changed.
    static let channelTolerance = 40
    /// A PNG "matches" when at most this fraction of its pixels changed (0.02 % ≈ 190 pixels at 1200×800):
    /// room for last-bit differences in BLAS results moving an anti-aliased edge on another CPU, far less than
    /// any hand edit or any change of data, label or layout.
    static let pixelFraction = 0.0002

    /// Byte equality, or for two PNGs of equal size, near-equality of their pixels.
    public static func same(_ a: URL, _ b: URL) -> Bool {
        guard let x = FileManager.default.contents(atPath: a.path), let y = FileManager.default.contents(atPath: b.path) else { return false }
        if x == y { return true }
        guard a.pathExtension.lowercased() == "png", b.pathExtension.lowercased() == "png" else { return false }
        return pixelsMatch([UInt8](x), [UInt8](y))
    }

    public static func pixelsMatch(_ x: [UInt8], _ y: [UInt8]) -> Bool {
        guard let p = RGBAImage.decodePNG(x), let q = RGBAImage.decodePNG(y), p.width == q.width, p.height == q.height else { return false }
        var changed = 0
        let limit = Int(Double(p.width * p.height) * pixelFraction)
        for i in stride(from: 0, to: p.pixels.count, by: 4) {
            let d = max(abs(Int(p.pixels[i]) - Int(q.pixels[i])), abs(Int(p.pixels[i + 1]) - Int(q.pixels[i + 1])),
                        abs(Int(p.pixels[i + 2]) - Int(q.pixels[i + 2])))
            if d > channelTolerance { changed += 1; if changed > limit { return false } }
        }
        return true
    }
}
