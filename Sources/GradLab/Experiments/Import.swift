import Foundation
import Dynamics
import Linear

/// How a trained network (which stores no input sequence) is driven for the analysis.
public struct DriveOptions: Sendable, Equatable {
    /// Sequence length T.
    public var steps = 200
    /// Seed of the Gaussian inputs.
    public var seed: UInt64 = 0
    /// Standard deviation of the inputs x_t ~ N(0, scale²); 0 gives zero inputs (the autonomous dynamics).
    public var inputScale = 1.0
    public init(steps: Int = 200, seed: UInt64 = 0, inputScale: Double = 1.0) {
        self.steps = steps; self.seed = seed; self.inputScale = inputScale
    }

    public func validate() throws {
        try Check.positive(steps, "--steps")
        try Check.atMost(steps, 1_000_000, "--steps", "longer runs would not fit in memory")
        try Check.finite(inputScale, "--input-scale")
        guard inputScale >= 0 else { throw GradLabError.usage("--input-scale must be zero or positive (got \(inputScale))") }
    }

    /// T Gaussian input vectors of size d (deterministic in the seed).
    public func inputs(size d: Int) -> [[Double]] {
        var rng = SeededRNG.derived(seed: seed, stream: 2)
        return (0..<steps).map { _ in inputScale == 0 ? [Double](repeating: 0, count: d) : rng.gaussians(d, std: inputScale) }
    }
}

/// Trained weights with PyTorch `state_dict` names, from `.npz`, or a gradlab.model/1 JSON file.
public enum WeightImport {
    /// The result of an import: the stack, and where its inputs came from.
    public struct Imported: Sendable {
        public var model: StackedModel
        /// "file" when the file carried an input sequence (npz array `inputs`, or the JSON's inputs), else "gaussian"/"zero".
        public var inputSource: String
        /// Human-readable summary of each layer ("lstm 2→16").
        public var layerSummary: [String]
    }

