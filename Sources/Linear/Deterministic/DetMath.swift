/// Elementary functions with a fixed evaluation order, for the training path.
///
/// The C library's exp, log and tanh may differ in the last bit between machines (glibc picks FMA and
/// non-FMA variants by CPU; other platforms have other libms), and training amplifies a last-bit
/// difference into a different run. These use only +, −, ×, ÷ and exact power-of-two scaling, in an order
/// Swift never changes (it does not contract a·b + c into a fused multiply-add), so they return the same
/// bits everywhere. Accuracy (tested against the C library in extended precision, over wide ranges with ±∞, NaN
/// and subnormals): within 1 ulp for exp and log, 2 ulp for tanh and the logistic function.
public enum DetMath {
    // e^x = 2^m · 2^(j/32) · e^r with x = (32m + j)·ln2/32 + r, |r| ≤ ln2/64. ln2/32 is split so that
    // k·ln2By32Hi is exact for |k| < 2¹⁶ (36 significant bits).
    static let invLn2By32 = 0x1.71547652b82fep+5
    static let ln2By32Hi = 0x1.62e42fefa0000p-6
    static let ln2By32Lo = 0x1.cf79abc9e3b3ap-45
    static let ln2Hi = 0x1.62e42fee00000p-1
    static let ln2Lo = 0x1.a39ef35793c76p-33
    /// 2^(j/32), j = 0…31, as hi + lo pairs (hi correctly rounded, lo the rest), from 60-digit arithmetic.
    static let table: [Double] = [
        0x1.0000000000000p+0, 0x0p+0,
        0x1.059b0d3158574p+0, 0x1.d73e2a475b465p-55,
        0x1.0b5586cf9890fp+0, 0x1.8a62e4adc610bp-54,
        0x1.11301d0125b51p+0, -0x1.6c51039449b3ap-54,
        0x1.172b83c7d517bp+0, -0x1.19041b9d78a76p-55,
        0x1.1d4873168b9aap+0, 0x1.e016e00a2643cp-54,
        0x1.2387a6e756238p+0, 0x1.9b07eb6c70573p-54,
        0x1.29e9df51fdee1p+0, 0x1.612e8afad1255p-55,
        0x1.306fe0a31b715p+0, 0x1.6f46ad23182e4p-55,
        0x1.371a7373aa9cbp+0, -0x1.63aeabf42eae2p-54,
        0x1.3dea64c123422p+0, 0x1.ada0911f09ebcp-55,
        0x1.44e086061892dp+0, 0x1.89b7a04ef80d0p-59,
        0x1.4bfdad5362a27p+0, 0x1.d4397afec42e2p-56,
        0x1.5342b569d4f82p+0, -0x1.07abe1db13cadp-55,
        0x1.5ab07dd485429p+0, 0x1.6324c054647adp-54,
        0x1.6247eb03a5585p+0, -0x1.383c17e40b497p-54,
        0x1.6a09e667f3bcdp+0, -0x1.bdd3413b26456p-54,
        0x1.71f75e8ec5f74p+0, -0x1.16e4786887a99p-55,
        0x1.7a11473eb0187p+0, -0x1.41577ee04992fp-55,
        0x1.82589994cce13p+0, -0x1.d4c1dd41532d8p-54,
        0x1.8ace5422aa0dbp+0, 0x1.6e9f156864b27p-54,
        0x1.93737b0cdc5e5p+0, -0x1.75fc781b57ebcp-57,
        0x1.9c49182a3f090p+0, 0x1.c7c46b071f2bep-56,
        0x1.a5503b23e255dp+0, -0x1.d2f6edb8d41e1p-54,
        0x1.ae89f995ad3adp+0, 0x1.7a1cd345dcc81p-54,
        0x1.b7f76f2fb5e47p+0, -0x1.5584f7e54ac3bp-56,
        0x1.c199bdd85529cp+0, 0x1.11065895048ddp-55,
        0x1.cb720dcef9069p+0, 0x1.503cbd1e949dbp-56,
        0x1.d5818dcfba487p+0, 0x1.2ed02d75b3707p-55,
        0x1.dfc97337b9b5fp+0, -0x1.1a5cd4f184b5cp-54,
        0x1.ea4afa2a490dap+0, -0x1.e9c23179c2893p-54,
        0x1.f50765b6e4540p+0, 0x1.9d3e12dd8a18bp-54,
    ]

