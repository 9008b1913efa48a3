import StratusCore
import XCTest

final class LRUCacheTests: XCTestCase {
    func testNeverHoldsMoreBytesThanItsLimit() {
        var cache = LRUCache<Int, String>(byteLimit: 10_000)
        for key in 0..<5_000 {
            cache.set("value \(key)", for: key, cost: 100 + key % 37)
            XCTAssertLessThanOrEqual(cache.bytes, cache.byteLimit)
        }
        XCTAssertGreaterThan(cache.count, 70)
        XCTAssertLessThanOrEqual(cache.count, 100)
    }

    func testForgetsTheLeastRecentlyUsedFirst() {
        var cache = LRUCache<String, Int>(byteLimit: 300)
        cache.set(1, for: "a", cost: 100)
        cache.set(2, for: "b", cost: 100)
        cache.set(3, for: "c", cost: 100)
        XCTAssertEqual(cache.value(for: "a"), 1)  // now b is the oldest
        cache.set(4, for: "d", cost: 100)
        XCTAssertNil(cache.value(for: "b"))
        XCTAssertEqual(cache.value(for: "a"), 1)
        XCTAssertEqual(cache.value(for: "c"), 3)
        XCTAssertEqual(cache.value(for: "d"), 4)
        XCTAssertEqual(cache.bytes, 300)
    }

    func testReplacingAKeyCountsOnlyItsNewCost() {
        var cache = LRUCache<String, Int>(byteLimit: 1_000)
        cache.set(1, for: "a", cost: 400)
        cache.set(2, for: "a", cost: 100)
        XCTAssertEqual(cache.bytes, 100)
        XCTAssertEqual(cache.count, 1)
        XCTAssertEqual(cache.value(for: "a"), 2)
    }

    func testAValueLargerThanTheLimitIsNotKept() {
        var cache = LRUCache<String, Int>(byteLimit: 100)
        cache.set(1, for: "small", cost: 50)
        cache.set(2, for: "huge", cost: 101)
        XCTAssertNil(cache.value(for: "huge"))
        XCTAssertEqual(cache.value(for: "small"), 1)
    }

    func testRemovedSlotsAreReused() {
        var cache = LRUCache<Int, Int>(byteLimit: 500)
        for key in 0..<1_000 { cache.set(key, for: key, cost: 100) }
        XCTAssertEqual(cache.count, 5)
        XCTAssertEqual((995..<1_000).map { cache.value(for: $0) }, (995..<1_000).map { $0 })
        cache.remove(997)
        XCTAssertEqual(cache.bytes, 400)
        cache.removeAll()
        XCTAssertEqual(cache.count, 0)
        XCTAssertEqual(cache.bytes, 0)
        XCTAssertNil(cache.value(for: 999))
    }
}
