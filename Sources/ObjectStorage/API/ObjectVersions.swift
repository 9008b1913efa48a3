import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import StratusCore

extension HTTPField.Name {
    static let objectVersionID = Self("X-Object-Version-Id")!
    static let currentVersionID = Self("X-Object-Current-Version-Id")!
}

/// Swift's object versioning (`X-Versions-Enabled`). While it is enabled a write becomes a
/// version in the container's versions container and the object a link to it, and a DELETE
/// leaves a delete marker; `?version-id=` reads a version, makes it current (PUT) or
/// removes it (DELETE). An object written before versioning is the `null` version until a
/// write or a delete turns it into a version of its own.
struct ObjectVersions {
    let api: SwiftAPI

    // MARK: writes and deletes while versioning is enabled

    /// Stores a write as a new version and links the object to it; answers the version's
    /// metadata and id.
    func store<Body: AsyncSequence>(
        _ call: SwiftCall, _ info: ContainerInfo, _ name: String, metadata: ObjectMetadata, expectedETag: String?,
        body: Body, listed: (size: Int64, etag: String)?
    ) async throws -> (ObjectMetadata, version: String) where Body.Element == ByteBuffer {
        let account = call.path.account
        let versions = try await versionsContainer(account, info)
        try await keepUnversioned(account, info, name, in: versions)
        let versionName = VersionNames.object(name, version: metadata.timestamp)
        var data = metadata
        data.name = "/\(account)/\(versions)/\(versionName)"
        let stored = try await api.store(
            account, versions, versionName, metadata: data, expectedETag: expectedETag, body: body, listed: listed)
        try await link(
            account, info, name, to: versionName, contentType: stored.contentType, etag: listed?.etag ?? stored.etag)
        return (stored, stored.timestamp)
    }

    /// A DELETE: a delete marker as the newest version, then the object's link removed (404,
    /// with the marker's id, when there was no object).
    func delete(_ call: SwiftCall, _ info: ContainerInfo, _ name: String) async throws -> Response {
        let account = call.path.account
        let versions = try await versionsContainer(account, info)
        try await keepUnversioned(account, info, name, in: versions)
        let version = SwiftTimestamp.now()
        let markerName = VersionNames.object(name, version: version)
        let marker = ObjectMetadata(
            name: "/\(account)/\(versions)/\(markerName)", timestamp: version,
            contentType: VersionNames.deleteMarkerType, headers: [:])
        _ = try await api.store(
            account, versions, markerName, metadata: marker, expectedETag: nil, body: PartsSequence(parts: []))
        let headers: HTTPFields = [.objectVersionID: version]
        let existed = try await api.read(account, info.name, name) != nil
        if try await api.listings.object(account, info.name, name) != nil {
            try await api.remove(account, info.name, name)
        }
        guard existed else { throw APIError(.notFound, "Not Found", headers: headers) }
        return Response(status: .noContent, headers: headers)
    }

    /// The container's versions container, made again if it went missing.
    func versionsContainer(_ account: String, _ info: ContainerInfo) async throws -> String {
        try await versionsContainer(account, info.name, policy: info.policy)
    }

    func versionsContainer(_ account: String, _ container: String, policy: String) async throws -> String {
        let name = VersionNames.container(for: container)
        if try await api.listings.container(account, name) == nil {
            _ = try await api.listings.putContainer(account, name, metadata: [:], policy: policy)
        }
        return name
    }

    /// An object written while versioning was off becomes a version (its timestamp its id)
    /// before a write or delete replaces it.
    func keepUnversioned(_ account: String, _ info: ContainerInfo, _ name: String, in versions: String) async throws {
        guard let current = try await api.read(account, info.name, name), Self.linkTarget(current) == nil else {
            return
        }
        let versionName = VersionNames.object(name, version: current.metadata.timestamp)
        var metadata = current.metadata
        metadata.name = "/\(account)/\(versions)/\(versionName)"
        let row = try await api.listings.object(account, info.name, name)
        _ = try await api.store(
            account, versions, versionName, metadata: metadata, expectedETag: nil,
            body: PartsSequence(parts: current.parts), listed: row.map { ($0.size, $0.etag) })
    }

    /// Makes `name` a zero-byte link to a version; its listing row carries the version's ETag
    /// and type (its size is the version's, which container listings fill in).
    func link(
        _ account: String, _ info: ContainerInfo, _ name: String, to versionName: String, contentType: String,
        etag: String
    ) async throws {
        let target = SwiftPath.encode(VersionNames.container(for: info.name)) + "/" + SwiftPath.encode(versionName)
        let metadata = ObjectMetadata(
            name: "/\(account)/\(info.name)/\(name)", timestamp: SwiftTimestamp.now(), contentType: contentType,
            headers: [Symlinks.targetKey: target, VersionNames.linkKey: "true"])
        _ = try await api.store(
            account, info.name, name, metadata: metadata, expectedETag: nil, body: PartsSequence(parts: []),
            listed: (0, etag))
    }

