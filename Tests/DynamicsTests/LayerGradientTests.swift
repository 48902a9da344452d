import Dynamics
import Linear
import XCTest

/// The backward pass as a layer: outside signals in (from a layer above, from a decoder), gradients of the
/// inputs, of the initial state and of every state out. Each is checked against central differences of
/// the functional L + Σ_t ⟨S_t, h_t⟩ + ⟨F_h, h_T⟩ + ⟨F_c, c_T⟩, the loss a layer sees inside a larger network.
final class LayerGradientTests: XCTestCase {
    let kinds: [CellKind] = [.sigmoid, .tanh, .relu, .linear, .irnn, .lstm, .gru, .leaky]
    let b = 3, d = 2, n = 4, m = 2, steps = 6

    func net(_ kind: CellKind) -> RNN {
        var rnn = RNN.initialized(kind: kind, input: d, hidden: n, output: m, seed: 5)
        var rng = SeededRNG(seed: 77)
        var flat = rnn.flat
        for i in flat.indices { flat[i] += 0.3 * rng.gaussian() }
        rnn.setFlat(flat)
        return rnn
    }

    struct Setup {
        var batch: SequenceBatch
        var initial: LayerState
        var signals: [Int: Matrix]
        var final: LayerState
    }

    func setup(_ kind: CellKind, lossSteps: [Int]) -> Setup {
        var rng = SeededRNG(seed: 9)
        let inputs = (0..<steps).map { _ in Matrix(rows: b, cols: d, data: rng.gaussians(b * d)) }
        let batch = SequenceBatch(inputs: inputs, lossSteps: lossSteps,
                                  targets: .values(lossSteps.map { _ in Matrix(rows: b, cols: m, data: rng.gaussians(b * m)) }))
        let h0 = Matrix(rows: b, cols: n, data: rng.gaussians(b * n).map { 0.5 * $0 })
        let c0 = kind == .lstm ? Matrix(rows: b, cols: n, data: rng.gaussians(b * n)) : nil
        // ReLU states must stay positive-definite around h0 for the IRNN/ReLU differences to be smooth:
        // the random h0 is fine (a kink is hit with probability 0).
        let signals = [2: Matrix(rows: b, cols: n, data: rng.gaussians(b * n)), 5: Matrix(rows: b, cols: n, data: rng.gaussians(b * n))]
        let final = LayerState(h: Matrix(rows: b, cols: n, data: rng.gaussians(b * n)),
                               c: kind == .lstm ? Matrix(rows: b, cols: n, data: rng.gaussians(b * n)) : nil)
        return Setup(batch: batch, initial: LayerState(h: h0, c: c0), signals: signals, final: final)
    }

    /// The functional whose gradient `BPTT.backward(…, signals:, finalState:)` returns.
    func functional(_ rnn: RNN, _ s: Setup) -> Double {
        let fp = ForwardPass(net: rnn, batch: s.batch, initialState: s.initial)
        var total = fp.loss
        for (t, sig) in s.signals { total += zip(sig.data, fp.h[t].data).reduce(0) { $0 + $1.0 * $1.1 } }
        total += zip(s.final.h.data, fp.h[steps].data).reduce(0) { $0 + $1.0 * $1.1 }
        if let fc = s.final.c { total += zip(fc.data, fp.c[steps].data).reduce(0) { $0 + $1.0 * $1.1 } }
        return total
    }

    func relativeError(_ a: [Double], _ b: [Double]) -> Double {
        Vector.norm(zip(a, b).map { $0 - $1 }) / max(Vector.norm(a), Vector.norm(b), 1e-300)
    }

    func central(_ f: (Double) -> Double, eps: Double = 1e-6) -> Double { (f(eps) - f(-eps)) / (2 * eps) }

