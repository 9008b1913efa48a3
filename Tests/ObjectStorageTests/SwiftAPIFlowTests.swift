import Crypto
import Foundation
import HTTPTypes
import StratusCore
import XCTest

@testable import ObjectStorage

/// Accounts, containers and objects through the API, as the swift CLI and tempest use them.
final class SwiftAPIFlowTests: XCTestCase {
    static let account = ObjectStorageCloud.account

    func testContainersObjectsListingsAndCounts() async throws {
        try await ObjectStorageCloud.run { cloud in
            let c = Self.account + "/photos"
            var reply = try await cloud.send(.put, c, headers: [HTTPField.Name("X-Container-Meta-Color")!: "blue"])
            XCTAssertEqual(reply.status, .created)
            XCTAssertNotNil(
                cloud.header(reply, "X-Trans-Id")?.range(
                    of: "^tx[0-9a-f]{21}-[0-9a-f]{10}$", options: .regularExpression))
            let r1 = try await cloud.send(.put, c)
            XCTAssertEqual(r1.status, .accepted)
            for name in ["a/1.jpg", "a/2.jpg", "b.txt", "c/d/e"] {
                reply = try await cloud.send(
                    .put, "\(c)/\(name)", body: "data of \(name)",
                    headers: [HTTPField.Name("X-Object-Meta-Kind")!: "k"])
                XCTAssertEqual(reply.status, .created)
                XCTAssertEqual(
                    reply.headers[.eTag], Insecure.MD5.hash(data: Data("data of \(name)".utf8)).hexEncoded())
            }
            reply = try await cloud.send(.get, "\(c)/b.txt")
            XCTAssertEqual(reply.text, "data of b.txt")
            XCTAssertEqual(reply.headers[.contentType], "text/plain")
            XCTAssertEqual(cloud.header(reply, "X-Object-Meta-Kind"), "k")
            reply = try await cloud.send(.head, c)
            XCTAssertEqual(reply.status, .noContent)
            XCTAssertEqual(cloud.header(reply, "X-Container-Object-Count"), "4")
            XCTAssertEqual(cloud.header(reply, "X-Container-Meta-Color"), "blue")
            let r2 = try await cloud.send(.get, c)
            XCTAssertEqual(r2.text, "a/1.jpg\na/2.jpg\nb.txt\nc/d/e\n")
            let r3 = try await cloud.send(.get, c + "?delimiter=/")
            XCTAssertEqual(r3.text, "a/\nb.txt\nc/\n")
            let r4 = try await cloud.send(.get, c + "?delimiter=/&reverse=true")
            XCTAssertEqual(r4.text, "c/\nb.txt\na/\n")
            let r5 = try await cloud.send(.get, c + "?prefix=a/&marker=a/1.jpg")
            XCTAssertEqual(r5.text, "a/2.jpg\n")
            let r6 = try await cloud.send(.get, c + "?end_marker=b.txt&limit=1")
            XCTAssertEqual(r6.text, "a/1.jpg\n")
            let r7 = try await cloud.send(.get, c + "?path=c/d")
            XCTAssertEqual(r7.text, "c/d/e\n")
            let r8 = try await cloud.send(.get, c + "?limit=10001")
            XCTAssertEqual(r8.status, .preconditionFailed)
            let json = try await cloud.send(.get, c + "?format=json&prefix=b").json
            XCTAssertEqual(json.arrayValue?.first?["bytes"]?.intValue, 13)
            XCTAssertEqual(json.arrayValue?.first?["hash"]?.stringValue?.count, 32)
            let r9 = try await cloud.send(.get, c + "?format=xml")
            XCTAssertTrue(r9.text.contains("<name>a/1.jpg</name>"))
            reply = try await cloud.send(.get, Self.account + "?format=json")
            XCTAssertEqual(reply.json.arrayValue?.first?["count"]?.intValue, 4)
            XCTAssertEqual(cloud.header(reply, "X-Account-Bytes-Used"), "56")

            let r10 = try await cloud.send(.delete, c)
            XCTAssertEqual(r10.status, .conflict)
            for name in ["a/1.jpg", "a/2.jpg", "b.txt", "c/d/e"] {
                let r11 = try await cloud.send(.delete, "\(c)/\(name)")
                XCTAssertEqual(r11.status, .noContent)
            }
            let r12 = try await cloud.send(.delete, "\(c)/b.txt")
            XCTAssertEqual(r12.status, .notFound)
            let r13 = try await cloud.send(.get, c)
            XCTAssertEqual(r13.status, .noContent)
            let r14 = try await cloud.send(.delete, c)
            XCTAssertEqual(r14.status, .noContent)
            reply = try await cloud.send(.head, Self.account)
            XCTAssertEqual(cloud.header(reply, "X-Account-Container-Count"), "0")
            XCTAssertEqual(cloud.header(reply, "X-Account-Bytes-Used"), "0")
        }
    }

