import Foundation
import XCTest
import Dynamics
import GradLab
import Linear

/// `curves --layers`: random stacks, saved as a PyTorch state_dict .npz and read back by `import`.
final class DepthTests: XCTestCase {
    func options(_ kind: CellKind, layers: Int, steps: Int = 120, gain: Double = 1.3) -> CurvesOptions {
        var o = CurvesOptions()
        o.cells = [kind]; o.hidden = 12; o.input = 4; o.steps = steps; o.gain = gain; o.seed = 4; o.layers = layers
        o.forgetBias = 0.5
        return o
    }

    /// The must-show: a random stack's curves and depth × lag grid equal, exactly, those of the same weights
    /// saved as .npz and re-imported (the file carries the inputs; every Double is written as '<f8').
    func testRandomStackGivesTheSameCurvesWhenSavedAndReimported() throws {
        for kind in [CellKind.tanh, .sigmoid, .relu, .linear, .lstm, .gru] {
            let o = options(kind, layers: 3)
            let (label, stack) = try DepthExperiment.stacks(o)[0]
            let report = try DepthExperiment.analyse(stack, label: label)
            let bytes = try NpzWriter.stateDict(stack)
            let imported = try WeightImport.load(bytes: [UInt8](bytes), name: "stack.npz", cell: kind.gateCount == 1 ? kind : nil,
                                                 drive: DriveOptions(steps: 7, seed: 99))
            XCTAssertEqual(imported.inputSource, "file")
            XCTAssertEqual(imported.model, stack, "\(kind): the weights and inputs read back are the ones written")
            let back = try ImportExperiment.run(imported, source: "stack.npz", exponents: 1)
            XCTAssertEqual(back.layers.count, 3)
            var largest = 0.0
            for l in 0..<3 {
                let a = report.layers[l].curves, b = back.layers[l].curves
                XCTAssertEqual(a.log10Spectral, b.log10Spectral, "\(kind) layer \(l)")
                XCTAssertEqual(a.log10Frobenius, b.log10Frobenius, "\(kind) layer \(l)")
                XCTAssertEqual(a.log10Bound, b.log10Bound, "\(kind) layer \(l)")
                XCTAssertEqual(a.log10TrajectoryBound, b.log10TrajectoryBound, "\(kind) layer \(l)")
                XCTAssertEqual(report.grid.log10Spectral[l], back.grid.log10Spectral[l], "\(kind) grid layer \(l)")
                XCTAssertEqual(report.grid.log10Frobenius[l], back.grid.log10Frobenius[l], "\(kind) grid layer \(l)")
                for (x, y) in zip(a.log10Spectral, b.log10Spectral) where x.isFinite { largest = max(largest, abs(x - y)) }
            }
            XCTAssertEqual(largest, 0)
            // Not a trivial comparison: the curves decay or grow, and the layers differ.
            XCTAssertNotEqual(report.layers[0].curves.log10Spectral, report.layers[1].curves.log10Spectral)
            XCTAssertGreaterThan(abs(report.layers[2].curves.log10Spectral[120]), 0.5, "\(kind)")
        }
    }

    func testLayerZeroOfAStackIsTheOneLayerCurve() throws {
        let o = options(.tanh, layers: 2)
        var one = o
        one.layers = 1
        let stack = try DepthExperiment.analyse(try DepthExperiment.stacks(o)[0].model, label: "tanh")
        let single = try CurvesExperiment.run(one)[0]
        XCTAssertEqual(stack.layers[0].curves.log10Spectral, single.curves.log10Spectral)
        XCTAssertEqual(stack.layers.map(\.label), ["tanh l0", "tanh l1"])
        // The top layer's own curve is the grid's top row.
        for lag in 0...120 { XCTAssertEqual(stack.grid.log10Frobenius[1][lag], stack.layers[1].curves.log10Frobenius[lag], accuracy: 1e-10) }
    }

