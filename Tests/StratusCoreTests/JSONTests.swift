import XCTest

@testable import StratusCore

final class JSONTests: XCTestCase {
    func testRoundTrip() throws {
        let text = #"{"a": [1, 2.5, true, false, null, "x\"y\u00e9\n"], "b": {"c": -3}}"#
        let value = try JSON.parse(text)
        XCTAssertEqual(value["a"]?.arrayValue?.count, 6)
        XCTAssertEqual(value["a"]?.arrayValue?[5], "x\"yé\n")
        XCTAssertEqual(value["b"]?["c"]?.intValue, -3)
        XCTAssertEqual(try JSON.parse(value.serialized()), value)
    }

    func testBooleansAreNotNumbers() throws {
        let value = try JSON.parse(#"{"t": true, "one": 1}"#)
        XCTAssertEqual(value["t"]?.boolValue, true)
        XCTAssertNil(value["t"]?.intValue)
        XCTAssertNil(value["one"]?.boolValue)
    }

    func testMalformedInputIsRejected() {
        for bad in ["", "{", "{\"a\" 1}", "[1,]", "tru", "\"unterminated", "{\"a\": 1} extra", "01x", "\"\\ud800\""] {
            XCTAssertThrowsError(try JSON.parse(bad), bad)
        }
    }

    func testSurrogatePairsAndControlCharacters() throws {
        XCTAssertEqual(try JSON.parse(#""\ud83d\ude00""#), "😀")
        XCTAssertEqual(JSON.string("\u{01}").serialized(), #""\u0001""#)
    }
}

final class JSONNullTests: XCTestCase {
    func testNonNullIsNilForNull() {
        XCTAssertNil(JSON.null.nonNull)
        XCTAssertEqual(JSON.string("x").nonNull, "x")
        let missing: JSON? = nil
        XCTAssertEqual(missing?.nonNull ?? "fallback", "fallback")
        let stored: [String: JSON] = ["format": .null]
        XCTAssertEqual(stored["format"]?.nonNull ?? "raw", "raw", "a stored null takes the default")
    }
}
