import Foundation
import HTTPTypes
import StratusCore
import XCTest

@testable import ObjectStorage

/// Objects on three devices: a lost replica and a corrupt one never change what GET answers,
/// and the corrupt copy is moved to quarantine.
final class ReplicaFlowTests: XCTestCase {
    /// The data files of one object, one per device that holds it.
    static func dataFiles(_ dataDir: String) throws -> [String] {
        var files: [String] = []
        for device in 0..<3 {
            let root = "\(dataDir)/d\(device)/objects"
            guard let walker = FileManager.default.enumerator(atPath: root) else { continue }
            for case let path as String in walker where path.hasSuffix(".data") { files.append("\(root)/\(path)") }
        }
        return files
    }

    func testLostAndCorruptReplicasAreNeverServed() async throws {
        try await ObjectStorageCloud.run(devices: 3) { cloud in
            let o = ObjectStorageCloud.account + "/c/o"
            try await cloud.send(.put, ObjectStorageCloud.account + "/c")
            let body = String(repeating: "durable bytes ", count: 100)
            let put = try await cloud.send(.put, o, body: body)
            XCTAssertEqual(put.status, .created)
            let files = try Self.dataFiles(cloud.dataDir)
            XCTAssertEqual(files.count, 3, "one copy on each device")

            try FileManager.default.removeItem(atPath: files[0])
            var reply = try await cloud.send(.get, o)
            XCTAssertEqual(reply.text, body)

            // Flip one byte of the object's bytes (past the 8 KiB header) in another copy.
            let handle = try XCTUnwrap(FileHandle(forUpdatingAtPath: files[1]))
            try handle.seek(toOffset: UInt64(ObjectDisk.headerCapacity + 5))
            let byte = try XCTUnwrap(handle.readData(ofLength: 1).first)
            try handle.seek(toOffset: UInt64(ObjectDisk.headerCapacity + 5))
            handle.write(Data([byte ^ 0xff]))
            try handle.close()
            for _ in 0..<3 {
                reply = try await cloud.send(.get, o)
                XCTAssertEqual(reply.status, .ok)
                XCTAssertEqual(reply.text, body)
            }
            XCTAssertEqual(try Self.dataFiles(cloud.dataDir).count, 1, "the corrupt copy is quarantined")
            let quarantined = (0..<3).flatMap { device in
                (try? FileManager.default.contentsOfDirectory(
                    atPath: "\(cloud.dataDir)/d\(device)/quarantined/objects"))
                    ?? []  // only the device with the corrupt copy has a quarantine
            }
            XCTAssertEqual(quarantined.count, 1)
        }
    }

    /// Objects too large to check before sending are checked as they stream: a corrupt copy's
    /// response is cut short before its last bytes, and the next GET reads an intact copy.
    func testLargeCorruptReplicasNeverGiveACompleteBody() async throws {
        try await ObjectStorageCloud.run(devices: 3) { cloud in
            let o = ObjectStorageCloud.account + "/c/large"
            try await cloud.send(.put, ObjectStorageCloud.account + "/c")
            let body = String(repeating: "0123456789abcdef", count: 5 << 16)  // 5 MiB
            let put = try await cloud.send(.put, o, body: body)
            XCTAssertEqual(put.status, .created)
            let files = try Self.dataFiles(cloud.dataDir)
            XCTAssertEqual(files.count, 3)
            for file in files.prefix(2) {
                let handle = try XCTUnwrap(FileHandle(forUpdatingAtPath: file))
                try handle.seek(toOffset: UInt64(ObjectDisk.headerCapacity + 4_000_000))
                handle.write(Data("X".utf8))
                try handle.close()
            }
            var served: String?
            var cut = 0
            for _ in 0..<3 where served == nil {
                do {
                    let reply = try await cloud.send(.get, o)
                    if reply.status == .ok, reply.text.utf8.count == body.utf8.count {
                        served = reply.text
                    } else {
                        cut += 1
                    }
                } catch {
                    cut += 1
                }
            }
            XCTAssertEqual(served, body, "an intact copy is served in the end, never a corrupt one")
            XCTAssertEqual(try Self.dataFiles(cloud.dataDir).count, 3 - cut, "each corrupt copy read is quarantined")
        }
    }

    func testALargeCorruptOnlyCopyIsCutShort() async throws {
        try await ObjectStorageCloud.run(devices: 1) { cloud in
            let o = ObjectStorageCloud.account + "/c/large"
            try await cloud.send(.put, ObjectStorageCloud.account + "/c")
            let body = String(repeating: "0123456789abcdef", count: 5 << 16)
            try await cloud.send(.put, o, body: body)
            let file = try XCTUnwrap(Self.dataFiles(cloud.dataDir).first)
            let handle = try XCTUnwrap(FileHandle(forUpdatingAtPath: file))
            try handle.seek(toOffset: UInt64(ObjectDisk.headerCapacity + 5_000_000))
            handle.write(Data("X".utf8))
            try handle.close()
            do {
                let reply = try await cloud.send(.get, o)
                XCTAssertNotEqual(reply.text.utf8.count, body.utf8.count, "a corrupt body is never complete")
            } catch {}  // the connection closed before the end: what a client sees
            XCTAssertEqual(try Self.dataFiles(cloud.dataDir).count, 0, "the copy is quarantined")
        }
    }
}
