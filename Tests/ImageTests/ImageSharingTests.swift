import HTTPTypes
import HummingbirdTesting
import NIOCore
import StratusCore
import XCTest

@testable import Image

private func imageIDs(_ reply: Reply) -> [String] {
    reply.json["images"]?.arrayValue?.compactMap { $0["id"]?.stringValue } ?? []
}

final class ImageSharingTests: XCTestCase {

    func testMembersAndVisibility() async throws {
        let cloud = try await ImageTestCloud.make()
        try await cloud.run { client in
            let shared = try await client.createImage(["name": "shared"])
            let priv = try await client.createImage(["name": "private", "visibility": "private"])
            let pub = try await client.createImage(["name": "public", "visibility": "public"], token: "admin")
            let community = try await client.createImage(["name": "community", "visibility": "community"])

            let value1 = Set(imageIDs(try await client.call(.get, "/v2/images", token: "bob")))
            XCTAssertEqual(value1, [pub])
            let value2 = try await client.call(.get, "/v2/images/\(priv)", token: "bob").status
            XCTAssertEqual(value2, .notFound)
            let value3 = try await client.call(.get, "/v2/images/\(community)", token: "bob").status
            XCTAssertEqual(value3, .ok)
            let value4 = Set(imageIDs(try await client.call(.get, "/v2/images?visibility=community", token: "bob")))
            XCTAssertEqual(value4, [community])

            let notShared = try await client.call(.post, "/v2/images/\(priv)/members", json: ["member": "p-bob"])
            XCTAssertEqual(notShared.status, .forbidden)
            let add = try await client.call(.post, "/v2/images/\(shared)/members", json: ["member": "p-bob"])
            XCTAssertEqual(add.status, .ok, add.text)
            XCTAssertEqual(add.json["status"], "pending")
            let value5 = try await client.call(.post, "/v2/images/\(shared)/members", json: ["member": "p-bob"]).status
            XCTAssertEqual(value5, .conflict)
            let value6 = imageIDs(try await client.call(.get, "/v2/images", token: "bob")).contains(shared)
            XCTAssertFalse(value6)
            let value7 = imageIDs(try await client.call(.get, "/v2/images?member_status=pending&visibility=shared", token: "bob"))
            XCTAssertEqual(value7, [shared])

            let ownerAccepts = try await client.call(.put, "/v2/images/\(shared)/members/p-bob", json: ["status": "accepted"])
            XCTAssertEqual(ownerAccepts.status, .forbidden, "only the member decides")
            let invalid = try await client.call(.put, "/v2/images/\(shared)/members/p-bob", token: "bob", json: ["status": "maybe"])
            XCTAssertEqual(invalid.status, .badRequest)
            let accept = try await client.call(.put, "/v2/images/\(shared)/members/p-bob", token: "bob", json: ["status": "accepted"])
            XCTAssertEqual(accept.status, .ok, accept.text)
            let value8 = imageIDs(try await client.call(.get, "/v2/images", token: "bob")).contains(shared)
            XCTAssertTrue(value8)
            let members = try await client.call(.get, "/v2/images/\(shared)/members", token: "reader")
            XCTAssertEqual(members.json["members"]?.arrayValue?.count, 1)

            let bobEdits = try await client.patch(shared, [["op": "replace", "path": "/name", "value": "mine"]], token: "bob")
            XCTAssertEqual(bobEdits.status, .forbidden, "members see, owners modify")
            let readerEdits = try await client.patch(shared, [["op": "replace", "path": "/name", "value": "x"]], token: "reader")
            XCTAssertEqual(readerEdits.status, .forbidden)

            let value9 = try await client.call(.delete, "/v2/images/\(shared)/members/p-bob").status
            XCTAssertEqual(value9, .noContent)
            let value10 = imageIDs(try await client.call(.get, "/v2/images", token: "bob")).contains(shared)
            XCTAssertFalse(value10)
            let value11 = Set(imageIDs(try await client.call(.get, "/v2/images", token: "admin")))
            XCTAssertEqual(value11, [shared, priv, pub], "admins see others' community images only when asking")
            let everything = Set(imageIDs(try await client.call(.get, "/v2/images?visibility=all", token: "admin")))
            XCTAssertEqual(everything, [shared, priv, pub, community])
        }
    }