    /// Loads `path`: `.npz` (by extension or zip magic) or gradlab.model/1 JSON.
    /// - Parameters:
    ///   - cell: the nonlinearity of vanilla layers (PyTorch does not store it); required when a layer has n gate rows.
    ///   - prefix: state_dict key prefix to select (e.g. "rnn." for a wrapper module); nil = the only one present.
    public static func load(_ path: String, cell: CellKind? = nil, prefix: String? = nil, drive: DriveOptions) throws -> Imported {
        try drive.validate()
        let real = OutputFile.source(path)
        guard FileManager.default.fileExists(atPath: real) else { throw GradLabError.noInput("file \(path) does not exist") }
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: real, isDirectory: &isDir), isDir.boolValue {
            throw GradLabError.noInput("\(quoted(path)) is a folder, not a file")
        }
        var magic = [UInt8](repeating: 0, count: 4)
        let fd = open(real, O_RDONLY | O_CLOEXEC)
        let got = fd >= 0 ? Glibc.read(fd, &magic, 4) : -1
        if fd >= 0 { close(fd) }
        let isZip = got == 4 && magic == [0x50, 0x4B, 0x03, 0x04]
        if path.lowercased().hasSuffix(".npz") || isZip {
            guard FileManager.default.isReadableFile(atPath: real) else { throw GradLabError.noInput("cannot read \(path)") }
            // Only the arrays the import uses are decompressed (an unused 4 GiB array costs nothing).
            let contents = try Npz.read(url: URL(fileURLWithPath: real), source: path, wanted: isUsed)
            return try fromStateDict(contents.arrays, source: path, cell: cell, prefix: prefix, drive: drive, allNames: contents.names)
        }
        let m = try ModelFile.load(path)
        if let cell, cell != m.kind {
            throw GradLabError.usage("--cell \(cell.rawValue) contradicts \(path), which holds a \(m.kind.rawValue) model")
        }
        let s0 = m.kind.hasCellState ? m.h0 + (m.c0 ?? []) : m.h0
        let stack = StackedModel(layers: [m.parameters], initialStates: [s0], inputs: m.inputs)
        return Imported(model: stack, inputSource: "file", layerSummary: [summary(m.parameters)])
    }

    /// Parses a file's bytes in memory (the explorer's upload; nothing touches the file system): `.npz` by its
    /// zip magic, else gradlab.model/1 JSON, with the same checks as `load`. `name` is the file's name in messages.
    public static func load(bytes: [UInt8], name: String, cell: CellKind? = nil, prefix: String? = nil, drive: DriveOptions) throws -> Imported {
        try drive.validate()
        let data = Data(bytes)
        if bytes.starts(with: [0x50, 0x4B, 0x03, 0x04]) || (name.lowercased().hasSuffix(".npz") && bytes.count >= 4) {
            let contents = try Npz.read(data, source: name, wanted: isUsed)
            return try fromStateDict(contents.arrays, source: name, cell: cell, prefix: prefix, drive: drive, allNames: contents.names)
        }
        let m = try ModelFile.decode(data, source: name)
        if let cell, cell != m.kind {
            throw GradLabError.usage("--cell \(cell.rawValue) contradicts \(name), which holds a \(m.kind.rawValue) model")
        }
        let s0 = m.kind.hasCellState ? m.h0 + (m.c0 ?? []) : m.h0
        let stack = StackedModel(layers: [m.parameters], initialStates: [s0], inputs: m.inputs)
        return Imported(model: stack, inputSource: "file", layerSummary: [summary(m.parameters)])
    }

    /// Arrays `fromStateDict` reads (others in an .npz are skipped unread).
    public static func isUsed(_ name: String) -> Bool {
        name == "inputs" || name.hasSuffix(".inputs") || name.contains("_l")
    }

    /// Deepest layer index accepted from array names (`weight_hh_l9223372036854775807` must not become a depth).
    public static let maxLayers = 1000

    static func summary(_ p: CellParameters) -> String { "\(p.kind.rawValue) \(p.inputSize)→\(p.hiddenSize)" }

    /// Maps PyTorch names (`weight_ih_l0`, `weight_hh_l0`, `bias_ih_l0`, `bias_hh_l0`, `_l1`, …) to layers.
    /// Biases are optional (`bias=False`); an optional array `inputs` (T×d) drives layer 0 instead of `drive`.
    public static func fromStateDict(_ arrays: [(name: String, array: NpyArray)], source: String, cell: CellKind?,
                                     prefix: String?, drive: DriveOptions, allNames: [String]? = nil) throws -> Imported {
        func fail(_ s: String) -> GradLabError { GradLabError.data("\(source): \(s)") }
        let fields = ["weight_ih", "weight_hh", "bias_ih", "bias_hh"]
        var byPrefix: [String: [Int: [String: NpyArray]]] = [:]
        var inputs: NpyArray?
        for (name, arr) in arrays {
            if name == "inputs" || name.hasSuffix(".inputs") { inputs = arr; continue }
            if name.hasSuffix("_reverse") {
                throw fail("'\(name)': bidirectional layers are not supported (the reverse direction runs backwards in time)")
            }
            if name.contains("weight_hr_l") { throw fail("'\(name)': LSTMs with proj_size are not supported") }
            guard let (pfx, field, layer) = parseName(name, fields: fields) else { continue }
            guard layer < maxLayers else {
                throw fail("array \(quoted(name)) names layer \(layer): at most \(maxLayers) layers are supported")
            }
            guard byPrefix[pfx]?[layer]?[field] == nil else { throw fail("array \(quoted(name)) appears twice") }
            byPrefix[pfx, default: [:]][layer, default: [:]][field] = arr
        }
        let chosen: [Int: [String: NpyArray]]
        if let prefix {
            guard let c = byPrefix[prefix] else {
                throw GradLabError.usage("--prefix '\(prefix)' matches no arrays in \(source) (found: \(byPrefix.keys.sorted().map { "'\($0)'" }.joined(separator: ", ")))")
            }
            chosen = c
        } else {
            guard !byPrefix.isEmpty else {
                throw fail("no PyTorch RNN weights found (expected arrays named weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0; found \((allNames ?? arrays.map(\.name)).prefix(20).map { quoted($0) }.joined(separator: ", ")))")
            }
            guard byPrefix.count == 1 else {
                throw GradLabError.usage("\(source) holds several recurrent modules (\(byPrefix.keys.sorted().map { "'\($0)'" }.joined(separator: ", "))): choose one with --prefix")
            }
            chosen = byPrefix.first!.value
        }
        let depth = (chosen.keys.max() ?? -1) + 1
        var layers: [CellParameters] = []
        for l in 0..<depth {
            guard let group = chosen[l] else { throw fail("missing arrays for layer \(l) (weight_ih_l\(l), weight_hh_l\(l))") }
            func name(_ f: String) -> String { "\(f)_l\(l)" }
            guard let whh = group["weight_hh"] else { throw fail("missing array '\(name("weight_hh"))'") }
            guard let wih = group["weight_ih"] else { throw fail("missing array '\(name("weight_ih"))'") }
            guard whh.shape.count == 2, whh.shape[1] > 0 else {
                throw fail("'\(name("weight_hh"))' must be 2-D (gates·n × n), got shape \(whh.shapeText)")
            }
            let n = whh.shape[1], rows = whh.shape[0]
            guard n <= 4096 else { throw fail("layer \(l) has hidden size \(n): at most 4096 (larger state sizes do not fit this tool's dense n×n products)") }
            guard rows % n == 0, [1, 3, 4].contains(rows / n) else {
                throw fail("'\(name("weight_hh"))' has shape \(whh.shapeText): rows must be n (RNN), 3n (GRU) or 4n (LSTM) for n = \(n)")
            }
            let gates = rows / n
            let kind: CellKind
            switch gates {
            case 4: kind = .lstm
            case 3: kind = .gru
            default:
                guard let c = cell else {
                    throw GradLabError.usage("\(source): layer \(l) is a plain RNN (weight_hh is n×n) and PyTorch does not store its nonlinearity: pass --cell tanh or --cell relu")
                }
                kind = c
            }
            if let c = cell, c.gateCount != gates {
                let what = gates == 4 ? "an LSTM" : gates == 3 ? "a GRU" : "a plain RNN (use --cell tanh or --cell relu)"
                throw GradLabError.usage("--cell \(c.rawValue) contradicts \(source): layer \(l) has \(gates) gate block(s) (weight_hh is \(gates)n × n), so it is \(what)")
            }
            if kind == .leaky {
                throw GradLabError.usage("--cell leaky cannot be imported: PyTorch has no leak rates")
            }
            guard wih.shape.count == 2, wih.shape[0] == rows else {
                throw fail("'\(name("weight_ih"))' must have shape (\(rows), input_size) to match '\(name("weight_hh"))' \(whh.shapeText), got \(wih.shapeText)")
            }
            let d = wih.shape[1]
            if l > 0, d != layers[l - 1].hiddenSize {
                throw fail("'\(name("weight_ih"))' has \(d) columns but layer \(l - 1) has hidden size \(layers[l - 1].hiddenSize)")
            }
            func bias(_ f: String) throws -> [Double] {
                guard let b = group[f] else { return [Double](repeating: 0, count: rows) }
                guard b.shape == [rows] else { throw fail("'\(name(f))' must have shape (\(rows),), got \(b.shapeText)") }
                return b.values
            }
            let p = CellParameters(kind: kind, hiddenSize: n, inputSize: d, weightIH: wih.matrix!, weightHH: whh.matrix!,
                                   biasIH: try bias("bias_ih"), biasHH: try bias("bias_hh"))
            do { try p.validate() } catch { throw fail("layer \(l): \(error)") }
            if let problem = WeightChecks.overflowProblem(p) { throw fail("layer \(l): \(problem)") }
            layers.append(p)
        }
        let d = layers[0].inputSize
        let seq: [[Double]]
        let sourceName: String
        if let x = inputs {
            guard x.shape.count == 2, x.shape[1] == d, x.shape[0] > 0 else {
                throw fail("'inputs' must have shape (T, \(d)) for input_size \(d), got \(x.shapeText)")
            }
            guard x.shape[0] <= 1_000_000 else { throw fail("'inputs' has \(x.shape[0]) steps: at most 1,000,000") }
            guard x.values.allSatisfy(\.isFinite) else { throw fail("'inputs' contains NaN or infinity") }
            seq = (0..<x.shape[0]).map { Array(x.values[($0 * d)..<(($0 + 1) * d)]) }
            sourceName = "file"
        } else {
            seq = drive.inputs(size: d)
            sourceName = drive.inputScale == 0 ? "zero" : "gaussian"
        }
        let model = StackedModel(layers: layers, inputs: seq)
        do { try model.validate() } catch { throw fail("\(error)") }
        return Imported(model: model, inputSource: sourceName, layerSummary: layers.map(summary))
    }

    /// "rnn.weight_hh_l1" → ("rnn.", "weight_hh", 1).
    static func parseName(_ name: String, fields: [String]) -> (String, String, Int)? {
        guard let r = name.range(of: "_l", options: .backwards), let layer = Int(name[r.upperBound...]), layer >= 0 else { return nil }
        let head = name[..<r.lowerBound]
        for f in fields where head.hasSuffix(f) {
            return (String(head.dropLast(f.count)), f, layer)
        }
        return nil
    }
}
