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