    func testMetadataRangesAndConditions() async throws {
        try await ObjectStorageCloud.run { cloud in
            let o = Self.account + "/c/o"
            try await cloud.send(.put, Self.account + "/c")
            try await cloud.send(.put, o, body: "0123456789", headers: [.contentType: "text/x-digits"])
            var reply = try await cloud.send(.get, o, headers: [.range: "bytes=2-4"])
            XCTAssertEqual(reply.status, .partialContent)
            XCTAssertEqual(reply.text, "234")
            XCTAssertEqual(reply.headers[.contentRange], "bytes 2-4/10")
            let r15 = try await cloud.send(.get, o, headers: [.range: "bytes=-3"])
            XCTAssertEqual(r15.text, "789")
            reply = try await cloud.send(.get, o, headers: [.range: "bytes=0-0,8-"])
            XCTAssertTrue(reply.headers[.contentType]?.hasPrefix("multipart/byteranges") == true)
            XCTAssertTrue(reply.text.contains("Content-Range: bytes 8-9/10\r\n\r\n89\r\n"))
            let r16 = try await cloud.send(.get, o, headers: [.range: "bytes=20-"])
            XCTAssertEqual(r16.status, .rangeNotSatisfiable)
            let etag = Insecure.MD5.hash(data: Data("0123456789".utf8)).hexEncoded()
            let r17 = try await cloud.send(.get, o, headers: [.ifNoneMatch: etag])
            XCTAssertEqual(r17.status, .notModified)
            let r18 = try await cloud.send(.get, o, headers: [.ifMatch: "\"nope\""])
            XCTAssertEqual(r18.status, .preconditionFailed)
            let put = try await cloud.send(.put, o, body: "x", headers: [.ifNoneMatch: "*"])
            XCTAssertEqual(put.status, .preconditionFailed)
            let r19 = try await cloud.send(.put, o, body: "x", headers: [.eTag: etag])
            XCTAssertEqual(r19.status.code, 422)

            reply = try await cloud.send(
                .post, o, headers: [HTTPField.Name("X-Object-Meta-A")!: "1", .contentType: "a/b"])
            XCTAssertEqual(reply.status, .accepted)
            reply = try await cloud.send(.head, o)
            XCTAssertEqual(cloud.header(reply, "X-Object-Meta-A"), "1")
            XCTAssertEqual(reply.headers[.contentType], "a/b")
            XCTAssertEqual(reply.headers[.contentLength], "10")
            let r20 = try await cloud.send(.get, o)
            XCTAssertEqual(r20.text, "0123456789")

            let c = Self.account + "/c"
            try await cloud.send(.post, c, headers: [HTTPField.Name("X-Container-Meta-A")!: "1"])
            try await cloud.send(.post, c, headers: [HTTPField.Name("X-Remove-Container-Meta-A")!: "x"])
            let r21 = try await cloud.send(.head, c)
            XCTAssertNil(cloud.header(r21, "X-Container-Meta-A"))
            let long = String(repeating: "k", count: 129)
            reply = try await cloud.send(.post, c, headers: [HTTPField.Name("X-Container-Meta-\(long)")!: "v"])
            XCTAssertEqual(reply.status, .badRequest)
            XCTAssertTrue(reply.text.contains("Metadata name too long"))
            let r22 = try await cloud.send(.put, Self.account + "/" + String(repeating: "n", count: 257))
            XCTAssertEqual(r22.status, .badRequest)
        }
    }

