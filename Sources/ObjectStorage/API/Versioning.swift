import Foundation
import StratusCore

/// Swift's versioned writes. With `X-Versions-Location` (stack mode) a PUT first archives
/// the current object in the versions container and a DELETE brings the newest archived
/// version back; with `X-History-Location` a DELETE archives the object too and then
/// removes it. Archived names are `<3 hex digits of the name's length><name>/<timestamp>`.
struct Versioning {
    let api: SwiftAPI

    func location(_ info: ContainerInfo) -> (container: String, history: Bool)? {
        if let container = info.metadata["x-versions-location"] { return (container, false) }
        if let container = info.metadata["x-history-location"] { return (container, true) }
        return nil
    }

    static func prefix(_ name: String) -> String { String(format: "%03x", name.utf8.count) + name + "/" }

    /// Before a write replaces `name`: its current version is copied into the versions container.
    func archiveCurrent(_ call: SwiftCall, _ info: ContainerInfo, _ name: String) async throws {
        guard let (versions, _) = location(info),
            try await api.listings.container(call.path.account, versions) != nil,
            let current = try await api.read(call.path.account, info.name, name)
        else { return }
        var metadata = current.metadata
        let archived = Self.prefix(name) + current.metadata.timestamp
        metadata.name = "/\(call.path.account)/\(versions)/\(archived)"
        metadata.timestamp = SwiftTimestamp.now()
        _ = try await api.store(
            call.path.account, versions, archived, metadata: metadata, expectedETag: nil,
            body: PartsSequence(parts: current.parts))
    }

    /// A DELETE on a versioned container: true when it was answered by restoring the newest
    /// archived version (stack mode); in history mode the object is archived first and the
    /// caller deletes it.
    func restorePrevious(_ call: SwiftCall, _ info: ContainerInfo, _ name: String) async throws -> Bool {
        guard let (versions, history) = location(info),
            try await api.listings.container(call.path.account, versions) != nil
        else { return false }
        if history {
            try await archiveCurrent(call, info, name)
            return false
        }
        var query = ListingQuery()
        query.prefix = Self.prefix(name)
        query.reverse = true
        query.limit = 1
        guard case .entry(let newest)? = try await api.listings.listObjects(call.path.account, versions, query).first,
            let version = try await api.read(call.path.account, versions, newest.name)
        else { return false }
        var metadata = version.metadata
        metadata.name = "/\(call.path.account)/\(info.name)/\(name)"
        metadata.timestamp = SwiftTimestamp.now()
        _ = try await api.store(
            call.path.account, info.name, name, metadata: metadata, expectedETag: nil,
            body: PartsSequence(parts: version.parts))
        try await api.remove(call.path.account, versions, newest.name)
        return true
    }
}
