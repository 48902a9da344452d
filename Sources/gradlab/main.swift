import ArgumentParser
import Foundation
import GradLab

/// Entry point. Errors become one line on stderr with the exit code of their kind (usage errors: 64).
do {
    var command = try Gradlab.parse(commandLine: Array(CommandLine.arguments.dropFirst()))
    try command.run()
} catch let error as GradLabError {
    FileHandle.standardError.write(Data("gradlab: \(error)\n".utf8))
    exit(error.exitCode)
} catch {
    let code = Gradlab.exitCode(for: error)
    if code == .success {
        print(Gradlab.fullMessage(for: error))
        exit(0)
    }
    let message = Gradlab.message(for: error)
        .split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }.joined(separator: "; ")
    FileHandle.standardError.write(Data("gradlab: \(message)\n".utf8))
    exit(code.rawValue)
}
