import CCairo
import Foundation

/// Rendered pixels, 8-bit straight RGBA, row-major, top row first.
public struct RGBAImage {
    public let width: Int
    public let height: Int
    /// `width × height × 4` bytes: r, g, b, a.
    public let pixels: [UInt8]

    /// The pixel at column x, row y.
    public func pixel(x: Int, y: Int) -> (r: UInt8, g: UInt8, b: UInt8, a: UInt8) {
        let i = (y * width + x) * 4
        return (pixels[i], pixels[i + 1], pixels[i + 2], pixels[i + 3])
    }
}

/// Collects bytes written by Cairo's stream functions.
private final class ByteSink {
    var bytes: [UInt8] = []
}

private let writeToSink: cairo_write_func_t = { closure, data, length in
    guard let closure else { return CAIRO_STATUS_WRITE_ERROR }
    let sink = Unmanaged<ByteSink>.fromOpaque(closure).takeUnretainedValue()
    if let data { sink.bytes.append(contentsOf: UnsafeBufferPointer(start: data, count: Int(length))) }
    return CAIRO_STATUS_SUCCESS
}

private func statusMessage(_ s: cairo_status_t) -> String { String(cString: cairo_status_to_string(s)) }

extension Figure {
    private var pixelSize: (Int32, Int32) {
        (Int32((width * scale).rounded(.up)), Int32((height * scale).rounded(.up)))
    }

    /// Renders onto a new image surface; the caller destroys it.
    /// RGB24 (opaque) is used for PNG: the figure background is opaque, so no alpha channel is stored.
    private func renderImageSurface(opaque: Bool = false) throws -> OpaquePointer {
        let (w, h) = pixelSize
        guard let surface = cairo_image_surface_create(opaque ? CAIRO_FORMAT_RGB24 : CAIRO_FORMAT_ARGB32, w, h),
              cairo_surface_status(surface) == CAIRO_STATUS_SUCCESS else {
            throw ChartError("cannot allocate a \(w)×\(h) pixel image")
        }
        let cr = cairo_create(surface)!
        cairo_scale(cr, scale, scale)
        draw(on: Canvas(cr: cr, scale: scale))
        cairo_destroy(cr)
        cairo_surface_flush(surface)
        return surface
    }

    /// Creation and modification date written into every PDF (a fixed date, so output is reproducible).
    static let fixedPDFDate = "2000-01-01T00:00:00Z"

    /// The figure as bytes of the given format.
    public func data(_ format: OutputFormat) throws -> [UInt8] {
        let sink = ByteSink()
        let closure = Unmanaged.passUnretained(sink).toOpaque()
        let status: cairo_status_t
        switch format {
        case .png:
            let surface = try renderImageSurface(opaque: true)
            defer { cairo_surface_destroy(surface) }
            return PNGEncoder.encode(xrgb: cairo_image_surface_get_data(surface)!,
                                     width: Int(cairo_image_surface_get_width(surface)),
                                     height: Int(cairo_image_surface_get_height(surface)),
                                     stride: Int(cairo_image_surface_get_stride(surface)),
                                     pixelsPerMeter: Int((72 * scale / 0.0254).rounded()))
        case .svg, .pdf:
            // A PDF may get its own physical page size; the layout follows it.
            let saved = (width, height)
            if format == .pdf, let page = pdfPageSize { width = page.width; height = page.height }
            defer { (width, height) = saved }
            let surface = format == .svg
                ? cairo_svg_surface_create_for_stream(writeToSink, closure, width, height)!
                : cairo_pdf_surface_create_for_stream(writeToSink, closure, width, height)!
            if format == .pdf {
                if let t = title { cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_TITLE, RichText(t).plainText) }
                cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_CREATOR, "gradlab Charts")
                // Cairo would stamp the wall-clock time: the same chart must give the same bytes.
                cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_CREATE_DATE, Figure.fixedPDFDate)
                cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_MOD_DATE, Figure.fixedPDFDate)
            }
            let cr = cairo_create(surface)!
            draw(on: Canvas(cr: cr, scale: 1))
            cairo_destroy(cr)
            cairo_surface_finish(surface)
            status = cairo_surface_status(surface)
            cairo_surface_destroy(surface)
        }
        withExtendedLifetime(sink) {}
        guard status == CAIRO_STATUS_SUCCESS else {
            throw ChartError("cannot render chart as \(format.rawValue.uppercased()): \(statusMessage(status))")
        }
        return format == .svg ? Figure.renumberSurfaceIDs(sink.bytes) : sink.bytes
    }

    /// Cairo names SVG elements after process-wide surface counters (`surface7`, `image12`), so a second
    /// render in the same process would differ: renumber them by first appearance. Only whole names count:
    /// after `"` or `#`, the prefix, digits, then `"`. One pass over the bytes per prefix.
    static func renumberSurfaceIDs(_ bytes: [UInt8]) -> [UInt8] {
        renumber(renumber(bytes, prefix: Array("surface".utf8)), prefix: Array("image".utf8))
    }

    static func renumber(_ b: [UInt8], prefix p: [UInt8]) -> [UInt8] {
        let quote = UInt8(ascii: "\""), hash = UInt8(ascii: "#"), zero = UInt8(ascii: "0"), nine = UInt8(ascii: "9")
        var numbers: [ArraySlice<UInt8>: Int] = [:]
        var out: [UInt8] = []
        out.reserveCapacity(b.count)
        var i = 1, last = 0
        let n = b.count
        while i + p.count < n {
            if b[i] == p[0], b[i - 1] == quote || b[i - 1] == hash, b[i..<(i + p.count)].elementsEqual(p) {
                var j = i + p.count
                while j < n, b[j] >= zero, b[j] <= nine { j += 1 }
                if j > i + p.count, j < n, b[j] == quote {
                    let digits = b[(i + p.count)..<j]
                    let number: Int
                    if let known = numbers[digits] { number = known } else { number = numbers.count + 1; numbers[digits] = number }
                    out.append(contentsOf: b[last..<i])
                    out.append(contentsOf: p)
                    out.append(contentsOf: String(number).utf8)
                    last = j
                    i = j
                    continue
                }
            }
            i += 1
        }
        out.append(contentsOf: b[last...])
        return out
    }

    /// Writes the figure; the format comes from the extension (.png, .svg, .pdf, any case).
    /// The file is written to a temporary name in the same directory and renamed into place,
    /// so a failure never leaves a half-written chart.
    public func save(to path: String) throws {
        let format = try OutputFormat(path: path)
        let bytes = try data(format)
        try writeAtomically(bytes, to: path)
    }

    /// Renders to 8-bit RGBA pixels at `scale` (for tests and embedding).
    public func renderRGBA() -> RGBAImage {
        guard let surface = try? renderImageSurface() else { return RGBAImage(width: 0, height: 0, pixels: []) }
        defer { cairo_surface_destroy(surface) }
        return RGBAImage(surface: surface)
    }
}

