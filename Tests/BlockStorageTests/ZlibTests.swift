import NIOCore
import XCTest

@testable import BlockStorage

/// Backup chunk compression: a round trip gives the bytes back; a corrupt or too large
/// stream is an error, never other bytes.
final class ZlibTests: XCTestCase {
    func testRoundTripAndCorruption() throws {
        var text = ByteBuffer()
        for line in 0..<4096 { text.writeString("line \(line) of a volume that compresses well\n") }
        let compressed = try Zlib.deflate(text)
        XCTAssertLessThan(compressed.readableBytes, text.readableBytes / 4)
        XCTAssertEqual(try Zlib.inflate(compressed, limit: text.readableBytes), text)

        let random = ByteBuffer(bytes: (0..<65536).map { _ in UInt8.random(in: 0...255) })
        XCTAssertEqual(try Zlib.inflate(try Zlib.deflate(random), limit: 65536), random)

        var corrupt = compressed
        corrupt.setInteger(UInt8(0xff), at: corrupt.readerIndex + 20)
        XCTAssertThrowsError(try Zlib.inflate(corrupt, limit: text.readableBytes))
        XCTAssertThrowsError(try Zlib.inflate(compressed, limit: 100), "more than the limit")
    }
}
