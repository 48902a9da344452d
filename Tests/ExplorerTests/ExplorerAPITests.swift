import XCTest
@testable import Explorer
import GradLabCLI

final class ExplorerAPITests: XCTestCase {
    func testPlaceholder() {}
}