    /// Round to the nearest integer, ties to even, for |v| < 2⁵¹ (the add-and-subtract trick: two IEEE
    /// operations, no call into the C library).
    @inline(__always)
    static func roundToInt(_ v: Double) -> Double { (v + 0x1.8p52) - 0x1.8p52 }

    /// 2^k for −1022 ≤ k ≤ 1023 (a normal number, built from its bits).
    @inline(__always)
    static func pow2(_ k: Int) -> Double { Double(bitPattern: UInt64(k + 1023) << 52) }

    /// x = k·ln2/32 + r: returns k, and 2^(j/32)·(e^r − 1) + (2^(j/32) − hi) split as (hi, rest) with
    /// j = k mod 32, so that e^x = 2^(k div 32)·(hi + rest). Needs |x| < 746.
    @inline(__always)
    static func reduce(_ x: Double) -> (k: Int, hi: Double, rest: Double) {
        let kf = roundToInt(x * invLn2By32)
        let r = (x - kf * ln2By32Hi) - kf * ln2By32Lo
        // e^r − 1, Taylor to r⁶/6! (|r| ≤ 0.0109: truncation < 4·10⁻¹⁸).
        var q = 1.0 / 720
        q = 1.0 / 120 + r * q
        q = 1.0 / 24 + r * q
        q = 1.0 / 6 + r * q
        q = 0.5 + r * q
        let p = r + (r * r) * q
        let k = Int(kf)
        let j = (k & 31) << 1
        return table.withUnsafeBufferPointer { t in
            let hi = t[j], lo = t[j + 1]
            return (k, hi, lo + hi * p)
        }
    }

    /// e^x, within 1 ulp.
    @inline(__always)
    public static func exp(_ x: Double) -> Double {
        if !(x < 709.782712893384) {            // NaN, +∞ and overflow
            return x.isNaN ? x : .infinity
        }
        if x < -745.2 { return 0 }
        let (k, hi, rest) = reduce(x)
        let y = hi + rest
        let m = k >> 5
        if m > 1023 { return y * 2 * pow2(m - 1) }
        if m >= -1022 { return y * pow2(m) }
        return (y * pow2(m + 1000)) * pow2(-1000)   // subnormal result: one rounding, in the last multiply
    }

    /// tanh x = E/(E + 2) with E = e^(2|x|) − 1 = (2^m·hi − 1) + 2^m·rest, where 2^m·hi − 1 is exact
    /// (m ≥ 0); an odd polynomial below 1/32, x itself below 2⁻²⁸, ±1 from 22 on.
    @inline(__always)
    public static func tanh(_ x: Double) -> Double {
        let a = x.magnitude
        if !(a < 22) { return x.isNaN ? x : (x < 0 ? -1 : 1) }
        if a < 0x1p-28 { return x }
        if a < 0x1p-5 {
            // The Taylor series to a¹¹ (truncation < 10⁻¹⁸ relative): here the table form would cancel.
            let z = a * a
            var q = -1382.0 / 155925
            q = 62.0 / 2835 + z * q
            q = -17.0 / 315 + z * q
            q = 2.0 / 15 + z * q
            q = -1.0 / 3 + z * q
            return x + x * (z * q)
        }
        let (k, hi, rest) = reduce(2 * a)
        let s = pow2(k >> 5)
        let e = (s * hi - 1) + s * rest
        let t = e / (e + 2)
        return x < 0 ? -t : t
    }

    /// The logistic function: with e = e^(−|a|) (never overflows), 1/(1 + e) for a ≥ 0 and e/(1 + e) for
    /// a < 0, the numerator picked by a select rather than a branch (random pre-activations would
    /// mispredict it).
    @inline(__always)
    public static func sigmoid(_ a: Double) -> Double {
        let e = exp(-a.magnitude)
        let numerator = a < 0 ? e : 1
        return numerator / (1 + e)
    }

