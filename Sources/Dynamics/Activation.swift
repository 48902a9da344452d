import Foundation
import Linear

/// Pointwise activation with its derivative and the supremum β_h = sup |f′|.
///
/// tanh and the logistic function come from `DetMath` (a fixed evaluation order, the same bits on every
/// machine), not from the C library, whose last bit varies between CPUs and platforms.
public enum Activation: String, CaseIterable, Sendable, Codable {
    case sigmoid, tanh, relu, linear

    @inline(__always)
    public func value(_ a: Double) -> Double {
        switch self {
        case .sigmoid: return Activation.sigmoid(a)
        case .tanh: return DetMath.tanh(a)
        case .relu: return a > 0 ? a : 0
        case .linear: return a
        }
    }

    /// f′(a). For ReLU we take f′(0) = 0 (PyTorch's convention).
    @inline(__always)
    public func derivative(_ a: Double) -> Double {
        switch self {
        case .sigmoid: let s = Activation.sigmoid(a); return s * (1 - s)
        case .tanh: let t = DetMath.tanh(a); return 1 - t * t
        case .relu: return a > 0 ? 1 : 0
        case .linear: return 1
        }
    }

    /// β_h = sup_a |f′(a)|: 1/4 for the sigmoid (at a = 0), 1 for tanh (at 0), ReLU and linear.
    public var derivativeSup: Double { self == .sigmoid ? 0.25 : 1 }

    /// Numerically stable logistic function (`DetMath.sigmoid`).
    @inline(__always)
    public static func sigmoid(_ a: Double) -> Double { DetMath.sigmoid(a) }
}

// Inside Dynamics, unqualified `tanh` and `exp` on Double are the deterministic versions: these
// module-level functions shadow the C library's (imported through Foundation), so every cell's forward
// step gives the same bits on every machine (issue 11).
@inline(__always) func tanh(_ x: Double) -> Double { DetMath.tanh(x) }
@inline(__always) func exp(_ x: Double) -> Double { DetMath.exp(x) }
