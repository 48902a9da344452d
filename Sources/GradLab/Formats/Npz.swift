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
public enum Npy {
    static let magic: [UInt8] = [0x93] + Array("NUMPY".utf8)

    /// Parses one `.npy` image. `source` names it in errors (e.g. "model.npz: weight_hh_l0").
    public static func parse(_ data: Data, source: String) throws -> NpyArray {
        let bytes = [UInt8](data)
        func fail(_ s: String) -> GradLabError { GradLabError.data("\(source): \(s)") }
        guard bytes.count >= 10, Array(bytes[0..<6]) == magic else { throw fail("not a .npy array (bad magic bytes)") }
        let major = bytes[6]
        let headerStart: Int, headerLength: Int
        switch major {
        case 1:
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
            headerStart = 10
        case 2, 3:
            guard bytes.count >= 12 else { throw fail("truncated .npy header") }
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8 | Int(bytes[10]) << 16 | Int(bytes[11]) << 24
            headerStart = 12
        default:
            throw fail("unsupported .npy format version \(major).\(bytes[7])")
        }
        guard headerStart + headerLength <= bytes.count else { throw fail("truncated .npy header") }
        // v1/v2 headers are latin-1, v3 UTF-8; the keys and values we read are ASCII either way.
        let header = String(decoding: bytes[headerStart..<(headerStart + headerLength)], as: UTF8.self)
        let dict = try parseHeader(header, fail: fail)

        let (littleEndian, size) = try dtype(dict.descr, fail: fail)
        let count = dict.shape.reduce(1, *)
        let offset = headerStart + headerLength
        let needed = count * size
        guard bytes.count - offset >= needed else {
            throw fail("truncated array data: shape \(shapeText(dict.shape)) needs \(needed) bytes, file has \(bytes.count - offset)")
        }
        var values = [Double](repeating: 0, count: count)
        bytes.withUnsafeBufferPointer { buf in
            let base = buf.baseAddress! + offset
            for i in 0..<count {
                let p = base + i * size
                if size == 8 {
                    var u: UInt64 = 0
                    for b in 0..<8 { u |= UInt64(p[b]) << (8 * UInt64(b)) }
                    values[i] = Double(bitPattern: littleEndian ? u : u.byteSwapped)
                } else {
                    var u: UInt32 = 0
                    for b in 0..<4 { u |= UInt32(p[b]) << (8 * UInt32(b)) }
                    values[i] = Double(Float(bitPattern: littleEndian ? u : u.byteSwapped))
                }
            }
        }
        if dict.fortranOrder && dict.shape.count > 1 { values = fortranToC(values, shape: dict.shape) }
        return NpyArray(shape: dict.shape, values: values, dtype: dict.descr)
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
                throw fail("malformed .npy header: bad shape entry '\(t)'")
            }
            shape.append(v)
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
    /// Reads every `.npy` member. `source` names the file in errors.
    public static func parse(_ data: Data, source: String) throws -> [(name: String, array: NpyArray)] {
        let archive: Archive
        do {
            archive = try Archive(data: data, accessMode: .read)
        } catch {
            throw GradLabError.data("\(source): not a readable .npz (zip) archive: truncated or corrupt")
        }
        var out: [(String, NpyArray)] = []
        for entry in archive where entry.type == .file {
            let path = entry.path
            guard path.hasSuffix(".npy") else { continue }
            let name = String(path.dropLast(4))
            var bytes = Data()
            do {
                _ = try archive.extract(entry, skipCRC32: false) { bytes.append($0) }
            } catch {
                throw GradLabError.data("\(source): array '\(name)' cannot be read (truncated or corrupt archive)")
            }
            out.append((name, try Npy.parse(bytes, source: "\(source): \(name)")))
        }
        guard !out.isEmpty else { throw GradLabError.data("\(source): the archive holds no .npy arrays") }
        return out
    }

    public static func load(_ given: String) throws -> [(name: String, array: NpyArray)] {
        let path = OutputFile.source(given)
        guard FileManager.default.fileExists(atPath: path) else { throw GradLabError.noInput("file \(given) does not exist") }
        guard let data = FileManager.default.contents(atPath: path) else { throw GradLabError.noInput("cannot read \(given)") }
        return try parse(data, source: given)
    }
}
