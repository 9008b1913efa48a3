import StratusCore

/// The bytes of an upload that `DataInspector` kept as they went by: the head, where every
/// format's headers are (the first 4 MiB), and the last 512 bytes (a fixed VHD's footer).
/// Anything else reads as missing, which the formats take for a truncated header.
struct CapturedImageData: ImageDataReader {
    let head: [UInt8]
    let tail: [UInt8]
    let size: Int64

    func read(at offset: Int64, length: Int) async throws -> [UInt8] {
        guard offset >= 0, offset < size, length > 0 else { return [] }
        let tailStart = size - Int64(tail.count)
        if offset >= tailStart {
            let start = Int(offset - tailStart)
            return Array(tail[start..<min(tail.count, start + length)])
        }
        guard offset < Int64(head.count) else { return [] }
        let start = Int(offset)
        return Array(head[start..<min(head.count, start + length)])
    }
}
