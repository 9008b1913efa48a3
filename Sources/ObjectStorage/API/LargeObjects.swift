import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import StratusCore
import _NIOFileSystem

/// One segment of a static large object's manifest, as stored.
struct ManifestSegment: Codable, Sendable, Equatable {
    /// `/<container>/<object>`.
    var name: String
    var hash: String
    var bytes: Int64
    var contentType: String
    var range: String?

    enum CodingKeys: String, CodingKey {
        case name, hash, bytes, range
        case contentType = "content_type"
    }
}

/// Large objects made of segments: dynamic ones (`X-Object-Manifest: <container>/<prefix>`,
/// every object under the prefix in name order) and static ones (`multipart-manifest=put`,
/// a checked JSON list of segments).
struct LargeObjects {
    let api: SwiftAPI

    static let maxSegments = 1000
    static let maxManifestSize = 8 * 1024 * 1024
    static let sloETagKey = "x-object-sysmeta-slo-etag"
    static let sloSizeKey = "x-object-sysmeta-slo-size"

    struct Resolved {
        var parts: [BodyPart]
        /// The MD5 of the segments' ETags, concatenated (answered quoted).
        var etag: String
        var length: Int64
    }

    /// The segments of a manifest, or nil when the object is not one.
    func resolve(_ stored: StoredObject, account: String) async throws -> Resolved? {
        if stored.isStaticManifest {
            return try await staticSegments(try await manifest(stored), account: account)
        }
        if let manifest = stored.dynamicManifest {
            return try await dynamicSegments(manifest, account: account)
        }
        return nil
    }

    func dynamicSegments(_ manifest: String, account: String) async throws -> Resolved {
        let text = manifest.removingPercentEncoding ?? manifest
        let trimmed = text.hasPrefix("/") ? String(text.dropFirst()) : text
        guard let slash = trimmed.firstIndex(of: "/") else {
            throw APIError.badRequest("X-Object-Manifest must be of the form <container>/<prefix>")
        }
        let container = String(trimmed[..<slash])
        var query = ListingQuery()
        query.prefix = String(trimmed[trimmed.index(after: slash)...])
        var parts: [BodyPart] = []
        var etags = ""
        var length: Int64 = 0
        while true {
            let page = try await api.listings.listObjects(account, container, query)
            for case .entry(let entry) in page {
                query.marker = entry.name
                guard let segment = try await api.read(account, container, entry.name) else { continue }
                parts.append(contentsOf: segment.parts)
                etags += segment.metadata.etag
                length += segment.metadata.contentLength
            }
            if page.count < query.limit { break }
        }
        return Resolved(parts: parts, etag: Insecure.MD5.hash(data: Data(etags.utf8)).hexEncoded(), length: length)
    }

    func manifest(_ stored: StoredObject) async throws -> [ManifestSegment] {
        let bytes = try await FileSystem.shared.withFileHandle(forReadingAt: .init(stored.path)) { handle in
            try await handle.readChunk(
                fromAbsoluteOffset: stored.bodyOffset,
                length: .bytes(min(stored.metadata.contentLength, Int64(Self.maxManifestSize))))
        }
        return try JSONDecoder().decode([ManifestSegment].self, from: Data(bytes.readableBytesView))
    }

    func staticSegments(_ segments: [ManifestSegment], account: String) async throws -> Resolved {
        var parts: [BodyPart] = []
        var etags = ""
        var length: Int64 = 0
        for segment in segments {
            guard let reference = ObjectReference(segment.name),
                let stored = try await api.read(account, reference.container, reference.object)
            else { throw APIError.conflict("Segment \(segment.name) of the large object is missing") }
            var segmentParts = stored.parts
            var size = stored.metadata.contentLength
            if let range = segment.range,
                case .ranges(let ranges) = ByteRanges(header: "bytes=" + range, length: size),
                let first = ranges.first
            {
                segmentParts = BodyPart.slice(segmentParts, first)
                size = first.upperBound - first.lowerBound + 1
            }
            parts.append(contentsOf: segmentParts)
            etags += segment.range.map { "\(segment.hash):\($0);" } ?? segment.hash
            length += size
        }
        return Resolved(parts: parts, etag: Insecure.MD5.hash(data: Data(etags.utf8)).hexEncoded(), length: length)
    }

