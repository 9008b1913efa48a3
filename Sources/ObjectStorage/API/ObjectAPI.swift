import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import StratusCore
import _NIOFileSystem

/// An object's newest state on its replicas, as a request reads it.
struct StoredObject: Sendable {
    var metadata: ObjectMetadata
    let path: String
    let bodyOffset: Int64
    let location: ObjectLocation
    let disk: ObjectDisk?

    var deleteAt: Double? { metadata.headers["x-delete-at"].flatMap(Double.init) }
    var isStaticManifest: Bool { metadata.headers["x-static-large-object"]?.lowercased() == "true" }
    var dynamicManifest: String? { metadata.headers["x-object-manifest"] }
    var lastModified: String { metadata.modified ?? metadata.timestamp }
    var parts: [BodyPart] { [.file(path: path, offset: bodyOffset, length: metadata.contentLength)] }
}

extension HTTPField.Name {
    static let copyFrom = Self("X-Copy-From")!
    static let deleteAt = Self("X-Delete-At")!
    static let deleteAfter = Self("X-Delete-After")!
    static let staticLargeObject = Self("X-Static-Large-Object")!
}

extension SwiftAPI {
    /// Headers an object keeps besides `X-Object-Meta-*` (Swift's `allowed_headers`).
    static let keptObjectHeaders = [
        "content-disposition", "content-encoding", "x-delete-at", "x-object-manifest", "cache-control",
        "content-language", "expires", "x-robots-tag", Symlinks.targetKey, Symlinks.accountKey,
    ]

    /// The object's newest state, nil when it is missing, deleted or expired.
    func read(_ account: String, _ container: String, _ object: String) async throws -> StoredObject? {
        let location = replicas.locate(account: account, container: container, object: object)
        let (state, disk) = await replicas.newest(location)
        guard case .object(let metadata, let path, let offset) = state else { return nil }
        let stored = StoredObject(metadata: metadata, path: path, bodyOffset: offset, location: location, disk: disk)
        if let deleteAt = stored.deleteAt, deleteAt <= Date().timeIntervalSince1970 { return nil }
        return stored
    }

    func objectRequest(_ call: SwiftCall, container: String, object: String) async throws -> Response {
        guard let info = try await listings.container(call.path.account, container) else {
            guard call.level >= .readOnly || call.tempURL else { throw call.denied }
            throw APIError.notFound("Not Found")
        }
        if let version = call.request.formQuery("version-id"), !version.isEmpty {
            return try await ObjectVersions(api: self).request(call, info, object, version: version)
        }
        let readable = canRead(call, info)
        let writable = canWrite(call, info)
        switch call.method {
        case .get, .head:
            guard readable else { throw call.denied }
            if StaticWeb.applies(call, info) { return try await webObject(call, info, object) }
            return try await getObject(call, info, object)
        case .put:
            guard writable else { throw call.denied }
            if let source = call.request.headers[.copyFrom] {
                guard let reference = ObjectReference(source) else {
                    throw APIError(.preconditionFailed, "X-Copy-From header must be of the form <container>/<object>")
                }
                let sourceAccount = call.request.headers[HTTPField.Name("X-Copy-From-Account")!] ?? call.path.account
                return try await copyObject(
                    call,
                    from: SwiftPath(account: sourceAccount, container: reference.container, object: reference.object),
                    to: info, object: object)
            }
            return try await putObject(call, info, object)
        case .post:
            guard writable else { throw call.denied }
            return try await postObject(call, info, object)
        case .delete:
            guard writable else { throw call.denied }
            if info.versioning == .enabled, call.request.formQuery("multipart-manifest") != "delete" {
                return try await ObjectVersions(api: self).delete(call, info, object)
            }
            return try await deleteObject(call, info, object)
        case Self.copy:
            guard readable else { throw call.denied }
            return try await copyRequest(call, container: container, object: object)
        default:
            throw APIError(.methodNotAllowed, "Method Not Allowed")
        }
    }

    /// An object as a static web site serves it: a directory path, or the error page for a miss.
    func webObject(_ call: SwiftCall, _ info: ContainerInfo, _ name: String) async throws -> Response {
        let web = StaticWeb(api: self)
        if call.request.uri.path.hasSuffix("/") {
            return try await web.directory(call, info, prefix: name.hasSuffix("/") ? name : name + "/")
        }
        do {
            return try await getObject(call, info, name)
        } catch let error as APIError where error.status == .notFound {
            return try await web.errorPage(call, info, status: .notFound)
        }
    }

