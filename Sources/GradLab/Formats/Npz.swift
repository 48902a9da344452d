import CMalloc
import Foundation
import Linear
import ZIPFoundation

/// One array read from a `.npy` file, converted to Double, in C (row-major) order whatever the file's order.
public struct NpyArray: Sendable, Equatable {
    public var shape: [Int]
    /// Row-major values.
    public var values: [Double]
    /// The file's dtype descriptor, e.g. "<f8".
    public var dtype: String

    public init(shape: [Int], values: [Double], dtype: String = "<f8") {
        self.shape = shape
        self.values = values
        self.dtype = dtype
    }

    public var count: Int { shape.reduce(1, *) }
    public var shapeText: String { "(" + shape.map(String.init).joined(separator: ", ") + (shape.count == 1 ? ",)" : ")") }

    /// A 2-D array as a matrix.
    public var matrix: Matrix? { shape.count == 2 ? Matrix(rows: shape[0], cols: shape[1], data: values) : nil }
}

/// Reader for NumPy's `.npy` (format versions 1, 2, 3) and `.npz` (a zip of `.npy` files, stored or deflated
/// as written by `np.savez` / `np.savez_compressed`). Supported dtypes: float64 and float32, either byte order,
/// C or Fortran order. Every failure is a one-line `GradLabError.data` naming the file (and array).
///
/// Hostile files are refused before memory is committed: the header's shape is multiplied out with
/// overflow checks, its size goes through the cost model (`Budget`), and data is converted as it streams
/// in (no second copy of the raw bytes), so a small file declaring 2^61 elements costs nothing.
public enum Npy {
    static let magic: [UInt8] = [0x93] + Array("NUMPY".utf8)
    /// Header text longer than this is not a NumPy header (NumPy writes under 200 bytes; 64 KiB is generous).
    static let maxHeaderLength = 65_536

    /// Parses one `.npy` image. `source` names it in errors (e.g. "model.npz: weight_hh_l0").
    public static func parse(_ data: Data, source: String) throws -> NpyArray {
        let budget = try Budget.active()
        var reader = Reader(source: source) { d in
            // All the data is here: a shape promising more is truncated, whatever it declares.
            guard d.dataBytes <= data.count else {
                throw GradLabError.data("\(source): truncated array data: shape \(Npy.shapeText(d.shape)) needs \(d.dataBytes) bytes, file has fewer")
            }
            try budget.check(CostModel.npyArray(name: source, elements: Double(d.count), itemSize: d.itemSize, fortran: d.fortranOrder),
                             origin: .file(source))
        }
        try reader.feed(data)
        return try reader.finish()
    }

    /// The parts of a header the reader needs, with the element count multiplied out safely.
    public struct Declared: Sendable, Equatable {
        public var shape: [Int]
        public var count: Int
        public var itemSize: Int
        public var littleEndian: Bool
        public var fortranOrder: Bool
        public var descr: String
        /// Bytes of data the header promises.
        public var dataBytes: Int
    }

    /// Incremental `.npy` parser: header first (checked by `admit` before anything is allocated), then data
    /// converted chunk by chunk.
    struct Reader {
        let source: String
        /// Called once the header is parsed, before the values are allocated.
        var admit: (Declared) throws -> Void = { _ in }
        private var pending: [UInt8] = []
        private(set) var declared: Declared?
        private var values: [Double] = []
        private var filled = 0
        private var received = 0

        init(source: String, admit: @escaping (Declared) throws -> Void = { _ in }) {
            self.source = source
            self.admit = admit
        }

        func fail(_ s: String) -> GradLabError { GradLabError.data("\(source): \(s)") }

        mutating func feed(_ chunk: Data) throws {
            if declared == nil {
                pending.append(contentsOf: chunk)
                guard let (d, headerEnd) = try parseHeaderIfComplete() else { return }
                try admit(d)
                declared = d
                values = [Double](repeating: 0, count: d.count)
                let rest = Array(pending[headerEnd...])
                pending = []
                try consume(rest[...])
            } else {
                try consume([UInt8](chunk)[...])
            }
        }

