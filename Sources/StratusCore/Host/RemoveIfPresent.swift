import Foundation

extension FileManager {
    /// Removes the file or directory at `path`; one that is not there is not an error,
    /// anything else (permissions, a busy mount) is.
    public func removeItemIfPresent(atPath path: String) throws {
        do {
            try removeItem(atPath: path)
        } catch CocoaError.fileNoSuchFile {
            return
        } catch let error as NSError where error.domain == NSPOSIXErrorDomain && error.code == Int(ENOENT) {
            return
        }
    }
}
