import XCTest

@testable import StratusCore

final class JSONWriterTests: XCTestCase {
    func text(_ out: JSONWriter) -> String { String(decoding: out.bytes, as: UTF8.self) }

    func testMembersAndElementsAreSeparatedAtEveryLevel() throws {
        var out = JSONWriter()
        out.object { body in
            body.field("name", "a \"quoted\"\n\\ name\u{1}")
            body.field("none", nil as String?)
            body.field("on", true)
            body.key("list")
            body.array { list in
                list.value(0)
                list.object { _ in }
                list.array { inner in inner.value(-12) }
                list.value(["k": [1, 2]] as JSON)
                list.value(serialized: Array(#"{"x": 1}"#.utf8))
            }
            body.field("n", Int.min)
        }
        XCTAssertEqual(
            text(out),
            #"{"name": "a \"quoted\"\n\\ name\u0001", "none": null, "on": true, "list": [0, {}, [-12], "#
                + #"{"k": [1, 2]}, {"x": 1}], "n": -9223372036854775808}"#)
        let parsed = try JSON.parse(out.bytes)
        XCTAssertEqual(parsed["name"]?.stringValue, "a \"quoted\"\n\\ name\u{1}")
        XCTAssertEqual(parsed["n"]?.intValue, Int.min)
    }

    func testIntegersMatchTheirDecimalText() {
        for number in [0, 7, 10, 99, 100, -1, -10, 1_234_567_890, Int.max] {
            var bytes: [UInt8] = []
            JSON.writeInt(number, to: &bytes)
            XCTAssertEqual(String(decoding: bytes, as: UTF8.self), String(number))
        }
    }

    func testNonASCIIStringsPassThroughAndRunsAroundEscapesAreKept() throws {
        let value = "héllo \u{7f}wörld\t😀\"end"
        var out = JSONWriter()
        out.value(value)
        XCTAssertEqual(try JSON.parse(out.bytes).stringValue, value)
        XCTAssertEqual(text(out), "\"héllo \u{7f}wörld\\t😀\\\"end\"")
    }
}
