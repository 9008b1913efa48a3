import CZlib
import NIOCore

/// Backup chunks compressed with zlib (Cinder's default `backup_compression_algorithm`),
/// straight between the buffers' memory.
enum Zlib {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// The zlib stream of `buffer`, at zlib's fastest level: backups are bound by it.
    static func deflate(_ buffer: ByteBuffer) throws -> ByteBuffer {
        let bound = Int(compressBound(uLong(buffer.readableBytes)))
        return try transform(buffer, capacity: bound) { output, length, input, count in
            compress2(output, &length, input, count, Z_BEST_SPEED)
        }
    }

    /// The bytes of the zlib stream `buffer`, which must hold no more than `limit` bytes.
    static func inflate(_ buffer: ByteBuffer, limit: Int) throws -> ByteBuffer {
        try transform(buffer, capacity: limit) { output, length, input, count in
            uncompress(output, &length, input, count)
        }
    }

    /// Runs a one-shot zlib call from `buffer`'s bytes into a new buffer of `capacity`.
    private static func transform(
        _ buffer: ByteBuffer, capacity: Int,
        _ call: (UnsafeMutablePointer<Bytef>, inout uLong, UnsafePointer<Bytef>, uLong) -> Int32
    ) throws -> ByteBuffer {
        var output = ByteBufferAllocator().buffer(capacity: capacity)
        var status = Z_OK
        buffer.withUnsafeReadableBytes { input in
            output.writeWithUnsafeMutableBytes(minimumWritableBytes: capacity) { out in
                guard let target = out.baseAddress?.assumingMemoryBound(to: Bytef.self),
                    let source = input.baseAddress?.assumingMemoryBound(to: Bytef.self)
                else {
                    status = Z_BUF_ERROR
                    return 0
                }
                var length = uLong(out.count)
                status = call(target, &length, source, uLong(input.count))
                return status == Z_OK ? Int(length) : 0
            }
        }
        guard status == Z_OK else { throw Failure(description: "zlib failed (\(status)): corrupt or too large data") }
        return output
    }
}
