import Crypto
import Foundation
import HTTPTypes
import NIOCore
import StratusCore
import XCTest

@testable import ObjectStorage

/// Symlinks, bulk delete and archive extraction, form POST and static web through the API.
final class MiddlewareFlowTests: XCTestCase {
    static let account = ObjectStorageCloud.account

    func testSymlinksAreFollowedAndListed() async throws {
        try await ObjectStorageCloud.run { cloud in
            let c = Self.account + "/c"
            try await cloud.send(.put, c)
            try await cloud.send(.put, c + "/target", body: "pointed at")
            let link: HTTPFields = [HTTPField.Name("X-Symlink-Target")!: "c/target"]
            var reply = try await cloud.send(.put, c + "/link", body: "", headers: link)
            XCTAssertEqual(reply.status, .created)
            reply = try await cloud.send(.get, c + "/link")
            XCTAssertEqual(reply.text, "pointed at")
            XCTAssertEqual(reply.headers[.contentLocation], "/v1/AUTH_p-alice/c/target")
            reply = try await cloud.send(.get, c + "/link?symlink=get")
            XCTAssertEqual(reply.headers[.contentType], "application/symlink")
            reply = try await cloud.send(.get, c + "?format=json&prefix=link")
            XCTAssertEqual(reply.json.arrayValue?.first?["symlink_path"], "/v1/AUTH_p-alice/c/target")
            reply = try await cloud.send(.put, c + "/bad", body: "x", headers: link)
            XCTAssertEqual(reply.status, .badRequest)
            try await cloud.send(.delete, c + "/target")
            reply = try await cloud.send(.get, c + "/link")
            XCTAssertEqual(reply.status, .notFound)
        }
    }

    /// A ustar archive of `files`, as `tar cf` writes it.
    static func tar(_ files: [(String, String)]) -> String {
        var archive = [UInt8]()
        for (name, text) in files {
            var header = [UInt8](repeating: 0, count: 512)
            func put(_ value: String, at offset: Int) {
                for (i, byte) in value.utf8.enumerated() { header[offset + i] = byte }
            }
            put(name, at: 0)
            put("0000644", at: 100)
            put(String(format: "%011o", text.utf8.count), at: 124)
            put("00000000000", at: 136)
            put("0", at: 156)
            put("ustar", at: 257)
            put("        ", at: 148)
            let sum = header.reduce(0) { $0 + Int($1) }
            put(String(format: "%06o", sum) + "\0 ", at: 148)
            archive += header + Array(text.utf8)
            archive += [UInt8](repeating: 0, count: (512 - text.utf8.count % 512) % 512)
        }
        archive += [UInt8](repeating: 0, count: 1024)
        return String(decoding: archive, as: UTF8.self)
    }

    func testBulkExtractAndDelete() async throws {
        try await ObjectStorageCloud.run { cloud in
            let archive = Self.tar([("docs/a.txt", "first"), ("docs/sub/b.txt", "second"), ("pics/c", "third")])
            var reply = try await cloud.send(.put, Self.account + "/?extract-archive=tar", body: archive)
            XCTAssertEqual(reply.status, .ok)
            XCTAssertTrue(reply.text.contains("Number Files Created: 3"), reply.text)
            let got1 = try await cloud.send(.get, Self.account + "/docs/sub/b.txt")
            XCTAssertEqual(got1.text, "second")
            reply = try await cloud.send(
                .delete, Self.account + "/?bulk-delete", body: "docs/a.txt\ndocs/missing\npics/c\npics\ndocs")
            XCTAssertTrue(reply.text.contains("Number Deleted: 3"), reply.text)
            XCTAssertTrue(reply.text.contains("Number Not Found: 1"), reply.text)
            XCTAssertTrue(reply.text.contains("docs, 409 Conflict"), reply.text)
            let got2 = try await cloud.send(.head, Self.account + "/pics")
            XCTAssertEqual(got2.status, .notFound)
        }
    }