    func testAccessControlListsAndQuotas() async throws {
        try await ObjectStorageCloud.run { cloud in
            let c = Self.account + "/shared"
            try await cloud.send(.put, c)
            try await cloud.send(.put, c + "/o", body: "secret")
            let r23 = try await cloud.send(.get, c + "/o", token: nil)
            XCTAssertEqual(r23.status, .unauthorized)
            let r24 = try await cloud.send(.get, c + "/o", token: "bob")
            XCTAssertEqual(r24.status, .forbidden)
            let r25 = try await cloud.send(.get, Self.account, token: "bob")
            XCTAssertEqual(r25.status, .forbidden)
            try await cloud.send(.post, c, headers: [HTTPField.Name("X-Container-Read")!: "p-bob:u-bob"])
            let r26 = try await cloud.send(.get, c + "/o", token: "bob")
            XCTAssertEqual(r26.text, "secret")
            let r27 = try await cloud.send(.put, c + "/p", token: "bob", body: "x")
            XCTAssertEqual(r27.status, .forbidden)
            try await cloud.send(.post, c, headers: [HTTPField.Name("X-Container-Write")!: "p-bob:*"])
            let r28 = try await cloud.send(.put, c + "/p", token: "bob", body: "x")
            XCTAssertEqual(r28.status, .created)
            // Bob may not change the ACLs he was given.
            let acl: HTTPFields = [HTTPField.Name("X-Container-Read")!: ".r:*"]
            let r29 = try await cloud.send(.post, c, token: "bob", headers: acl)
            XCTAssertEqual(r29.status, .forbidden)
            try await cloud.send(.post, c, headers: [HTTPField.Name("X-Container-Read")!: ".r:*"])
            let r30 = try await cloud.send(.get, c + "/o", token: nil)
            XCTAssertEqual(r30.text, "secret")
            let r31 = try await cloud.send(.get, c, token: nil)
            XCTAssertEqual(r31.status, .unauthorized)
            try await cloud.send(.post, c, headers: [HTTPField.Name("X-Container-Read")!: ".r:*,.rlistings"])
            let r32 = try await cloud.send(.get, c, token: nil)
            XCTAssertEqual(r32.text, "o\np\n")
            let r33 = try await cloud.send(.put, c + "/q", token: nil, body: "x")
            XCTAssertEqual(r33.status, .unauthorized)

            let quota: HTTPFields = [HTTPField.Name("X-Account-Meta-Quota-Bytes")!: "20"]
            let r34 = try await cloud.send(.post, Self.account, headers: quota)
            XCTAssertEqual(r34.status, .forbidden)
            let r35 = try await cloud.send(.post, Self.account, token: "reseller", headers: quota)
            XCTAssertEqual(r35.status, .noContent)
            let r36 = try await cloud.send(.put, c + "/big", body: String(repeating: "x", count: 20))
            XCTAssertEqual(r36.status.code, 413)
            let r37 = try await cloud.send(.put, c + "/small", body: "xx")
            XCTAssertEqual(r37.status, .created)
            try await cloud.send(
                .put, Self.account + "/q", headers: [HTTPField.Name("X-Container-Meta-Quota-Count")!: "1"])
            let r38 = try await cloud.send(.put, Self.account + "/q/1", body: "")
            XCTAssertEqual(r38.status, .created)
            let r39 = try await cloud.send(.put, Self.account + "/q/2", body: "")
            XCTAssertEqual(r39.status.code, 413)
        }
    }

    func testCopiesVersionsAndExpiry() async throws {
        try await ObjectStorageCloud.run { cloud in
            let c = Self.account + "/c"
            try await cloud.send(.put, c)
            try await cloud.send(.put, Self.account + "/other")
            try await cloud.send(.put, c + "/src", body: "source", headers: [HTTPField.Name("X-Object-Meta-A")!: "1"])
            var reply = try await cloud.send(
                .put, Self.account + "/other/dst", body: "", headers: [.copyFrom: "c/src"])
            XCTAssertEqual(reply.status, .created)
            XCTAssertEqual(cloud.header(reply, "X-Copied-From"), "c/src")
            reply = try await cloud.send(.get, Self.account + "/other/dst")
            XCTAssertEqual(reply.text, "source")
            XCTAssertEqual(cloud.header(reply, "X-Object-Meta-A"), "1")
            reply = try await cloud.send(
                SwiftAPI.copy, c + "/src", headers: [.destination: "c/fresh", .freshMetadata: "true"])
            XCTAssertEqual(reply.status, .created)
            let r40 = try await cloud.send(.head, c + "/fresh")
            XCTAssertNil(cloud.header(r40, "X-Object-Meta-A"))

            let v = Self.account + "/v"
            try await cloud.send(.put, Self.account + "/archive")
            try await cloud.send(.put, v, headers: [HTTPField.Name("X-Versions-Location")!: "archive"])
            for body in ["one", "two", "three"] { try await cloud.send(.put, v + "/o", body: body) }
            let r41 = try await cloud.send(.head, Self.account + "/archive")
            XCTAssertEqual(cloud.header(r41, "X-Container-Object-Count"), "2")
            try await cloud.send(.delete, v + "/o")
            let r42 = try await cloud.send(.get, v + "/o")
            XCTAssertEqual(r42.text, "two")
            try await cloud.send(.delete, v + "/o")
            try await cloud.send(.delete, v + "/o")
            let r43 = try await cloud.send(.get, v + "/o")
            XCTAssertEqual(r43.status, .notFound)
            reply = try await cloud.send(.head, Self.account + "/archive")
            XCTAssertEqual(cloud.header(reply, "X-Container-Bytes-Used"), "0")

            // Three seconds ahead: the HEAD below must still find it on a loaded machine.
            let soon = String(Int(Date().timeIntervalSince1970) + 3)
            try await cloud.send(.put, c + "/brief", body: "x", headers: [.deleteAt: soon])
            let r44 = try await cloud.send(.head, c + "/brief")
            XCTAssertEqual(cloud.header(r44, "X-Delete-At"), soon)
            let r45 = try await cloud.send(.put, c + "/past", body: "x", headers: [.deleteAt: "1"])
            XCTAssertEqual(r45.status, .badRequest)
            try await Task.sleep(for: .seconds(4))
            let r46 = try await cloud.send(.get, c + "/brief")
            XCTAssertEqual(r46.status, .notFound)
        }
    }

