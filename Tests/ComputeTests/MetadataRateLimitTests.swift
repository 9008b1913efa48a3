import StratusCore
import XCTest

@testable import Compute

final class MetadataRateLimitTests: XCTestCase {
    func testEachInstanceHasABucketOfTwiceItsRate() throws {
        let limit = MetadataRateLimit(rate: 2)
        for _ in 0..<4 { try limit.take("a", now: 100) }
        XCTAssertThrowsError(try limit.take("a", now: 100)) {
            XCTAssertEqual(($0 as? APIError)?.status.code, 429)
        }
        try limit.take("b", now: 100)  // another instance has its own bucket
        try limit.take("a", now: 100.5)  // half a second refills one request
        XCTAssertThrowsError(try limit.take("a", now: 100.5))
        for _ in 0..<4 { try limit.take("a", now: 200) }  // refilled to the burst, not beyond
        XCTAssertThrowsError(try limit.take("a", now: 200))
    }
}
