import Foundation
import HTTPTypes
import Hummingbird
import StratusCore

extension HTTPField.Name {
    static let destination = Self("Destination")!
    static let destinationAccount = Self("Destination-Account")!
    static let freshMetadata = Self("X-Fresh-Metadata")!
}

extension SwiftAPI {
    /// `COPY` with `Destination: <container>/<object>` (and `Destination-Account`).
    func copyRequest(_ call: SwiftCall, container: String, object: String) async throws -> Response {
        guard let header = call.request.headers[.destination], let reference = ObjectReference(header) else {
            throw APIError(
                .preconditionFailed, "Destination header must be of the form <container name>/<object name>")
        }
        let account = call.request.headers[.destinationAccount] ?? call.path.account
        let target = try await resolve(call, account: account)
        guard let info = try await listings.container(account, reference.container) else {
            throw APIError.notFound("Not Found")
        }
        guard canWrite(target, info) else { throw target.denied }
        return try await copyObject(
            target, from: SwiftPath(account: call.path.account, container: container, object: object), to: info,
            object: reference.object)
    }

    /// The same request, judged on another account (cross-account copies).
    func resolve(_ call: SwiftCall, account: String) async throws -> SwiftCall {
        guard account != call.path.account else { return call }
        let info = try await listings.account(account)
        let level = access.level(call.auth, account: account, accountMetadata: info?.metadata ?? [:])
        return SwiftCall(
            request: call.request, path: SwiftPath(account: account), auth: call.auth, account: info, level: level)
    }

    /// Copies `source` (its segments' bytes for a large object, unless `multipart-manifest=get`)
    /// to `object` in `info`, with the source's metadata unless `X-Fresh-Metadata` asks otherwise;
    /// the request's metadata is laid over it.
    func copyObject(_ call: SwiftCall, from source: SwiftPath, to info: ContainerInfo, object: String) async throws
        -> Response
    {
        guard let sourceContainer = source.container, let sourceObject = source.object else {
            throw APIError(.preconditionFailed, "X-Copy-From header must be of the form <container>/<object>")
        }
        let reader = try await resolve(call, account: source.account)
        guard let sourceInfo = try await listings.container(source.account, sourceContainer) else {
            throw APIError.notFound("Not Found")
        }
        guard canRead(reader, sourceInfo) else { throw reader.denied }
        guard var stored = try await read(source.account, sourceContainer, sourceObject) else {
            throw APIError.notFound("Not Found")
        }
        if let target = ObjectVersions.linkTarget(stored) {
            guard let version = try await read(source.account, VersionNames.container(for: sourceContainer), target)
            else { throw APIError.notFound("Not Found") }
            stored = version
        }
        var parts = stored.parts
        var length = stored.metadata.contentLength
        var kept = stored.metadata.headers
        if call.request.formQuery("multipart-manifest") != "get",
            let large = try await LargeObjects(api: self).resolve(stored, account: source.account)
        {
            (parts, length) = (large.parts, large.length)
            for key in [
                "x-static-large-object", "x-object-manifest", LargeObjects.sloETagKey, LargeObjects.sloSizeKey,
            ] {
                kept[key] = nil
            }
        }
        if call.request.headers[.freshMetadata]?.lowercased() == "true" { kept = [:] }
        let headers = call.request.headers
        for (key, value) in try keptHeaders(headers) { kept[key] = value }
        for field in headers where field.name.canonicalName.hasPrefix("x-remove-object-meta-") {
            kept["x-object-meta-" + field.name.canonicalName.dropFirst("x-remove-object-meta-".count)] = nil
        }
        if let at = try deleteAt(headers) { kept["x-delete-at"] = String(Int(at)) }
        let contentType = headers[.contentType].flatMap { $0.isEmpty ? nil : $0 } ?? stored.metadata.contentType
        try checkQuotas(call, info, adding: length)
        let metadata = ObjectMetadata(
            name: "/\(info.account)/\(info.name)/\(object)", timestamp: SwiftTimestamp.now(),
            contentType: contentType, headers: kept)
        let (copied, written) = try await write(
            call, info, object, metadata: metadata, expectedETag: nil, body: PartsSequence(parts: parts))
        var extra: HTTPFields = [
            HTTPField.Name("X-Copied-From")!: SwiftPath.encode(sourceContainer) + "/" + SwiftPath.encode(sourceObject),
            HTTPField.Name("X-Copied-From-Last-Modified")!: SwiftHeaders.lastModified(stored.lastModified),
        ]
        extra.append(contentsOf: written)
        if source.account != info.account { extra[HTTPField.Name("X-Copied-From-Account")!] = source.account }
        SwiftHeaders.add(copied.headers.filter { !$0.key.hasPrefix("x-object-sysmeta-") }, to: &extra)
        return created(copied, extra: extra)
    }
}