    func canRead(_ call: SwiftCall, _ info: ContainerInfo) -> Bool {
        call.level >= .readOnly || call.tempURL
            || AccessControl.grants(info.metadata["x-container-read"], call.auth, referrer: call.referrer)
    }

    func canWrite(_ call: SwiftCall, _ info: ContainerInfo) -> Bool {
        call.level >= .readWrite || call.tempURL
            || AccessControl.grants(info.metadata["x-container-write"], call.auth, referrer: nil, referrerRules: false)
    }

    // MARK: GET and HEAD

    func getObject(_ call: SwiftCall, _ info: ContainerInfo, _ name: String) async throws -> Response {
        guard let stored = try await read(call.path.account, info.name, name) else {
            throw APIError.notFound("Not Found")
        }
        return try await answer(call, stored, info: info, name: name)
    }

    /// Answers a GET or HEAD of `name` in `info` with `first`, read at `start` (the object
    /// itself, or one of its versions): symlinks followed unless `?symlink=get`.
    func answer(
        _ call: SwiftCall, _ first: StoredObject,
        at start: (account: String, container: String, object: String)? = nil, info: ContainerInfo, name: String
    ) async throws -> Response {
        let request = call.request
        var stored = first
        var path = start ?? (account: call.path.account, container: info.name, object: name)
        if request.formQuery("symlink") != "get" {
            (stored, path) = try await Symlinks(api: self).follow(call, stored, from: path)
        }
        let content = try await content(
            stored, account: path.account, manifest: request.formQuery("multipart-manifest") == "get")
        var headers = objectHeaders(stored.metadata, etag: content.etag, length: content.length)
        let versions = VersionNames.container(for: info.name)
        if info.versioning != .never {
            let version =
                path.account == call.path.account && path.container == versions
                ? VersionNames.parse(path.object)?.version : nil
            headers[.objectVersionID] = version ?? "null"
            if let version {
                headers[.contentLocation] =
                    SwiftPath(account: call.path.account, container: info.name, object: name).encoded
                    + "?version-id=\(version)"
            }
        }
        if path != (call.path.account, info.name, name), path.container != versions {
            headers[.contentLocation] =
                SwiftPath(account: path.account, container: path.container, object: path.object)
                .encoded
        }
        if call.tempURL, request.method == .get { TempURL.addDisposition(request, object: name, to: &headers) }
        return try await serve(request, stored, content, headers: headers, at: path)
    }

    /// What a GET of an object sends: its bytes, or a large object's segments (unless the
    /// manifest itself is asked for), with the ETag and length to answer.
    struct Content {
        var parts: [BodyPart]
        var etag: String
        var length: Int64
        var isLarge = false
    }

    func content(_ stored: StoredObject, account: String, manifest: Bool) async throws -> Content {
        if !manifest, let large = try await LargeObjects(api: self).resolve(stored, account: account) {
            return Content(parts: large.parts, etag: "\"\(large.etag)\"", length: large.length, isLarge: true)
        }
        return Content(parts: stored.parts, etag: stored.metadata.etag, length: stored.metadata.contentLength)
    }

    /// Answers a GET or HEAD of `content` with `headers`: the preconditions, then the whole body
    /// (checked against its ETag first when small), one range or several.
    func serve(
        _ request: Request, _ stored: StoredObject, _ content: Content, headers given: HTTPFields,
        at path: (account: String, container: String, object: String)
    ) async throws -> Response {
        var headers = given
        let etag = content.etag
        let modified = Date(timeIntervalSince1970: SwiftTimestamp.seconds(stored.lastModified).rounded(.up))
        switch Preconditions.evaluate(
            ifMatch: request.headers[.ifMatch], ifNoneMatch: request.headers[.ifNoneMatch],
            ifModifiedSince: request.headers[.ifModifiedSince].flatMap(SwiftHeaders.parseHTTPDate),
            ifUnmodifiedSince: request.headers[.ifUnmodifiedSince].flatMap(SwiftHeaders.parseHTTPDate),
            etag: etag, lastModified: modified)
        {
        case .failed:
            throw APIError(.preconditionFailed, "Precondition Failed", headers: [.eTag: etag])
        case .notModified:
            headers[.contentLength] = "0"
            return Response(status: .notModified, headers: headers)
        case .proceed:
            break
        }
        if request.method == .head { return Response(status: .ok, headers: headers) }
        let length = content.length
        switch ByteRanges(header: request.headers[.range], length: length) {
        case .whole:
            var parts = content.parts
            if !content.isLarge, length <= settings.verifiedReadLimit {
                parts = [
                    .bytes(
                        try await verifiedBytes(stored, account: path.account, container: path.container, path.object))
                ]
            } else if !content.isLarge, case .file(let file, let offset, let size)? = parts.first, parts.count == 1 {
                let body = BodyPart.verified(path: file, offset: offset, length: size, etag: stored.metadata.etag) {
                    await quarantine(stored)
                }
                return Response(status: .ok, headers: headers, body: body)
            }
            return Response(status: .ok, headers: headers, body: BodyPart.body(parts))
        case .unsatisfiable:
            throw APIError(
                .rangeNotSatisfiable, "Requested Range Not Satisfiable", headers: [.contentRange: "bytes */\(length)"])
        case .ranges(let ranges):
            headers[.contentLength] = nil
            if ranges.count == 1, let range = ranges.first {
                headers[.contentRange] = "bytes \(range.lowerBound)-\(range.upperBound)/\(length)"
                let body = BodyPart.body(BodyPart.slice(content.parts, range))
                return Response(status: .partialContent, headers: headers, body: body)
            }
            let boundary = UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
            let type = headers[.contentType] ?? "application/octet-stream"
            headers[.contentType] = "multipart/byteranges;boundary=\(boundary)"
            let body = BodyPart.multipart(
                content.parts, ranges: ranges, total: length, contentType: type, boundary: boundary)
            return Response(status: .partialContent, headers: headers, body: BodyPart.body(body))
        }
    }

