import Foundation
import XCTest
import Dynamics
import Linear

/// Random stacks (`RandomModels.makeStack`, what `curves --layers` and `heatmap --layers` analyse): their layout,
/// and the gradient through depth and time against finite differences of a full forward run.
final class StackedRandomTests: XCTestCase {
    func testLayerZeroIsTheOneLayerModelAndUpperLayersReadTheLayerBelow() throws {
        for kind in [CellKind.tanh, .lstm, .gru, .irnn] {
            let spec = RandomModelSpec(kind: kind, hidden: 6, input: 3, steps: 10, gain: 1.1, seed: 5)
            let stack = RandomModels.makeStack(spec, layers: 3)
            let single = RandomModels.make(spec)
            XCTAssertEqual(stack.layers[0], single.parameters)
            XCTAssertEqual(stack.inputs, single.inputs)
            XCTAssertNoThrow(try stack.validate())
            for l in 1..<3 {
                XCTAssertEqual(stack.layers[l].inputSize, 6)
                XCTAssertEqual(stack.layers[l].weightIH.rows, kind.gateCount * 6)
                XCTAssertEqual(stack.layers[l].weightIH.cols, 6)
                // Each layer draws its own weights (the IRNN's W_hh is g·I in every layer by its recipe).
                if kind != .irnn { XCTAssertNotEqual(stack.layers[l].weightHH, stack.layers[l - 1].weightHH) }
                if l > 1 { XCTAssertNotEqual(stack.layers[l].weightIH, stack.layers[l - 1].weightIH) }
            }
            XCTAssertEqual(RandomModels.makeStack(spec, layers: 3), stack, "same seed, same stack")
            XCTAssertEqual(RandomModels.makeStack(spec, layers: 1).layers, [single.parameters])
        }
        XCTAssertFalse(RandomModels.stackable(.leaky))
        XCTAssertFalse(RandomModels.stackable(.skip))
    }

    /// Every block ∂h^{(L)}_t/∂h^{(l)}_k of the depth × time sweep, as a matrix, against central differences.
    func testStackedJacobiansMatchFiniteDifferences() throws {
        var worst = 0.0, compared = 0
        for kind in [CellKind.tanh, .sigmoid, .relu, .linear, .lstm, .gru] {
            var stack = RandomModels.makeStack(RandomModelSpec(kind: kind, hidden: 5, input: 3, steps: 7, gain: 1.2, seed: 3), layers: 3)
            // Non-zero biases, so every term of every layer's Jacobians is exercised.
            var rng = SeededRNG(seed: 77)
            for l in 0..<3 {
                stack.layers[l].biasIH = rng.gaussians(stack.layers[l].biasIH.count, std: 0.3)
                stack.layers[l].biasHH = rng.gaussians(stack.layers[l].biasHH.count, std: 0.3)
            }
            let run = try StackedTrajectory(model: stack)
            let t = 7
            var blocks: [String: Matrix] = [:]
            _ = MultilayerProducts.grid(run, observe: { lag, l, b in blocks["\(lag),\(l)"] = b })
            for l in 0..<3 {
                for k in 0...t {
                    let eps = 1e-6
                    var fd = Matrix(rows: 5, cols: 5)
                    for c in 0..<5 {
                        var d = [Double](repeating: 0, count: 5)
                        d[c] = eps
                        let plus = try FiniteDifference.perturbedTop(stack, layer: l, step: k, delta: d, t: t)
                        d[c] = -eps
                        let minus = try FiniteDifference.perturbedTop(stack, layer: l, step: k, delta: d, t: t)
                        for r in 0..<5 { fd[r, c] = (plus[r] - minus[r]) / (2 * eps) }
                    }
                    guard let analytic = blocks["\(t - k),\(l)"] else { XCTFail("\(kind): no block for k=\(k) l=\(l)"); continue }
                    if fd.frobeniusNorm < 1e-3 {
                        // No path (layers above l at k = 0) or ReLUs switched off: the block must be (near) zero too.
                        XCTAssertLessThan(analytic.frobeniusNorm, 1e-3, "\(kind) l=\(l) k=\(k)")
                        continue
                    }
                    let rel = (analytic - fd).frobeniusNorm / analytic.frobeniusNorm
                    worst = max(worst, rel)
                    compared += 1
                    XCTAssertLessThan(rel, 1e-6, "\(kind) l=\(l) k=\(k): relative error \(rel)")
                }
            }
        }
        XCTAssertGreaterThan(compared, 100)
        print("stacked ∂h^top_t/∂h^l_k vs central differences: \(compared) blocks, worst relative error \(worst)")
    }

    /// The grid's norms are those of the observed blocks (the hook reports what the grid measures).
    func testObservedBlocksAreTheGridsNorms() throws {
        let stack = RandomModels.makeStack(RandomModelSpec(kind: .tanh, hidden: 6, input: 2, steps: 30, gain: 1.5, seed: 1), layers: 2)
        let run = try StackedTrajectory(model: stack)
        var blocks: [String: Matrix] = [:]
        let grid = MultilayerProducts.grid(run, observe: { lag, l, b in blocks["\(lag),\(l)"] = b })
        for l in 0..<2 { for lag in 0...30 {
            let b = blocks["\(lag),\(l)"]!
            XCTAssertEqual(grid.log10Frobenius[l][lag], log10(b.frobeniusNorm), accuracy: 1e-12)
            XCTAssertEqual(grid.log10Spectral[l][lag], log10(b.spectralNorm), accuracy: 1e-9)
        } }
    }
}
