import CZlib
import NIOCore

/// Backup chunks compressed with zlib (Cinder's default `backup_compression_algorithm`).
enum Zlib {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// The zlib stream of `buffer`, at zlib's fastest level: backups are bound by it.
    static func deflate(_ buffer: ByteBuffer) throws -> ByteBuffer {
        let input = Array(buffer.readableBytesView)
        var length = compressBound(uLong(input.count))
        var output = [UInt8](repeating: 0, count: Int(length))
        let status = compress2(&output, &length, input, uLong(input.count), Z_BEST_SPEED)
        guard status == Z_OK else { throw Failure(description: "zlib compression failed (\(status))") }
        return ByteBuffer(bytes: output[0..<Int(length)])
    }

    /// The bytes of the zlib stream `buffer`, which must hold no more than `limit` bytes.
    static func inflate(_ buffer: ByteBuffer, limit: Int) throws -> ByteBuffer {
        let input = Array(buffer.readableBytesView)
        var length = uLong(limit)
        var output = [UInt8](repeating: 0, count: limit)
        let status = uncompress(&output, &length, input, uLong(input.count))
        guard status == Z_OK else {
            throw Failure(description: "a compressed backup chunk is corrupt (zlib \(status))")
        }
        return ByteBuffer(bytes: output[0..<Int(length)])
    }
}
