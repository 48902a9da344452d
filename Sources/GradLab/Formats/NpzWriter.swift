import Foundation
import Dynamics
import Linear

/// Writes `.npz` archives NumPy and `gradlab import` read: a zip of stored (uncompressed) `.npy` members,
/// little-endian float64 ('<f8', C order), so every Double goes to the file and comes back bit for bit.
/// The archive carries no time stamps: the same arrays give the same bytes.
public enum NpzWriter {
    /// A PyTorch state_dict of a stack (`weight_ih_l0`, `weight_hh_l0`, `bias_ih_l0`, `bias_hh_l0`, `_l1`, …, as
    /// `nn.RNN`/`nn.LSTM`/`nn.GRU` with `num_layers` name them) plus the input sequence as `inputs` (T × d), which
    /// `gradlab import` uses to drive the stack instead of Gaussian inputs. The stack's initial states must be zero
    /// (a state_dict has none, and import starts from zero).
    public static func stateDict(_ m: StackedModel) throws -> Data {
        guard m.initialStates.allSatisfy({ $0.allSatisfy { $0 == 0 } }) else {
            throw GradLabError.usage("a PyTorch state_dict holds no initial states: only stacks that start from zero can be saved as .npz")
        }
        guard m.layers.allSatisfy({ $0.form == .fOfSum && $0.alpha == nil && $0.skipWeight == nil }) else {
            throw GradLabError.usage("only PyTorch's layout (f-of-sum vanilla, LSTM, GRU layers) can be saved as a state_dict")
        }
        var arrays: [(String, [Int], [Double])] = []
        for (l, p) in m.layers.enumerated() {
            arrays.append(("weight_ih_l\(l)", [p.weightIH.rows, p.weightIH.cols], p.weightIH.data))
            arrays.append(("weight_hh_l\(l)", [p.weightHH.rows, p.weightHH.cols], p.weightHH.data))
            arrays.append(("bias_ih_l\(l)", [p.biasIH.count], p.biasIH))
            arrays.append(("bias_hh_l\(l)", [p.biasHH.count], p.biasHH))
        }
        let d = m.layers[0].inputSize
        let total = arrays.reduce(0.0) { $0 + Double($1.2.count) } + Double(m.inputs.count * d)
        guard total * 8 < 4e9 else { throw GradLabError.usage("the stack and its inputs need more than 4 GB: too large for a .npz without zip64") }
        arrays.append(("inputs", [m.inputs.count, d], m.inputs.flatMap { $0 }))
        return archive(arrays.map { ($0.0 + ".npy", npy(shape: $0.1, values: $0.2)) })
    }

    /// One `.npy` file (format 1.0): the header padded to a multiple of 64 bytes, then the values.
    public static func npy(shape: [Int], values: [Double]) -> [UInt8] {
        let dims = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
        var header = "{'descr': '<f8', 'fortran_order': False, 'shape': \(dims), }"
        let unpadded = 10 + header.utf8.count + 1
        header += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
        var out: [UInt8] = [0x93] + Array("NUMPY".utf8) + [1, 0]
        appendLE(&out, UInt16(header.utf8.count))
        out += Array(header.utf8)
        out.reserveCapacity(out.count + 8 * values.count)
        for v in values { appendLE(&out, v.bitPattern) }
        return out
    }

    /// A zip archive of stored members (no compression, no time stamps, no zip64: members below 4 GiB).
    static func archive(_ members: [(name: String, bytes: [UInt8])]) -> Data {
        var out: [UInt8] = [], central: [UInt8] = []
        for (name, bytes) in members {
            let offset = UInt32(out.count), crc = crc32(bytes), size = UInt32(bytes.count), nameBytes = Array(name.utf8)
            appendLE(&out, UInt32(0x0403_4B50))
            for v: UInt16 in [20, 0, 0, 0, 0x21] { appendLE(&out, v) }       // version, flags, stored, time, date 1980-01-01
            appendLE(&out, crc); appendLE(&out, size); appendLE(&out, size)
            appendLE(&out, UInt16(nameBytes.count)); appendLE(&out, UInt16(0))
            out += nameBytes
            out += bytes
            appendLE(&central, UInt32(0x0201_4B50))
            for v: UInt16 in [20, 20, 0, 0, 0, 0x21] { appendLE(&central, v) }
            appendLE(&central, crc); appendLE(&central, size); appendLE(&central, size)
            for v: UInt16 in [UInt16(nameBytes.count), 0, 0, 0, 0] { appendLE(&central, v) }
            appendLE(&central, UInt32(0)); appendLE(&central, offset)
            central += nameBytes
        }
        let centralOffset = UInt32(out.count)
        out += central
        appendLE(&out, UInt32(0x0605_4B50))
        for v: UInt16 in [0, 0, UInt16(members.count), UInt16(members.count)] { appendLE(&out, v) }
        appendLE(&out, UInt32(central.count)); appendLE(&out, centralOffset); appendLE(&out, UInt16(0))
        return Data(out)
    }

    static func appendLE<T: FixedWidthInteger>(_ out: inout [UInt8], _ v: T) {
        withUnsafeBytes(of: v.littleEndian) { out += $0 }
    }

    static let crcTable: [UInt32] = (0..<256).map { i -> UInt32 in
        var c = UInt32(i)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    /// CRC-32 (IEEE, as zip uses it).
    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        for b in bytes { c = crcTable[Int((c ^ UInt32(b)) & 0xFF)] ^ (c >> 8) }
        return c ^ 0xFFFF_FFFF
    }
}
