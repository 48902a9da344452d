import Foundation
import Dynamics
import Linear

/// gradlab.model/1: one recurrent layer, its initial state and its input sequence, as JSON (DESIGN.md).
/// Rows are matrix rows in PyTorch's layout. Extensions to the agreed format: leaky cells add "alpha", the per-unit
/// *retention* α (h_t = α⊙h_{t−1} + (1−α)⊙tanh(·); the leak rate is a = 1 − α; unchanged since the first version);
/// skip cells add "weight_skip" (n×n) and "skip" (D); vanilla cells in the other textbook form add "form": "w-of-f"
/// (h_t = W_hh f(h_{t−1}) + W_ih x_t + b; absent means "f-of-sum", h_t = f(W_hh h_{t−1} + W_ih x_t + b)).
public enum ModelFile {
    public static let format = "gradlab.model/1"

    struct Payload: Codable {
        var format: String
        var cell: String
        var hidden_size: Int
        var input_size: Int
        var weight_ih: [[Double]]
        var weight_hh: [[Double]]
        var bias_ih: [Double]
        var bias_hh: [Double]
        var h0: [Double]
        var c0: [Double]?
        var alpha: [Double]?
        var weight_skip: [[Double]]?
        var skip: Int?
        var form: String?
        var inputs: [[Double]]
    }

    public static func encode(_ m: Model) throws -> Data {
        let p = m.parameters
        let payload = Payload(format: format, cell: p.kind.rawValue, hidden_size: p.hiddenSize, input_size: p.inputSize,
                              weight_ih: p.weightIH.nestedRows, weight_hh: p.weightHH.nestedRows,
                              bias_ih: p.biasIH, bias_hh: p.biasHH, h0: m.h0, c0: m.c0, alpha: p.alpha,
                              weight_skip: p.skipWeight?.nestedRows, skip: p.skipLength,
                              form: p.form == .fOfSum ? nil : p.form.rawValue, inputs: m.inputs)
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var d = try enc.encode(payload)
        d.append(0x0A)
        return d
    }

    public static func save(_ m: Model, to path: String) throws { try OutputFile.write(try encode(m), to: path) }

    /// Parses and validates; every error is one line naming `source` and the problem.
    public static func decode(_ data: Data, source: String) throws -> Model {
        try Budget.active().check(CostModel.jsonModelFile(bytes: data.count), origin: .file(source))
        let p: Payload
        do {
            p = try JSONDecoder().decode(Payload.self, from: data)
        } catch let e as DecodingError {
            throw GradLabError.data("\(source): \(describe(e))")
        } catch {
            throw GradLabError.data("\(source): not valid JSON")
        }
        guard p.format == format else {
            throw GradLabError.data("\(source): format is \(quoted(p.format, quote: "\"")), expected \"\(format)\"")
        }
        guard let kind = CellKind(rawValue: p.cell) else {
            throw GradLabError.data("\(source): unknown cell \(quoted(p.cell, quote: "\"")) (expected one of \(CellKind.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        var form = VanillaForm.fOfSum
        if let f = p.form {
            guard let v = VanillaForm(rawValue: f) else {
                throw GradLabError.data("\(source): unknown form \(quoted(f, quote: "\"")) (expected \"f-of-sum\" or \"w-of-f\")")
            }
            form = v
        }
        func matrix(_ rows: [[Double]], _ name: String, cols: Int) throws -> Matrix {
            if rows.isEmpty { return Matrix(rows: 0, cols: cols) }
            guard let m = Matrix(nestedRows: rows) else { throw GradLabError.data("\(source): rows of \(name) have different lengths") }
            return m
        }
        let params = CellParameters(kind: kind, hiddenSize: p.hidden_size, inputSize: p.input_size,
                                    weightIH: try matrix(p.weight_ih, "weight_ih", cols: p.input_size),
                                    weightHH: try matrix(p.weight_hh, "weight_hh", cols: p.hidden_size),
                                    biasIH: p.bias_ih, biasHH: p.bias_hh, alpha: p.alpha,
                                    skipWeight: try p.weight_skip.map { try matrix($0, "weight_skip", cols: p.hidden_size) },
                                    skipLength: p.skip, form: form)
        let model = Model(parameters: params, h0: p.h0, c0: p.c0, inputs: p.inputs)
        do { try model.validate() } catch { throw GradLabError.data("\(source): \(error)") }
        if let problem = WeightChecks.overflowProblem(params) { throw GradLabError.data("\(source): \(problem)") }
        return model
    }

    public static func load(_ given: String) throws -> Model {
        let path = OutputFile.source(given)
        guard FileManager.default.fileExists(atPath: path) else { throw GradLabError.noInput("model file \(given) does not exist") }
        // JSON parsing holds several times the file's size: refuse a file that cannot fit before reading it.
        if let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber {
            try Budget.active().check(CostModel.jsonModelFile(bytes: size.intValue), origin: .file(given))
        }
        guard let data = FileManager.default.contents(atPath: path) else { throw GradLabError.noInput("cannot read model file \(given)") }
        return try decode(data, source: given)
    }

    /// DecodingError → "field 'weight_hh[3]': expected a number" style text.
    static func describe(_ e: DecodingError) -> String {
        func path(_ c: [CodingKey]) -> String {
            c.reduce("") { s, k in k.intValue.map { "\(s)[\($0)]" } ?? (s.isEmpty ? k.stringValue : "\(s).\(k.stringValue)") }
        }
        switch e {
        case .keyNotFound(let k, let ctx):
            let p = path(ctx.codingPath + [k])
            return "missing field \"\(p)\""
        case .typeMismatch(_, let ctx), .valueNotFound(_, let ctx):
            return "field \"\(path(ctx.codingPath))\" has the wrong type or is null"
        case .dataCorrupted(let ctx):
            return ctx.codingPath.isEmpty ? "not valid JSON" : "field \"\(path(ctx.codingPath))\" is malformed"
        @unknown default:
            return "malformed model file"
        }
    }
}
