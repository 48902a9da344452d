import Foundation
import GradLab

/// One fuzz input goes through every file reader gradlab has; each must either return a value or throw a
/// `GradLabError` — never trap, hang or allocate what the declared sizes would ask for (the budget here is
/// 64 MB, so a header declaring 2^61 elements must be refused before any allocation).
func fuzzOneInput(_ bytes: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    guard let bytes else { return 0 }
    if Budget.current == nil { Budget.current = Budget(maxBytes: 64 * 1_048_576, maxMinutes: 0.1) }
    let data = Data(bytes: bytes, count: count)
    let isZip = data.starts(with: [0x50, 0x4B])
    if isZip {
        expectOnlyGradLabErrors {
            let contents = try Npz.read(data, source: "fuzz.npz")
            _ = try WeightImport.fromStateDict(contents.arrays, source: "fuzz.npz", cell: .tanh, prefix: nil,
                                               drive: DriveOptions(steps: 3), allNames: contents.names)
        }
    } else {
        expectOnlyGradLabErrors { _ = try Npy.parse(data, source: "fuzz.npy") }
        expectOnlyGradLabErrors { _ = try ModelFile.decode(data, source: "fuzz.json") }
    }
    return 0
}

/// Any other error type is a finding: the CLI would print it raw instead of one line with an exit code.
func expectOnlyGradLabErrors(_ body: () throws -> Void) {
    do { try body() } catch is GradLabError {} catch {
        fatalError("a reader threw \(type(of: error)) instead of GradLabError: \(error)")
    }
}
