import Crypto
import HTTPTypes
import HummingbirdTesting
import NIOCore
import StratusCore
import XCTest

@testable import Image

final class ImageLifecycleTests: XCTestCase {
    func testCreateShowPatchDelete() async throws {
        let cloud = try await ImageTestCloud.make()
        try await cloud.run { client in
            let create = try await client.call(.post, "/v2/images", json: [
                "name": "cirros", "disk_format": "qcow2", "container_format": "bare", "min_ram": 64, "tags": ["a", "b"],
                "os_distro": "cirros", "hw_disk_bus": "virtio",
            ])
            XCTAssertEqual(create.status, .created, create.text)
            XCTAssertNotNil(create.headers[HTTPField.Name("OpenStack-image-import-methods")!])
            let id = create.json["id"]?.stringValue ?? ""
            XCTAssertEqual(create.json["status"], "queued")
            XCTAssertEqual(create.json["visibility"], "shared")
            XCTAssertEqual(create.json["owner"], "p-alice")
            XCTAssertEqual(create.json["os_distro"], "cirros")
            XCTAssertEqual(create.json["size"], .null)

            // Both patch dialects: RFC 6902 and Glance's older op-as-key form.
            let patched = try await client.patch(id, [
                ["op": "replace", "path": "/name", "value": "cirros-2"], ["add": "/os_version", "value": "0.6"],
                ["op": "remove", "path": "/hw_disk_bus"], ["op": "replace", "path": "/tags", "value": ["c"]],
                ["op": "replace", "path": "/protected", "value": true],
            ])
            XCTAssertEqual(patched.status, .ok, patched.text)
            XCTAssertEqual(patched.json["name"], "cirros-2")
            XCTAssertEqual(patched.json["os_version"], "0.6")
            XCTAssertNil(patched.json["hw_disk_bus"])
            XCTAssertEqual(patched.json["tags"], ["c"])

            let refused = try await client.call(.delete, "/v2/images/\(id)")
            XCTAssertEqual(refused.status, .forbidden, "protected images are not deleted")
            _ = try await client.patch(id, [["op": "replace", "path": "/protected", "value": false]])
            let deleted = try await client.call(.delete, "/v2/images/\(id)")
            XCTAssertEqual(deleted.status, .noContent)
            XCTAssertEqual(deleted.body.readableBytes, 0)
            let gone = try await client.call(.get, "/v2/images/\(id)")
            XCTAssertEqual(gone.status, .notFound)
            let value1 = try await client.call(.delete, "/v2/images/\(id)").status
            XCTAssertEqual(value1, .notFound)
            // A deleted image's id is not reused.
            let again = try await client.call(.post, "/v2/images", json: ["id": .string(id), "name": "again"])
            XCTAssertEqual(again.status, .conflict)
        }
    }

    /// The list writes each image as it goes; each must look exactly as its own GET shows it.
    func testListedImagesEqualShownImages() async throws {
        let cloud = try await ImageTestCloud.make()
        try await cloud.run { client in
            let first = try await client.createImage(["name": "one \"quoted\"", "os_distro": "cirros", "tags": ["x"]])
            let second = try await client.createImage(["name": "two", "min_ram": 128])
            let list = try await client.call(.get, "/v2/images?limit=1")
            XCTAssertEqual(list.status, .ok, list.text)
            XCTAssertEqual(list.json["schema"], "/v2/schemas/images")
            XCTAssertEqual(list.json["first"], "/v2/images?limit=1")
            XCTAssertNotNil(list.json["next"]?.stringValue, "a full page links the next one")
            let all = try await client.call(.get, "/v2/images").json["images"]?.arrayValue ?? []
            for id in [first, second] {
                let listed = all.first { $0["id"]?.stringValue == id }
                let shown = try await client.image(id)
                XCTAssertEqual(listed, shown)
            }
            XCTAssertEqual(all.first { $0["id"]?.stringValue == first }?["os_distro"], "cirros")
        }
    }