    func objectHeaders(_ metadata: ObjectMetadata, etag: String, length: Int64) -> HTTPFields {
        var headers: HTTPFields = [
            .contentType: metadata.contentType, .eTag: etag, .contentLength: String(length),
            .lastModified: SwiftHeaders.lastModified(metadata.modified ?? metadata.timestamp),
            .timestamp: metadata.timestamp, .acceptRanges: "bytes",
        ]
        SwiftHeaders.add(metadata.headers.filter { !$0.key.hasPrefix("x-object-sysmeta-") }, to: &headers)
        return headers
    }

    /// Moves a replica whose bytes fail their checksum out of the way (best effort: the
    /// auditor finds it again if this fails).
    func quarantine(_ stored: StoredObject) async {
        logger.error("object \(stored.metadata.name) on \(stored.disk?.root ?? "?") fails its checksum: quarantined")
        do {
            try await stored.disk?.quarantine(partition: stored.location.partition, hash: stored.location.hash)
        } catch {
            logger.error("could not quarantine \(stored.metadata.name): \(error)")
        }
    }

    /// The whole object's bytes, checked against its ETag: a replica whose bytes do not match
    /// is quarantined and the next newest replica is read, so corrupt bytes are never sent.
    func verifiedBytes(_ first: StoredObject, account: String, container: String, _ name: String) async throws
        -> ByteBuffer
    {
        var stored = first
        for _ in 0..<max(1, stored.location.disks.count) {
            let bytes = try await FileSystem.shared.withFileHandle(forReadingAt: .init(stored.path)) { handle in
                try await handle.readChunk(
                    fromAbsoluteOffset: stored.bodyOffset, length: .bytes(max(stored.metadata.contentLength, 0)))
            }
            let digest = Insecure.MD5.hash(data: bytes.readableBytesView).hexEncoded()
            if digest == stored.metadata.etag && Int64(bytes.readableBytes) == stored.metadata.contentLength {
                return bytes
            }
            await quarantine(stored)
            guard let next = try await read(account, container, name) else { break }
            stored = next
        }
        throw APIError(.serviceUnavailable, "No intact replica of the object is available")
    }

    // MARK: PUT

    func putObject(_ call: SwiftCall, _ info: ContainerInfo, _ name: String) async throws -> Response {
        if call.request.formQuery("multipart-manifest") == "put" {
            return try await LargeObjects(api: self).putManifest(call, info, name)
        }
        let headers = call.request.headers
        let length = headers[.contentLength].flatMap { Int64($0) }
        let chunked = headers[.transferEncoding]?.lowercased().contains("chunked") == true
        guard length != nil || chunked else { throw APIError(.lengthRequired, "Length Required") }
        if let length, length > settings.maxFileSize { throw APIError(.contentTooLarge, "Request Entity Too Large") }
        if let ifNoneMatch = headers[.ifNoneMatch] {
            guard ifNoneMatch == "*" else { throw APIError.badRequest("If-None-Match only supports *") }
            if try await read(call.path.account, info.name, name) != nil {
                throw APIError(.preconditionFailed, "Precondition Failed")
            }
        }
        var metadata = try newMetadata(call, name: "/\(call.path.account)/\(info.name)/\(name)")
        try Symlinks.prepare(&metadata, headers: headers, length: length)
        try checkQuotas(call, info, adding: length ?? 0)
        let (stored, extra) = try await write(
            call, info, name, metadata: metadata, expectedETag: headers[.eTag], body: call.request.body)
        return created(stored, extra: extra)
    }