        /// nil while the header is incomplete.
        private mutating func parseHeaderIfComplete() throws -> (Declared, Int)? {
            let bytes = pending
            if bytes.count >= 6 && Array(bytes[0..<6]) != Npy.magic { throw fail("not a .npy array (bad magic bytes)") }
            guard bytes.count >= 10 else { return nil }
            let major = bytes[6]
            let headerStart: Int, headerLength: Int
            switch major {
            case 1:
                headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
                headerStart = 10
            case 2, 3:
                guard bytes.count >= 12 else { return nil }
                headerLength = Int(bytes[8]) | Int(bytes[9]) << 8 | Int(bytes[10]) << 16 | Int(bytes[11]) << 24
                headerStart = 12
            default:
                throw fail("unsupported .npy format version \(major).\(bytes[7])")
            }
            guard headerLength <= Npy.maxHeaderLength else { throw fail("malformed .npy header: \(headerLength) bytes long") }
            guard headerStart + headerLength <= bytes.count else { return nil }
            // v1/v2 headers are latin-1, v3 UTF-8; the keys and values we read are ASCII either way.
            let header = String(decoding: bytes[headerStart..<(headerStart + headerLength)], as: UTF8.self)
            let dict = try Npy.parseHeader(header, fail: fail)
            let (littleEndian, size) = try Npy.dtype(dict.descr, fail: fail)
            var count = 1
            for dim in dict.shape {
                let (c, overflow) = count.multipliedReportingOverflow(by: dim)
                guard !overflow else { throw fail("shape \(Npy.shapeText(dict.shape)) has more elements than a 64-bit count can hold") }
                count = c
            }
            let (bytesNeeded, overflow) = count.multipliedReportingOverflow(by: size)
            guard !overflow else { throw fail("shape \(Npy.shapeText(dict.shape)) declares more bytes than a 64-bit size can hold") }
            let d = Declared(shape: dict.shape, count: count, itemSize: size, littleEndian: littleEndian,
                             fortranOrder: dict.fortranOrder, descr: dict.descr, dataBytes: bytesNeeded)
            return (d, headerStart + headerLength)
        }

        private mutating func consume(_ chunk: ArraySlice<UInt8>) throws {
            guard let d = declared else { return }
            received += chunk.count
            guard received <= d.dataBytes else {
                throw fail("holds more data than its shape \(Npy.shapeText(d.shape)) declares (\(d.dataBytes) bytes)")
            }
            var input = chunk
            if !pending.isEmpty {
                let need = d.itemSize - pending.count
                pending += input.prefix(need)
                input = input.dropFirst(need)
                guard pending.count == d.itemSize else { return }
                values[filled] = Npy.decode(pending[...], size: d.itemSize, little: d.littleEndian)
                filled += 1
                pending = []
            }
            let whole = input.count / d.itemSize
            if whole > 0 {
                input.withUnsafeBufferPointer { buf in
                    values.withUnsafeMutableBufferPointer { out in
                        for i in 0..<whole {
                            let p = buf.baseAddress! + i * d.itemSize
                            if d.itemSize == 8 {
                                var u: UInt64 = 0
                                for b in 0..<8 { u |= UInt64(p[b]) << (8 * UInt64(b)) }
                                out[filled + i] = Double(bitPattern: d.littleEndian ? u : u.byteSwapped)
                            } else {
                                var u: UInt32 = 0
                                for b in 0..<4 { u |= UInt32(p[b]) << (8 * UInt32(b)) }
                                out[filled + i] = Double(Float(bitPattern: d.littleEndian ? u : u.byteSwapped))
                            }
                        }
                    }
                }
                filled += whole
            }
            pending = Array(input.dropFirst(whole * d.itemSize))
        }

        mutating func finish() throws -> NpyArray {
            guard let d = declared else {
                if pending.count < 6 || (pending.count >= 6 && Array(pending[0..<6]) != Npy.magic) {
                    throw fail("not a .npy array (bad magic bytes)")
                }
                throw fail("truncated .npy header")
            }
            guard filled == d.count else {
                throw fail("truncated array data: shape \(Npy.shapeText(d.shape)) needs \(d.dataBytes) bytes, file has \(received)")
            }
            var v = values
            values = []
            if d.fortranOrder && d.shape.count > 1 { v = Npy.fortranToC(v, shape: d.shape) }
            return NpyArray(shape: d.shape, values: v, dtype: d.descr)
        }
    }

    static func decode(_ p: ArraySlice<UInt8>, size: Int, little: Bool) -> Double {
        let b = Array(p)
        if size == 8 {
            var u: UInt64 = 0
            for i in 0..<8 { u |= UInt64(b[i]) << (8 * UInt64(i)) }
            return Double(bitPattern: little ? u : u.byteSwapped)
        }
        var u: UInt32 = 0
        for i in 0..<4 { u |= UInt32(b[i]) << (8 * UInt32(i)) }
        return Double(Float(bitPattern: little ? u : u.byteSwapped))
    }

    static func shapeText(_ s: [Int]) -> String { NpyArray(shape: s, values: []).shapeText }

