import Foundation
import HTTPTypes
import NIOCore
import StratusCore
import StratusTestSupport
import XCTest

@testable import Image

/// The `swift` store: an upload chosen with `X-Image-Meta-Store` lands in Object Storage's
/// `glance` container, downloads (whole and ranged) come from there, delete removes it.
final class SwiftStoreTests: XCTestCase {
    func testImagesLiveInObjectStorage() async throws {
        let objects = FakeObjectStore()
        let cloud = try await ImageTestCloud.make(
            settings: ["enabled_backends": "fast:file,objects:swift"], objectStore: objects)
        try await cloud.run { client in
            let id = try await client.createImage(["disk_format": "raw", "container_format": "bare"])
            let bytes = (0..<100_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
            let upload = try await client.call(
                .put, "/v2/images/\(id)/file", data: ByteBuffer(bytes: bytes),
                headers: [HTTPField.Name("X-Image-Meta-Store")!: "objects"])
            XCTAssertEqual(upload.status, .noContent, upload.text)
            XCTAssertEqual(objects.objects["glance/\(id)"], bytes)
            let image = try await client.image(id)
            XCTAssertEqual(image["stores"], "objects")
            let whole = try await client.call(.get, "/v2/images/\(id)/file")
            XCTAssertEqual(Array(whole.body.readableBytesView), bytes)
            let range = try await client.call(.get, "/v2/images/\(id)/file", headers: [.range: "bytes=5-9"])
            XCTAssertEqual(Array(range.body.readableBytesView), Array(bytes[5...9]))
            let unknown = try await client.call(
                .put,
                "/v2/images/\(try await client.createImage(["disk_format": "raw", "container_format": "bare"]))/file",
                data: ByteBuffer(bytes: [1]), headers: [HTTPField.Name("X-Image-Meta-Store")!: "nowhere"])
            XCTAssertEqual(unknown.status, .badRequest)
            let deleted = try await client.call(.delete, "/v2/images/\(id)")
            XCTAssertEqual(deleted.status, .noContent)
            XCTAssertNil(objects.objects["glance/\(id)"])
        }
    }
}
