import Dynamics
import Linear
import XCTest

/// Training a stack of recurrent layers: the gradient of every parameter of every layer against central
/// differences of the loss, for every trainable cell, two and three layers, both losses, many-to-one and
/// many-to-many; one layer is `RNN`/`BPTT` bit for bit; the forward states are the analysis side's.
final class StackedBPTTTests: XCTestCase {
    let kinds: [CellKind] = [.sigmoid, .tanh, .relu, .linear, .irnn, .lstm, .gru, .leaky]
    let b = 2, d = 2, n = 3, steps = 5

    /// A stack away from its initialisation (so no gradient is special: the IRNN's W_hh = I, zero biases).
    func stack(_ kind: CellKind, layers: Int, output m: Int, seed: UInt64 = 5) -> StackedRNN {
        var net = StackedRNN.initialized(kind: kind, input: d, hidden: n, output: m, layers: layers, seed: seed)
        var rng = SeededRNG(seed: 77 + UInt64(layers))
        var flat = net.flat
        for i in flat.indices { flat[i] += 0.3 * rng.gaussian() }
        net.setFlat(flat)
        return net
    }

    func batch(loss: LossKind, output m: Int, lossSteps: [Int], seed: UInt64 = 9) -> SequenceBatch {
        var rng = SeededRNG(seed: seed)
        let inputs = (0..<steps).map { _ in Matrix(rows: b, cols: d, data: rng.gaussians(b * d)) }
        switch loss {
        case .mse:
            return SequenceBatch(inputs: inputs, lossSteps: lossSteps,
                                 targets: .values(lossSteps.map { _ in Matrix(rows: b, cols: m, data: rng.gaussians(b * m)) }))
        case .crossEntropy:
            return SequenceBatch(inputs: inputs, lossSteps: lossSteps,
                                 targets: .classes(lossSteps.map { _ in (0..<b).map { _ in Int(rng.next() % UInt64(m)) } }))
        }
    }

    func relativeError(_ a: ArraySlice<Double>, _ b: ArraySlice<Double>) -> Double {
        Vector.norm(zip(a, b).map { $0 - $1 }) / max(Vector.norm(Array(a)), Vector.norm(Array(b)), 1e-300)
    }

    func testEveryLayerMatchesCentralDifferences() {
        var worst = 0.0
        for kind in kinds {
            for layers in [2, 3] {
                for loss in [LossKind.mse, .crossEntropy] {
                    for lossSteps in [[steps], [2, 4, 5]] {
                        let m = loss == .mse ? 2 : 3
                        let net = stack(kind, layers: layers, output: m)
                        let data = batch(loss: loss, output: m, lossSteps: lossSteps)
                        let r = StackedBPTT.gradient(net, data)
                        XCTAssertEqual(r.loss, StackedBPTT.loss(net, data))
                        let analytic = r.gradient.flat
                        XCTAssertEqual(analytic.count, net.parameterCount)
                        let theta = net.flat, eps = 1e-6
                        let fd = theta.indices.map { i -> Double in
                            var a = net, t = theta
                            t[i] = theta[i] + eps; a.setFlat(t)
                            let up = StackedBPTT.loss(a, data)
                            t[i] = theta[i] - eps; a.setFlat(t)
                            return (up - StackedBPTT.loss(a, data)) / (2 * eps)
                        }
                        let what = "\(kind), \(layers) layers, \(loss.rawValue), loss steps \(lossSteps)"
                        // Per block: each layer's cell, then the readout; a wrong lower layer cannot hide.
                        var o = 0
                        for l in 0..<layers {
                            let c = net.layerParameterCount(l)
                            let e = relativeError(analytic[o..<(o + c)], fd[o..<(o + c)])
                            XCTAssertLessThan(e, 1e-6, "\(what): layer \(l), relative error \(e)")
                            XCTAssertGreaterThan(Vector.norm(Array(analytic[o..<(o + c)])), 1e-4, "\(what): layer \(l) gradient is trivial")
                            worst = max(worst, e)
                            o += c
                        }
                        let e = relativeError(analytic[o...], fd[o...])
                        XCTAssertLessThan(e, 1e-6, "\(what): readout, relative error \(e)")
                        let all = relativeError(analytic[...], fd[...])
                        XCTAssertLessThan(all, 1e-6, "\(what): all parameters, relative error \(all)")
                        worst = max(worst, e, all)
                    }
                }
            }
        }
        print("StackedBPTTTests: worst relative error over every cell, depth, loss and block: \(worst)")
    }

