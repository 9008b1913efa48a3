import Crypto
import Foundation
import StratusCore
import XCTest

@testable import ObjectStorage

/// The pure parts of the API: paths, ranges, preconditions, ACLs and temp URL signatures.
final class SwiftParsingTests: XCTestCase {
    func testPathsSplitIntoAccountContainerAndObject() {
        XCTAssertEqual(
            SwiftPath(raw: "/v1/AUTH_p/c/a/b%20c"), SwiftPath(account: "AUTH_p", container: "c", object: "a/b c"))
        XCTAssertEqual(SwiftPath(raw: "/v1/AUTH_p/"), SwiftPath(account: "AUTH_p"))
        XCTAssertEqual(SwiftPath(raw: "/v1/AUTH_p/c/"), SwiftPath(account: "AUTH_p", container: "c"))
        XCTAssertNil(SwiftPath(raw: "/v2/AUTH_p"))
        XCTAssertEqual(
            SwiftPath(account: "AUTH_p", container: "c", object: "a b/ü").encoded, "/v1/AUTH_p/c/a%20b/%C3%BC")
        XCTAssertEqual(ObjectReference("/c/o/p"), ObjectReference("c/o/p"))
        XCTAssertNil(ObjectReference("c"))
    }

    func testRangesFollowRFC7233() {
        XCTAssertEqual(ByteRanges(header: "bytes=0-4", length: 10), .ranges([0...4]))
        XCTAssertEqual(ByteRanges(header: "bytes=5-", length: 10), .ranges([5...9]))
        XCTAssertEqual(ByteRanges(header: "bytes=-3", length: 10), .ranges([7...9]))
        XCTAssertEqual(ByteRanges(header: "bytes=8-20", length: 10), .ranges([8...9]))
        XCTAssertEqual(ByteRanges(header: "bytes=0-0,-1", length: 10), .ranges([0...0, 9...9]))
        XCTAssertEqual(ByteRanges(header: "bytes=10-", length: 10), .unsatisfiable)
        XCTAssertEqual(ByteRanges(header: "bytes=4-2", length: 10), .whole)
        XCTAssertEqual(ByteRanges(header: "items=0-1", length: 10), .whole)
        XCTAssertEqual(ByteRanges(header: nil, length: 10), .whole)
    }

    func testPreconditions() {
        let now = Date(timeIntervalSince1970: 1_000_000)
        func outcome(
            match: String? = nil, noneMatch: String? = nil, since: Date? = nil, unmodified: Date? = nil
        ) -> Preconditions.Outcome {
            Preconditions.evaluate(
                ifMatch: match, ifNoneMatch: noneMatch, ifModifiedSince: since, ifUnmodifiedSince: unmodified,
                etag: "abc", lastModified: now)
        }
        XCTAssertEqual(outcome(match: "\"abc\""), .proceed)
        XCTAssertEqual(outcome(match: "xyz, *"), .proceed)
        XCTAssertEqual(outcome(match: "xyz"), .failed)
        XCTAssertEqual(outcome(noneMatch: "abc"), .notModified)
        XCTAssertEqual(outcome(noneMatch: "xyz"), .proceed)
        XCTAssertEqual(outcome(since: now), .notModified)
        XCTAssertEqual(outcome(since: now.addingTimeInterval(-1)), .proceed)
        XCTAssertEqual(outcome(unmodified: now.addingTimeInterval(-1)), .failed)
        XCTAssertEqual(outcome(noneMatch: "xyz", since: now), .proceed, "If-None-Match decides over the date")
    }

