import Dynamics
import Linear
import XCTest

/// The four architectures: every parameter's gradient (the encoder's through the bottleneck, too) and the
/// path view's ∂L_j/∂x_i against central finite differences, relative error < 1e-6.
final class ArchitectureTests: XCTestCase {
    let kinds: [CellKind] = [.tanh, .lstm, .gru, .sigmoid]
    let b = 3, n = 4

    func relativeError(_ a: [Double], _ b: [Double]) -> Double {
        Vector.norm(zip(a, b).map { $0 - $1 }) / max(Vector.norm(a), Vector.norm(b), 1e-300)
    }

    func central(_ f: (Double) -> Double, eps: Double = 1e-6) -> Double { (f(eps) - f(-eps)) / (2 * eps) }

    /// The task's fresh model, its weights moved off the initialisation (so no symmetry hides an error).
    func model(_ task: any ArchitectureTask, _ kind: CellKind) -> ArchitectureModel {
        var m = task.initialModel(kind: kind, hidden: n, seed: 3)
        var rng = SeededRNG(seed: 17)
        m.setFlat(m.flat.map { $0 + 0.3 * rng.gaussian() })
        return m
    }

    func batch(_ task: any ArchitectureTask) -> ArchitectureBatch {
        var rng = SeededRNG(seed: 23)
        return task.batch(size: b, rng: &rng)
    }

    func checkParameters(_ task: any ArchitectureTask, _ kind: CellKind, file: StaticString = #filePath, line: UInt = #line) {
        let m = model(task, kind), data = batch(task)
        let (loss, g) = m.gradient(data)
        XCTAssertEqual(loss, m.loss(data), "\(kind) \(task.name): the gradient's loss is the forward loss", file: file, line: line)
        let theta = m.flat
        let fd = theta.indices.map { i in
            central { e in var a = m; var t = theta; t[i] += e; a.setFlat(t); return a.loss(data) }
        }
        let err = relativeError(g, fd)
        XCTAssertLessThan(err, 1e-6, "\(kind) \(task.name): parameters, relative error \(err)", file: file, line: line)
        XCTAssertGreaterThan(Vector.norm(g), 1e-3, "\(kind) \(task.name): gradient should not be trivial", file: file, line: line)
    }

    func testEncoderDecoderGradientOfEveryParameterMatchesFiniteDifferences() {
        for mode in TransductionTask.Mode.allCases {
            for reversed in [false, true] {
                let task = TransductionTask(sourceLength: 5, targetLength: 3, symbols: 3, mode: mode, reverseSource: reversed)
                for kind in kinds { checkParameters(task, kind) }
            }
        }
    }

    /// The encoder learns only through the decoder's initial state: its part of the gradient is that signal.
    func testEncoderGradientCrossesTheBottleneck() throws {
        let task = TransductionTask(sourceLength: 6, targetLength: 4, symbols: 3, mode: .copy)
        for kind in kinds {
            guard case .encoderDecoder(let m) = model(task, kind), case .encoderDecoder(let data) = batch(task) else {
                return XCTFail("expected an encoder–decoder")
            }
            let g = m.gradient(data)
            let enc = Array(g.flat.prefix(m.encoderParameterCount))
            XCTAssertGreaterThan(Vector.norm(enc), 1e-4, "\(kind): the encoder must receive a gradient")
            // The bottleneck signal equals the finite difference of the decoder loss in the decoder's h_0.
            let p = EncoderDecoderPass(model: m, batch: data)
            let s = data.source.steps
            let start = LayerState(h: p.encoder.h[s], c: kind == .lstm ? p.encoder.c[s] : nil)
            var analytic = g.bottleneck.h.data, fd = (0..<(b * n)).map { i in
                central { e in var st = start; st.h.data[i] += e
                    return ForwardPass(net: m.decoder, batch: data.target, initialState: st).loss }
            }
            if kind == .lstm {
                analytic += g.bottleneck.c!.data
                fd += (0..<(b * n)).map { i in
                    central { e in var st = start; st.c!.data[i] += e
                        return ForwardPass(net: m.decoder, batch: data.target, initialState: st).loss }
                }
            }
            let err = relativeError(analytic, fd)
            XCTAssertLessThan(err, 1e-6, "\(kind): ∂L/∂(h_S, c_S), relative error \(err)")
            // A change of the encoder's readout (unused) changes nothing.
            var moved = m
            moved.encoder.readout.bias[0] += 1
            XCTAssertEqual(moved.loss(data), m.loss(data))
        }
    }

    func testOneToManyManyToOneAndManyToManyGradientsMatchFiniteDifferences() {
        let tasks: [any ArchitectureTask] = [CaptionTask(steps: 6, classes: 3, symbols: 3),
                                            MajorityTask(steps: 5), DelayedEchoTask(steps: 6, delay: 2, symbols: 3)]
        for task in tasks { for kind in kinds { checkParameters(task, kind) } }
    }

