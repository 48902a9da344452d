import Foundation
import Linear

/// A synthetic sequence task whose batches are generated from a seeded RNG (infinite, reproducible data).
public protocol SequenceTask: Sendable {
    var name: String { get }
    /// Sequence length T.
    var steps: Int { get }
    var inputSize: Int { get }
    var outputSize: Int { get }
    var loss: LossKind { get }
    /// Expected loss of the best predictor that remembers nothing (the level a network that has not
    /// learned the long-range dependency sits at).
    var baselineLoss: Double { get }
    /// One-line description of the baseline, for charts.
    var baselineLabel: String { get }
    func batch(size: Int, rng: inout SeededRNG) -> SequenceBatch
}

/// The adding problem (Hochreiter & Schmidhuber 1997; the variant of Le, Jaitly & Hinton 2015).
///
/// Input x_t = (value_t, marker_t) with value_t ~ U(0, 1); exactly two markers are 1, one at a uniformly
/// random step of the first half and one in the second half. The target, read at step T only (many-to-one,
/// MSE), is the sum of the two marked values. Predicting the mean 1 gives MSE = Var(u₁ + u₂) = 1/6 ≈ 0.167:
/// the baseline. Beating it requires carrying a value over up to T − 1 steps.
public struct AddingProblem: SequenceTask {
    public let steps: Int
    public init(steps: Int) {
        precondition(steps >= 2, "the adding problem needs T ≥ 2")
        self.steps = steps
    }
    public var name: String { "adding" }
    public var inputSize: Int { 2 }
    public var outputSize: Int { 1 }
    public var loss: LossKind { .mse }
    public var baselineLoss: Double { 1.0 / 6 }
    public var baselineLabel: String { "baseline: always predict 1 (MSE 1/6 ≈ 0.167)" }

    public func batch(size b: Int, rng: inout SeededRNG) -> SequenceBatch {
        var inputs = [Matrix](repeating: Matrix(rows: b, cols: 2), count: steps)
        var target = Matrix(rows: b, cols: 1)
        let half = steps / 2
        for r in 0..<b {
            for t in 0..<steps { inputs[t][r, 0] = rng.uniform() }
            let first = Int(rng.next() % UInt64(half))
            let second = half + Int(rng.next() % UInt64(steps - half))
            inputs[first][r, 1] = 1
            inputs[second][r, 1] = 1
            target[r, 0] = inputs[first][r, 0] + inputs[second][r, 0]
        }
        return SequenceBatch(inputs: inputs, lossSteps: [steps], targets: .values([target]))
    }
}

/// The copy (memory) task: remember a short string of symbols over a delay and reproduce it.
///
/// Alphabet of `symbols` letters; inputs are one-hot over symbols + 2 channels (blank, "go"). Steps
/// 1…L show L random letters, then blanks, a "go" marker at step T − L, and blanks; at steps T − L + 1 … T
/// (the loss steps, many-to-many, cross-entropy) the network must output the L letters in order.
/// A network that remembers nothing can only guess: loss ln(symbols).
public struct CopyTask: SequenceTask {
    public let steps: Int
    public let length: Int
    public let symbols: Int
    public init(steps: Int, length: Int = 5, symbols: Int = 8) {
        precondition(length >= 1 && symbols >= 2 && steps >= 2 * length + 1, "copy task needs T ≥ 2L + 1")
        self.steps = steps
        self.length = length
        self.symbols = symbols
    }
    public var name: String { "copy" }
    public var inputSize: Int { symbols + 2 }
    public var outputSize: Int { symbols }
    public var loss: LossKind { .crossEntropy }
    public var baselineLoss: Double { log(Double(symbols)) }
    public var baselineLabel: String { "baseline: guess uniformly (ln \(symbols) ≈ \(String(format: "%.3f", baselineLoss)))" }