    func testContainerACLs() {
        let bob = AuthContext(
            token: "t", userID: "u-bob", userName: "bob", userDomainID: "default", userDomainName: "Default",
            projectID: "p-bob", projectName: "bobs", roles: ["member"])
        XCTAssertTrue(AccessControl.grants("p-bob:u-bob", bob, referrer: nil))
        XCTAssertTrue(AccessControl.grants("bobs:bob", bob, referrer: nil))
        XCTAssertTrue(AccessControl.grants("*:u-bob, other:x", bob, referrer: nil))
        XCTAssertFalse(AccessControl.grants("p-bob:u-eve", bob, referrer: nil))
        XCTAssertTrue(AccessControl.grants(".r:*", nil, referrer: nil))
        XCTAssertFalse(AccessControl.grants(".r:*", nil, referrer: nil, listing: true))
        XCTAssertTrue(AccessControl.grants(".r:*,.rlistings", nil, referrer: nil, listing: true))
        XCTAssertTrue(AccessControl.grants(".r:.example.com", nil, referrer: "http://www.example.com/page"))
        XCTAssertFalse(AccessControl.grants(".r:*,.r:-bad.com", nil, referrer: "http://bad.com/"))
        XCTAssertFalse(AccessControl.grants(".r:*", nil, referrer: nil, referrerRules: false))
        let control = AccessControl(operatorRoles: ["member"], resellerRole: "ResellerAdmin")
        XCTAssertEqual(control.level(bob, account: "AUTH_p-bob", accountMetadata: [:]), .owner)
        XCTAssertEqual(control.level(bob, account: "AUTH_p-x", accountMetadata: [:]), AccessControl.Level.none)
        let acl = ["x-account-access-control": #"{"read-only": ["p-bob:u-bob"]}"#]
        XCTAssertEqual(control.level(bob, account: "AUTH_p-x", accountMetadata: acl), .readOnly)
    }

    func testTempURLSignatures() {
        let message = "GET\n1700000000\n/v1/AUTH_a/c/o"
        let key = SymmetricKey(data: Data("secret".utf8))
        let sha1 = HMAC<Insecure.SHA1>.authenticationCode(for: Data(message.utf8), using: key).hexEncoded()
        let sha512 = Data(HMAC<SHA512>.authenticationCode(for: Data(message.utf8), using: key)).base64EncodedString()
        XCTAssertTrue(TempURL.matches(sha1, key: "secret", message: message))
        XCTAssertTrue(TempURL.matches("sha512:" + sha512, key: "secret", message: message))
        XCTAssertFalse(TempURL.matches(sha1, key: "other", message: message))
        XCTAssertFalse(TempURL.matches("md5:abcd", key: "secret", message: message))
        XCTAssertFalse(TempURL.matches("zz", key: "secret", message: message))
    }

    func testListingDatesAndMediaTypes() {
        XCTAssertEqual(SwiftHeaders.listingDate("0001700000000.25000"), "2023-11-14T22:13:20.250000")
        XCTAssertEqual(SwiftHeaders.lastModified("0001700000000.25000"), "Tue, 14 Nov 2023 22:13:21 GMT")
        XCTAssertEqual(SwiftHeaders.titleCased("x-object-meta-a_b"), "X-Object-Meta-A_B")
        XCTAssertEqual(MediaTypes.guess("dir/photo.JPG"), "image/jpeg")
        XCTAssertEqual(MediaTypes.guess("noext"), "application/octet-stream")
    }
}

final class VersionNamesTests: XCTestCase {
    func testVersionNamesSortNewestFirstAndRoundTrip() {
        let older = VersionNames.object("a", version: "1607107202.12345")
        let newer = VersionNames.object("a", version: "1607107203.00000")
        XCTAssertTrue(newer < older)
        XCTAssertEqual(VersionNames.inverted("1607107202.12345"), "8392892797.87654")
        XCTAssertEqual(VersionNames.parse(older)?.name, "a")
        XCTAssertEqual(VersionNames.parse(older)?.version, "1607107202.12345")
        // A name's versions sort right after the name and before longer names.
        XCTAssertTrue(older.utf8.lexicographicallyPrecedes("a/b".utf8))
        XCTAssertEqual(VersionNames.version("1607107202.1"), "1607107202.10000")
        XCTAssertNil(VersionNames.version("junk"))
        XCTAssertNil(VersionNames.version("-1"))
        XCTAssertTrue(VersionNames.isReserved("x\u{0}y"))
        XCTAssertFalse(VersionNames.isReserved("plain name"))
        XCTAssertNil(ObjectReference("/\u{1}versions\u{1}c/o"))
        XCTAssertNotNil(ObjectReference("/\u{1}versions\u{1}c/o", allowingReserved: true))
    }
}