    /// Natural logarithm: x = 2^k·(1 + f) with 1 + f in [√½, √2), log(1 + f) = 2·atanh(s), s = f/(2 + f),
    /// evaluated as f − (f²/2 − s·(f²/2 + R(s²))) so the leading term f is exact.
    public static func log(_ x: Double) -> Double {
        if x.isNaN { return x }
        if x < 0 { return .nan }
        if x == 0 { return -.infinity }
        if x == .infinity { return x }
        var m = x.significand                  // [1, 2), exact also for subnormals
        var k = Double(x.exponent)
        if m > 0x1.6a09e667f3bcdp0 { m = m * 0.5; k = k + 1 }   // √2
        let f = m - 1                          // exact (Sterbenz)
        let s = f / (2 + f)
        let z = s * s
        var q = 2.0 / 27
        q = 2.0 / 25 + z * q
        q = 2.0 / 23 + z * q
        q = 2.0 / 21 + z * q
        q = 2.0 / 19 + z * q
        q = 2.0 / 17 + z * q
        q = 2.0 / 15 + z * q
        q = 2.0 / 13 + z * q
        q = 2.0 / 11 + z * q
        q = 2.0 / 9 + z * q
        q = 2.0 / 7 + z * q
        q = 2.0 / 5 + z * q
        q = 2.0 / 3 + z * q
        let r = z * q
        let hfsq = 0.5 * f * f
        return k * ln2Hi - ((hfsq - (s * (hfsq + r) + k * ln2Lo)) - f)
    }
}

/// Gaussian draws from `SeededRNG` through `DetMath` only (Marsaglia's polar method: a logarithm and a
/// square root, no sine or cosine), so initial weights are the same bits on every machine.
public enum DetRandom {
    /// One standard normal value (the pair's second value is discarded, keeping the generator stateless).
    public static func gaussian(_ rng: inout SeededRNG) -> Double {
        while true {
            let u = 2 * rng.uniform() - 1, v = 2 * rng.uniform() - 1
            let s = u * u + v * v
            if s > 0 && s < 1 { return u * (-2 * DetMath.log(s) / s).squareRoot() }
        }
    }

    /// `rows × cols` entries i.i.d. N(0, std²).
    public static func gaussian(rows: Int, cols: Int, std: Double, rng: inout SeededRNG) -> Matrix {
        var m = Matrix(rows: rows, cols: cols)
        for i in m.data.indices { m.data[i] = std * gaussian(&rng) }
        return m
    }

    /// gain · Q with Q Haar-distributed orthogonal: Householder QR of a Gaussian matrix in a fixed order
    /// (plain loops, no BLAS or LAPACK), signs chosen so diag(R) > 0.
    public static func orthogonal(n: Int, gain: Double = 1, rng: inout SeededRNG) -> Matrix {
        // Column-major working copy: column j of A is a[j*n ..< (j+1)*n].
        let g = gaussian(rows: n, cols: n, std: 1, rng: &rng)
        var a = g.transposed.data
        var vs = [[Double]]()                     // Householder vectors (v[0] at row j)
        var betas = [Double]()
        var signs = [Double]()                    // sign of R[j][j] after each reflection
        vs.reserveCapacity(n)
        for j in 0..<n {
            let len = n - j
            var x = [Double](repeating: 0, count: len)
            for i in 0..<len { x[i] = a[j * n + j + i] }
            let alpha = DetLinear.norm(x)
            // Reflect x onto −sign(x₀)·‖x‖·e₁ (no cancellation in v₀ = x₀ + sign(x₀)‖x‖).
            let sgn: Double = x[0] >= 0 ? 1 : -1
            var v = x
            v[0] = x[0] + sgn * alpha
            let vv = DetLinear.sumOfSquares(v)
            let beta = vv > 0 ? 2 / vv : 0
            // Apply H = I − β v vᵀ to columns j … n−1.
            for c in j..<n {
                var d = 0.0
                for i in 0..<len { d = d + v[i] * a[c * n + j + i] }
                let t = beta * d
                for i in 0..<len { a[c * n + j + i] = a[c * n + j + i] - t * v[i] }
            }
            vs.append(v)
            betas.append(beta)
            signs.append(a[j * n + j] >= 0 ? 1 : -1)
        }
        // Q = H₀ H₁ … H_{n−1}, accumulated backwards on the identity (column-major).
        var q = [Double](repeating: 0, count: n * n)
        for i in 0..<n { q[i * n + i] = 1 }
        for j in stride(from: n - 1, through: 0, by: -1) {
            let v = vs[j], beta = betas[j], len = n - j
            for c in j..<n {
                var d = 0.0
                for i in 0..<len { d = d + v[i] * q[c * n + j + i] }
                let t = beta * d
                for i in 0..<len { q[c * n + j + i] = q[c * n + j + i] - t * v[i] }
            }
        }
        // A = Q R; flipping the sign of column j of Q and row j of R makes diag(R) positive.
        var out = Matrix(rows: n, cols: n)
        for c in 0..<n {
            let s = signs[c] * gain
            for r in 0..<n { out.data[r * n + c] = s * q[c * n + r] }
        }
        return out
    }
}
