import Foundation

/// Pointwise activation with its derivative and the supremum β_h = sup |f′|.
public enum Activation: String, CaseIterable, Sendable, Codable {
    case sigmoid, tanh, relu, linear

    @inline(__always)
    public func value(_ a: Double) -> Double {
        switch self {
        case .sigmoid: return Activation.sigmoid(a)
        case .tanh: return Foundation.tanh(a)
        case .relu: return a > 0 ? a : 0
        case .linear: return a
        }
    }

    /// f′(a). For ReLU we take f′(0) = 0 (PyTorch's convention).
    @inline(__always)
    public func derivative(_ a: Double) -> Double {
        switch self {
        case .sigmoid: let s = Activation.sigmoid(a); return s * (1 - s)
        case .tanh: let t = Foundation.tanh(a); return 1 - t * t
        case .relu: return a > 0 ? 1 : 0
        case .linear: return 1
        }
    }

    /// β_h = sup_a |f′(a)|: 1/4 for the sigmoid (at a = 0), 1 for tanh (at 0), ReLU and linear.
    public var derivativeSup: Double { self == .sigmoid ? 0.25 : 1 }

    /// Numerically stable logistic function.
    @inline(__always)
    public static func sigmoid(_ a: Double) -> Double {
        if a >= 0 { return 1 / (1 + exp(-a)) }
        let e = exp(a)
        return e / (1 + e)
    }
}
