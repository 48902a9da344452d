import Dynamics
import Foundation
import Linear
import XCTest

/// Arjovsky, Shah & Bengio's (2016) copying memory problem: its layout, its memoryless baseline, and the
/// state gradients ∂L/∂h_t of its loss against central differences.
final class CopyMemoryTaskTests: XCTestCase {
    /// The one category of a one-hot row.
    func category(_ m: Matrix, _ r: Int) -> Int? {
        let ones = (0..<m.cols).filter { m[r, $0] == 1 }
        let zeros = (0..<m.cols).filter { m[r, $0] == 0 }
        return ones.count == 1 && zeros.count == m.cols - 1 ? ones[0] : nil
    }

    func testLayoutOfInputsAndTargets() {
        for delay in [1, 2, 7, 30] {
            let task = CopyMemoryTask(delay: delay)
            XCTAssertEqual(task.steps, delay + 20)
            XCTAssertEqual(task.inputSize, 10)
            XCTAssertEqual(task.outputSize, 9)
            XCTAssertEqual(task.loss, .crossEntropy)
            XCTAssertEqual(task.recallSteps, (delay + 11)...(delay + 20))
            var rng = SeededRNG(seed: 4)
            let b = 6
            let batch = task.batch(size: b, rng: &rng)
            XCTAssertEqual(batch.steps, delay + 20)
            XCTAssertEqual(batch.lossSteps, Array(1...(delay + 20)), "the loss is averaged over every step")
            guard case .classes(let classes) = batch.targets else { return XCTFail("cross-entropy targets expected") }
            XCTAssertEqual(classes.count, delay + 20)
            for r in 0..<b {
                // Steps 1–10 (1-based): symbols 1…8; T − 1 blanks; the delimiter at T + 10; 10 blanks.
                var symbols: [Int] = []
                for t in 1...(delay + 20) {
                    guard let c = category(batch.inputs[t - 1], r) else { return XCTFail("step \(t) of row \(r) is not one-hot") }
                    switch t {
                    case 1...10:
                        XCTAssertTrue((1...8).contains(c), "step \(t): a symbol, got \(c)")
                        symbols.append(c)
                    case delay + 10: XCTAssertEqual(c, 9, "the delimiter sits at step T + 10 = \(delay + 10)")
                    default: XCTAssertEqual(c, 0, "step \(t) (T = \(delay)) is a blank")
                    }
                }
                // Targets: blanks for T + 10 steps, then the 10 symbols in order.
                for t in 1...(delay + 10) { XCTAssertEqual(classes[t - 1][r], 0, "target at step \(t) is the blank") }
                XCTAssertEqual((1...10).map { classes[delay + 10 + $0 - 1][r] }, symbols)
            }
        }
        // The delimiter count: exactly one per sequence, and T − 1 blanks between the symbols and it.
        var rng = SeededRNG(seed: 1)
        let batch = CopyMemoryTask(delay: 12).batch(size: 3, rng: &rng)
        for r in 0..<3 {
            let cats = batch.inputs.map { category($0, r)! }
            XCTAssertEqual(cats.filter { $0 == 9 }.count, 1)
            XCTAssertEqual(cats[10..<21].allSatisfy { $0 == 0 }, true, "T − 1 = 11 blanks at steps 11…21")
            XCTAssertEqual(cats[21], 9)
        }
    }

    func testSameSeedSameBatch() {
        var a = SeededRNG(seed: 8), b = SeededRNG(seed: 8)
        XCTAssertEqual(CopyMemoryTask(delay: 5).batch(size: 4, rng: &a), CopyMemoryTask(delay: 5).batch(size: 4, rng: &b))
    }

    func testBaselineIsTenLogEightOverTPlusTwenty() {
        XCTAssertEqual(CopyMemoryTask(delay: 100).baselineLoss, 10 * log(8.0) / 120, accuracy: 1e-15)
        XCTAssertEqual(CopyMemoryTask(delay: 100).baselineLoss, 0.17328679513998632, accuracy: 1e-15)
        for t in [1, 10, 50, 500] { XCTAssertEqual(CopyMemoryTask(delay: t).baselineLoss, 10 * log(8.0) / Double(t + 20), accuracy: 1e-15) }
    }

    /// The best memoryless predictor, built as a real network and scored by the real loss code: a linear unit
    /// that counts the steps (h_t = h_{t−1} + 1 = t, input weights 0: it never looks at a symbol), and a readout
    /// whose blank logit a·(T + 10.5 − t) is hugely positive up to step T + 10 and hugely negative after, the 8
    /// symbol logits 0. It scores 0 on the first T + 10 steps and ln 8 on the last 10: 10·ln 8/(T + 20).
    func testBestMemorylessPredictorScoresTheBaseline() {
        for delay in [1, 5, 40] {
            let task = CopyMemoryTask(delay: delay)
            var net = RNN.initialized(kind: .linear, input: 10, hidden: 1, output: 9, seed: 0)
            net.cell.weightIH = Matrix(rows: 1, cols: 10)
            net.cell.weightHH = Matrix(rows: 1, cols: 1, data: [1])
            net.cell.biasIH = [1]
            net.cell.biasHH = [0]
            let a = 2000.0
            net.readout = Readout(weight: Matrix(rows: 9, cols: 1, data: [-a] + [Double](repeating: 0, count: 8)),
                                  bias: [a * (Double(delay) + 10.5)] + [Double](repeating: 0, count: 8))
            var rng = SeededRNG(seed: 3)
            let batch = task.batch(size: 64, rng: &rng)
            let fp = ForwardPass(net: net, batch: batch)
            XCTAssertEqual(fp.h[delay + 20][0, 0], Double(delay + 20), "the unit counts the steps")
            XCTAssertEqual(fp.loss, task.baselineLoss, accuracy: 1e-13, "T = \(delay)")
            // A predictor that does not count (uniform over the 9 classes everywhere) scores ln 9, far above.
            var worse = net
            worse.readout.weight = Matrix(rows: 9, cols: 1, data: [0] + [Double](repeating: 0, count: 8))
            worse.readout.bias = [0] + [Double](repeating: 0, count: 8)     // uniform over 9 classes everywhere
            XCTAssertEqual(ForwardPass(net: worse, batch: batch).loss, log(9.0), accuracy: 1e-12)
        }
    }