    public func batch(size b: Int, rng: inout SeededRNG) -> SequenceBatch {
        let d = inputSize, blank = symbols, go = symbols + 1
        var inputs = [Matrix](repeating: Matrix(rows: b, cols: d), count: steps)
        var classes = [[Int]](repeating: [Int](repeating: 0, count: b), count: length)
        for r in 0..<b {
            for t in 0..<steps {
                if t < length {
                    let s = Int(rng.next() % UInt64(symbols))
                    inputs[t][r, s] = 1
                    classes[t][r] = s
                } else {
                    inputs[t][r, t == steps - length - 1 ? go : blank] = 1
                }
            }
        }
        return SequenceBatch(inputs: inputs, lossSteps: Array((steps - length + 1)...steps), targets: .classes(classes))
    }
}

/// The copying memory problem of Arjovsky, Shah & Bengio (2016, "Unitary evolution recurrent neural
/// networks", §4.1), after Hochreiter & Schmidhuber (1997): remember 10 symbols for T steps.
///
/// Categories 0…9: 0 is the blank, 1…8 the symbols, 9 the delimiter; inputs are one-hot over the 10, the
/// readout has 9 classes (blank and the 8 symbols; the delimiter is never a target). A sequence has T + 20
/// steps (1-based):
///
///     input   a_1 … a_10   blank × (T − 1)   delimiter   blank × 10      (steps 1–10, 11…T+9, T+10, T+11…T+20)
///     target  blank × (T + 10)                           a_1 … a_10      (steps 1…T+10, T+11…T+20)
///
/// with a_i drawn uniformly from the 8 symbols. The loss is the cross-entropy averaged over all T + 20 steps
/// (many-to-many). A network that remembers nothing can still count the steps: it outputs the blank with
/// certainty for T + 10 steps (loss 0) and guesses uniformly over the 8 symbols for the last 10 (ln 8 each),
/// so the memoryless baseline is 10·ln 8 / (T + 20) — and no memoryless predictor does better, since the
/// target's marginal at each step has entropy 0 (steps ≤ T + 10) or ln 8 (the last 10).
public struct CopyMemoryTask: SequenceTask {
    /// The delay T (the sequence has T + 20 steps).
    public let delay: Int
    /// Symbols to remember (10) and their alphabet (8), as in the paper.
    public static let length = 10
    public static let symbols = 8
    /// Input category of the delimiter; 0 is the blank, 1…8 the symbols.
    public static let delimiter = 9

    public init(delay: Int) {
        precondition(delay >= 1, "the copying memory problem needs T ≥ 1")
        self.delay = delay
    }
    public var name: String { "copy-memory" }
    /// T + 20.
    public var steps: Int { delay + 2 * Self.length }
    public var inputSize: Int { Self.symbols + 2 }
    public var outputSize: Int { Self.symbols + 1 }
    public var loss: LossKind { .crossEntropy }
    public var baselineLoss: Double { Double(Self.length) * log(Double(Self.symbols)) / Double(steps) }
    public var baselineLabel: String {
        "memoryless baseline 10·ln 8/(T+20) = \(String(format: "%.4f", baselineLoss))"
    }
    /// The 1-based steps whose targets are the remembered symbols: T + 11 … T + 20.
    public var recallSteps: ClosedRange<Int> { (delay + Self.length + 1)...steps }

    public func batch(size b: Int, rng: inout SeededRNG) -> SequenceBatch {
        let d = inputSize, l = Self.length, total = steps
        var inputs = [Matrix](repeating: Matrix(rows: b, cols: d), count: total)
        var classes = [[Int]](repeating: [Int](repeating: 0, count: b), count: total)
        for r in 0..<b {
            for i in 0..<l {
                let s = 1 + Int(rng.next() % UInt64(Self.symbols))
                inputs[i][r, s] = 1
                classes[total - l + i][r] = s
            }
            for t in l..<total { inputs[t][r, t == delay + l - 1 ? Self.delimiter : 0] = 1 }
        }
        return SequenceBatch(inputs: inputs, lossSteps: Array(1...total), targets: .classes(classes))
    }
}
