import Foundation
import Linear

/// A small task that needs one of the four architectures. Batches come from a seeded RNG (reproducible);
/// inputs are one-hot symbols and every loss is softmax cross-entropy over the m outputs.
public protocol ArchitectureTask: Sendable {
    var architecture: Architecture { get }
    var name: String { get }
    /// Input size of the (first) network, its output size m.
    var inputSize: Int { get }
    var outputSize: Int { get }
    /// Encoder–decoder only: the decoder's input size (the encoder's is `inputSize`); else `inputSize`.
    var targetInputSize: Int { get }
    /// Expected loss of the best predictor that remembers nothing of the inputs it must carry.
    var baselineLoss: Double { get }
    /// One line for charts and reports.
    var baselineLabel: String { get }
    func batch(size: Int, rng: inout SeededRNG) -> ArchitectureBatch
}

public extension ArchitectureTask {
    var targetInputSize: Int { inputSize }
}

private func oneHotSteps(_ steps: Int, _ b: Int, _ d: Int) -> [Matrix] {
    [Matrix](repeating: Matrix(rows: b, cols: d), count: steps)
}

/// Many-to-many: delayed echo. A uniformly random symbol (one of K, one-hot) at every step; at every step
/// t > D the network must output the symbol it saw at t − D. Loss steps D+1 … T. The symbols are independent,
/// so a network that does not carry x_{t−D} over D steps can only guess: baseline ln K.
public struct DelayedEchoTask: ArchitectureTask {
    public let steps: Int, delay: Int, symbols: Int
    public init(steps: Int, delay: Int, symbols: Int) {
        precondition(delay >= 0 && steps > delay && symbols >= 2, "delayed echo needs T > D ≥ 0 and K ≥ 2")
        self.steps = steps; self.delay = delay; self.symbols = symbols
    }
    public var architecture: Architecture { .manyToMany }
    public var name: String { "delayed echo (D = \(delay))" }
    public var inputSize: Int { symbols }
    public var outputSize: Int { symbols }
    public var baselineLoss: Double { log(Double(symbols)) }
    public var baselineLabel: String { "memoryless: guess uniformly (ln \(symbols) ≈ \(String(format: "%.3f", baselineLoss)))" }

    public func batch(size b: Int, rng: inout SeededRNG) -> ArchitectureBatch {
        var inputs = oneHotSteps(steps, b, symbols)
        var seen = [[Int]](repeating: [Int](repeating: 0, count: b), count: steps)
        for r in 0..<b {
            for t in 0..<steps {
                let s = Int(rng.next() % UInt64(symbols))
                inputs[t][r, s] = 1
                seen[t][r] = s
            }
        }
        let loss = Array((delay + 1)...steps)
        return .single(SequenceBatch(inputs: inputs, lossSteps: loss, targets: .classes(loss.map { seen[$0 - 1 - delay] })))
    }
}

/// Many-to-one: majority. A random bit (one-hot over 2) at every step; at step T the network must say which
/// bit was in the majority (ties, for even T, count as 0). Every input matters, and only at the end. The best
/// predictor that remembers nothing knows only the prior: baseline = the entropy of the label, ln 2 for odd T.
public struct MajorityTask: ArchitectureTask {
    public let steps: Int
    public init(steps: Int) {
        precondition(steps >= 1, "majority needs T ≥ 1")
        self.steps = steps
    }
    public var architecture: Architecture { .manyToOne }
    public var name: String { "majority of \(steps) bits" }
    public var inputSize: Int { 2 }
    public var outputSize: Int { 2 }
    /// P(label 1) = P(Binomial(T, ½) > T/2), summed in log space.
    public var positiveShare: Double {
        var logP = -Double(steps) * DetMath.log(2), total = 0.0
        for k in 0...steps {
            if 2 * k > steps { total += DetMath.exp(logP) }
            if k < steps { logP += DetMath.log(Double(steps - k) / Double(k + 1)) }
        }
        return total
    }
    public var baselineLoss: Double {
        let p = positiveShare
        return -(p > 0 ? p * DetMath.log(p) : 0) - (p < 1 ? (1 - p) * DetMath.log(1 - p) : 0)
    }
    public var baselineLabel: String { "memoryless: predict the prior (\(String(format: "%.3f", baselineLoss)))" }

