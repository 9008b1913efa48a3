import XCTest
@testable import StratusCore
final class IPlaceholderTests: XCTestCase { func testVersion() { XCTAssertFalse(StratusCoreVersion.string.isEmpty) } }
