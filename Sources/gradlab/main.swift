import ArgumentParser
import Foundation
import GradLab
import GradLabCLI

/// Entry point. Errors become one line on stderr with the exit code of their kind (usage errors: 64).
/// stderr is written with write(2), errors ignored: `gradlab … 2>&-` still exits with its code.
Cleanup.installSignalHandlers()
signal(SIGPIPE, SIG_IGN)
do {
    var command = try Gradlab.parse(commandLine: Array(CommandLine.arguments.dropFirst()))
    try command.run()
} catch let error as GradLabError {
    Console.error("\(error)")
    exit(error.exitCode)
} catch {
    let code = Gradlab.exitCode(for: error)
    if code == .success {
        print(Gradlab.fullMessage(for: error))
        exit(0)
    }
    Console.error(Gradlab.message(for: error))
    exit(code.rawValue)
}
