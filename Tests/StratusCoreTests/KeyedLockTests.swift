import StratusCore
import XCTest

final class KeyedLockTests: XCTestCase {
    /// How many bodies run at once, and the most that ever did.
    actor Occupancy {
        var now = 0
        var most = 0
        var order: [Int] = []
        func enter(_ index: Int) {
            now += 1
            most = max(most, now)
            order.append(index)
        }
        func leave() { now -= 1 }
    }

    func testOneBodyPerKeyAtATime() async throws {
        let lock = KeyedLock<String>()
        let occupancy = Occupancy()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<20 {
                group.addTask {
                    try await lock.withLock("group-1") {
                        await occupancy.enter(index)
                        try await Task.sleep(for: .milliseconds(2))
                        await occupancy.leave()
                    }
                }
            }
            try await group.waitForAll()
        }
        let most = await occupancy.most
        let entered = await occupancy.order.count
        XCTAssertEqual(most, 1, "two bodies for one key overlapped")
        XCTAssertEqual(entered, 20)
    }

    func testOtherKeysDoNotWait() async throws {
        let lock = KeyedLock<String>()
        let (held, release) = AsyncStream<Void>.makeStream()
        let holder = Task {
            await lock.withLock("a") { for await _ in held { break } }
        }
        try await Task.sleep(for: .milliseconds(20))
        let other = try await lock.withLock("b") { "ran while a was held" }
        XCTAssertEqual(other, "ran while a was held")
        release.yield()
        await holder.value
        let again = await lock.withLock("a") { "a is free again" }
        XCTAssertEqual(again, "a is free again")
    }

    func testAThrowingBodyReleasesTheKey() async throws {
        struct Refused: Error {}
        let lock = KeyedLock<Int>()
        do {
            try await lock.withLock(1) { throw Refused() }
            XCTFail("the body's error is rethrown")
        } catch is Refused {}
        let next = await lock.withLock(1) { 42 }
        XCTAssertEqual(next, 42)
    }
}
