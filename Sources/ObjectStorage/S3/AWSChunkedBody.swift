import NIOCore
import StratusCore

/// The payload of an `aws-chunked` body (`x-amz-content-sha256: STREAMING-...`, as botocore
/// sends uploads with checksums): `<hex size>[;chunk-signature=...]\r\n<bytes>\r\n` chunks, a
/// zero-size chunk, then trailer lines (`x-amz-checksum-crc32: ...`) and an empty line.
struct AWSChunkedBody<Base: AsyncSequence & Sendable>: AsyncSequence, Sendable where Base.Element == ByteBuffer {
    typealias Element = ByteBuffer
    let base: Base

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(base: base.makeAsyncIterator()) }

    struct AsyncIterator: AsyncIteratorProtocol {
        var base: Base.AsyncIterator
        var buffer = ByteBuffer()
        /// Bytes of the current chunk still to pass on; nil while a size line is expected.
        var remaining: Int?
        var finished = false

        static var malformed: APIError { APIError.badRequest("The aws-chunked body is malformed.") }

        mutating func next() async throws -> ByteBuffer? {
            while !finished {
                if let left = remaining {
                    if left == 0 {
                        // The CRLF closing a chunk's data.
                        guard try await fill(2) else { throw Self.malformed }
                        guard buffer.readString(length: 2) == "\r\n" else { throw Self.malformed }
                        remaining = nil
                        continue
                    }
                    if buffer.readableBytes == 0, !(try await fill(1)) { throw Self.malformed }
                    let take = Swift.min(left, buffer.readableBytes)
                    remaining = left - take
                    return buffer.readSlice(length: take)
                }
                guard let line = try await readLine() else { throw Self.malformed }
                let size = line.split(separator: ";", maxSplits: 1).first.map(String.init) ?? ""
                guard let count = Int(size, radix: 16), count >= 0 else { throw Self.malformed }
                if count == 0 {
                    // Trailers, up to the empty line (or the end of the body).
                    while let trailer = try await readLine(), !trailer.isEmpty {}
                    finished = true
                    return nil
                }
                remaining = count
            }
            return nil
        }

        /// Reads until `buffer` holds `count` bytes; false when the body ends first.
        mutating func fill(_ count: Int) async throws -> Bool {
            while buffer.readableBytes < count {
                guard var more = try await base.next() else { return false }
                buffer.writeBuffer(&more)
            }
            return true
        }

        mutating func readLine() async throws -> String? {
            while true {
                if let index = buffer.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) {
                    let length = index - buffer.readerIndex
                    guard let line = buffer.readString(length: length + 1) else { return nil }
                    let text = line.dropLast()  // the \n
                    return String(text.hasSuffix("\r") ? text.dropLast() : text)
                }
                guard var more = try await base.next() else {
                    return buffer.readableBytes > 0 ? buffer.readString(length: buffer.readableBytes) : nil
                }
                buffer.writeBuffer(&more)
            }
        }
    }
}
