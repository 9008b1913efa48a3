/// Random access to an image's bytes (a file, or memory in tests).
public protocol ImageDataReader: Sendable {
    var size: Int64 { get }
    /// Up to `length` bytes from `offset` (fewer at the end of the data, none past it).
    func read(at offset: Int64, length: Int) async throws -> [UInt8]
}

extension ImageDataReader {
    /// The last `length` bytes, or all of them when the data is shorter.
    public func readLast(_ length: Int) async throws -> [UInt8] {
        try await read(at: max(0, size - Int64(length)), length: length)
    }
}

/// Image bytes held in memory.
public struct MemoryImageData: ImageDataReader {
    public let bytes: [UInt8]

    public init(bytes: [UInt8]) { self.bytes = bytes }

    public var size: Int64 { Int64(bytes.count) }

    public func read(at offset: Int64, length: Int) async throws -> [UInt8] {
        guard offset >= 0, offset < size, length > 0 else { return [] }
        let start = Int(offset)
        return Array(bytes[start..<start + min(length, bytes.count - start)])
    }
}