    /// No memoryless predictor beats the baseline: the target's marginal at each step is the blank with
    /// certainty (steps ≤ T + 10) or uniform over the 8 symbols (the last 10), whose entropies sum to 10·ln 8.
    func testTargetMarginalsHaveTheBaselineEntropy() {
        let task = CopyMemoryTask(delay: 6)
        var rng = SeededRNG(seed: 11)
        let b = 8000
        let batch = task.batch(size: b, rng: &rng)
        guard case .classes(let classes) = batch.targets else { return XCTFail() }
        var entropy = 0.0
        for t in 1...task.steps {
            var counts = [Int](repeating: 0, count: 9)
            for c in classes[t - 1] { counts[c] += 1 }
            if t <= 16 { XCTAssertEqual(counts[0], b) } else {
                XCTAssertEqual(counts[0], 0)
                for s in 1...8 { XCTAssertEqual(Double(counts[s]) / Double(b), 0.125, accuracy: 0.015, "step \(t), symbol \(s)") }
            }
            entropy -= counts.filter { $0 > 0 }.map { Double($0) / Double(b) }.reduce(0) { $0 + $1 * log($1) }
        }
        XCTAssertEqual(entropy / Double(task.steps), task.baselineLoss, accuracy: 2e-3)
    }

    /// ∂L/∂h_t from `BPTT.backward(recordStateGradients:)` on the copy-memory loss against central differences:
    /// h_t is perturbed and the rest of the sequence run from it (c_t kept for the LSTM). The loss is
    /// L = (1/S) Σ_s ℓ_s; perturbing h_t changes ℓ_t (through the readout) and ℓ_{t+1}, …, ℓ_S.
    func testStateGradientsMatchFiniteDifferences() {
        let delay = 3, b = 3, n = 4
        let task = CopyMemoryTask(delay: delay)
        let s = task.steps
        var rng = SeededRNG(seed: 21)
        let batch = task.batch(size: b, rng: &rng)
        guard case .classes(let classes) = batch.targets else { return XCTFail() }
        for kind in [CellKind.tanh, .lstm, .gru] {
            var net = RNN.initialized(kind: kind, input: 10, hidden: n, output: 9, seed: 2)
            var prng = SeededRNG(seed: 5)
            var flat = net.flat
            for i in flat.indices { flat[i] += 0.3 * prng.gaussian() }
            net.setFlat(flat)
            let fp = ForwardPass(net: net, batch: batch)
            let grads = BPTT.backward(fp, options: BPTTOptions(recordStateGradients: true)).stateGradients!
            XCTAssertEqual(grads.count, s + 1)

            /// L as a function of h_t (the steps before t are fixed).
            func loss(t: Int, h: Matrix) -> Double {
                // ℓ_s for s < t: unchanged.
                var total = 0.0
                for k in 1..<t { total += stepLoss(fp.h[k], classes[k - 1], net) }
                total += stepLoss(h, classes[t - 1], net)
                if t < s {
                    let rest = SequenceBatch(inputs: Array(batch.inputs[t...]), lossSteps: Array(1...(s - t)),
                                             targets: .classes(Array(classes[t...])))
                    let state = LayerState(h: h, c: kind == .lstm ? fp.c[t] : nil)
                    total += ForwardPass(net: net, batch: rest, initialState: state).loss * Double(s - t)
                }
                return total / Double(s)
            }
            for t in [1, 10, delay + 10, s - 3, s] {
                var numeric = [Double](repeating: 0, count: b * n)
                let eps = 1e-6
                for i in 0..<(b * n) {
                    var hp = fp.h[t], hm = fp.h[t]
                    hp.data[i] += eps
                    hm.data[i] -= eps
                    numeric[i] = (loss(t: t, h: hp) - loss(t: t, h: hm)) / (2 * eps)
                }
                let analytic = grads[t].data
                let diff = zip(analytic, numeric).map { $0 - $1 }
                let rel = Vector.norm(diff) / max(Vector.norm(analytic), Vector.norm(numeric), 1e-300)
                XCTAssertGreaterThan(Vector.norm(analytic), 1e-8, "\(kind) t = \(t): a gradient that is not zero")
                XCTAssertLessThan(rel, 1e-6, "\(kind) t = \(t): relative error \(rel)")
            }
            // The whole loss reconstructed from pieces equals the forward pass's (the functional above is L).
            XCTAssertEqual(loss(t: 5, h: fp.h[5]), fp.loss, accuracy: 1e-12)
        }
    }

    /// Cross-entropy of the readout of `h` (B × n) against `classes`, averaged over the batch (ℓ_s).
    func stepLoss(_ h: Matrix, _ classes: [Int], _ net: RNN) -> Double {
        let m = net.outputSize, n = net.hiddenSize
        var sum = 0.0
        for r in 0..<h.rows {
            var y = net.readout.bias
            for j in 0..<m { for k in 0..<n { y[j] += net.readout.weight[j, k] * h[r, k] } }
            let mx = y.max()!
            let logZ = mx + log(y.reduce(0) { $0 + exp($1 - mx) })
            sum += logZ - y[classes[r]]
        }
        return sum / Double(h.rows)
    }
}