    /// `PUT ?multipart-manifest=put`: every listed segment must exist and match its given
    /// ETag and size; the manifest is stored with the segments' details.
    func putManifest(_ call: SwiftCall, _ info: ContainerInfo, _ name: String) async throws -> Response {
        let buffer: ByteBuffer
        do {
            buffer = try await call.request.body.collect(upTo: Self.maxManifestSize)
        } catch {
            throw APIError(.contentTooLarge, "Manifest File > \(Self.maxManifestSize) bytes")
        }
        struct Entry: Decodable {
            var path: String
            var etag: String?
            var sizeBytes: Int64?
            var range: String?
            enum CodingKeys: String, CodingKey {
                case path, etag, range
                case sizeBytes = "size_bytes"
            }
        }
        guard let entries = try? JSONDecoder().decode([Entry].self, from: Data(buffer.readableBytesView)) else {
            throw APIError.badRequest("Manifest must be valid JSON.")  // the decoder's reason is not Swift's message
        }
        guard !entries.isEmpty, entries.count <= Self.maxSegments else {
            throw APIError.badRequest("Manifest must have between 1 and \(Self.maxSegments) segments.")
        }
        var segments: [ManifestSegment] = []
        var errors: [String] = []
        for entry in entries {
            guard let reference = ObjectReference(entry.path) else {
                errors.append("\(entry.path), 400 Bad Request")
                continue
            }
            guard let stored = try await api.read(call.path.account, reference.container, reference.object) else {
                errors.append("\(entry.path), 404 Not Found")
                continue
            }
            if let etag = entry.etag, !etag.isEmpty, etag.trimmingCharacters(in: ["\""]) != stored.metadata.etag {
                errors.append("\(entry.path), Etag Mismatch")
            }
            if let size = entry.sizeBytes, size != stored.metadata.contentLength {
                errors.append("\(entry.path), Size Mismatch")
            }
            segments.append(
                ManifestSegment(
                    name: "/\(reference.container)/\(reference.object)", hash: stored.metadata.etag,
                    bytes: stored.metadata.contentLength, contentType: stored.metadata.contentType, range: entry.range)
            )
        }
        guard errors.isEmpty else {
            throw APIError.badRequest("Errors:\n" + errors.joined(separator: "\n"))
        }
        let resolved = try await staticSegments(segments, account: call.path.account)
        var metadata = try api.newMetadata(call, name: "/\(call.path.account)/\(info.name)/\(name)")
        metadata.headers["x-static-large-object"] = "True"
        metadata.headers[Self.sloETagKey] = resolved.etag
        metadata.headers[Self.sloSizeKey] = String(resolved.length)
        try api.checkQuotas(call, info, adding: Int64(buffer.readableBytes))
        let data = try JSONEncoder().encode(segments)
        let (stored, extra) = try await api.write(
            call, info, name, metadata: metadata, expectedETag: nil,
            body: PartsSequence(parts: [.bytes(ByteBuffer(bytes: data))]), listed: (resolved.length, resolved.etag))
        var response = api.created(stored, extra: extra)
        response.headers[.eTag] = "\"\(resolved.etag)\""
        return response
    }

    /// `DELETE ?multipart-manifest=delete`: the segments, then the manifest; answered as a bulk delete.
    func deleteManifest(
        _ call: SwiftCall, _ info: ContainerInfo, _ stored: StoredObject, _ name: String
    ) async throws -> Response {
        var deleted = 0
        var notFound = 0
        for segment in try await manifest(stored) {
            guard let reference = ObjectReference(segment.name),
                try await api.read(call.path.account, reference.container, reference.object) != nil
            else {
                notFound += 1
                continue
            }
            try await api.remove(call.path.account, reference.container, reference.object)
            deleted += 1
        }
        try await api.remove(call.path.account, info.name, name)
        deleted += 1
        return BulkResult(deleted: deleted, notFound: notFound, errors: []).response(call.request)
    }
}

/// The answer of a bulk delete (and of a manifest delete): counts and errors, as text or JSON.
struct BulkResult {
    var deleted: Int
    var notFound: Int
    var errors: [(name: String, status: String)]

    func response(_ request: Request) -> Response {
        let status = errors.isEmpty ? "200 OK" : "400 Bad Request"
        let body: String
        let type: String
        if request.headers[.accept]?.contains("application/json") == true {
            let json: JSON = [
                "Number Deleted": .int(deleted), "Number Not Found": .int(notFound), "Response Body": "",
                "Response Status": .string(status),
                "Errors": .array(errors.map { .array([.string($0.name), .string($0.status)]) }),
            ]
            (body, type) = (json.serialized(), "application/json; charset=utf-8")
        } else {
            let lines = errors.map { "\($0.name), \($0.status)" }.joined(separator: "\n")
            body =
                "Number Deleted: \(deleted)\nNumber Not Found: \(notFound)\nResponse Body: \n"
                + "Response Status: \(status)\nErrors: \(lines)\n"
            type = "text/plain; charset=utf-8"
        }
        return Response(status: .ok, headers: [.contentType: type], body: .init(byteBuffer: ByteBuffer(string: body)))
    }
}
