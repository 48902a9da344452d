import Foundation

/// How `notebook check` compares a regenerated file with the committed one.
public enum LessonFiles {
    /// Byte equality. Chart rendering is deterministic for a given Cairo build, so a regenerated PNG is
    /// byte-identical unless its data, code or the committed file changed.
    public static func same(_ a: URL, _ b: URL) -> Bool { NotebookRunner.bytesEqual(a, b) }
}