    /// A deliberately wrong lower layer must be caught: dropping the signal into layer 0 breaks its block.
    func testCheckCatchesAMissingSignal() {
        let net = stack(.tanh, layers: 2, output: 2)
        let data = batch(loss: .mse, output: 2, lossSteps: [steps])
        let fp = StackedForwardPass(net: net, batch: data)
        // Layer 0 with no outside signal has a zero gradient; the true one is not zero.
        let silent = BPTT.backward(fp.passes[0])
        XCTAssertEqual(LayerGradient(silent.gradient).flat.allSatisfy { $0 == 0 }, true)
        let r = StackedBPTT.backward(fp)
        XCTAssertGreaterThan(Vector.norm(r.gradient.layers[0].flat), 1e-3)
        XCTAssertEqual(r.gradient.recurrentNorms.count, 2)
        XCTAssertEqual(r.gradient.recurrentNorms[0], DetLinear.frobeniusNorm(r.gradient.layers[0].weightHH))
    }

    func testOneLayerIsTheRNNBitForBit() {
        for kind in kinds {
            for loss in [LossKind.mse, .crossEntropy] {
                let m = loss == .mse ? 2 : 3
                let rnn = RNN.initialized(kind: kind, input: d, hidden: n, output: m, seed: 42)
                let s = StackedRNN.initialized(kind: kind, input: d, hidden: n, output: m, layers: 1, seed: 42)
                XCTAssertEqual(s, StackedRNN(rnn), "\(kind): one-layer initialisation")
                XCTAssertEqual(s.flat, rnn.flat)
                XCTAssertEqual(s.parameterCount, rnn.parameterCount)
                let data = batch(loss: loss, output: m, lossSteps: [1, 3, 5])
                let a = BPTT.gradient(rnn, data), c = StackedBPTT.gradient(s, data)
                XCTAssertEqual(a.loss.bitPattern, c.loss.bitPattern, "\(kind) \(loss.rawValue): loss")
                XCTAssertEqual(a.gradient.flat.map(\.bitPattern), c.gradient.flat.map(\.bitPattern), "\(kind) \(loss.rawValue): gradient")
                XCTAssertEqual(a.gradient.norm.bitPattern, c.gradient.norm.bitPattern)
                let lags = BPTT.gradient(rnn, data, options: BPTTOptions(recordLagContributions: true)).lagContributions!
                XCTAssertEqual(StackedBPTT.gradient(s, data, recordTopLagContributions: true).topLagContributions!, lags)
            }
        }
    }

    func testInitialisationIsSeededAndLayersDiffer() {
        let a = StackedRNN.initialized(kind: .lstm, input: 2, hidden: 4, output: 1, layers: 3, seed: 1)
        XCTAssertEqual(a, StackedRNN.initialized(kind: .lstm, input: 2, hidden: 4, output: 1, layers: 3, seed: 1))
        XCTAssertNotEqual(a, StackedRNN.initialized(kind: .lstm, input: 2, hidden: 4, output: 1, layers: 3, seed: 2))
        XCTAssertEqual(a.layers[1].inputSize, 4)
        XCTAssertNotEqual(a.layers[1].weightHH, a.layers[2].weightHH)
        // Layer 0 and the readout are the one-layer network's; deeper stacks only add layers on top.
        let two = StackedRNN.initialized(kind: .lstm, input: 2, hidden: 4, output: 1, layers: 2, seed: 1)
        XCTAssertEqual(two.layers, Array(a.layers.prefix(2)))
        XCTAssertEqual(two.readout, a.readout)
        // Forget-gate bias +1 in every layer.
        XCTAssertGreaterThan(a.layers[2].biasIH[4..<8].reduce(0, +), 2)
    }

    /// The forward states are the analysis side's (`StackedTrajectory`, libm) for the same weights.
    func testForwardStatesMatchMultilayerTrajectory() throws {
        for kind in kinds {
            let net = stack(kind, layers: 3, output: 2)
            let data = batch(loss: .mse, output: 2, lossSteps: [steps])
            let fp = StackedForwardPass(net: net, batch: data)
            for r in 0..<b {
                let inputs = data.inputs.map { Array($0.data[(r * d)..<((r + 1) * d)]) }
                let run = try StackedTrajectory(model: net.stackedModel(inputs: inputs))
                XCTAssertEqual(run.steps, steps)
                var worst = 0.0
                for l in 0..<3 {
                    for t in 0...steps {
                        let h = run.hidden(layer: l, at: t), mine = Array(fp.passes[l].h[t].data[(r * n)..<((r + 1) * n)])
                        worst = max(worst, zip(h, mine).map { abs($0 - $1) }.max()!)
                    }
                }
                XCTAssertLessThan(worst, 1e-12, "\(kind), sample \(r): stack vs multilayer trajectory")
            }
        }
    }
}