    /// A client's write of `name`: a new version where versioning is enabled (its id in the
    /// headers answered), else over the current object, which legacy versioning archives first.
    func write<Body: AsyncSequence>(
        _ call: SwiftCall, _ info: ContainerInfo, _ name: String, metadata: ObjectMetadata, expectedETag: String?,
        body: Body, listed: (size: Int64, etag: String)? = nil
    ) async throws -> (ObjectMetadata, HTTPFields) where Body.Element == ByteBuffer {
        if info.versioning == .enabled {
            let (stored, version) = try await ObjectVersions(api: self).store(
                call, info, name, metadata: metadata, expectedETag: expectedETag, body: body, listed: listed)
            return (stored, [.objectVersionID: version])
        }
        try await Versioning(api: self).archiveCurrent(call, info, name)
        let stored = try await store(
            call.path.account, info.name, name, metadata: metadata, expectedETag: expectedETag, body: body,
            listed: listed)
        return (stored, [:])
    }

    func created(_ stored: ObjectMetadata, extra: HTTPFields = [:]) -> Response {
        var headers: HTTPFields = [
            .eTag: stored.etag, .lastModified: SwiftHeaders.lastModified(stored.timestamp), .contentLength: "0",
            .contentType: "text/html; charset=UTF-8",
        ]
        headers.append(contentsOf: extra)
        return Response(status: .created, headers: headers)
    }

    /// The metadata a PUT gives a new object: its type, `X-Object-Meta-*` and kept headers.
    func newMetadata(_ call: SwiftCall, name: String) throws -> ObjectMetadata {
        let headers = call.request.headers
        var kept = try keptHeaders(headers)
        kept["x-delete-at"] = try deleteAt(headers).map { String(Int($0)) }
        var contentType = headers[.contentType] ?? ""
        if contentType.isEmpty || headers[HTTPField.Name("X-Detect-Content-Type")!]?.lowercased() == "true" {
            contentType = MediaTypes.guess(name)
        }
        return ObjectMetadata(
            name: name, timestamp: SwiftTimestamp.now(), contentType: contentType, headers: kept)
    }

    /// The `X-Object-Meta-*` (empty values too) and kept headers a request gives an object.
    func keptHeaders(_ headers: HTTPFields) throws -> [String: String] {
        var kept: [String: String] = [:]
        for (key, value) in try SwiftHeaders.metadataChanges(headers, kind: "object", keepEmpty: true) {
            kept[key] = value
        }
        for key in Self.keptObjectHeaders {
            if let field = HTTPField.Name(key), let value = headers[field] { kept[key] = value }
        }
        return kept
    }

    /// `X-Delete-At` (or `X-Delete-After` from now), which must be in the future.
    func deleteAt(_ headers: HTTPFields) throws -> Double? {
        let now = Date().timeIntervalSince1970
        if let after = headers[.deleteAfter] {
            guard let seconds = Int(after), seconds >= 0 else {
                throw APIError.badRequest("Non-integer X-Delete-After")
            }
            return (now + Double(seconds)).rounded(.down)
        }
        guard let text = headers[.deleteAt] else { return nil }
        guard let at = Double(text) else { throw APIError.badRequest("Non-integer X-Delete-At") }
        guard at > now else { throw APIError.badRequest("X-Delete-At in past") }
        return at
    }

    func checkQuotas(_ call: SwiftCall, _ info: ContainerInfo, adding bytes: Int64) throws {
        if let quota = info.metadata["x-container-meta-quota-bytes"].flatMap({ Int64($0) }),
            info.bytesUsed + bytes > quota
        {
            throw APIError(.contentTooLarge, "Upload exceeds quota.")
        }
        if let quota = info.metadata["x-container-meta-quota-count"].flatMap({ Int64($0) }),
            info.objectCount + 1 > quota
        {
            throw APIError(.contentTooLarge, "Upload exceeds quota.")
        }
        if let account = call.account,
            let quota = account.metadata["x-account-meta-quota-bytes"].flatMap({ Int64($0) }),
            account.bytesUsed + bytes > quota
        {
            throw APIError(.contentTooLarge, "Upload exceeds quota.")
        }
        if let account = call.account, let quota = account.metadata["x-account-quota-count"].flatMap({ Int64($0) }),
            account.objectCount + 1 > quota
        {
            throw APIError(.contentTooLarge, "Upload exceeds quota.")
        }
    }

