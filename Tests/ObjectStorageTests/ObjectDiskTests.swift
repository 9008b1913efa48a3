import Foundation
import NIOCore
import XCTest

@testable import ObjectStorage

/// Objects on one device: durable writes with their ETag, the newest state winning, and a
/// changed byte found by `verify` and moved out of the way.
final class ObjectDiskTests: XCTestCase {
    var root = ""

    override func setUp() async throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("objdisk-\(UUID().uuidString)").path
    }

    override func tearDown() async throws {
        try? FileManager.default.removeItem(atPath: root)
    }

    static func body(_ parts: [String]) -> AsyncStream<ByteBuffer> {
        AsyncStream { continuation in
            for part in parts { continuation.yield(ByteBuffer(string: part)) }
            continuation.finish()
        }
    }

    static func metadata(_ timestamp: String) -> ObjectMetadata {
        ObjectMetadata(
            name: "/AUTH_a/c/o", timestamp: timestamp, contentType: "text/plain", headers: ["X-Object-Meta-K": "v"])
    }

    func testWritesAreStoredWithTheirETagAndTheNewestWins() async throws {
        let disk = ObjectDisk(root: root)
        let hash = ObjectDisk.hash("/AUTH_a/c/o", suffix: "s")
        let first = try await disk.put(
            partition: 7, hash: hash, metadata: Self.metadata("0000001700000000.00001"),
            body: Self.body(["hello, ", "world"]))
        XCTAssertEqual(first.etag, "e4d7f1b4ed2e42d15898f4b27b019da4")
        XCTAssertEqual(first.contentLength, 12)
        guard case .object(let stored, let path, let offset) = try await disk.state(partition: 7, hash: hash) else {
            return XCTFail("no object")
        }
        XCTAssertEqual(stored, first)
        let data = try XCTUnwrap(FileManager.default.contents(atPath: path))
        XCTAssertEqual(String(decoding: data.dropFirst(Int(offset)), as: UTF8.self), "hello, world")

        _ = try await disk.put(
            partition: 7, hash: hash, metadata: Self.metadata("0000001700000000.00002"), body: Self.body(["again"]))
        guard case .object(let newer, _, _) = try await disk.state(partition: 7, hash: hash) else {
            return XCTFail("no object")
        }
        XCTAssertEqual(newer.contentLength, 5)
        let files = try FileManager.default.contentsOfDirectory(atPath: disk.directory(partition: 7, hash: hash))
        XCTAssertEqual(files, ["0000001700000000.00002.data"], "the older data file is gone")

        try await disk.delete(partition: 7, hash: hash, timestamp: "0000001700000000.00003")
        let deleted = try await disk.state(partition: 7, hash: hash)
        XCTAssertEqual(deleted, .deleted(timestamp: "0000001700000000.00003"))
        let missing = try await disk.state(partition: 8, hash: hash)
        XCTAssertEqual(missing, .missing)
    }

    /// A wrong ETag is refused and leaves the object as it was, with no file behind.
    func testAWrongETagStoresNothing() async throws {
        let disk = ObjectDisk(root: root)
        let hash = ObjectDisk.hash("/AUTH_a/c/o", suffix: "s")
        do {
            _ = try await disk.put(
                partition: 1, hash: hash, metadata: Self.metadata("0000001700000000.00001"), expectedETag: "00",
                body: Self.body(["data"]))
            XCTFail("a wrong ETag is an error")
        } catch let error as ObjectDiskError {
            XCTAssertEqual(error, .etagMismatch(expected: "00", actual: "8d777f385d3dfec8815d20f7496026dc"))
        }
        let state = try await disk.state(partition: 1, hash: hash)
        XCTAssertEqual(state, .missing)
        let files = try FileManager.default.contentsOfDirectory(atPath: disk.directory(partition: 1, hash: hash))
        XCTAssertEqual(files, [])
    }

    func testAFlippedByteIsFoundAndQuarantined() async throws {
        let disk = ObjectDisk(root: root)
        let hash = ObjectDisk.hash("/AUTH_a/c/o", suffix: "s")
        _ = try await disk.put(
            partition: 3, hash: hash, metadata: Self.metadata("0000001700000000.00001"), body: Self.body(["payload"]))
        guard case .object(_, let path, let offset) = try await disk.state(partition: 3, hash: hash) else {
            return XCTFail("no object")
        }
        let verifiedIntact = try await disk.verify(path)
        XCTAssertTrue(verifiedIntact)
        let handle = try XCTUnwrap(FileHandle(forUpdatingAtPath: path))
        try handle.seek(toOffset: UInt64(offset) + 2)
        try handle.write(contentsOf: Data("X".utf8))
        try handle.close()
        let verifiedFlipped = try await disk.verify(path)
        XCTAssertFalse(verifiedFlipped)
        try await disk.quarantine(partition: 3, hash: hash)
        let state = try await disk.state(partition: 3, hash: hash)
        XCTAssertEqual(state, .missing, "a quarantined object is never served")
        let quarantined = try FileManager.default.contentsOfDirectory(atPath: "\(root)/quarantined/objects")
        XCTAssertEqual(quarantined.count, 1)
    }
}