    /// (little endian?, item size) for the supported float dtypes.
    static func dtype(_ descr: String, fail: (String) -> GradLabError) throws -> (Bool, Int) {
        let order = descr.first
        let kind = descr.dropFirst()
        let little: Bool
        switch order {
        case "<": little = true
        case ">": little = false
        // '=' is native order: little endian on every platform Swift on Linux runs on.
        case "=": little = true
        default: throw fail("unsupported dtype '\(descr)' (expected float64 '<f8' or float32 '<f4')")
        }
        switch kind {
        case "f8": return (little, 8)
        case "f4": return (little, 4)
        default: throw fail("unsupported dtype '\(descr)' (expected float64 '<f8' or float32 '<f4')")
        }
    }

    struct Header { var descr: String; var fortranOrder: Bool; var shape: [Int] }

    /// Parses the Python dict literal, e.g. {'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }.
    static func parseHeader(_ text: String, fail: (String) -> GradLabError) throws -> Header {
        func value(of key: String) -> Substring? {
            for quote in ["'", "\""] {
                if let r = text.range(of: "\(quote)\(key)\(quote)") {
                    var rest = text[r.upperBound...].drop { $0 == " " }
                    guard rest.first == ":" else { return nil }
                    rest = rest.dropFirst().drop { $0 == " " }
                    return rest
                }
            }
            return nil
        }
        guard let d = value(of: "descr"), let q = d.first, q == "'" || q == "\"",
              let end = d.dropFirst().firstIndex(of: q) else { throw fail("malformed .npy header: no 'descr'") }
        let descr = String(d[d.index(after: d.startIndex)..<end])
        guard let f = value(of: "fortran_order") else { throw fail("malformed .npy header: no 'fortran_order'") }
        let fortran: Bool
        if f.hasPrefix("True") { fortran = true } else if f.hasPrefix("False") { fortran = false } else {
            throw fail("malformed .npy header: bad 'fortran_order'")
        }
        guard let s = value(of: "shape"), s.first == "(", let close = s.firstIndex(of: ")") else {
            throw fail("malformed .npy header: no 'shape'")
        }
        var shape: [Int] = []
        for part in s[s.index(after: s.startIndex)..<close].split(separator: ",") {
            let t = part.trimmingCharacters(in: .whitespaces)
            if t.isEmpty { continue }
            guard let v = Int(t.hasSuffix("L") ? String(t.dropLast()) : t), v >= 0 else {
                throw fail("malformed .npy header: bad shape entry \(quoted(t))")
            }
            shape.append(v)
            guard shape.count <= 64 else { throw fail("malformed .npy header: more than 64 dimensions") }
        }
        return Header(descr: descr, fortranOrder: fortran, shape: shape)
    }

    /// Column-major (first index fastest) → row-major (last index fastest).
    static func fortranToC(_ v: [Double], shape: [Int]) -> [Double] {
        let dims = shape.count
        var out = [Double](repeating: 0, count: v.count)
        var idx = [Int](repeating: 0, count: dims)
        // Walk the Fortran-order data in its own order, computing each element's row-major position.
        var cStrides = [Int](repeating: 1, count: dims)
        for d in stride(from: dims - 2, through: 0, by: -1) { cStrides[d] = cStrides[d + 1] * shape[d + 1] }
        for i in 0..<v.count {
            var pos = 0
            for d in 0..<dims { pos += idx[d] * cStrides[d] }
            out[pos] = v[i]
            for d in 0..<dims {
                idx[d] += 1
                if idx[d] < shape[d] { break }
                idx[d] = 0
            }
        }
        return out
    }
}

/// `.npz` archives: name → array (names without the ".npy" suffix, in archive order).
public enum Npz {
    /// What an archive holds: the arrays that were read, and the names of every `.npy` member.
    public struct Contents {
        public var arrays: [(name: String, array: NpyArray)]
        public var names: [String]
    }

    /// Reads every `.npy` member. `source` names the file in errors.
    public static func parse(_ data: Data, source: String) throws -> [(name: String, array: NpyArray)] {
        try read(data, source: source).arrays
    }

