import ArgumentParser
import Foundation
import GradLab

struct NotebookCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "notebook",
        abstract: "Run the Markdown lessons in notebooks-md/, or check that their committed outputs are current.",
        subcommands: [Run.self, CheckLessons.self])

    /// In-process execution of one lesson command through the same command tree as the CLI.
    static func runner(for path: String) throws -> NotebookRunner {
        guard let root = NotebookRunner.findRoot(from: path) else {
            throw GradLabError.usage("\(path) is not inside a gradlab repository (no Package.swift above it)")
        }
        return NotebookRunner(root: root, execute: { args in
            var command: ParsableCommand
            do { command = try Gradlab.parse(commandLine: args) } catch let e as GradLabError { throw e } catch {
                // Help and version requests parse as "clean exits": inside a lesson they are mistakes, not output.
                if Gradlab.exitCode(for: error) == .success {
                    throw GradLabError.usage("'\(args.first ?? "")' asked for help or version text: lessons run commands, not help")
                }
                throw GradLabError.usage(Console.oneLine(Gradlab.message(for: error)))
            }
            try command.run()
        }, sameFile: LessonFiles.same)
    }

    static func lessons(_ given: [String]) throws -> [String] {
        if !given.isEmpty { return given }
        guard let root = NotebookRunner.findRoot(from: FileManager.default.currentDirectoryPath) else {
            throw GradLabError.usage("not inside a gradlab repository: name the lessons to check")
        }
        let dir = root.appendingPathComponent("notebooks-md")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
        let lessons = names.filter { $0.hasSuffix(".md") }.sorted().map { dir.appendingPathComponent($0).path }
        guard !lessons.isEmpty else { throw GradLabError.noInput("no lessons found in \(dir.path)") }
        return lessons
    }

    struct Run: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Execute every ```gradlab block and refresh its output in place.")
        @Argument(help: "Lesson files (default: every notebooks-md/*.md).") var files: [String] = []
        func run() throws {
            for f in try NotebookCommand.lessons(files) {
                let o = try NotebookCommand.runner(for: f).run(f)
                print("\(f): \(o.files.count) file(s) refreshed")
            }
        }
    }

    struct CheckLessons: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "check",
            abstract: "Re-run every lesson and fail, naming lesson and block, when a committed output is stale.")
        @Argument(help: "Lesson files (default: every notebooks-md/*.md).") var files: [String] = []
        func run() throws {
            var problems: [String] = []
            let lessons = try NotebookCommand.lessons(files)
            for f in lessons { problems += try NotebookCommand.runner(for: f).check(f) }
            guard problems.isEmpty else {
                for p in problems.dropLast() { Console.error(p) }
                throw GradLabError.failed(problems.last!)
            }
            print("\(lessons.count) lesson(s) up to date")
        }
    }
}
