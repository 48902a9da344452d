import Foundation

/// Writing to stderr that never traps. `FileHandle.standardError.write` raises a fatal error when the
/// descriptor is closed (`gradlab … 2>&-`, EBADF) or the reader went away (EPIPE); these write(2) directly
/// and ignore every failure, so an error message can never turn into a crash.
public enum Console {
    /// Writes `text` to fd 2 as is (no newline added); errors are ignored.
    public static func writeError(_ text: String) {
        var bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeMutableBytes { buf in
                Glibc.write(STDERR_FILENO, buf.baseAddress! + offset, buf.count - offset)
            }
            if n > 0 { offset += n; continue }
            if n < 0 && errno == EINTR { continue }
            return
        }
        bytes.removeAll()
    }

    /// One "gradlab: …" line on stderr (line breaks inside the message are folded into "; ").
    public static func error(_ message: String) {
        writeError("gradlab: " + oneLine(message) + "\n")
    }

    /// One "warning: …" line on stderr.
    public static func warning(_ message: String) {
        writeError("warning: " + oneLine(message) + "\n")
    }

    /// Folds a multi-line message into one line.
    public static func oneLine(_ s: String) -> String {
        guard s.contains(where: { $0.isNewline }) else { return s }
        return s.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }.joined(separator: "; ")
    }

    /// True when stderr is a terminal (progress bars and time estimates are drawn only then).
    public static var isTerminal: Bool { isatty(STDERR_FILENO) == 1 }
}

/// User-supplied text inside a message: quoted, control characters escaped, at most `limit` characters
/// (a 50 MB string in a file must not become a 50 MB error line).
public func quoted(_ s: String, limit: Int = 80, quote: Character = "'") -> String {
    var out = ""
    var count = 0
    for ch in s.unicodeScalars {
        if count >= limit { out += "…"; break }
        switch ch {
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        case "'" where quote == "'": out += "\\'"
        case "\"" where quote == "\"": out += "\\\""
        default:
            if ch.value < 0x20 || ch.value == 0x7F { out += String(format: "\\x%02X", ch.value) } else { out.unicodeScalars.append(ch) }
        }
        count += 1
    }
    return String(quote) + out + String(quote)
}