    public func batch(size b: Int, rng: inout SeededRNG) -> ArchitectureBatch {
        var inputs = oneHotSteps(steps, b, 2)
        var labels = [Int](repeating: 0, count: b)
        for r in 0..<b {
            var ones = 0
            for t in 0..<steps {
                let bit = Int(rng.next() >> 63)
                inputs[t][r, bit] = 1
                ones += bit
            }
            labels[r] = 2 * ones > steps ? 1 : 0
        }
        return .single(SequenceBatch(inputs: inputs, lossSteps: [steps], targets: .classes([labels])))
    }
}

/// One-to-many: a "caption" per class. The input at step 1 is a class c (one-hot over C); the inputs after it
/// are zeros (no "go" channel: the network sees nothing new, it must unroll the caption from its state).
/// At steps 2 … T it must output caption_c = a fixed random string of K symbols (drawn once from `captionSeed`).
/// A network that forgets c knows only the step: its best guess at step t is the distribution of caption_c[t]
/// over the classes, and the baseline is the mean entropy of those distributions (ln K when they are uniform).
public struct CaptionTask: ArchitectureTask {
    public let steps: Int, classes: Int, symbols: Int
    /// captions[c][t − 2] for t = 2 … T.
    public let captions: [[Int]]
    public init(steps: Int, classes: Int, symbols: Int, captionSeed: UInt64 = 1) {
        precondition(steps >= 2 && classes >= 1 && symbols >= 2, "caption needs T ≥ 2, C ≥ 1, K ≥ 2")
        self.steps = steps; self.classes = classes; self.symbols = symbols
        var rng = SeededRNG.derived(seed: captionSeed, stream: 51)
        captions = (0..<classes).map { _ in (2...steps).map { _ in Int(rng.next() % UInt64(symbols)) } }
    }
    public var architecture: Architecture { .oneToMany }
    public var name: String { "caption (\(classes) classes)" }
    public var inputSize: Int { classes }
    public var outputSize: Int { symbols }
    public var baselineLoss: Double {
        var sum = 0.0
        for t in 0..<(steps - 1) {
            var counts = [Int](repeating: 0, count: symbols)
            for c in 0..<classes { counts[captions[c][t]] += 1 }
            for k in counts where k > 0 {
                let p = Double(k) / Double(classes)
                sum -= p * DetMath.log(p)
            }
        }
        return sum / Double(steps - 1)
    }
    public var baselineLabel: String { "memoryless: the symbols' spread per step (\(String(format: "%.3f", baselineLoss)))" }

    public func batch(size b: Int, rng: inout SeededRNG) -> ArchitectureBatch {
        var inputs = oneHotSteps(steps, b, classes)
        var cls = [Int](repeating: 0, count: b)
        for r in 0..<b {
            cls[r] = Int(rng.next() % UInt64(classes))
            inputs[0][r, cls[r]] = 1
        }
        let loss = Array(2...steps)
        return .single(SequenceBatch(inputs: inputs, lossSteps: loss,
                                     targets: .classes(loss.map { t in cls.map { captions[$0][t - 2] } })))
    }
}