extension RGBAImage {
    /// Decodes PNG bytes (with Cairo's libpng reader); nil when they are not a valid PNG.
    public static func decodePNG(_ bytes: [UInt8]) -> RGBAImage? {
        final class Source { let bytes: [UInt8]; var offset = 0; init(_ b: [UInt8]) { bytes = b } }
        let source = Source(bytes)
        let read: cairo_read_func_t = { closure, data, length in
            let src = Unmanaged<Source>.fromOpaque(closure!).takeUnretainedValue()
            let n = Int(length)
            guard let data, src.offset + n <= src.bytes.count else { return CAIRO_STATUS_READ_ERROR }
            src.bytes.withUnsafeBufferPointer { data.update(from: $0.baseAddress! + src.offset, count: n) }
            src.offset += n
            return CAIRO_STATUS_SUCCESS
        }
        let surface = withExtendedLifetime(source) {
            cairo_image_surface_create_from_png_stream(read, Unmanaged.passUnretained(source).toOpaque())!
        }
        defer { cairo_surface_destroy(surface) }
        guard cairo_surface_status(surface) == CAIRO_STATUS_SUCCESS else { return nil }
        return RGBAImage(surface: surface)
    }

    /// Copies an ARGB32/RGB24 image surface, un-premultiplying.
    init(surface: OpaquePointer) {
        cairo_surface_flush(surface)
        let w = Int(cairo_image_surface_get_width(surface)), h = Int(cairo_image_surface_get_height(surface))
        let stride = Int(cairo_image_surface_get_stride(surface))
        let opaque = cairo_image_surface_get_format(surface) == CAIRO_FORMAT_RGB24
        let data = cairo_image_surface_get_data(surface)!
        var out = [UInt8](repeating: 0, count: w * h * 4)
        for y in 0..<h {
            let row = UnsafeRawPointer(data + y * stride).assumingMemoryBound(to: UInt32.self)
            for x in 0..<w {
                let p = row[x]                          // premultiplied native-endian ARGB
                let a = opaque ? 255 : UInt32(p >> 24)
                func channel(_ shift: UInt32) -> UInt8 {
                    let c = (p >> shift) & 0xFF
                    return a == 0 ? 0 : UInt8(min(255, (c * 255 + a / 2) / a))
                }
                let i = (y * w + x) * 4
                out[i] = channel(16); out[i + 1] = channel(8); out[i + 2] = channel(0); out[i + 3] = UInt8(a)
            }
        }
        self.init(width: w, height: h, pixels: out)
    }
}

/// Writes `bytes` to a temporary file next to `path`, then renames it over `path`.
func writeAtomically(_ bytes: [UInt8], to path: String) throws {
    let url = URL(fileURLWithPath: path)
    let dir = url.deletingLastPathComponent().path
    var isDir: ObjCBool = false
    guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDir), isDir.boolValue else {
        throw ChartError("cannot save chart to '\(path)': directory '\(dir)' does not exist")
    }
    var template = Array((dir + "/." + url.lastPathComponent + ".tmp-XXXXXX").utf8CString)
    let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
    guard fd >= 0 else {
        throw ChartError("cannot save chart to '\(path)': \(String(cString: strerror(errno)))")
    }
    let tmp = String(cString: template)
    var failure: String?
    bytes.withUnsafeBytes { buf in
        var off = 0
        while off < buf.count {
            let n = write(fd, buf.baseAddress! + off, buf.count - off)
            if n < 0 { if errno == EINTR { continue }; failure = String(cString: strerror(errno)); return }
            off += n
        }
    }
    fchmod(fd, 0o644)
    if close(fd) != 0, failure == nil { failure = String(cString: strerror(errno)) }
    if failure == nil, rename(tmp, path) != 0 { failure = String(cString: strerror(errno)) }
    if let failure {
        unlink(tmp)
        throw ChartError("cannot save chart to '\(path)': \(failure)")
    }
}