    func testBadInputIsRefusedWithoutChanges() async throws {
        let cloud = try await ImageTestCloud.make()
        try await cloud.run { client in
            let cases: [(JSON, HTTPResponse.Status)] = [
                (["disk_format": "floppy"], .badRequest),
                (["container_format": "wrong"], .badRequest),
                (["min_ram": -1], .badRequest),
                (["id": "not-a-uuid"], .badRequest),
                (["status": "active"], .forbidden),
                (["size": 12], .forbidden),
                (["os_glance_foo": "bar"], .forbidden),
                (["visibility": "public"], .forbidden),
                (["owner": "p-bob"], .forbidden),
                (["speed": 88], .badRequest),
            ]
            for (body, status) in cases {
                let reply = try await client.call(.post, "/v2/images", json: body)
                XCTAssertEqual(reply.status, status, "\(body.serialized()): \(reply.text)")
                XCTAssertEqual(reply.headers[.contentType], "text/plain; charset=UTF-8")
            }
            let list = try await client.call(.get, "/v2/images")
            XCTAssertEqual(list.json["images"]?.arrayValue?.count, 0, "nothing half-created")

            let id = try await client.createImage()
            let wrongType = try await client.call(.patch, "/v2/images/\(id)", json: [["op": "replace", "path": "/name", "value": "x"]])
            XCTAssertEqual(wrongType.status, .unsupportedMediaType)
            for (ops, status) in [
                ([["op": "move", "path": "/name"]] as JSON, HTTPResponse.Status.badRequest),
                ([["op": "replace", "path": "/status", "value": "active"]], .forbidden),
                ([["op": "add", "path": "/os_glance_x", "value": "1"]], .forbidden),
                ([["op": "replace", "path": "/missing", "value": "1"]], .conflict),
                ([["op": "remove", "path": "/missing"]], .conflict),
                ([["op": "remove", "path": "/name"]], .forbidden),
                ([["op": "replace", "path": "/a/b", "value": "1"]], .badRequest),
                ([["op": "replace", "path": "/name", "value": "ok"], ["op": "replace", "path": "/min_disk", "value": "x"]], .badRequest),
            ] {
                let reply = try await client.patch(id, ops)
                XCTAssertEqual(reply.status, status, "\(ops.serialized()): \(reply.text)")
            }
            let value2 = try await client.image(id)["name"]
            XCTAssertEqual(value2, "test-image", "a failed patch changes nothing")
            let value3 = try await client.call(.get, "/v2/images/", token: "alice").status
            XCTAssertEqual(value3, .notFound)
            let value4 = try await client.call(.get, "/v2/images", token: nil).status
            XCTAssertEqual(value4, .unauthorized)
        }
    }

