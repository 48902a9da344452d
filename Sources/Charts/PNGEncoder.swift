import CDeflate

/// A small, fast PNG writer for opaque RGB images.
///
/// Cairo's own PNG writer (libpng at zlib level 6, all filters) spends ~30 ms on a 1200×800
/// chart, most of the 50 ms budget; this one chooses a cheap per-row filter (None/Sub/Up) and
/// deflates with zlib at level 1, which suits charts (large flat areas) and is several times faster.
/// PNG framing is a few lines; compression and CRC come from zlib.
enum PNGEncoder {
    /// Encodes xRGB pixels (`UInt32` per pixel, native endian, `stride` bytes per row).
    static func encode(xrgb base: UnsafeRawPointer, width: Int, height: Int, stride: Int,
                       pixelsPerMeter: Int? = nil) -> [UInt8] {
        let raw = filteredScanlines(base, width: width, height: height, stride: stride)
        var out: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        var ihdr: [UInt8] = []
        ihdr.appendBE32(UInt32(width)); ihdr.appendBE32(UInt32(height))
        ihdr += [8, 2, 0, 0, 0]                  // 8-bit, truecolour RGB, deflate, adaptive, no interlace
        chunk("IHDR", ihdr, into: &out)
        if let ppm = pixelsPerMeter {
            var phys: [UInt8] = []
            phys.appendBE32(UInt32(ppm)); phys.appendBE32(UInt32(ppm)); phys.append(1)
            chunk("pHYs", phys, into: &out)
        }
        chunk("IDAT", zlib(raw), into: &out)
        chunk("IEND", [], into: &out)
        return out
    }

    // MARK: Filtering

    private static func filteredScanlines(_ base: UnsafeRawPointer, width: Int, height: Int, stride: Int) -> [UInt8] {
        let rowBytes = width * 3
        var out = [UInt8](repeating: 0, count: (rowBytes + 1) * height)
        // Four scratch rows: previous, current, Sub-filtered, Up-filtered.
        var scratch = [UInt8](repeating: 0, count: 4 * rowBytes)
        out.withUnsafeMutableBufferPointer { o in
            scratch.withUnsafeMutableBufferPointer { sc in
                var prev = sc.baseAddress!, cur = prev + rowBytes
                let sub = prev + 2 * rowBytes, up = prev + 3 * rowBytes
                for y in 0..<height {
                    let px = (base + y * stride).assumingMemoryBound(to: UInt32.self)
                    for x in 0..<width {
                        let p = px[x]
                        cur[3 * x] = UInt8(truncatingIfNeeded: p >> 16)
                        cur[3 * x + 1] = UInt8(truncatingIfNeeded: p >> 8)
                        cur[3 * x + 2] = UInt8(truncatingIfNeeded: p)
                    }
                    // Sum of absolute (signed) residuals: the usual cheap heuristic.
                    var sNone = 0, sSub = 0, sUp = 0
                    for i in 0..<rowBytes {
                        let c = cur[i]
                        let s = c &- (i >= 3 ? cur[i - 3] : 0), u = c &- prev[i]
                        sub[i] = s; up[i] = u
                        sNone &+= Int(Int8(bitPattern: c).magnitude)
                        sSub &+= Int(Int8(bitPattern: s).magnitude)
                        sUp &+= Int(Int8(bitPattern: u).magnitude)
                    }
                    let start = y * (rowBytes + 1)
                    let (type, row): (UInt8, UnsafeMutablePointer<UInt8>) =
                        sUp <= sSub && sUp <= sNone ? (2, up) : (sSub <= sNone ? (1, sub) : (0, cur))
                    o[start] = type
                    (o.baseAddress! + start + 1).update(from: row, count: rowBytes)
                    swap(&prev, &cur)
                }
            }
        }
        return out
    }

    // MARK: zlib

    /// A zlib stream (header, deflate, Adler-32) as PNG's IDAT wants it, from zlib itself.
    /// Level 1 (fastest): after the row filters, charts' flat areas compress well even at that level.
    private static func zlib(_ data: [UInt8]) -> [UInt8] {
        var size = compressBound(uLong(data.count))
        var out = [UInt8](repeating: 0, count: Int(size))
        let status = out.withUnsafeMutableBufferPointer { o in
            data.withUnsafeBufferPointer { d in compress2(o.baseAddress, &size, d.baseAddress, uLong(d.count), 1) }
        }
        precondition(status == Z_OK, "zlib compress2 failed (\(status))")   // only on out-of-memory
        out.removeSubrange(Int(size)...)
        return out
    }

    private static func chunk(_ type: String, _ data: [UInt8], into out: inout [UInt8]) {
        out.appendBE32(UInt32(data.count))
        let body = Array(type.utf8) + data
        out += body
        out.appendBE32(crc32(body))
    }

    static func crc32(_ data: [UInt8]) -> UInt32 {
        UInt32(data.withUnsafeBufferPointer { CDeflate.crc32(0, $0.baseAddress, uInt($0.count)) })
    }
}

private extension Array where Element == UInt8 {
    mutating func appendBE32(_ v: UInt32) {
        append(UInt8(v >> 24)); append(UInt8((v >> 16) & 0xFF)); append(UInt8((v >> 8) & 0xFF)); append(UInt8(v & 0xFF))
    }
}
