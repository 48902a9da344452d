import Linear

/// One recurrent layer plus the run it is analysed on: initial state and input sequence.
/// This is exactly what a gradlab.model/1 file holds, so every analysis can be reproduced elsewhere.
public struct Model: Sendable, Equatable {
    public var parameters: CellParameters
    public var h0: [Double]
    /// LSTM only.
    public var c0: [Double]?
    /// T inputs x_1 … x_T, each of size input_size.
    public var inputs: [[Double]]

    public init(parameters: CellParameters, h0: [Double], c0: [Double]? = nil, inputs: [[Double]]) {
        self.parameters = parameters
        self.h0 = h0
        self.c0 = c0
        self.inputs = inputs
    }

    public var kind: CellKind { parameters.kind }
    public var steps: Int { inputs.count }

    public func validate() throws {
        try parameters.validate()
        let n = parameters.hiddenSize, d = parameters.inputSize
        guard h0.count == n else { throw ModelError.invalid("h0 must have \(n) entries, got \(h0.count)") }
        guard h0.allSatisfy(\.isFinite) else { throw ModelError.invalid("h0 contains NaN or infinity") }
        if kind == .lstm {
            guard let c = c0 else { throw ModelError.invalid("an lstm model needs \"c0\" (\(n) entries)") }
            guard c.count == n else { throw ModelError.invalid("c0 must have \(n) entries, got \(c.count)") }
            guard c.allSatisfy(\.isFinite) else { throw ModelError.invalid("c0 contains NaN or infinity") }
        }
        guard !inputs.isEmpty else { throw ModelError.invalid("inputs must hold at least one step") }
        for (t, x) in inputs.enumerated() {
            guard x.count == d else { throw ModelError.invalid("inputs[\(t)] must have \(d) entries (input_size), got \(x.count)") }
            guard x.allSatisfy(\.isFinite) else { throw ModelError.invalid("inputs[\(t)] contains NaN or infinity") }
        }
    }

    /// s_0: h_0, followed by c_0 for the LSTM, or by the D−1 earlier states (zeros) for a skip cell.
    public var initialState: [Double] {
        switch kind {
        case .lstm: return h0 + (c0 ?? [Double](repeating: 0, count: h0.count))
        case .skip: return h0 + [Double](repeating: 0, count: ((parameters.skipLength ?? 1) - 1) * h0.count)
        default: return h0
        }
    }

    /// The validated cell, told the initial-state magnitudes its a-priori bounds need.
    public func cell() throws -> any RecurrentCell {
        try validate()
        switch kind {
        case .lstm:
            var c = LSTMCell(parameters)
            c.initialCellMax = Vector.maxAbs(c0 ?? [])
            return c
        case .gru:
            var g = GRUCell(parameters)
            g.initialStateMax = Vector.maxAbs(h0)
            return g
        default:
            return try makeCell(parameters)
        }
    }
}

/// A forward run: the states s_0 … s_T and each step's pre-activations — O(T·n) memory. Jacobians are
/// recomputed from these when needed, never stored.
public struct Trajectory: Sendable {
    public let cell: any RecurrentCell
    /// states[j] = s_j, j = 0 … steps.
    public private(set) var states: [[Double]]
    /// preactivations[j − 1] belongs to step j.
    public private(set) var preactivations: [[Double]]
    /// Set when the forward pass overflowed: the first step whose state was not finite. The trajectory
    /// then stops at the step before, so everything downstream stays finite.
    public private(set) var overflowStep: Int?

    public var steps: Int { preactivations.count }

    public init(model: Model) throws {
        let cell = try model.cell()
        self.cell = cell
        var s = model.initialState
        states = [s]
        states.reserveCapacity(model.steps + 1)
        preactivations = []
        preactivations.reserveCapacity(model.steps)
        var pre = [Double](repeating: 0, count: cell.preactivationSize)
        for (j, x) in model.inputs.enumerated() {
            let next = cell.step(state: s, input: x, preactivation: &pre)
            if !next.allSatisfy(\.isFinite) || !pre.allSatisfy(\.isFinite) {
                overflowStep = j + 1
                break
            }
            states.append(next)
            preactivations.append(pre)
            s = next
        }
    }

    /// J_j = ∂s_j/∂s_{j−1} for 1 ≤ j ≤ steps, recomputed from the stored pre-activations.
    public func jacobian(at j: Int, into out: inout Matrix) {
        cell.stateJacobian(previous: states[j - 1], preactivation: preactivations[j - 1], next: states[j], into: &out)
    }

    public func jacobian(at j: Int) -> Matrix {
        var m = Matrix(rows: cell.stateSize, cols: cell.stateSize)
        jacobian(at: j, into: &m)
        return m
    }

    public func stepBound(at j: Int) -> StepBound {
        cell.stepBound(previous: states[j - 1], preactivation: preactivations[j - 1], next: states[j], step: j)
    }

    /// Largest |h| reached (the first n entries of each state).
    public var maxAbsHidden: Double {
        let n = cell.hiddenSize
        return states.reduce(0) { m, s in max(m, Vector.maxAbs(Array(s.prefix(n)))) }
    }
}