    /// Reads the `.npy` members whose name `wanted` accepts (the others are listed, not decompressed).
    /// Refuses, naming the array: duplicate names, a CRC32 that does not match the data, a declared shape
    /// whose size overflows or exceeds the memory budget (checked before anything is allocated).
    ///
    /// The bytes are read through a file descriptor, because ZIPFoundation's in-memory archive traps on central
    /// directories that point past the end of the data (found by the fuzz target) and its file-backed archive
    /// reports them. The file is an anonymous memory file (`memfd_create`): the bytes never reach a disk or a
    /// folder (the explorer's uploads rely on that), and it vanishes with its descriptor.
    public static func read(_ data: Data, source: String, wanted: (String) -> Bool = { _ in true }) throws -> Contents {
        let fd = gradlab_memfd_create("gradlab-npz")
        guard fd >= 0 else {
            throw GradLabError.cannotCreate("cannot make an in-memory file for \(source) (memfd_create: \(String(cString: strerror(errno))))")
        }
        defer { close(fd) }
        var offset = 0
        let ok = data.withUnsafeBytes { buf -> Bool in
            while offset < buf.count {
                let n = Glibc.write(fd, buf.baseAddress! + offset, buf.count - offset)
                if n <= 0 { return false }
                offset += n
            }
            return true
        }
        guard ok else { throw GradLabError.cannotCreate("cannot hold \(source) in memory (\(Budget.bytesText(Double(data.count))))") }
        return try read(url: URL(fileURLWithPath: "/proc/self/fd/\(fd)"), source: source, wanted: wanted)
    }

    /// `read(_:source:wanted:)` for a file on disk (what the CLI uses).
    public static func read(url: URL, source: String, wanted: (String) -> Bool = { _ in true }) throws -> Contents {
        let archive: Archive
        do {
            archive = try Archive(url: url, accessMode: .read)
        } catch {
            throw GradLabError.data("\(source): not a readable .npz (zip) archive: truncated or corrupt")
        }
        let budget = try Budget.active()
        let size = ((try? FileManager.default.attributesOfItem(atPath: url.path))?[.size] as? NSNumber)?.doubleValue ?? 0
        var committed = CostEstimate([.init("the file itself", bytes: size, advice: "use a smaller file")])
        var out: [(String, NpyArray)] = []
        var names: [String] = []
        var seen = Set<String>()
        for entry in archive where entry.type == .file {
            let path = entry.path
            guard path.hasSuffix(".npy") else { continue }
            let name = String(path.dropLast(4))
            guard seen.insert(name).inserted else {
                throw GradLabError.data("\(source): array \(quoted(name)) appears twice in the archive")
            }
            names.append(name)
            guard wanted(name) else { continue }
            let label = "\(source): \(name)"
            var reader = Npy.Reader(source: label) { d in
                let cost = CostModel.npyArray(name: name, elements: Double(d.count), itemSize: d.itemSize, fortran: d.fortranOrder)
                do { try budget.check(committed + cost, origin: .file(source)) } catch {
                    throw GradLabError.data("\(source): array \(quoted(name)) declares shape \(Npy.shapeText(d.shape)) (\(Budget.bytesText(cost.bytes)) once read), over the memory limit of \(Budget.bytesText(budget.maxBytes)); GRADLAB_MAX_MEMORY sets it")
                }
                committed += cost
            }
            let crc: CRC32
            do {
                crc = try archive.extract(entry, skipCRC32: false) { try reader.feed($0) }
            } catch let e as GradLabError {
                throw e
            } catch {
                throw GradLabError.data("\(source): array \(quoted(name)) cannot be read (truncated or corrupt archive)")
            }
            guard crc == entry.checksum else {
                throw GradLabError.data("\(source): array \(quoted(name)) is corrupt (its CRC32 does not match the data)")
            }
            out.append((name, try reader.finish()))
        }
        guard !names.isEmpty else { throw GradLabError.data("\(source): the archive holds no .npy arrays") }
        return Contents(arrays: out, names: names)
    }

    public static func load(_ given: String) throws -> [(name: String, array: NpyArray)] {
        let path = OutputFile.source(given)
        guard FileManager.default.fileExists(atPath: path) else { throw GradLabError.noInput("file \(given) does not exist") }
        guard FileManager.default.isReadableFile(atPath: path) else { throw GradLabError.noInput("cannot read \(given)") }
        return try read(url: URL(fileURLWithPath: path), source: given).arrays
    }

    /// The bytes of an input file, its size checked against the budget first.
    public static func readFile(_ given: String) throws -> Data {
        let path = OutputFile.source(given)
        guard FileManager.default.fileExists(atPath: path) else { throw GradLabError.noInput("file \(given) does not exist") }
        if let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber {
            try Budget.active().check(CostEstimate([.init("the file itself", bytes: size.doubleValue, advice: "use a smaller file")]),
                                      origin: .file(given))
        }
        guard let data = FileManager.default.contents(atPath: path) else { throw GradLabError.noInput("cannot read \(given)") }
        return data
    }
}