    func testUploadDownloadChecksumsAndRanges() async throws {
        let cloud = try await ImageTestCloud.make()
        try await cloud.run { client in
            let id = try await client.createImage(["disk_format": "raw", "container_format": "bare"])
            let value5 = try await client.call(.get, "/v2/images/\(id)/file").status
            XCTAssertEqual(value5, .noContent)
            let bytes = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
            let upload = try await client.call(.put, "/v2/images/\(id)/file", data: ByteBuffer(bytes: bytes))
            XCTAssertEqual(upload.status, .noContent, upload.text)
            let image = try await client.image(id)
            XCTAssertEqual(image["status"], "active")
            XCTAssertEqual(image["size"]?.intValue, bytes.count)
            XCTAssertEqual(image["virtual_size"]?.intValue, bytes.count)
            XCTAssertEqual(image["checksum"]?.stringValue, Insecure.MD5.hash(data: bytes).hex)
            XCTAssertEqual(image["os_hash_algo"], "sha512")
            XCTAssertEqual(image["os_hash_value"]?.stringValue, SHA512.hash(data: bytes).hex)
            XCTAssertEqual(image["stores"], "fast")

            let download = try await client.call(.get, "/v2/images/\(id)/file", token: "bob")
            XCTAssertEqual(download.status, .notFound, "a shared image is invisible to non-members")
            let own = try await client.call(.get, "/v2/images/\(id)/file")
            XCTAssertEqual(own.status, .ok)
            XCTAssertEqual(Array(own.body.readableBytesView), bytes)
            XCTAssertEqual(own.headers[HTTPField.Name("Content-MD5")!], image["checksum"]?.stringValue)
            let range = try await client.call(.get, "/v2/images/\(id)/file", headers: [.range: "bytes=10-19"])
            XCTAssertEqual(range.status, .partialContent)
            XCTAssertEqual(Array(range.body.readableBytesView), Array(bytes[10...19]))
            XCTAssertEqual(range.headers[.contentRange], "bytes 10-19/\(bytes.count)")
            let bad = try await client.call(.get, "/v2/images/\(id)/file", headers: [.range: "bytes=999999-"])
            XCTAssertEqual(bad.status, .rangeNotSatisfiable)

            let multi = try await client.call(.get, "/v2/images/\(id)/file", headers: [.range: "bytes=0-1,3-4"])
            XCTAssertEqual(multi.status, .badRequest)
            let noFormats = try await client.createImage()
            let early = try await client.call(.put, "/v2/images/\(noFormats)/file", data: ByteBuffer(bytes: [1]))
            XCTAssertEqual(early.status, .badRequest, "formats must be set before data")
            let second = try await client.call(.put, "/v2/images/\(id)/file", data: ByteBuffer(bytes: [1, 2, 3]))
            XCTAssertEqual(second.status, .conflict, "data is uploaded once")

            let value6 = try await client.call(.post, "/v2/images/\(id)/actions/deactivate").status
            XCTAssertEqual(value6, .noContent)
            let value7 = try await client.call(.get, "/v2/images/\(id)/file").status
            XCTAssertEqual(value7, .forbidden)
            let value8 = try await client.call(.get, "/v2/images/\(id)/file", token: "admin").status
            XCTAssertEqual(value8, .ok)
            let value9 = try await client.call(.post, "/v2/images/\(id)/actions/reactivate").status
            XCTAssertEqual(value9, .noContent)
            let value10 = try await client.call(.get, "/v2/images/\(id)/file").status
            XCTAssertEqual(value10, .ok)

            let value11 = try await client.call(.delete, "/v2/images/\(id)").status
            XCTAssertEqual(value11, .noContent)
            XCTAssertEqual(cloud.storedFiles(), [], "deleting an image deletes its data")
        }
    }

    func testSizeCapRefusesUploadAndLeavesNoData() async throws {
        let cloud = try await ImageTestCloud.make(settings: ["image_size_cap": "1000"])
        try await cloud.run { client in
            let id = try await client.createImage(["disk_format": "raw", "container_format": "bare"])
            let upload = try await client.call(.put, "/v2/images/\(id)/file", data: ByteBuffer(repeating: 7, count: 5000))
            XCTAssertEqual(upload.status, .contentTooLarge, upload.text)
            let value12 = try await client.image(id)["status"]
            XCTAssertEqual(value12, "queued")
            XCTAssertEqual(cloud.storedFiles(), [])
        }
    }

    func testRangeParsing() async throws {
        XCTAssertEqual(ImageAPI.parseRange("bytes=-5", size: 100), 95...99)
        XCTAssertNil(ImageAPI.parseRange("bytes=5-1", size: 100))
    }