    func testLongHorizonStackStaysFinite() throws {
        let o = options(.sigmoid, layers: 2, steps: 3000, gain: 1)
        let r = try DepthExperiment.analyse(try DepthExperiment.stacks(o)[0].model, label: "sigmoid", curves: false)
        // Far below 10^-308: renormalised, not underflowed to zero.
        XCTAssertTrue(r.grid.log10Spectral.allSatisfy { $0.allSatisfy(\.isFinite) })
        XCTAssertLessThan(r.grid.log10Spectral[0][3000], -400)
    }

    func testNpzWriterFilesAreWhatNumPyWrites() throws {
        let npy = NpzWriter.npy(shape: [2, 3], values: [1, -2, 0.1, .pi, 1e-300, 7])
        XCTAssertEqual(Array(npy.prefix(8)), [0x93] + Array("NUMPY".utf8) + [1, 0])
        let headerLength = Int(npy[8]) | Int(npy[9]) << 8
        XCTAssertEqual((10 + headerLength) % 64, 0)
        let header = String(decoding: npy[10..<(10 + headerLength)], as: UTF8.self)
        XCTAssertTrue(header.hasPrefix("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }"))
        XCTAssertTrue(header.hasSuffix("\n"))
        let arr = try Npy.parse(Data(npy), source: "x.npy")
        XCTAssertEqual(arr.shape, [2, 3])
        XCTAssertEqual(arr.values, [1, -2, 0.1, .pi, 1e-300, 7])
        // The same stack gives the same bytes (no time stamps).
        let stack = try DepthExperiment.stacks(options(.gru, layers: 2, steps: 5))[0].model
        XCTAssertEqual(try NpzWriter.stateDict(stack), try NpzWriter.stateDict(stack))
        let names = try Npz.parse(try NpzWriter.stateDict(stack), source: "s.npz").map(\.name)
        XCTAssertEqual(names, ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0",
                               "weight_ih_l1", "weight_hh_l1", "bias_ih_l1", "bias_hh_l1", "inputs"])
        var nonzero = stack
        nonzero.initialStates[0][0] = 1
        XCTAssertThrowsError(try NpzWriter.stateDict(nonzero))
    }

    func testStackOptionsAreValidatedAndBudgeted() throws {
        var o = options(.tanh, layers: 0)
        XCTAssertThrowsError(try o.validate()) { XCTAssertTrue("\($0)".contains("--layers must lie between 1 and 16")) }
        o.layers = 17
        XCTAssertThrowsError(try o.validate())
        o = options(.leaky, layers: 2)
        XCTAssertThrowsError(try o.validate()) { XCTAssertTrue("\($0)".contains("leaky")) }
        o = options(.tanh, layers: 2)
        o.form = .wOfF
        XCTAssertThrowsError(try o.validate()) { XCTAssertTrue("\($0)".contains("--form w-of-f takes one layer")) }
        o = options(.lstm, layers: 1)
        o.form = .wOfF
        XCTAssertThrowsError(try o.validate()) { XCTAssertTrue("\($0)".contains("not to lstm")) }
        // Cost grows with depth: each layer's curves plus the gradient through depth.
        let one = CostModel.stackedCurves(options(.lstm, layers: 1)), four = CostModel.stackedCurves(options(.lstm, layers: 4))
        XCTAssertEqual(one.operations, CostModel.curves(options(.lstm, layers: 1)).operations, accuracy: 1)
        XCTAssertGreaterThan(four.operations, 4 * one.operations)
        var big = options(.lstm, layers: 1)
        big.hidden = 256; big.steps = 20_000
        XCTAssertNoThrow(try Budget().check(CostModel.stackedCurves(big)))
        big.layers = 16
        XCTAssertThrowsError(try Budget().check(CostModel.stackedCurves(big))) { XCTAssertTrue("\($0)".contains("lower --layers, "), "\($0)") }
    }
}