    /// The versions-container name a link leads to; nil for anything else.
    static func linkTarget(_ stored: StoredObject) -> String? {
        guard stored.metadata.headers[VersionNames.linkKey] == "true",
            let target = stored.metadata.headers[Symlinks.targetKey],
            let reference = ObjectReference(target, allowingReserved: true)
        else { return nil }
        return reference.object
    }

    // MARK: ?version-id=

    /// A request naming a version (`null` is the object written while versioning was off).
    func request(_ call: SwiftCall, _ info: ContainerInfo, _ name: String, version text: String) async throws
        -> Response
    {
        guard call.method != .post else { throw APIError.badRequest("POST to a specific version is not allowed") }
        guard info.versioning != .never || text == "null" else {
            throw APIError.badRequest("version-aware operations require that the container is versioned")
        }
        var version: String?
        if text != "null" {
            guard let canonical = VersionNames.version(text) else {
                throw APIError.badRequest("Invalid version parameter")
            }
            version = canonical
        }
        switch call.method {
        case .get, .head:
            guard api.canRead(call, info) else { throw call.denied }
            return try await read(call, info, name, version: version)
        case .put:
            guard api.canWrite(call, info) else { throw call.denied }
            guard let version else { throw APIError.badRequest("Invalid version parameter") }
            return try await restore(call, info, name, version: version)
        case .delete:
            guard api.canWrite(call, info) else { throw call.denied }
            guard let version else { return try await api.deleteObject(call, info, name) }
            return try await remove(call, info, name, version: version)
        default:
            throw APIError.badRequest("\(call.method.rawValue) to a specific version is not supported")
        }
    }

    func read(_ call: SwiftCall, _ info: ContainerInfo, _ name: String, version: String?) async throws -> Response {
        let account = call.path.account
        guard let version else {
            guard let current = try await api.read(account, info.name, name), Self.linkTarget(current) == nil else {
                throw APIError.notFound("Not Found")
            }
            var response = try await api.answer(call, current, info: info, name: name)
            response.headers[.objectVersionID] = "null"
            return response
        }
        let versions = VersionNames.container(for: info.name)
        let versionName = VersionNames.object(name, version: version)
        guard let stored = try await api.read(account, versions, versionName) else {
            throw APIError.notFound("Not Found")
        }
        guard stored.metadata.contentType != VersionNames.deleteMarkerType else {
            throw APIError(
                .notFound, "Not Found",
                headers: [.objectVersionID: version, .contentType: VersionNames.deleteMarkerType])
        }
        return try await api.answer(call, stored, at: (account, versions, versionName), info: info, name: name)
    }

    /// `PUT ?version-id=` with no body: the version becomes the current object.
    func restore(_ call: SwiftCall, _ info: ContainerInfo, _ name: String, version: String) async throws -> Response {
        let headers = call.request.headers
        let chunked = headers[.transferEncoding]?.lowercased().contains("chunked") == true
        let length = headers[.contentLength].flatMap { Int64($0) }
        guard length != nil || chunked else { throw APIError(.lengthRequired, "Length Required") }
        var empty = (length ?? 0) == 0
        for try await chunk in call.request.body where chunk.readableBytes > 0 { empty = false }
        guard empty else { throw APIError.badRequest("PUT version-id requests require a zero byte body") }
        let account = call.path.account
        let versions = VersionNames.container(for: info.name)
        let versionName = VersionNames.object(name, version: version)
        guard let stored = try await api.read(account, versions, versionName),
            stored.metadata.contentType != VersionNames.deleteMarkerType
        else { throw APIError.notFound("The specified version does not exist") }
        let etag = try await api.listings.object(account, versions, versionName)?.etag ?? stored.metadata.etag
        try await link(account, info, name, to: versionName, contentType: stored.metadata.contentType, etag: etag)
        return Response(
            status: .created,
            headers: [
                .eTag: etag, .objectVersionID: version, .contentLength: "0",
                .lastModified: SwiftHeaders.lastModified(stored.lastModified),
            ])
    }

    /// `DELETE ?version-id=`: that version goes (no delete marker); when it is the current
    /// one, the object's link goes too.
    func remove(_ call: SwiftCall, _ info: ContainerInfo, _ name: String, version: String) async throws -> Response {
        let account = call.path.account
        let versions = VersionNames.container(for: info.name)
        let versionName = VersionNames.object(name, version: version)
        var current = "null"
        if let link = try await api.read(account, info.name, name), let target = Self.linkTarget(link) {
            if target == versionName {
                try await api.remove(account, info.name, name)
            } else if let parsed = VersionNames.parse(target) {
                current = parsed.version
            }
        }
        let headers: HTTPFields = [.objectVersionID: version, .currentVersionID: current]
        guard try await api.listings.object(account, versions, versionName) != nil else {
            throw APIError(.notFound, "Not Found", headers: headers)
        }
        try await api.remove(account, versions, versionName)
        return Response(status: .noContent, headers: headers)
    }
}