    func testFiltersSortingAndPages() async throws {
        let cloud = try await ImageTestCloud.make()
        try await cloud.run { client in
            var created: [String] = []
            for i in 0..<7 {
                let id = try await client.createImage([
                    "name": .string("img-\(i)"), "disk_format": i % 2 == 0 ? "raw" : "ami", "container_format": "bare",
                    "tags": i < 3 ? ["small"] : ["big"], "os_distro": i == 4 ? "ubuntu" : "cirros",
                ])
                created.append(id)
                _ = try await client.call(.put, "/v2/images/\(id)/file", data: ByteBuffer(repeating: 1, count: 100 * (i + 1)))
            }
            _ = try await client.createImage(["name": "hidden", "os_hidden": true])

            let value12 = imageIDs(try await client.call(.get, "/v2/images"))
            XCTAssertEqual(value12, created.reversed(), "newest first, hidden left out")
            let value13 = imageIDs(try await client.call(.get, "/v2/images?os_hidden=true")).count
            XCTAssertEqual(value13, 1)
            let value14 = imageIDs(try await client.call(.get, "/v2/images?disk_format=raw")).count
            XCTAssertEqual(value14, 4)
            let value15 = imageIDs(try await client.call(.get, "/v2/images?tag=small")).count
            XCTAssertEqual(value15, 3)
            let value16 = imageIDs(try await client.call(.get, "/v2/images?os_distro=ubuntu"))
            XCTAssertEqual(value16, [created[4]])
            let value17 = imageIDs(try await client.call(.get, "/v2/images?size_min=300&size_max=500")).count
            XCTAssertEqual(value17, 3)
            let value18 = imageIDs(try await client.call(.get, "/v2/images?name=in:img-1,img-2")).count
            XCTAssertEqual(value18, 2)
            let value19 = imageIDs(try await client.call(.get, "/v2/images?sort=size:asc"))
            XCTAssertEqual(value19, created)
            let value20 = imageIDs(try await client.call(.get, "/v2/images?sort_key=name&sort_dir=asc"))
            XCTAssertEqual(value20, created)
            let value21 = try await client.call(.get, "/v2/images?sort_key=bogus").status
            XCTAssertEqual(value21, .badRequest)
            let value22 = try await client.call(.get, "/v2/images?created_at=gt:notatime").status
            XCTAssertEqual(value22, .badRequest)
            let value23 = try await client.call(.get, "/v2/images?marker=00000000-0000-0000-0000-000000000000").status
            XCTAssertEqual(value23, .badRequest)

            // Walk the pages through the `next` links.
            var seen: [String] = []
            var next: String? = "/v2/images?limit=3&sort=name:asc"
            while let link = next {
                let page = try await client.call(.get, link)
                seen += imageIDs(page)
                next = page.json["next"]?.stringValue
            }
            XCTAssertEqual(seen, created)
        }
    }

    func testGlanceDirectImportAndCopyToAnotherStore() async throws {
        let cloud = try await ImageTestCloud.make()
        try await cloud.run { client in
            let info = try await client.call(.get, "/v2/info/stores")
            XCTAssertEqual(info.json["stores"]?.arrayValue?.compactMap { $0["id"]?.stringValue }, ["fast", "cheap"])
            let id = try await client.createImage(["disk_format": "raw", "container_format": "bare"])
            let early = try await client.call(.post, "/v2/images/\(id)/import", json: ["method": ["name": "glance-direct"]])
            XCTAssertEqual(early.status, .conflict, "nothing staged yet")
            let stage = try await client.call(.put, "/v2/images/\(id)/stage", data: ByteBuffer(repeating: 9, count: 4096))
            XCTAssertEqual(stage.status, .noContent)
            let value24 = try await client.image(id)["status"]
            XCTAssertEqual(value24, "uploading")
            let start = try await client.call(.post, "/v2/images/\(id)/import", json: ["method": ["name": "glance-direct"], "stores": ["cheap"]])
            XCTAssertEqual(start.status, .accepted, start.text)
            let image = try await client.waitFor(id, status: "active")
            XCTAssertEqual(image["stores"], "cheap")
            XCTAssertEqual(image["size"]?.intValue, 4096)
            let tasks = try await client.call(.get, "/v2/images/\(id)/tasks")
            XCTAssertEqual(tasks.json["tasks"]?.arrayValue?.first?["status"], "success")

            let memberCopy = try await client.call(.post, "/v2/images/\(id)/import", json: ["method": ["name": "copy-image"], "all_stores": true])
            XCTAssertEqual(memberCopy.status, .forbidden, "copying between stores is for admins")
            let copy = try await client.call(.post, "/v2/images/\(id)/import", token: "admin", json: ["method": ["name": "copy-image"], "all_stores": true])
            XCTAssertEqual(copy.status, .accepted, copy.text)
            for _ in 0..<200 where try await client.image(id)["stores"] != "cheap,fast" {
                try await Task.sleep(for: .milliseconds(20))
            }
            let copied = try await client.image(id)
            XCTAssertEqual(copied["stores"], "cheap,fast")
            XCTAssertEqual(copied["os_glance_importing_to_stores"], "")
            let value25 = try await client.call(.delete, "/v2/stores/fast/\(id)", token: "admin").status
            XCTAssertEqual(value25, .noContent)
            let value26 = try await client.image(id)["stores"]
            XCTAssertEqual(value26, "cheap")
            let value27 = try await client.call(.delete, "/v2/stores/cheap/\(id)", token: "admin").status
            XCTAssertEqual(value27, .conflict)
            XCTAssertEqual(cloud.storedFiles(), ["cheap/\(id)"], "staged data is gone once imported")
        }
    }
}
