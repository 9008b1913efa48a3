import Foundation
import HTTPTypes
import StratusCore
import XCTest

@testable import ObjectStorage

/// Object versioning (`X-Versions-Enabled`) as the swift CLI uses it: version ids, the
/// versions listing, delete markers, reading, restoring and deleting one version.
final class VersioningFlowTests: XCTestCase {
    static let account = ObjectStorageCloud.account
    static let enabled = HTTPField.Name("X-Versions-Enabled")!

    func testVersionsAreKeptListedAndRestored() async throws {
        try await ObjectStorageCloud.run { cloud in
            let c = Self.account + "/docs"
            let r0 = try await cloud.send(.put, c + "/plain.txt", body: "before versioning")
            XCTAssertEqual(r0.status, .notFound)
            try await cloud.expect(.created, .put, c)
            try await cloud.expect(.created, .put, c + "/old.txt", body: "null version")
            try await cloud.expect(.noContent, .post, c, headers: [Self.enabled: "true"])
            let head = try await cloud.send(.head, c)
            XCTAssertEqual(cloud.header(head, "X-Versions-Enabled"), "True")

            let v1 = try await cloud.send(.put, c + "/a.txt", body: "one")
            XCTAssertEqual(v1.status, .created)
            let id1 = try XCTUnwrap(cloud.header(v1, "X-Object-Version-Id"))
            let v2 = try await cloud.send(.put, c + "/a.txt", body: "two!")
            let id2 = try XCTUnwrap(cloud.header(v2, "X-Object-Version-Id"))
            XCTAssertNotEqual(id1, id2)
            let current = try await cloud.send(.get, c + "/a.txt")
            XCTAssertEqual(current.text, "two!")
            XCTAssertEqual(cloud.header(current, "X-Object-Version-Id"), id2)
            let first = try await cloud.send(.get, c + "/a.txt?version-id=\(id1)")
            XCTAssertEqual(first.text, "one")
            let old = try await cloud.send(.get, c + "/old.txt")
            XCTAssertEqual(cloud.header(old, "X-Object-Version-Id"), "null")

            // The plain listing shows each object once, with its current version's size.
            let listing = try await cloud.send(.get, c + "?format=json").json.arrayValue ?? []
            XCTAssertEqual(listing.compactMap { $0["name"]?.stringValue }, ["a.txt", "old.txt"])
            XCTAssertEqual(listing.first?["bytes"]?.intValue, 4)
            XCTAssertEqual(
                listing.first?["symlink_path"]?.stringValue, "\(Self.account)/docs/a.txt?version-id=\(id2)")
            let account = try await cloud.send(.get, Self.account + "?format=json").json.arrayValue ?? []
            XCTAssertEqual(account.compactMap { $0["name"]?.stringValue }, ["docs"])

            // A delete leaves a marker; every version stays listed and readable.
            let deleted = try await cloud.send(.delete, c + "/a.txt")
            XCTAssertEqual(deleted.status, .noContent)
            let markerID = try XCTUnwrap(cloud.header(deleted, "X-Object-Version-Id"))
            try await cloud.expect(.notFound, .get, c + "/a.txt")
            try await cloud.expect(.notFound, .get, c + "/a.txt?version-id=\(markerID)")
            let versions = try await cloud.send(.get, c + "?versions&format=json").json.arrayValue ?? []
            XCTAssertEqual(versions.compactMap { $0["version_id"]?.stringValue }, [markerID, id2, id1, "null"])
            XCTAssertEqual(versions.compactMap { $0["is_latest"]?.boolValue }, [true, false, false, true])
            XCTAssertEqual(versions.first?["content_type"]?.stringValue, VersionNames.deleteMarkerType)
            try await cloud.expect(.notAcceptable, .get, c + "?versions&format=xml")
            let paged = try await cloud.send(.get, c + "?versions&format=json&marker=a.txt&version_marker=\(id2)")
            XCTAssertEqual(paged.json.arrayValue?.compactMap { $0["version_id"]?.stringValue }, [id1, "null"])

            // PUT ?version-id makes a version current again; DELETE ?version-id removes one.
            let restored = try await cloud.send(.put, c + "/a.txt?version-id=\(id1)", body: "")
            XCTAssertEqual(restored.status, .created)
            let restoredText = try await cloud.send(.get, c + "/a.txt").text
            XCTAssertEqual(restoredText, "one")
            let removed = try await cloud.send(.delete, c + "/a.txt?version-id=\(id2)")
            XCTAssertEqual(removed.status, .noContent)
            XCTAssertEqual(cloud.header(removed, "X-Object-Current-Version-Id"), id1)
            try await cloud.expect(.notFound, .get, c + "/a.txt?version-id=\(id2)")
            try await cloud.expect(.badRequest, .post, c + "/a.txt?version-id=\(id1)")
            try await cloud.expect(.badRequest, .get, c + "/a.txt?version-id=junk")

            // Overwriting the null version keeps it as a version of its own.
            try await cloud.expect(.created, .put, c + "/old.txt", body: "new")
            let oldVersions = try await cloud.send(.get, c + "?versions&format=json&prefix=old").json.arrayValue
            XCTAssertEqual(oldVersions?.count, 2)
            XCTAssertFalse(oldVersions?.contains { $0["version_id"]?.stringValue == "null" } ?? true)

            // Suspended: writes replace the current object; versions stay until deleted.
            try await cloud.expect(.noContent, .post, c, headers: [Self.enabled: "false"])
            let suspended = try await cloud.send(.head, c)
            XCTAssertEqual(cloud.header(suspended, "X-Versions-Enabled"), "False")
            try await cloud.expect(.created, .put, c + "/b.txt", body: "b")
            let b = try await cloud.send(.get, c + "/b.txt?version-id=null")
            XCTAssertEqual(b.text, "b")
            for name in ["a.txt", "old.txt", "b.txt"] {
                try await cloud.expect(.noContent, .delete, "\(c)/\(name)")
            }
            try await cloud.expect(.conflict, .delete, c)
            let left = try await cloud.send(.get, c + "?versions&format=json").json.arrayValue ?? []
            for version in left {
                let name = try XCTUnwrap(version["name"]?.stringValue)
                let id = try XCTUnwrap(version["version_id"]?.stringValue)
                try await cloud.expect(.noContent, .delete, "\(c)/\(name)?version-id=\(id)")
            }
            try await cloud.expect(.noContent, .delete, c)
            let gone = try await cloud.send(.head, Self.account)
            XCTAssertEqual(cloud.header(gone, "X-Account-Container-Count"), "0")
            XCTAssertEqual(cloud.header(gone, "X-Account-Bytes-Used"), "0")
        }
    }

    func testLegacyAndNewVersioningExcludeEachOther() async throws {
        try await ObjectStorageCloud.run { cloud in
            let c = Self.account + "/legacy"
            let location = HTTPField.Name("X-Versions-Location")!
            try await cloud.expect(.created, .put, c, headers: [location: "archive"])
            try await cloud.expect(.badRequest, .post, c, headers: [Self.enabled: "true"])
            let n = Self.account + "/modern"
            try await cloud.expect(.created, .put, n, headers: [Self.enabled: "yes"])
            try await cloud.expect(.badRequest, .post, n, headers: [location: "archive"])
            let plain = Self.account + "/plain"
            try await cloud.expect(.created, .put, plain)
            try await cloud.expect(.badRequest, .get, plain + "/x?version-id=1.0")
            // Clients cannot reach the versions containers.
            try await cloud.expect(.preconditionFailed, .get, Self.account + "/%01versions%01modern")
        }
    }
}
