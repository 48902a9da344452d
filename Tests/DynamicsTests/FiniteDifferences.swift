import Dynamics
import Linear

/// Central-difference references the Jacobian tests compare the analytic kernels against.
enum FiniteDifference {
    /// ∂(next state)/∂(state) of one step of `cell`, column by column (step h).
    static func stateJacobian(_ cell: any RecurrentCell, state: [Double], input: [Double], h: Double = 1e-6) -> Matrix {
        let m = state.count
        var j = Matrix(rows: m, cols: m)
        for c in 0..<m {
            var sp = state, sm = state
            sp[c] += h; sm[c] -= h
            let fp = cell.step(state: sp, input: input), fm = cell.step(state: sm, input: input)
            for r in 0..<m { j[r, c] = (fp[r] - fm[r]) / (2 * h) }
        }
        return j
    }

    /// h^L_t of a stack after perturbing h^l_k by `delta` (k = 0 perturbs the initial state), by a full forward run.
    static func perturbedTop(_ m: StackedModel, layer l: Int, step k: Int, delta: [Double], t: Int) throws -> [Double] {
        let cells = try m.layers.map { try makeCell($0) }
        var states = m.initialStates
        if k == 0 { for i in 0..<delta.count { states[l][i] += delta[i] } }
        for step in 1...t {
            var x = m.inputs[step - 1]
            for layer in 0..<m.depth {
                states[layer] = cells[layer].step(state: states[layer], input: x)
                if step == k && layer == l { for i in 0..<delta.count { states[layer][i] += delta[i] } }
                x = Array(states[layer].prefix(m.layers[layer].hiddenSize))
            }
        }
        return Array(states[m.depth - 1].prefix(m.layers[m.depth - 1].hiddenSize))
    }
}
