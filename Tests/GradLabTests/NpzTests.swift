import Foundation
import XCTest
import GradLab
import Linear

/// Fixtures written by NumPy (Tests/GradLabTests/Fixtures/make_fixtures.py), found next to this file.
enum Fixtures {
    static let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
    static func path(_ name: String) -> String { dir.appendingPathComponent(name).path }
}

final class NpzTests: XCTestCase {
    /// A .npy image built by hand: header dict padded to a multiple of 64 bytes.
    func npy(_ header: String, version: UInt8 = 1, payload: [UInt8]) -> Data {
        var h = Array(header.utf8)
        let pre = version == 1 ? 10 : 12
        while (pre + h.count + 1) % 64 != 0 { h.append(0x20) }
        h.append(0x0A)
        var d: [UInt8] = [0x93] + Array("NUMPY".utf8) + [version, 0]
        if version == 1 { d += [UInt8(h.count & 0xFF), UInt8(h.count >> 8)] } else {
            d += [UInt8(h.count & 0xFF), UInt8((h.count >> 8) & 0xFF), 0, 0]
        }
        return Data(d + h + payload)
    }

    func bytes(_ v: [Double]) -> [UInt8] { v.flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian, Array.init) } }

    func testNpyVersionsOrdersAndDtypes() throws {
        let v = [1.0, 2, 3, 4, 5, 6]
        let c = try Npy.parse(npy("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }", payload: bytes(v)), source: "c")
        XCTAssertEqual(c.shape, [2, 3]); XCTAssertEqual(c.values, v)
        // Fortran order: columns first, so the same logical matrix [[1,2,3],[4,5,6]] is stored 1,4,2,5,3,6.
        let f = try Npy.parse(npy("{'descr': '<f8', 'fortran_order': True, 'shape': (2, 3), }", version: 2,
                                  payload: bytes([1, 4, 2, 5, 3, 6])), source: "f")
        XCTAssertEqual(f.values, v)
        let f3 = try Npy.parse(npy("{'descr': '<f8', 'fortran_order': True, 'shape': (2, 2, 2), }", version: 3,
                                   payload: bytes([0, 4, 2, 6, 1, 5, 3, 7])), source: "f3")
        XCTAssertEqual(f3.values, [0, 1, 2, 3, 4, 5, 6, 7])
        let be = try Npy.parse(npy("{'descr': '>f8', 'fortran_order': False, 'shape': (2,), }",
                                   payload: [1.5, -2.0].flatMap { withUnsafeBytes(of: $0.bitPattern.bigEndian, Array.init) }), source: "be")
        XCTAssertEqual(be.values, [1.5, -2])
        let f4 = try Npy.parse(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }",
                                   payload: [Float(0.1), 2, -3].flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian, Array.init) }), source: "f4")
        XCTAssertEqual(f4.values, [Double(Float(0.1)), 2, -3])
        let scalar = try Npy.parse(npy("{'descr': '<f8', 'fortran_order': False, 'shape': (), }", payload: bytes([7])), source: "s")
        XCTAssertEqual(scalar.values, [7])
    }

    func testNpyErrorsAreOneLineAndNameTheArray() {
        func message(_ d: Data) -> String {
            do { _ = try Npy.parse(d, source: "m.npz: w"); return "" } catch { return "\(error)" }
        }
        XCTAssertTrue(message(Data("hello".utf8)).contains("m.npz: w: not a .npy array"))
        XCTAssertTrue(message(npy("{'descr': '<i8', 'fortran_order': False, 'shape': (1,), }", payload: bytes([1]))).contains("unsupported dtype '<i8'"))
        XCTAssertTrue(message(npy("{'descr': '<f8', 'fortran_order': False, 'shape': (4,), }", payload: bytes([1, 2]))).contains("truncated array data"))
        XCTAssertTrue(message(npy("{'descr': '<f8', 'shape': (4,), }", payload: [])).contains("fortran_order"))
        XCTAssertTrue(message(Data(npy("{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }", payload: bytes([1])).prefix(30))).contains("truncated .npy header"))
    }

    func testNumPyWrittenArchivesLoad() throws {
        let rnn = try Npz.load(Fixtures.path("rnn_tanh.npz"))
        XCTAssertEqual(Set(rnn.map(\.name)), ["inputs", "weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"])
        XCTAssertEqual(rnn.first { $0.name == "weight_hh_l0" }!.array.shape, [6, 6])
        // Compressed (deflate), float32, Fortran order: values agree with the JSON written from the same arrays.
        let lstm = try Npz.load(Fixtures.path("lstm2_f4.npz"))
        let w = lstm.first { $0.name == "weight_ih_l0" }!.array
        XCTAssertEqual(w.shape, [20, 3]); XCTAssertEqual(w.dtype, "<f4")
        // (ModelFile parses with JSONDecoder, which reads doubles exactly; Linux's JSONSerialization does not.)
        XCTAssertEqual(w.matrix!, try ModelFile.load(Fixtures.path("lstm2_layer0.json")).parameters.weightIH)
        let be = try Npz.load(Fixtures.path("gru_be.npz"))
        XCTAssertEqual(be.first!.array.dtype, ">f8")
    }

    func testBrokenArchivesGiveClearErrors() throws {
        func message(_ d: Data) -> String {
            do { _ = try Npz.parse(d, source: "x.npz"); return "" } catch let e as GradLabError { XCTAssertEqual(e.exitCode, 65); return "\(e)" } catch { return "other \(error)" }
        }
        let good = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("rnn_tanh.npz")))
        XCTAssertEqual(message(good.prefix(good.count / 2)), "x.npz: not a readable .npz (zip) archive: truncated or corrupt")
        XCTAssertEqual(message(good.prefix(10)), "x.npz: not a readable .npz (zip) archive: truncated or corrupt")
        XCTAssertEqual(message(Data("not a zip".utf8)), "x.npz: not a readable .npz (zip) archive: truncated or corrupt")
        let cut = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("truncated_array.npz")))
        XCTAssertTrue(message(cut).hasPrefix("x.npz: weight_hh_l0: truncated array data"), message(cut))
        XCTAssertTrue(message(try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("bad_dtype.npz")))).contains("weight_ih_l0: unsupported dtype '<i8'"))
    }
}