    /// The path view's numbers: ∂L_j/∂x_i for every output j and input i, one backward per output.
    func testInputGradientsPerOutputMatchFiniteDifferences() {
        let tasks: [any ArchitectureTask] = [
            DelayedEchoTask(steps: 5, delay: 1, symbols: 3), MajorityTask(steps: 4), CaptionTask(steps: 5, classes: 2, symbols: 3),
            TransductionTask(sourceLength: 4, targetLength: 3, symbols: 3, mode: .reverse),
        ]
        for task in tasks {
            for kind in [CellKind.tanh, .lstm, .gru] {
                let m = model(task, kind), data = batch(task)
                let grads = m.inputGradientsPerOutput(data)
                var analytic: [Double] = [], fd: [Double] = []
                switch data {
                case .single(let s):
                    XCTAssertEqual(grads.count, s.lossSteps.count)
                    for (j, row) in grads.enumerated() {
                        let one = s.keepingLoss(index: j)
                        guard case .single(let r) = m else { return XCTFail() }
                        for i in 0..<s.steps {
                            for e in 0..<(b * s.inputSize) {
                                analytic.append(row[i].data[e])
                                fd.append(central { d in var x = one; x.inputs[i].data[e] += d; return BPTT.loss(r, x) })
                            }
                        }
                        // Causality: an output before an input does not depend on it.
                        for i in s.lossSteps[j]..<s.steps { XCTAssertEqual(DetLinear.frobeniusNorm(row[i]), 0, "\(task.name) j=\(j) i=\(i + 1)") }
                    }
                case .encoderDecoder(let s):
                    guard case .encoderDecoder(let ed) = m else { return XCTFail() }
                    XCTAssertEqual(grads.count, s.target.lossSteps.count)
                    for (j, row) in grads.enumerated() {
                        let one = EncoderDecoderBatch(source: s.source, target: s.target.keepingLoss(index: j))
                        for i in 0..<s.source.steps {
                            for e in 0..<(b * s.source.inputSize) {
                                analytic.append(row[i].data[e])
                                fd.append(central { d in var x = one; x.source.inputs[i].data[e] += d; return ed.loss(x) })
                            }
                        }
                    }
                }
                let err = relativeError(analytic, fd)
                XCTAssertLessThan(err, 1e-6, "\(kind) \(task.name): ∂L_j/∂x_i, relative error \(err)")
                XCTAssertGreaterThan(Vector.norm(analytic), 1e-4, "\(kind) \(task.name)")
            }
        }
    }

    func testPathLengthsOfEachArchitecture() {
        XCTAssertEqual(Architecture.manyToMany.pathLength(input: 3, output: 7), 4)
        XCTAssertNil(Architecture.manyToMany.pathLength(input: 7, output: 3))
        XCTAssertEqual(Architecture.encoderDecoder.pathLength(input: 1, output: 1, sourceLength: 10), 10)
        XCTAssertEqual(Architecture.encoderDecoder.pathLength(input: 10, output: 1, sourceLength: 10), 1)
        // Sutskever's reversal: the copy task's matching pairs are S steps apart in order; reversed, 2j − 1
        // (shortest 1), with the same mean S.
        let s = 12
        let plain = TransductionTask(sourceLength: s, targetLength: s, symbols: 4, mode: .copy)
        let rev = TransductionTask(sourceLength: s, targetLength: s, symbols: 4, mode: .copy, reverseSource: true)
        XCTAssertEqual((1...s).map(plain.matchingPathLength), Array(repeating: s, count: s))
        XCTAssertEqual((1...s).map(rev.matchingPathLength), (1...s).map { 2 * $0 - 1 })
        XCTAssertEqual((1...s).map(rev.matchingPathLength).reduce(0, +), s * s)
    }

    func testTasksAreSeededAndBaselinesAreRight() {
        XCTAssertEqual(MajorityTask(steps: 7).baselineLoss, log(2), accuracy: 1e-12)
        // T = 2: label 1 only for "11" (p = 1/4).
        XCTAssertEqual(MajorityTask(steps: 2).baselineLoss, -(0.25 * log(0.25) + 0.75 * log(0.75)), accuracy: 1e-12)
        let cap = CaptionTask(steps: 4, classes: 1, symbols: 5)
        XCTAssertEqual(cap.baselineLoss, 0, "one class: the caption is known without the input")
        let task = TransductionTask(sourceLength: 5, targetLength: 5, symbols: 4, mode: .reverse, reverseSource: true)
        var r1 = SeededRNG(seed: 1), r2 = SeededRNG(seed: 1)
        XCTAssertEqual(task.batch(size: 4, rng: &r1), task.batch(size: 4, rng: &r2))
        // Reverse task with a reversed source: the target is the source as read.
        guard case .encoderDecoder(let e) = task.batch(size: 4, rng: &r1), case .classes(let c) = e.target.targets else { return XCTFail() }
        for j in 0..<5 { for r in 0..<4 { XCTAssertEqual(e.source.inputs[j][r, c[j][r]], 1) } }
        // Teacher forcing: go at step 1, then the previous target.
        for r in 0..<4 {
            XCTAssertEqual(e.target.inputs[0][r, 4], 1)
            for j in 1..<5 { XCTAssertEqual(e.target.inputs[j][r, c[j - 1][r]], 1) }
        }
    }
}
