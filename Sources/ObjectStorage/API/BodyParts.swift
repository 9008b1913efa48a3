import Crypto
import Foundation
import Hummingbird
import NIOCore
import StratusCore
import _NIOFileSystem

/// A piece of a response body: bytes in memory or a region of a data file.
enum BodyPart: Sendable {
    case bytes(ByteBuffer)
    case file(path: String, offset: Int64, length: Int64)

    var length: Int64 {
        switch self {
        case .bytes(let buffer): return Int64(buffer.readableBytes)
        case .file(_, _, let length): return length
        }
    }

    static let chunkLength: Int64 = 256 * 1024

    /// The parts covering bytes `range` of the concatenation of `parts`.
    static func slice(_ parts: [BodyPart], _ range: ClosedRange<Int64>) -> [BodyPart] {
        var sliced: [BodyPart] = []
        var start: Int64 = 0
        for part in parts {
            let end = start + part.length
            defer { start = end }
            let from = max(range.lowerBound, start)
            let to = min(range.upperBound + 1, end)
            guard from < to else { continue }
            switch part {
            case .bytes(let buffer):
                if let piece = buffer.getSlice(at: buffer.readerIndex + Int(from - start), length: Int(to - from)) {
                    sliced.append(.bytes(piece))
                }
            case .file(let path, let offset, _):
                sliced.append(.file(path: path, offset: offset + from - start, length: to - from))
            }
        }
        return sliced
    }

    /// A streamed body of `parts`, one after another.
    static func body(_ parts: [BodyPart]) -> ResponseBody {
        let length = parts.reduce(Int64(0)) { $0 + $1.length }
        return ResponseBody(contentLength: Int(length)) { writer in
            for part in parts {
                switch part {
                case .bytes(let buffer):
                    try await writer.write(buffer)
                case .file(let path, let offset, let length):
                    guard length > 0 else { continue }
                    try await FileSystem.shared.withFileHandle(forReadingAt: .init(path)) { handle in
                        let chunks = handle.readChunks(
                            in: offset..<(offset + length), chunkLength: .bytes(chunkLength))
                        for try await chunk in chunks { try await writer.write(chunk) }
                    }
                }
            }
            try await writer.finish(nil)
        }
    }

    /// A whole object's bytes streamed with their MD5 checked on the way. The last chunk is
    /// held back until the digest matches `etag`, so a corrupt copy never gives a complete
    /// body: the response is cut short and `corrupt` runs.
    static func verified(
        path: String, offset: Int64, length: Int64, etag: String, corrupt: @escaping @Sendable () async -> Void
    ) -> ResponseBody {
        ResponseBody(contentLength: Int(length)) { writer in
            let (held, digest, read) = try await FileSystem.shared.withFileHandle(forReadingAt: .init(path)) {
                handle in
                var md5 = Insecure.MD5()
                var held: ByteBuffer?
                var read: Int64 = 0
                let chunks = handle.readChunks(in: offset..<(offset + length), chunkLength: .bytes(chunkLength))
                for try await chunk in chunks {
                    md5.update(data: chunk.readableBytesView)
                    read += Int64(chunk.readableBytes)
                    if let held { try await writer.write(held) }
                    held = chunk
                }
                return (held, md5.finalize().hexEncoded(), read)
            }
            guard read == length, digest == etag else {
                await corrupt()
                throw ObjectDiskError.corrupt(path)
            }
            if let held { try await writer.write(held) }
            try await writer.finish(nil)
        }
    }

    /// `multipart/byteranges` parts for several ranges of an object of `total` bytes.
    static func multipart(
        _ parts: [BodyPart], ranges: [ClosedRange<Int64>], total: Int64, contentType: String, boundary: String
    ) -> [BodyPart] {
        var result: [BodyPart] = []
        for range in ranges {
            let head =
                "--\(boundary)\r\nContent-Type: \(contentType)\r\n"
                + "Content-Range: bytes \(range.lowerBound)-\(range.upperBound)/\(total)\r\n\r\n"
            result.append(.bytes(ByteBuffer(string: head)))
            result.append(contentsOf: slice(parts, range))
            result.append(.bytes(ByteBuffer(string: "\r\n")))
        }
        result.append(.bytes(ByteBuffer(string: "--\(boundary)--")))
        return result
    }
}

/// The bytes of body parts as an async sequence, for copying stored bytes into a new object.
struct PartsSequence: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let parts: [BodyPart]

    static let chunkLength: Int64 = 1 << 20

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(parts: parts) }

    struct AsyncIterator: AsyncIteratorProtocol {
        let parts: [BodyPart]
        var index = 0
        var position: Int64 = 0

        mutating func next() async throws -> ByteBuffer? {
            while index < parts.count {
                switch parts[index] {
                case .bytes(let buffer):
                    index += 1
                    if buffer.readableBytes > 0 { return buffer }
                case .file(let path, let offset, let length):
                    guard position < length else {
                        index += 1
                        position = 0
                        continue
                    }
                    let wanted = Swift.min(PartsSequence.chunkLength, length - position)
                    let start = offset + position
                    let chunk = try await FileSystem.shared.withFileHandle(forReadingAt: .init(path)) { handle in
                        try await handle.readChunk(fromAbsoluteOffset: start, length: .bytes(wanted))
                    }
                    guard chunk.readableBytes > 0 else { throw ObjectDiskError.corrupt(path) }
                    position += Int64(chunk.readableBytes)
                    return chunk
                }
            }
            return nil
        }
    }
}
