import Foundation
import XCTest

/// What the command-line test classes share: a scratch folder per test, the check that the binary was built,
/// and running it. (Test classes stay direct XCTestCase subclasses: Linux test discovery needs that.)
enum Scratch {
    /// A fresh, empty folder `gradlab-NAME-PID-UUID` in the temporary directory.
    static func folder(_ name: String) throws -> String {
        let path = NSTemporaryDirectory() + "gradlab-\(name)-\(getpid())-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// Removes a folder made by `folder` (nil: nothing to do).
    static func remove(_ path: String?) {
        if let path { try? FileManager.default.removeItem(atPath: path) }
    }

    /// Fails (and skips the test) when the gradlab binary the CLI tests run has not been built.
    static func requireBinary() throws {
        guard FileManager.default.isExecutableFile(atPath: CLITests.binary.path) else {
            XCTFail("gradlab binary not found at \(CLITests.binary.path): run `swift build -c release` first (make test does)")
            throw XCTSkip("no binary")
        }
    }

    /// Runs `gradlab ARGS`, asserts exit 0, and returns its standard output.
    static func ok(_ args: [String], file: StaticString = #filePath, line: UInt = #line) throws -> String {
        try requireBinary()
        let r = try CLITests.run(args)
        XCTAssertEqual(r.status, 0, "\(args): \(r.stderr)", file: file, line: line)
        return r.stdout
    }
}