    func testFormPostUploadsWithASignedForm() async throws {
        try await ObjectStorageCloud.run { cloud in
            try await cloud.send(.put, Self.account + "/forms")
            try await cloud.send(.post, Self.account, headers: [HTTPField.Name("X-Account-Meta-Temp-URL-Key")!: "k"])
            func form(expires: Int, key: String) -> String {
                let message = "/v1/AUTH_p-alice/forms/up-\n\n1024\n2\n\(expires)"
                let signature = HMAC<Insecure.SHA1>.authenticationCode(
                    for: Data(message.utf8), using: SymmetricKey(data: Data(key.utf8))
                ).hexEncoded()
                let fields = [
                    ("redirect", ""), ("max_file_size", "1024"), ("max_file_count", "2"),
                    ("expires", String(expires)), ("signature", signature),
                ]
                var body = fields.map { "--B\r\nContent-Disposition: form-data; name=\"\($0.0)\"\r\n\r\n\($0.1)\r\n" }
                    .joined()
                body +=
                    "--B\r\nContent-Disposition: form-data; name=\"file1\"; filename=\"hello.txt\"\r\n"
                    + "Content-Type: text/plain\r\n\r\nhello form\r\n--B--\r\n"
                return body
            }
            let type: HTTPFields = [.contentType: "multipart/form-data; boundary=B"]
            let later = Int(Date().timeIntervalSince1970) + 60
            var reply = try await cloud.send(
                .post, Self.account + "/forms/up-", token: nil, body: form(expires: later, key: "k"), headers: type)
            XCTAssertEqual(reply.status, .created, reply.text)
            let got3 = try await cloud.send(.get, Self.account + "/forms/up-hello.txt")
            XCTAssertEqual(got3.text, "hello form")
            reply = try await cloud.send(
                .post, Self.account + "/forms/up-", token: "alice", body: form(expires: later, key: "bad"),
                headers: type)
            XCTAssertEqual(reply.status, .unauthorized)
            XCTAssertTrue(reply.text.contains("FormPost: Invalid Signature"))
            reply = try await cloud.send(
                .post, Self.account + "/forms/up-", token: nil, body: form(expires: later - 120, key: "k"),
                headers: type)
            XCTAssertTrue(reply.text.contains("FormPost: Form Expired"))
        }
    }

    func testStaticWebServesIndexesListingsAndErrorPages() async throws {
        try await ObjectStorageCloud.run { cloud in
            let c = Self.account + "/site"
            try await cloud.send(.put, c, headers: [HTTPField.Name("X-Container-Read")!: ".r:*,.rlistings"])
            try await cloud.send(.put, c + "/index.html", body: "<p>home</p>")
            try await cloud.send(.put, c + "/docs/guide.html", body: "guide")
            try await cloud.send(.put, c + "/404error.html", body: "no such page")
            try await cloud.send(
                .post, c,
                headers: [
                    HTTPField.Name("X-Container-Meta-Web-Index")!: "index.html",
                    HTTPField.Name("X-Container-Meta-Web-Error")!: "error.html",
                    HTTPField.Name("X-Container-Meta-Web-Listings")!: "true",
                    HTTPField.Name("X-Container-Meta-Web-Listings-CSS")!: "style.css",
                ])
            var reply = try await cloud.send(.get, c, token: nil)
            XCTAssertEqual(reply.status, .movedPermanently)
            XCTAssertEqual(reply.headers[.location], c + "/")
            let got4 = try await cloud.send(.get, c + "/", token: nil)
            XCTAssertEqual(got4.text, "<p>home</p>")
            reply = try await cloud.send(.get, c + "/docs/", token: nil)
            XCTAssertTrue(reply.text.contains("<a href=\"guide.html\">guide.html</a>"), reply.text)
            XCTAssertTrue(reply.text.contains("href=\"../style.css\""), reply.text)
            reply = try await cloud.send(.get, c + "/nowhere", token: nil)
            XCTAssertEqual(reply.status, .notFound)
            XCTAssertEqual(reply.text, "no such page")
            let got5 = try await cloud.send(.get, c)
            XCTAssertEqual(got5.text.contains("index.html\n"), true, "the owner gets a listing")
        }
    }
}
