import Foundation
import Linear

/// All singular values of ∂h_t/∂h_k at one lag t − k, as log10 values (descending).
public struct SingularSpectrum: Sendable, Equatable {
    public var lag: Int
    /// log10 σ_1 ≥ log10 σ_2 ≥ … (−∞ for exact zeros).
    public var log10Values: [Double]
    /// Round-off floor: σ_1·n·ε in log10. The product is formed explicitly (renormalised), so singular values
    /// below this are not resolved: they are noise of size ε relative to σ_1, not the true tiny values.
    public var log10Floor: Double

    /// How many singular values lie above the floor (the directions that provably survive).
    public var resolvedCount: Int { log10Values.filter { $0.isFinite && $0 > log10Floor }.count }

    /// Directions within `decades` of the top one: how many carry a gradient comparable to the largest.
    public func count(withinDecades decades: Double) -> Int {
        guard let top = log10Values.first, top.isFinite else { return 0 }
        return log10Values.filter { $0.isFinite && $0 >= top - decades && $0 > log10Floor }.count
    }
}

/// Which part of the state product to decompose.
public enum SpectrumBlock: String, Sendable, CaseIterable {
    /// ∂h_t/∂h_k (the h→h block for the LSTM).
    case hidden
    /// The full state product ∂s_t/∂s_k ((h, c) for the LSTM; the same as hidden for other cells).
    case state
}

public enum SingularSpectra {
    /// One backward sweep P ← P·J_j from j = t down to 1 (renormalised like `JacobianProducts.curves`), with
    /// an SVD of P at each requested lag. Lags outside 0…t are ignored; the result is in increasing lag order.
    public static func compute(_ trajectory: Trajectory, endStep: Int? = nil, lags: [Int],
                               block: SpectrumBlock = .hidden) throws -> [SingularSpectrum] {
        let t = min(endStep ?? trajectory.steps, trajectory.steps)
        let cell = trajectory.cell
        let m = cell.stateSize, n = cell.hiddenSize
        let wanted = Set(lags.filter { $0 >= 0 && $0 <= t })
        guard let maxLag = wanted.max() else { return [] }
        let dim = block == .hidden ? n : m
        var p = Matrix.identity(m)
        var tmp = Matrix(rows: m, cols: m)
        var work = JacobianWork()
        var scale = LogScale()
        var zero = false
        var out: [SingularSpectrum] = []
        let eps = log10(Double(dim) * Double.ulpOfOne)
        for lag in 0...maxLag {
            if lag > 0 && !zero {
                trajectory.rightMultiply(p, byJacobianAt: t - lag + 1, into: &tmp, work: &work)
                swap(&p, &tmp)
                if !scale.renormalise(&p) { zero = true }
            }
            guard wanted.contains(lag) else { continue }
            if zero {
                out.append(SingularSpectrum(lag: lag, log10Values: [Double](repeating: -.infinity, count: dim), log10Floor: -.infinity))
                continue
            }
            let a = block == .hidden && m != n ? p.block(rows: 0..<n, cols: 0..<n) : p
            let s = try SVD.singularValues(a)
            let logs = s.map { $0 > 0 ? scale.log10Value + log10($0) : -.infinity }
            out.append(SingularSpectrum(lag: lag, log10Values: logs, log10Floor: (logs.first ?? -.infinity) + eps))
        }
        return out
    }
}
