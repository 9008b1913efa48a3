import Crypto
import NIOCore
import StratusCore

/// Watches image data go by: counts and limits its size, computes the MD5 checksum and the
/// SHA-512 multihash, and keeps the head and tail bytes that disk-format headers live in (for
/// `FormatInspector`: 4 MiB covers a VHDX's metadata region where qemu puts it).
struct DataInspector {
    private(set) var size: Int64 = 0
    let limit: Int64
    let limitMessage: String
    private var md5 = Insecure.MD5()
    private var sha512 = SHA512()
    private(set) var head: [UInt8] = []
    private(set) var tail: [UInt8] = []

    static let headLength = 4 << 20
    static let tailLength = 512

    init(limit: Int64, limitMessage: String) {
        self.limit = limit
        self.limitMessage = limitMessage
    }

    mutating func observe(_ chunk: ByteBuffer) throws {
        size += Int64(chunk.readableBytes)
        if size > limit { throw APIError(.contentTooLarge, limitMessage) }
        chunk.withUnsafeReadableBytes { bytes in
            md5.update(bufferPointer: bytes)
            sha512.update(bufferPointer: bytes)
            if head.count < Self.headLength {
                head.append(contentsOf: bytes.prefix(Self.headLength - head.count))
            }
            if bytes.count >= Self.tailLength {
                tail = Array(bytes.suffix(Self.tailLength))
            } else {
                tail.append(contentsOf: bytes)
                if tail.count > Self.tailLength { tail.removeFirst(tail.count - Self.tailLength) }
            }
        }
    }

    func finish() -> (checksum: String, hash: String) {
        (md5.finalize().hex, sha512.finalize().hex)
    }

    /// What the format inspector makes of the data.
    func inspect() async throws -> ImageInspection {
        try await FormatInspector.inspect(CapturedImageData(head: head, tail: tail, size: size))
    }
}

extension Sequence where Element == UInt8 {
    var hex: String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for byte in self {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}

extension Digest {
    var hex: String { Array(self).hex }
}