    /// Writes the object to its replicas, then lists it (a large object's manifest with the
    /// size and ETag of its whole content: `listed`).
    func store<Body: AsyncSequence>(
        _ account: String, _ container: String, _ name: String, metadata: ObjectMetadata, expectedETag: String?,
        body: Body, listed: (size: Int64, etag: String)? = nil
    ) async throws -> ObjectMetadata where Body.Element == ByteBuffer {
        let location = replicas.locate(account: account, container: container, object: name)
        let stored: ObjectMetadata
        do {
            stored = try await replicas.put(
                location, metadata: metadata,
                expectedETag: expectedETag?.trimmingCharacters(in: CharacterSet(charactersIn: "\"")), body: body)
        } catch is ObjectDiskError {
            throw APIError(HTTPResponse.Status(code: 422), "Unprocessable Entity")
        } catch let error as ReplicaError {
            throw APIError(.serviceUnavailable, error.description)
        }
        let symlink = stored.headers[Symlinks.targetKey].map { target in
            "/v1/\(stored.headers[Symlinks.accountKey] ?? account)/" + target
        }
        try await listings.recordObject(
            account, container,
            ObjectEntry(
                name: name, timestamp: stored.timestamp, size: listed?.size ?? stored.contentLength,
                contentType: stored.contentType, etag: listed?.etag ?? stored.etag,
                deleteAt: stored.headers["x-delete-at"].flatMap(Double.init), symlink: symlink))
        return stored
    }

    // MARK: POST and DELETE

    func postObject(_ call: SwiftCall, _ info: ContainerInfo, _ name: String) async throws -> Response {
        guard var stored = try await read(call.path.account, info.name, name) else {
            throw APIError.notFound("Not Found")
        }
        // A versioned object's metadata is its current version's.
        var (container, object) = (info.name, name)
        if let target = ObjectVersions.linkTarget(stored) {
            (container, object) = (VersionNames.container(for: info.name), target)
            guard let version = try await read(call.path.account, container, object) else {
                throw APIError.notFound("Not Found")
            }
            stored = version
        }
        let headers = call.request.headers
        var kept = try keptHeaders(headers)
        if let slo = stored.metadata.headers["x-static-large-object"] { kept["x-static-large-object"] = slo }
        let deleteAt = try deleteAt(headers)
        kept["x-delete-at"] = deleteAt.map { String(Int($0)) }
        let contentType = headers[.contentType].flatMap { $0.isEmpty ? nil : $0 }
        let update = MetadataUpdate(timestamp: SwiftTimestamp.now(), contentType: contentType, headers: kept)
        do {
            try await replicas.post(stored.location, update: update)
        } catch let error as ReplicaError {
            throw APIError(.serviceUnavailable, error.description)
        }
        try await listings.updateObject(
            call.path.account, container, object, contentType: contentType ?? stored.metadata.contentType,
            deleteAt: deleteAt)
        return Response(status: .accepted, headers: [.contentLength: "0"])
    }

    func deleteObject(_ call: SwiftCall, _ info: ContainerInfo, _ name: String) async throws -> Response {
        if call.request.formQuery("multipart-manifest") == "delete",
            let stored = try await read(call.path.account, info.name, name), stored.isStaticManifest
        {
            return try await LargeObjects(api: self).deleteManifest(call, info, stored, name)
        }
        if try await Versioning(api: self).restorePrevious(call, info, name) {
            return Response(status: .noContent)
        }
        guard try await read(call.path.account, info.name, name) != nil else {
            // An expired object still listed goes now, as the expirer would remove it.
            if try await listings.object(call.path.account, info.name, name) != nil {
                try await remove(call.path.account, info.name, name)
            }
            throw APIError.notFound("Not Found")
        }
        try await remove(call.path.account, info.name, name)
        return Response(status: .noContent)
    }

    /// A tombstone on the replicas, then the object unlisted.
    func remove(_ account: String, _ container: String, _ name: String) async throws {
        let timestamp = SwiftTimestamp.now()
        do {
            try await replicas.delete(
                replicas.locate(account: account, container: container, object: name), timestamp: timestamp)
        } catch let error as ReplicaError {
            throw APIError(.serviceUnavailable, error.description)
        }
        try await listings.removeObject(account, container, name, timestamp: timestamp)
    }
}
