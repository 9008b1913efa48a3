import XCTest

@testable import Networking

/// Address parsing and printing, prefixes and ranges, and SLAAC addresses: the arithmetic
/// IPAM, subnet validation and the dataplane stand on.
final class AddressMathTests: XCTestCase {
    func testIPv4ParsesStrictlyAndPrints() {
        XCTAssertEqual(IPAddress("10.0.0.1")?.value, 0x0A00_0001)
        XCTAssertEqual(IPAddress("255.255.255.255")?.description, "255.255.255.255")
        XCTAssertEqual(IPAddress("0.0.0.0")?.version, 4)
        let malformed = [
            "10.0.0", "10.0.0.256", "10.0.0.01", "10.0..1", "1.2.3.4.5", "a.b.c.d", "1.2.3.+4", "1.2.3. 4", "",
        ]
        for bad in malformed {
            XCTAssertNil(IPAddress(bad), bad)
        }
    }

    func testIPv6ParsesEveryFormAndPrintsRFC5952() {
        let cases: [(String, String)] = [
            ("2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"),
            ("2001:db8::", "2001:db8::"),
            ("::", "::"),
            ("::1", "::1"),
            ("1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0"),     // one zero group is not compressed
            ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),  // the leftmost of equal runs
            ("2001:0:0:1:0:0:0:1", "2001:0:0:1::1"),        // the longest run
            ("fe80::1%eth0", "fe80::1"),
            ("2001:DB8::A", "2001:db8::a"),
        ]
        for (text, printed) in cases {
            XCTAssertEqual(IPAddress(text)?.description, printed, text)
            XCTAssertEqual(IPAddress(text)?.version, 6, text)
        }
        let malformed = [
            "1::2::3", ":1:2:3:4:5:6:7", "1:2:3:4:5:6:7:8:9", "12345::", "2001:db8::g", "2001:db8::+1", "1:2:3:4:5:6:7",
        ]
        for bad in malformed {
            XCTAssertNil(IPAddress(bad), bad)
        }
    }

    func testAddressesOrderByVersionThenValue() {
        let sorted = ["10.0.0.10", "::1", "10.0.0.9", "9.255.255.255"].compactMap { IPAddress($0) }.sorted()
        XCTAssertEqual(sorted.map(\.description), ["9.255.255.255", "10.0.0.9", "10.0.0.10", "::1"])
        XCTAssertEqual(IPAddress("10.0.0.255")?.adding(1).description, "10.0.1.0")
    }

    func testPrefixesNormalizeContainAndOverlap() throws {
        let net = try XCTUnwrap(CIDR("10.0.0.77/26"))
        XCTAssertEqual(net.description, "10.0.0.64/26", "host bits cleared")
        XCTAssertEqual(net.size, 64)
        XCTAssertEqual(net.last.description, "10.0.0.127")
        XCTAssertTrue(net.contains(try XCTUnwrap(IPAddress("10.0.0.64"))))
        XCTAssertTrue(net.contains(try XCTUnwrap(IPAddress("10.0.0.127"))))
        XCTAssertFalse(net.contains(try XCTUnwrap(IPAddress("10.0.0.128"))))
        XCTAssertFalse(net.contains(try XCTUnwrap(IPAddress("::a00:40"))), "another version never matches")
        XCTAssertEqual(CIDR("10.1.2.3")?.description, "10.1.2.3/32")
        XCTAssertEqual(CIDR("0.0.0.0/0")?.size, 1 << 32)
        XCTAssertTrue(try XCTUnwrap(CIDR("0.0.0.0/0")).contains(try XCTUnwrap(IPAddress("203.0.113.9"))))

        XCTAssertTrue(try XCTUnwrap(CIDR("10.0.0.0/8")).overlaps(try XCTUnwrap(CIDR("10.20.0.0/16"))))
        XCTAssertTrue(try XCTUnwrap(CIDR("10.20.0.0/16")).overlaps(try XCTUnwrap(CIDR("10.0.0.0/8"))))
        XCTAssertFalse(try XCTUnwrap(CIDR("10.0.0.0/25")).overlaps(try XCTUnwrap(CIDR("10.0.0.128/25"))))

        let v6 = try XCTUnwrap(CIDR("2001:db8:1:2::5/64"))
        XCTAssertEqual(v6.description, "2001:db8:1:2::/64")
        XCTAssertEqual(v6.size, UInt128(1) << 64)
        XCTAssertEqual(v6.last.description, "2001:db8:1:2:ffff:ffff:ffff:ffff")
        XCTAssertEqual(CIDR("::/0")?.size, UInt128.max, "the whole IPv6 space saturates")
        XCTAssertEqual(CIDR("::/0")?.last.description, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")
        XCTAssertEqual(IPAddress("::ffff:192.0.2.1")?.value, 0xffff_c000_0201, "an embedded IPv4 tail")

        for bad in ["10.0.0.0/33", "10.0.0.0/-1", "10.0.0.0/x", "10.0.0.0/8/9", "2001:db8::/129", "nope/8"] {
            XCTAssertNil(CIDR(bad), bad)
        }
    }

    func testRangesCountAndOverlap() throws {
        let pool = IPRange(start: try XCTUnwrap(IPAddress("10.0.0.2")), end: try XCTUnwrap(IPAddress("10.0.0.62")))
        XCTAssertEqual(pool.count, 61)
        XCTAssertTrue(pool.contains(try XCTUnwrap(IPAddress("10.0.0.62"))))
        XCTAssertFalse(pool.contains(try XCTUnwrap(IPAddress("10.0.0.63"))))
        let next = IPRange(start: try XCTUnwrap(IPAddress("10.0.0.62")), end: try XCTUnwrap(IPAddress("10.0.0.70")))
        let apart = IPRange(start: try XCTUnwrap(IPAddress("10.0.0.63")), end: try XCTUnwrap(IPAddress("10.0.0.70")))
        XCTAssertTrue(pool.overlaps(next), "sharing one address overlaps")
        XCTAssertFalse(pool.overlaps(apart))
    }

    func testSLAACAddressIsModifiedEUI64() throws {
        let prefix = try XCTUnwrap(CIDR("2001:db8:0:1::/64"))
        // the universal/local bit of the first octet flips (fa -> f8), ff:fe goes in the middle
        XCTAssertEqual(
            IPAddress.eui64(prefix: prefix, mac: "fa:16:3e:00:00:01")?.description, "2001:db8:0:1:f816:3eff:fe00:1")
        XCTAssertEqual(
            IPAddress.eui64(prefix: prefix, mac: "00:11:22:33:44:55")?.description, "2001:db8:0:1:211:22ff:fe33:4455")
        XCTAssertNil(IPAddress.eui64(prefix: prefix, mac: "00:11:22:33:44"))
        XCTAssertNil(IPAddress.eui64(prefix: prefix, mac: "not a mac"))
    }
}
