import Foundation
import XCTest

@testable import Identity

final class KeyRepositoryTests: XCTestCase {
    func testFernetRoundTripAndTamperDetection() throws {
        let key = try XCTUnwrap(FernetKey(encoded: FernetKey.generateEncoded()))
        let token = try key.seal(Array("payload".utf8), timestamp: 1_700_000_000)
        XCTAssertTrue(token.hasPrefix("gAAAAA"))
        var data = try XCTUnwrap(Base64URL.decode(token))
        XCTAssertEqual(key.open(data)?.plaintext, Data("payload".utf8))
        XCTAssertEqual(key.open(data)?.timestamp, 1_700_000_000)
        data[30] ^= 1
        XCTAssertNil(key.open(data), "a changed byte fails the HMAC")
        let other = try XCTUnwrap(FernetKey(encoded: FernetKey.generateEncoded()))
        XCTAssertNil(other.open(try XCTUnwrap(Base64URL.decode(token))))
    }

    func testAnotherProcessRotationIsPickedUp() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("keys-\(UUID().uuidString)").path
        let mine = try KeyRepository(directory: dir, maxActiveKeys: 3)
        let theirs = try KeyRepository(directory: dir, maxActiveKeys: 3)
        try theirs.rotate()
        let token = try XCTUnwrap(theirs.activeKeys.first).seal([1, 2, 3], timestamp: 1)
        let data = try XCTUnwrap(Base64URL.decode(token))
        XCTAssertTrue(mine.activeKeys.contains { $0.open(data) != nil }, "the staged key already validates it")
        try theirs.rotate()
        let newer = try XCTUnwrap(Base64URL.decode(try XCTUnwrap(theirs.activeKeys.first).seal([4], timestamp: 1)))
        XCTAssertFalse(mine.activeKeys.contains { $0.open(newer) != nil })
        XCTAssertTrue(mine.reloadIfStale())
        XCTAssertTrue(mine.activeKeys.contains { $0.open(newer) != nil })
        try? FileManager.default.removeItem(atPath: dir)
    }
}
