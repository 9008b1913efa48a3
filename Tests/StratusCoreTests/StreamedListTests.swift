import HTTPTypes
import Hummingbird
import NIOCore
import Synchronization
import XCTest

@testable import StratusCore

final class StreamedListTests: XCTestCase {
    /// The buffers a response body writes, in order.
    final class Sink: Sendable {
        let chunks = Mutex<[ByteBuffer]>([])
        let finished = Atomic(false)
    }

    struct Collecting: ResponseBodyWriter {
        let sink: Sink

        mutating func write(_ buffer: ByteBuffer) async throws { sink.chunks.withLock { $0.append(buffer) } }
        mutating func write(contentsOf buffers: some Sequence<ByteBuffer>) async throws {
            sink.chunks.withLock { $0.append(contentsOf: buffers) }
        }
        consuming func finish(_ trailingHeaders: HTTPFields?) async throws {
            sink.finished.store(true, ordering: .relaxed)
        }
    }

    func body(of response: Response) async throws -> (chunks: [ByteBuffer], finished: Bool) {
        let sink = Sink()
        try await response.body.write(Collecting(sink: sink))
        return (sink.chunks.withLock { $0 }, sink.finished.load(ordering: .relaxed))
    }

    func testAListGoesOutInChunksThatMakeOneDocument() async throws {
        let response = Response.jsonList(
            "items", Array(0..<2000), chunkBytes: 1024,
            element: { n, out in
                guard n % 7 != 0 else { return }  // an element left out leaves no separator behind
                out.object { item in
                    item.field("n", n)
                    item.field("name", "item \"\(n)\"")
                }
            },
            after: { $0.field("count", 2000) })
        XCTAssertNil(response.body.contentLength, "sent as it is written, so chunked")
        XCTAssertEqual(response.headers[.contentType], "application/json")
        let (chunks, finished) = try await body(of: response)
        XCTAssertTrue(finished)
        XCTAssertGreaterThan(chunks.count, 20)
        XCTAssertLessThan(
            chunks.dropLast().map(\.readableBytes).max() ?? 0, 1024 + 64, "each chunk about the size asked")
        let document = try JSON.parse(chunks.reduce(into: [UInt8]()) { $0 += $1.readableBytesView })
        let items = document["items"]?.arrayValue ?? []
        XCTAssertEqual(items.count, 2000 - 286)
        XCTAssertEqual(items.first?["n"]?.intValue, 1)
        XCTAssertEqual(items.last?["name"]?.stringValue, "item \"1999\"")
        XCTAssertEqual(document["count"]?.intValue, 2000)
    }

    func testAnEmptyListIsOneSmallChunk() async throws {
        let (chunks, _) = try await body(
            of: Response.jsonList("servers", [Int](), element: { n, out in out.value(n) }))
        XCTAssertEqual(chunks.map { String(buffer: $0) }, [#"{"servers": []}"#])
    }
}
