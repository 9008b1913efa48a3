import _NIOFileSystem

/// An image file's bytes, read where the inspector asks (each read opens the file for its
/// range; the inspector reads a few regions).
public struct FileImageData: ImageDataReader {
    public let path: String
    public let size: Int64

    /// The file at `path`, its size read now.
    public static func open(_ path: String) async throws -> FileImageData {
        guard let info = try await FileSystem.shared.info(forFileAt: .init(path)) else {
            throw MissingImageFile(path: path)
        }
        return FileImageData(path: path, size: info.size)
    }

    public func read(at offset: Int64, length: Int) async throws -> [UInt8] {
        guard offset >= 0, offset < size, length > 0 else { return [] }
        let buffer = try await FileSystem.shared.withFileHandle(forReadingAt: .init(path)) { handle in
            try await handle.readChunk(fromAbsoluteOffset: offset, length: .bytes(Int64(length)))
        }
        return Array(buffer.readableBytesView)
    }
}

public struct MissingImageFile: Error, CustomStringConvertible {
    public let path: String
    public var description: String { "No image file at \(path)" }
}
