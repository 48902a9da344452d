import Foundation
import Linear

/// The loss of a sequence batch, averaged over the batch and over the steps where it is measured.
public enum LossKind: String, CaseIterable, Sendable {
    /// Mean squared error, averaged over the m outputs as well.
    case mse
    /// Softmax cross-entropy of the m readout values (logits) against a class index.
    case crossEntropy = "cross-entropy"
}

/// What the network should output at the loss steps.
public enum SequenceTargets: Sendable, Equatable {
    /// MSE: one B × m matrix per loss step.
    case values([Matrix])
    /// Cross-entropy: one class index (0 ..< m) per sample, per loss step.
    case classes([[Int]])

    public var loss: LossKind {
        switch self {
        case .values: return .mse
        case .classes: return .crossEntropy
        }
    }
}

/// A batch of B sequences of length T, with the steps where the loss is measured.
///
/// `lossSteps = [T]` is the many-to-one set-up (e.g. the adding problem); several steps (e.g. all of
/// 1…T, or the recall phase of the copy task) is many-to-many. Steps are 1-based and increasing.
public struct SequenceBatch: Sendable, Equatable {
    /// T matrices of size B × d: inputs[t − 1] holds x_t for every sample (one row each).
    public var inputs: [Matrix]
    /// 1-based, strictly increasing, within 1…T.
    public var lossSteps: [Int]
    /// One entry per loss step.
    public var targets: SequenceTargets

    public init(inputs: [Matrix], lossSteps: [Int], targets: SequenceTargets) {
        precondition(!inputs.isEmpty, "SequenceBatch: no steps")
        precondition(!lossSteps.isEmpty && zip(lossSteps, lossSteps.dropFirst()).allSatisfy { $0 < $1 }
                     && lossSteps.first! >= 1 && lossSteps.last! <= inputs.count, "SequenceBatch: bad loss steps \(lossSteps)")
        switch targets {
        case .values(let v): precondition(v.count == lossSteps.count && v.allSatisfy { $0.rows == inputs[0].rows })
        case .classes(let c): precondition(c.count == lossSteps.count && c.allSatisfy { $0.count == inputs[0].rows })
        }
        self.inputs = inputs
        self.lossSteps = lossSteps
        self.targets = targets
    }

    public var steps: Int { inputs.count }
    public var batchSize: Int { inputs[0].rows }
    public var inputSize: Int { inputs[0].cols }
    public var loss: LossKind { targets.loss }
}

enum LossMath {
    /// Loss of the outputs `y` (B × m) at loss step index `s`, and ∂L/∂y written into `dy`, where the total
    /// loss is the mean over the `stepCount` loss steps.
    static func evaluate(_ y: Matrix, targets: SequenceTargets, index s: Int, stepCount: Int, dy: inout Matrix) -> Double {
        let b = y.rows, m = y.cols
        switch targets {
        case .values(let all):
            let t = all[s]
            precondition(t.cols == m, "MSE targets have \(t.cols) columns, the readout \(m) outputs")
            let scale = 1 / Double(b * m * stepCount)
            var sum = 0.0
            for i in 0..<(b * m) {
                let e = y.data[i] - t.data[i]
                sum += e * e
                dy.data[i] = 2 * e * scale
            }
            return sum * scale
        case .classes(let all):
            let c = all[s]
            let scale = 1 / Double(b * stepCount)
            var sum = 0.0
            for r in 0..<b {
                precondition(c[r] >= 0 && c[r] < m, "class \(c[r]) outside 0..<\(m)")
                // log-sum-exp shifted by the row maximum (no overflow for large logits).
                var mx = -Double.infinity
                for j in 0..<m { mx = max(mx, y.data[r * m + j]) }
                var z = 0.0
                for j in 0..<m { z += DetMath.exp(y.data[r * m + j] - mx) }
                let logZ = mx + DetMath.log(z)
                sum += logZ - y.data[r * m + c[r]]
                for j in 0..<m {
                    let p = DetMath.exp(y.data[r * m + j] - logZ)
                    dy.data[r * m + j] = (p - (j == c[r] ? 1 : 0)) * scale
                }
            }
            return sum * scale
        }
    }
}
