import Foundation
import Linear

/// Gradient clipping, applied to the whole gradient vector before the optimiser step.
public enum GradientClipping: Sendable, Equatable, CustomStringConvertible {
    case none
    /// Norm scaling (Pascanu et al. 2013): if ‖g‖₂ > c, g ← g · c/‖g‖₂. The direction is kept.
    case norm(Double)
    /// Value clipping: every entry clamped to [−v, v]. Bounds the step but bends its direction.
    case value(Double)

    /// Clips `g` in place; returns ‖g‖₂ before and after.
    @discardableResult
    public func apply(to g: inout [Double]) -> (before: Double, after: Double) {
        let before = DetLinear.norm(g)
        switch self {
        case .none:
            return (before, before)
        case .norm(let c):
            // A non-finite norm cannot be rescaled meaningfully: leave g alone and let the caller see it.
            if before > c && before.isFinite {
                let s = c / before
                for i in g.indices { g[i] *= s }
            }
        case .value(let v):
            for i in g.indices { g[i] = min(max(g[i], -v), v) }
        }
        return (before, DetLinear.norm(g))
    }

    public var description: String {
        switch self {
        case .none: return "no clipping"
        case .norm(let c): return "norm clipping at \(c)"
        case .value(let v): return "value clipping at \(v)"
        }
    }
}

/// A first-order optimiser over a flat parameter vector.
public protocol Optimizer: Sendable {
    /// θ ← θ − update(g). Called once per iteration with the (clipped) gradient.
    mutating func step(parameters: inout [Double], gradient: [Double])
}

/// Plain SGD with optional (heavy-ball) momentum: v ← μv + g, θ ← θ − η v.
public struct SGD: Optimizer {
    public var learningRate: Double
    public var momentum: Double
    private var velocity: [Double] = []

    public init(learningRate: Double, momentum: Double = 0) {
        self.learningRate = learningRate
        self.momentum = momentum
    }

    public mutating func step(parameters: inout [Double], gradient g: [Double]) {
        if momentum == 0 {
            for i in parameters.indices { parameters[i] -= learningRate * g[i] }
            return
        }
        if velocity.count != g.count { velocity = [Double](repeating: 0, count: g.count) }
        for i in parameters.indices {
            velocity[i] = momentum * velocity[i] + g[i]
            parameters[i] -= learningRate * velocity[i]
        }
    }
}

/// Adam (Kingma & Ba 2015) with bias correction.
public struct Adam: Optimizer {
    public var learningRate: Double
    public var beta1: Double
    public var beta2: Double
    public var epsilon: Double
    private var m: [Double] = []
    private var v: [Double] = []
    private var t = 0
    /// β₁ᵗ and β₂ᵗ as running products (the C library's pow may differ in the last bit between machines).
    private var beta1Power = 1.0
    private var beta2Power = 1.0

    public init(learningRate: Double, beta1: Double = 0.9, beta2: Double = 0.999, epsilon: Double = 1e-8) {
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
    }

    public mutating func step(parameters: inout [Double], gradient g: [Double]) {
        if m.count != g.count {
            m = [Double](repeating: 0, count: g.count)
            v = m
        }
        t += 1
        beta1Power = beta1Power * beta1
        beta2Power = beta2Power * beta2
        let c1 = 1 - beta1Power, c2 = 1 - beta2Power
        for i in parameters.indices {
            m[i] = beta1 * m[i] + (1 - beta1) * g[i]
            v[i] = beta2 * v[i] + (1 - beta2) * g[i] * g[i]
            parameters[i] -= learningRate * (m[i] / c1) / ((v[i] / c2).squareRoot() + epsilon)
        }
    }
}

/// The optimisers the command line offers.
public enum OptimizerKind: String, CaseIterable, Sendable {
    case sgd, adam

    /// A fresh optimiser state (SGD gets momentum 0.9 when `momentum` is nil).
    public func make(learningRate: Double, momentum: Double? = nil) -> any Optimizer {
        switch self {
        case .sgd: return SGD(learningRate: learningRate, momentum: momentum ?? 0.9)
        case .adam: return Adam(learningRate: learningRate)
        }
    }
}
