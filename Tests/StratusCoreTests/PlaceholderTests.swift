import XCTest
@testable import StratusCore
final class PlaceholderTests: XCTestCase { func testVersion() { XCTAssertFalse(StratusCoreVersion.string.isEmpty) } }