    func testParametersInputsAndInitialStateMatchFiniteDifferences() {
        for kind in kinds {
            let rnn = net(kind), s = setup(kind, lossSteps: [3, 6])
            let fp = ForwardPass(net: rnn, batch: s.batch, initialState: s.initial)
            let r = BPTT.backward(fp, options: BPTTOptions(recordStateGradients: true, recordInputGradients: true),
                                  signals: s.signals, finalState: s.final)
            // Parameters.
            let theta = rnn.flat
            let fdTheta = theta.indices.map { i in
                central { e in var a = rnn; var t = theta; t[i] += e; a.setFlat(t); return self.functional(a, s) }
            }
            let eTheta = relativeError(r.gradient.flat, fdTheta)
            XCTAssertLessThan(eTheta, 1e-6, "\(kind): parameters, relative error \(eTheta)")
            // Inputs x_t.
            var analyticX: [Double] = [], fdX: [Double] = []
            for t in 0..<steps {
                for i in 0..<(b * d) {
                    analyticX.append(r.inputGradients![t].data[i])
                    fdX.append(central { e in var s2 = s; s2.batch.inputs[t].data[i] += e; return self.functional(rnn, s2) })
                }
            }
            let eX = relativeError(analyticX, fdX)
            XCTAssertLessThan(eX, 1e-6, "\(kind): inputs, relative error \(eX)")
            XCTAssertGreaterThan(Vector.norm(analyticX), 1e-3, "\(kind): input gradient should not be trivial")
            // Initial state h_0 (and c_0).
            var analytic0 = r.initialStateGradient!.h.data, fd0 = (0..<(b * n)).map { i in
                central { e in var s2 = s; s2.initial.h.data[i] += e; return self.functional(rnn, s2) }
            }
            if kind == .lstm {
                analytic0 += r.initialStateGradient!.c!.data
                fd0 += (0..<(b * n)).map { i in central { e in var s2 = s; s2.initial.c!.data[i] += e; return self.functional(rnn, s2) } }
            }
            let e0 = relativeError(analytic0, fd0)
            XCTAssertLessThan(e0, 1e-6, "\(kind): initial state, relative error \(e0)")
            XCTAssertEqual(r.stateGradients![0], r.initialStateGradient!.h, "\(kind): ∂L/∂h_0 is state gradient 0")
            // Without the extra outputs the gradient is the same, bit for bit.
            let plain = BPTT.backward(fp, signals: s.signals, finalState: s.final)
            XCTAssertEqual(plain.gradient, r.gradient, "\(kind): recording must not change the gradient")
        }
    }

    /// ∂L/∂h_t for every t: restarting the network at step t from a perturbed h_t (and the same c_t).
    func testStateGradientsMatchFiniteDifferencesAtEveryStep() {
        for kind in kinds {
            let rnn = net(kind)
            var s = setup(kind, lossSteps: [steps])
            s.signals = [:]
            let fp = ForwardPass(net: rnn, batch: s.batch, initialState: s.initial)
            let r = BPTT.backward(fp, options: BPTTOptions(recordStateGradients: true))
            for t in 1..<steps {
                let rest = SequenceBatch(inputs: Array(s.batch.inputs[t...]), lossSteps: [steps - t], targets: s.batch.targets)
                let state = LayerState(h: fp.h[t], c: kind == .lstm ? fp.c[t] : nil)
                XCTAssertEqual(ForwardPass(net: rnn, batch: rest, initialState: state).loss, fp.loss, accuracy: 1e-12)
                let fd = (0..<(b * n)).map { i in
                    central { e in var st = state; st.h.data[i] += e; return ForwardPass(net: rnn, batch: rest, initialState: st).loss }
                }
                let err = relativeError(r.stateGradients![t].data, fd)
                XCTAssertLessThan(err, 1e-6, "\(kind): ∂L/∂h_\(t), relative error \(err)")
            }
        }
    }

    /// A layer with no readout of its own (a lower layer, an encoder) gets its whole gradient from outside.
    func testLayerWithoutReadoutTakesOnlyOutsideSignals() {
        let rnn = net(.gru), s = setup(.gru, lossSteps: [6])
        let fp = ForwardPass(net: rnn, batch: s.batch, initialState: s.initial, readout: false)
        XCTAssertEqual(fp.loss, 0)
        XCTAssertTrue(fp.outputs.isEmpty)
        let r = BPTT.backward(fp, signals: s.signals, finalState: s.final)
        XCTAssertEqual(r.gradient.readoutWeight.data.allSatisfy { $0 == 0 }, true)
        let withLoss = BPTT.backward(ForwardPass(net: rnn, batch: s.batch, initialState: s.initial), signals: s.signals, finalState: s.final)
        XCTAssertNotEqual(r.gradient.weightHH, withLoss.gradient.weightHH)
        // Linearity: outside-only + readout-only = both.
        let readoutOnly = BPTT.backward(ForwardPass(net: rnn, batch: s.batch, initialState: s.initial))
        let sum = zip(r.gradient.flat, readoutOnly.gradient.flat).map { $0 + $1 }
        XCTAssertLessThan(relativeError(sum, withLoss.gradient.flat), 1e-13)
    }
}
