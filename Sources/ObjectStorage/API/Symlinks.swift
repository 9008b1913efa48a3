import Foundation
import HTTPTypes
import StratusCore

/// Swift's symlinks: a zero-byte object with `X-Symlink-Target: <container>/<object>` (and
/// `X-Symlink-Target-Account`) that GET and HEAD follow, unless `?symlink=get`; a target that
/// does not exist is 404, and links to links are followed twice at the most.
struct Symlinks {
    let api: SwiftAPI

    static let targetKey = "x-symlink-target"
    static let accountKey = "x-symlink-target-account"
    static let loopLimit = 2

    /// Checks a PUT that makes a symlink and gives it Swift's content type.
    static func prepare(_ metadata: inout ObjectMetadata, headers: HTTPFields, length: Int64?) throws {
        guard let target = metadata.headers[targetKey] else { return }
        guard ObjectReference(target) != nil else {
            throw APIError(
                .preconditionFailed, "X-Symlink-Target header must be of the form <container name>/<object name>")
        }
        guard (length ?? 0) == 0 else { throw APIError.badRequest("Symlink requests require a zero byte body") }
        metadata.contentType = "application/symlink"
    }

    /// The object a symlink leads to (itself when it is none), with the caller's read access
    /// on every container on the way.
    func follow(
        _ call: SwiftCall, _ link: StoredObject, from start: (account: String, container: String, object: String)
    ) async throws -> (StoredObject, (account: String, container: String, object: String)) {
        var stored = link
        var path = start
        var hops = 0
        while let target = stored.metadata.headers[Self.targetKey],
            let reference = ObjectReference(target, allowingReserved: true)
        {
            let account = stored.metadata.headers[Self.accountKey] ?? path.account
            // A version link leads into its own container's versions: not a hop, and no new access.
            let versionLink =
                account == path.account && reference.container == VersionNames.container(for: path.container)
            if !versionLink { hops += 1 }
            guard hops <= Self.loopLimit else {
                throw APIError.conflict("Too many levels of symbolic links, maximum allowed is \(Self.loopLimit)")
            }
            let reader = try await api.resolve(call, account: account)
            guard let info = try await api.listings.container(account, reference.container),
                let next = try await api.read(account, reference.container, reference.object)
            else { throw APIError.notFound("Not Found") }
            guard versionLink || api.canRead(reader, info) else { throw reader.denied }
            stored = next
            path = (account, reference.container, reference.object)
        }
        return (stored, path)
    }
}
