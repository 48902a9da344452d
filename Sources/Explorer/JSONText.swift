import Foundation

/// A JSON value written straight to bytes, keys in the order given. The view replies carry a whole SVG
/// and thousands of numbers: Foundation's JSONSerialization spent longer escaping them than gradlab spent
/// computing the curves.
public enum JSON {
    case string(String)
    case number(Double)
    case int(Int)
    case bool(Bool)
    case null
    case array([JSON])
    case object([(String, JSON)])

    /// A finite number, or null (NaN and ±∞ have no JSON spelling).
    public static func num(_ v: Double) -> JSON { v.isFinite ? .number(v) : .null }
    public static func strings(_ a: [String]) -> JSON { .array(a.map { .string($0) }) }
    public static func numbers(_ a: [Double]) -> JSON { .array(a.map(num)) }

    public var bytes: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(4096)
        write(into: &out)
        return out
    }

    public func write(into out: inout [UInt8]) {
        switch self {
        case .string(let s): JSON.writeString(s, into: &out)
        case .number(let v):
            // Swift's description is the shortest text that reads back to the same Double ("0.85", "1e-05").
            if v == v.rounded(), abs(v) < 1e15 { out.append(contentsOf: String(Int(v)).utf8) } else { out.append(contentsOf: v.description.utf8) }
        case .int(let i): out.append(contentsOf: String(i).utf8)
        case .bool(let b): out.append(contentsOf: (b ? "true" : "false").utf8)
        case .null: out.append(contentsOf: "null".utf8)
        case .array(let a):
            out.append(UInt8(ascii: "["))
            for (i, v) in a.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                v.write(into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let o):
            out.append(UInt8(ascii: "{"))
            for (i, (k, v)) in o.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                JSON.writeString(k, into: &out)
                out.append(UInt8(ascii: ":"))
                v.write(into: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    static let hex: [UInt8] = Array("0123456789abcdef".utf8)

    static func writeString(_ s: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        var s = s
        s.withUTF8 { buf in
            var start = 0
            for (i, c) in buf.enumerated() where c < 0x20 || c == UInt8(ascii: "\"") || c == UInt8(ascii: "\\") {
                out.append(contentsOf: buf[start..<i])
                switch c {
                case UInt8(ascii: "\""): out.append(contentsOf: "\\\"".utf8)
                case UInt8(ascii: "\\"): out.append(contentsOf: "\\\\".utf8)
                case 0x0A: out.append(contentsOf: "\\n".utf8)
                case 0x0D: out.append(contentsOf: "\\r".utf8)
                case 0x09: out.append(contentsOf: "\\t".utf8)
                default: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "u"), 0x30, 0x30, hex[Int(c >> 4)], hex[Int(c & 15)]])
                }
                start = i + 1
            }
            out.append(contentsOf: buf[start...])
        }
        out.append(UInt8(ascii: "\""))
    }
}
