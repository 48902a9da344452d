/// Weight initialisers used by the experiments. All take an explicit RNG so results are reproducible.
public enum Init {
    /// Entries i.i.d. N(0, std²).
    public static func gaussian(rows: Int, cols: Int, std: Double, rng: inout SeededRNG) -> Matrix {
        Matrix(rows: rows, cols: cols, data: rng.gaussians(rows * cols, std: std))
    }

    /// Recurrent matrix with entries N(0, g²/n): spectral radius ≈ g for large n (circular law), the
    /// classic "gain" knob of random RNNs.
    public static func recurrent(n: Int, gain: Double, rng: inout SeededRNG) -> Matrix {
        gaussian(rows: n, cols: n, std: gain / Double(max(n, 1)).squareRoot(), rng: &rng)
    }

    /// gain · Q with Q Haar-distributed orthogonal (QR of a Gaussian matrix with diag(R) > 0).
    /// Every singular value equals `gain`.
    public static func orthogonal(n: Int, gain: Double = 1, rng: inout SeededRNG) -> Matrix {
        let g = gaussian(rows: n, cols: n, std: 1, rng: &rng)
        // A Gaussian matrix is full rank with probability 1 and finite, so QR cannot fail here.
        let q = (try? QR.decompose(g, positiveDiagonal: true).q) ?? Matrix.identity(n)
        return q * gain
    }

    /// gain · I (the IRNN initialisation of Le, Jaitly & Hinton 2015).
    public static func identity(n: Int, gain: Double = 1) -> Matrix { Matrix.identity(n) * gain }

    /// Uniform(−k, k) with k = 1/√n: PyTorch's default for nn.RNN/LSTM/GRU weights and biases.
    public static func pytorchUniform(rows: Int, cols: Int, hidden: Int, rng: inout SeededRNG) -> Matrix {
        let k = 1 / Double(max(hidden, 1)).squareRoot()
        return Matrix(rows: rows, cols: cols, data: (0..<(rows * cols)).map { _ in rng.uniform(-k, k) })
    }
}
