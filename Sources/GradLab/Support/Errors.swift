import Foundation

/// Every failure a user can cause, with the exit code the CLI uses (sysexits.h).
/// Messages are one line and name the problem (and the file or flag involved).
public enum GradLabError: Error, CustomStringConvertible, Equatable {
    /// Bad flag or value: exit 64 (EX_USAGE).
    case usage(String)
    /// Malformed input file (model, lesson): exit 65 (EX_DATAERR).
    case data(String)
    /// Missing input file: exit 66 (EX_NOINPUT).
    case noInput(String)
    /// Output cannot be written: exit 73 (EX_CANTCREAT).
    case cannotCreate(String)
    /// A check that found a problem (e.g. stale lesson output): exit 1.
    case failed(String)

    public var description: String {
        switch self {
        case .usage(let s), .data(let s), .noInput(let s), .cannotCreate(let s), .failed(let s): return s
        }
    }

    public var exitCode: Int32 {
        switch self {
        case .usage: return 64
        case .data: return 65
        case .noInput: return 66
        case .cannotCreate: return 73
        case .failed: return 1
        }
    }
}

/// Validation helpers shared by the experiments (each throws a `.usage` error naming the flag).
public enum Check {
    public static func positive(_ v: Int, _ flag: String) throws {
        guard v > 0 else { throw GradLabError.usage("\(flag) must be a positive integer (got \(v))") }
    }
    public static func nonNegative(_ v: Int, _ flag: String) throws {
        guard v >= 0 else { throw GradLabError.usage("\(flag) must be zero or positive (got \(v))") }
    }
    public static func finite(_ v: Double, _ flag: String) throws {
        guard v.isFinite else { throw GradLabError.usage("\(flag) must be a finite number (got \(v))") }
    }
    public static func positive(_ v: Double, _ flag: String) throws {
        try finite(v, flag)
        guard v > 0 else { throw GradLabError.usage("\(flag) must be positive (got \(v))") }
    }
    public static func atMost(_ v: Int, _ limit: Int, _ flag: String, _ why: String) throws {
        guard v <= limit else { throw GradLabError.usage("\(flag) must be at most \(limit) (got \(v)): \(why)") }
    }
}
