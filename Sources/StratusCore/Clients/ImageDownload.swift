import NIOCore
import _NIOFileSystem

extension ImageClient {
    /// Downloads the image's data into `path`: written beside it as `<path>.part` and moved
    /// into place when complete, so a crash never leaves a partial file under the real name.
    public func download(_ id: String, to path: String) async throws {
        let partial = FilePath(path + ".part")
        do {
            let options = OpenOptions.Write.newFile(replaceExisting: true)
            try await FileSystem.shared.withFileHandle(forWritingAt: partial, options: options) { handle in
                try await handle.withBufferedWriter(capacity: .mebibytes(1)) { writer in
                    try await download(id) { chunk in try await writer.write(contentsOf: chunk) }
                }
            }
            try await FileSystem.shared.replaceItem(at: FilePath(path), withItemAt: partial)
        } catch {
            _ = try? await FileSystem.shared.removeItem(at: partial)
            throw error
        }
    }
}