    func testInterruptedWriteLeavesNothing() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("stratus-store-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try FileStore(id: "t", directory: dir)
        struct CutOff: Error {}
        let source = AsyncThrowingStream<ByteBuffer, Error> { continuation in
            continuation.yield(ByteBuffer(repeating: 1, count: 100_000))
            continuation.finish(throwing: CutOff())
        }
        do {
            _ = try await store.write(imageID: "img", from: source) { _ in }
            XCTFail("the write should fail")
        } catch is CutOff {}
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), [])
    }

    func testLocationsAreHiddenAndGuarded() async throws {
        let hidden = try await ImageTestCloud.make()
        try await hidden.run { client in
            let id = try await client.createImage(["disk_format": "raw", "container_format": "bare"])
            let image = try await client.image(id)
            XCTAssertNil(image["locations"])
            let add = try await client.patch(id, [["op": "add", "path": "/locations/-", "value": ["url": "http://x/y", "metadata": [:]]]])
            XCTAssertEqual(add.status, .forbidden, "locations are invisible unless show_multiple_locations")
        }
        let shown = try await ImageTestCloud.make(settings: [
            "enabled_backends": "fast:file,web:http", "show_multiple_locations": "true",
        ])
        try await shown.run { client in
            let stores = try await client.call(.get, "/v2/info/stores")
            XCTAssertEqual(stores.json["stores"]?.arrayValue?.last?["read-only"], "true")
            let id = try await client.createImage(["disk_format": "raw", "container_format": "bare"])
            let created = try await client.image(id)
            XCTAssertEqual(created["locations"], [])
            let file = try await client.patch(id, [["op": "add", "path": "/locations/-", "value": ["url": "file:///etc/passwd", "metadata": [:]]]])
            XCTAssertEqual(file.status, .badRequest, "only http(s) locations can be added")
            _ = try await client.call(.put, "/v2/images/\(id)/file", data: ByteBuffer(string: "data"))
            let image = try await client.image(id)
            XCTAssertEqual(image["locations"]?.arrayValue?.count, 1)
            XCTAssertEqual(image["locations"]?.arrayValue?.first?["metadata"]?["store"], "fast")
            let readOnly = try await client.call(.post, "/v2/images/\(id)/import", token: "admin",
                                                 json: ["method": ["name": "copy-image"], "stores": ["web"]])
            XCTAssertEqual(readOnly.status, .badRequest, "http stores take no imports")
            let last = try await client.patch(id, [["op": "remove", "path": "/locations/0"]], token: "admin")
            XCTAssertEqual(last.status, .forbidden, "the last copy stays")
        }
    }

    func testCacheServesDownloadsAndGoesWithTheImage() async throws {
        let cloud = try await ImageTestCloud.make()
        try await cloud.run { client in
            let id = try await client.createImage(["disk_format": "raw", "container_format": "bare"])
            _ = try await client.call(.put, "/v2/images/\(id)/file", data: ByteBuffer(string: "cached bytes"))
            let denied = try await client.call(.put, "/v2/cache/\(id)")
            XCTAssertEqual(denied.status, .forbidden, "the cache is for admins")
            let queued = try await client.call(.put, "/v2/cache/\(id)", token: "admin")
            XCTAssertEqual(queued.status, .accepted)
            var cached: [JSON] = []
            for _ in 0..<200 where cached.isEmpty {
                cached = try await client.call(.get, "/v2/cache", token: "admin").json["cached_images"]?.arrayValue ?? []
                try await Task.sleep(for: .milliseconds(20))
            }
            XCTAssertEqual(cached.first?["image_id"]?.stringValue, id)
            let download = try await client.call(.get, "/v2/images/\(id)/file")
            XCTAssertEqual(download.text, "cached bytes")
            let hits = try await client.call(.get, "/v2/cache", token: "admin").json["cached_images"]?.arrayValue?.first?["hits"]
            XCTAssertEqual(hits?.intValue, 1)
            let deleted = try await client.call(.delete, "/v2/images/\(id)")
            XCTAssertEqual(deleted.status, .noContent)
            let after = try await client.call(.get, "/v2/cache", token: "admin").json["cached_images"]?.arrayValue
            XCTAssertEqual(after?.count, 0, "a deleted image leaves no cache entry")
            XCTAssertEqual(cloud.storedFiles(), [], "and no cached copy")
        }
    }
}