/// Encoder–decoder: copy or reverse a string of S random symbols (one of K each) as a target of length
/// T′ ≤ S: copy wants target_j = source_j, reverse target_j = source_{S+1−j}, j = 1 … T′.
///
/// - The encoder reads the source one-hot (K channels), in order or, with `reverseSource`, last symbol first
///   (Sutskever et al. 2014): position i of what the encoder reads holds source symbol S + 1 − i.
/// - The decoder's input (K + 1 channels) is teacher forcing: at step 1 a "go" symbol (channel K), at step
///   j > 1 the true previous target symbol target_{j−1}. It is scored at every step 1 … T′.
/// - The symbols are independent, so knowing the previous target says nothing about the next: a decoder that
///   did not receive the source through the encoder's last state can only guess, baseline ln K.
public struct TransductionTask: ArchitectureTask {
    public enum Mode: String, CaseIterable, Sendable { case copy, reverse }
    public let sourceLength: Int, targetLength: Int, symbols: Int
    public let mode: Mode
    public let reverseSource: Bool
    public init(sourceLength: Int, targetLength: Int, symbols: Int, mode: Mode, reverseSource: Bool = false) {
        precondition(sourceLength >= 1 && targetLength >= 1 && targetLength <= sourceLength && symbols >= 2,
                     "transduction needs 1 ≤ T′ ≤ S and K ≥ 2")
        self.sourceLength = sourceLength; self.targetLength = targetLength; self.symbols = symbols
        self.mode = mode; self.reverseSource = reverseSource
    }
    public var architecture: Architecture { .encoderDecoder }
    public var name: String { "\(mode.rawValue) (S = \(sourceLength), T′ = \(targetLength))\(reverseSource ? ", source reversed" : "")" }
    public var inputSize: Int { symbols }
    public var targetInputSize: Int { symbols + 1 }
    public var outputSize: Int { symbols }
    public var baselineLoss: Double { log(Double(symbols)) }
    public var baselineLabel: String { "memoryless: guess uniformly (ln \(symbols) ≈ \(String(format: "%.3f", baselineLoss)))" }

    /// The source position (1-based) that target step j must reproduce.
    public func sourcePosition(forTarget j: Int) -> Int { mode == .copy ? j : sourceLength + 1 - j }
    /// The step (1-based) at which the encoder reads source position p.
    public func fedStep(ofSource p: Int) -> Int { reverseSource ? sourceLength + 1 - p : p }
    /// Recurrent steps between the source symbol target step j needs and the output y_j: (S − i) + j with
    /// i the step at which the encoder reads it.
    public func matchingPathLength(target j: Int) -> Int {
        Architecture.encoderDecoder.pathLength(input: fedStep(ofSource: sourcePosition(forTarget: j)), output: j, sourceLength: sourceLength)!
    }

    public func batch(size b: Int, rng: inout SeededRNG) -> ArchitectureBatch {
        let s = sourceLength, tt = targetLength, k = symbols
        var source = oneHotSteps(s, b, k)
        var decoderIn = oneHotSteps(tt, b, k + 1)
        var classes = [[Int]](repeating: [Int](repeating: 0, count: b), count: tt)
        for r in 0..<b {
            let sym = (0..<s).map { _ in Int(rng.next() % UInt64(k)) }
            for p in 1...s { source[fedStep(ofSource: p) - 1][r, sym[p - 1]] = 1 }
            for j in 1...tt {
                classes[j - 1][r] = sym[sourcePosition(forTarget: j) - 1]
                decoderIn[j - 1][r, j == 1 ? k : classes[j - 2][r]] = 1
            }
        }
        return .encoderDecoder(EncoderDecoderBatch(source: .unlabelled(inputs: source),
                                                   target: SequenceBatch(inputs: decoderIn, lossSteps: Array(1...tt), targets: .classes(classes))))
    }
}

public extension ArchitectureTask {
    /// A freshly initialised network for this task (same seed ⇒ same bits).
    func initialModel(kind: CellKind, hidden n: Int, seed: UInt64, init opts: TrainingInit = TrainingInit()) -> ArchitectureModel {
        if architecture == .encoderDecoder {
            return .encoderDecoder(EncoderDecoder.initialized(kind: kind, sourceInput: inputSize, targetInput: targetInputSize,
                                                              hidden: n, output: outputSize, seed: seed, init: opts))
        }
        return .single(RNN.initialized(kind: kind, input: inputSize, hidden: n, output: outputSize, seed: seed, init: opts))
    }
}