    func testLargeObjectsAndTempURLs() async throws {
        try await ObjectStorageCloud.run { cloud in
            let c = Self.account + "/c"
            try await cloud.send(.put, c)
            for (index, part) in ["aaa", "bbb", "cc"].enumerated() {
                try await cloud.send(.put, c + "/seg/\(index)", body: part)
            }
            try await cloud.send(.put, c + "/dlo", body: "", headers: [HTTPField.Name("X-Object-Manifest")!: "c/seg/"])
            var reply = try await cloud.send(.get, c + "/dlo")
            XCTAssertEqual(reply.text, "aaabbbcc")
            XCTAssertEqual(reply.headers[.eTag]?.first, "\"")
            let r47 = try await cloud.send(.get, c + "/dlo", headers: [.range: "bytes=2-4"])
            XCTAssertEqual(r47.text, "abb")

            let md5 = { (text: String) in Insecure.MD5.hash(data: Data(text.utf8)).hexEncoded() }
            let manifest = """
                [{"path": "/c/seg/0", "etag": "\(md5("aaa"))", "size_bytes": 3},
                 {"path": "c/seg/2", "etag": null, "size_bytes": null, "range": "1-1"}]
                """
            reply = try await cloud.send(.put, c + "/slo?multipart-manifest=put", body: manifest)
            XCTAssertEqual(reply.status, .created)
            reply = try await cloud.send(.get, c + "/slo")
            XCTAssertEqual(reply.text, "aaac")
            XCTAssertEqual(cloud.header(reply, "X-Static-Large-Object"), "True")
            reply = try await cloud.send(.put, c + "/bad?multipart-manifest=put", body: "[{\"path\": \"c/none\"}]")
            XCTAssertEqual(reply.status, .badRequest)
            XCTAssertTrue(reply.text.contains("404 Not Found"))
            reply = try await cloud.send(.delete, c + "/slo?multipart-manifest=delete")
            XCTAssertTrue(reply.text.contains("Number Deleted: 3"))
            let r48 = try await cloud.send(.get, c + "/seg/0")
            XCTAssertEqual(r48.status, .notFound)

            try await cloud.send(.post, Self.account, headers: [HTTPField.Name("X-Account-Meta-Temp-URL-Key")!: "k"])
            let expires = Int(Date().timeIntervalSince1970) + 60
            let path = "/v1/AUTH_p-alice/c/seg/1"
            let signature = HMAC<SHA256>.authenticationCode(
                for: Data("GET\n\(expires)\n\(path)".utf8), using: SymmetricKey(data: Data("k".utf8))
            ).hexEncoded()
            reply = try await cloud.send(
                .get, "\(path)?temp_url_sig=\(signature)&temp_url_expires=\(expires)", token: nil)
            XCTAssertEqual(reply.text, "bbb")
            XCTAssertEqual(reply.headers[.contentDisposition], "attachment; filename=\"1\"")
            reply = try await cloud.send(
                .put, "\(path)?temp_url_sig=\(signature)&temp_url_expires=\(expires)", token: nil, body: "x")
            XCTAssertEqual(reply.status, .unauthorized)
            let expired = "\(path)?temp_url_sig=\(signature)&temp_url_expires=\(expires - 120)"
            let r49 = try await cloud.send(.get, expired, token: "alice")
            XCTAssertEqual(r49.status, .unauthorized)
            let r50 = try await cloud.send(.get, "/info", token: nil)
            XCTAssertEqual(r50.json["slo"]?["max_manifest_segments"]?.intValue, 1000)
        }
    }
}
