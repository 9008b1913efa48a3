import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import StratusCore

/// S3 multipart uploads as Swift's s3api keeps them: in `<bucket>+segments`, the upload's
/// marker `<key>/<upload id>` (holding the object's future metadata) and its parts
/// `<key>/<upload id>/<part number>`; completing one writes a static large object over
/// the parts, whose S3 ETag is the MD5 of the parts' MD5s and their count.
struct S3Multipart {
    let s3: S3API
    var swift: SwiftAPI { s3.swift }

    /// Every part but the last must be this big, as S3 requires.
    static let minPartSize: Int64 = 5 * 1024 * 1024
    static let maxParts = 10_000

    func segments(_ info: ContainerInfo) -> String { info.name + S3API.segmentsSuffix }
    func partName(_ key: String, _ upload: String, _ number: Int) -> String {
        "\(key)/\(upload)/" + String(format: "%05d", number)
    }

    func initiate(_ call: S3Call, _ info: ContainerInfo, _ key: String) async throws -> Response {
        let upload = UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        _ = try await swift.listings.putContainer(
            call.account, segments(info), metadata: [:], policy: swift.settings.policyName)
        let metadata = s3.newMetadata(call, name: "/\(call.account)/\(segments(info))/\(key)/\(upload)")
        _ = try await swift.store(
            call.account, segments(info), "\(key)/\(upload)", metadata: metadata, expectedETag: nil,
            body: PartsSequence(parts: []))
        return S3XML.response(
            "InitiateMultipartUploadResult",
            S3XML.element("Bucket", info.name) + S3XML.element("Key", key) + S3XML.element("UploadId", upload))
    }

    /// The upload's marker; NoSuchUpload when it was completed, aborted or never made.
    func marker(_ call: S3Call, _ info: ContainerInfo, _ key: String) async throws -> (String, StoredObject) {
        guard let upload = call.query("uploadId"), !upload.isEmpty, !upload.contains("/"),
            let marker = try await swift.read(call.account, segments(info), "\(key)/\(upload)")
        else { throw S3Error.noSuchUpload }
        return (upload, marker)
    }

    func uploadPart(_ call: S3Call, _ info: ContainerInfo, _ key: String) async throws -> Response {
        guard let number = call.query("partNumber").flatMap(Int.init), (1...Self.maxParts).contains(number) else {
            throw S3Error.invalidArgument("Part number must be an integer between 1 and 10000, inclusive.")
        }
        let (upload, _) = try await marker(call, info, key)
        let name = partName(key, upload, number)
        let metadata = ObjectMetadata(
            name: "/\(call.account)/\(segments(info))/\(name)", timestamp: SwiftTimestamp.now(),
            contentType: "application/octet-stream")
        if call.request.headers[.amzCopySource] != nil {
            return try await copyPart(call, info, name: name, metadata: metadata)
        }
        let (body, length) = s3.payload(call.request)
        try swift.checkQuotas(call.swift, info, adding: length ?? 0)
        let stored = try await swift.store(
            call.account, segments(info), name, metadata: metadata, expectedETag: try s3.expectedMD5(call.request),
            body: body)
        return Response(status: .ok, headers: [.eTag: "\"\(stored.etag)\"", .contentLength: "0"])
    }

    /// UploadPartCopy: a part from an object's bytes (`x-amz-copy-source-range: bytes=a-b`).
    func copyPart(_ call: S3Call, _ info: ContainerInfo, name: String, metadata: ObjectMetadata) async throws
        -> Response
    {
        let header = call.request.headers[.amzCopySource] ?? ""
        guard let reference = ObjectReference(header.split(separator: "?").first.map(String.init) ?? header) else {
            throw S3Error.invalidArgument("Copy Source must mention the source bucket and key.")
        }
        let sourceInfo = try await s3.container(call, reference.container)
        guard swift.canRead(call.swift, sourceInfo) else { throw S3Error.accessDenied }
        guard let stored = try await swift.read(call.account, reference.container, reference.object) else {
            throw S3Error.noSuchKey
        }
        var parts = try await swift.content(stored, account: call.account, manifest: false).parts
        let length = parts.reduce(Int64(0)) { $0 + $1.length }
        if let range = call.request.headers[HTTPField.Name("x-amz-copy-source-range")!] {
            guard case .ranges(let ranges) = ByteRanges(header: range, length: length), ranges.count == 1,
                let first = ranges.first
            else { throw S3Error(.badRequest, "InvalidRange", "The x-amz-copy-source-range is not valid.") }
            parts = BodyPart.slice(parts, first)
        }
        let copied = try await swift.store(
            call.account, segments(info), name, metadata: metadata, expectedETag: nil,
            body: PartsSequence(parts: parts))
        return S3XML.response(
            "CopyPartResult",
            S3XML.element("LastModified", S3XML.date(copied.timestamp)) + S3XML.element("ETag", "\"\(copied.etag)\""))
    }

    func complete(_ call: S3Call, _ info: ContainerInfo, _ key: String) async throws -> Response {
        let (upload, marker) = try await marker(call, info, key)
        let xml = String(buffer: try await call.request.body.collect(upTo: 4 << 20))
        let requested = try S3XML.blocks("Part", in: xml).map { block -> (Int, String) in
            guard let number = S3XML.values("PartNumber", in: block).first.flatMap(Int.init),
                let etag = S3XML.values("ETag", in: block).first
            else { throw S3Error.malformedXML }
            return (number, etag.trimmingCharacters(in: ["\""]))
        }
        guard !requested.isEmpty else { throw S3Error.malformedXML }
        guard zip(requested, requested.dropFirst()).allSatisfy({ $0.0 < $1.0 }) else {
            throw S3Error(.badRequest, "InvalidPartOrder", "The list of parts was not in ascending order.")
        }
        var manifest: [ManifestSegment] = []
        var digests = Data()
        for (index, (number, etag)) in requested.enumerated() {
            let name = partName(key, upload, number)
            guard let part = try await swift.read(call.account, segments(info), name), part.metadata.etag == etag,
                let digest = TempURL.hexBytes(etag)
            else {
                throw S3Error(
                    .badRequest, "InvalidPart",
                    "One or more of the specified parts could not be found or did not match its ETag.")
            }
            if index < requested.count - 1, part.metadata.contentLength < Self.minPartSize {
                throw S3Error(
                    .badRequest, "EntityTooSmall",
                    "Your proposed upload is smaller than the minimum allowed object size.")
            }
            digests.append(contentsOf: digest)
            manifest.append(
                ManifestSegment(
                    name: "/\(segments(info))/\(name)", hash: part.metadata.etag, bytes: part.metadata.contentLength,
                    contentType: part.metadata.contentType))
        }
        let s3ETag = Insecure.MD5.hash(data: digests).hexEncoded() + "-\(requested.count)"
        let resolved = try await LargeObjects(api: swift).staticSegments(manifest, account: call.account)
        var metadata = marker.metadata
        metadata.name = "/\(call.account)/\(info.name)/\(key)"
        metadata.timestamp = SwiftTimestamp.now()
        metadata.headers["x-static-large-object"] = "True"
        metadata.headers[LargeObjects.sloETagKey] = resolved.etag
        metadata.headers[LargeObjects.sloSizeKey] = String(resolved.length)
        metadata.headers[S3API.multipartETagKey] = s3ETag
        try await Versioning(api: swift).archiveCurrent(call.swift, info, key)
        _ = try await swift.store(
            call.account, info.name, key, metadata: metadata, expectedETag: nil,
            body: PartsSequence(parts: [.bytes(ByteBuffer(bytes: try JSONEncoder().encode(manifest)))]),
            listed: (resolved.length, s3ETag))
        // Parts uploaded but left out of the object go with the marker.
        let kept = Set(requested.map { partName(key, upload, $0.0) })
        for part in try await parts(call, info, key, upload) where !kept.contains(part.name) {
            try await swift.remove(call.account, segments(info), part.name)
        }
        try await swift.remove(call.account, segments(info), "\(key)/\(upload)")
        let body =
            S3XML.element("Location", "/\(info.name)/\(key)") + S3XML.element("Bucket", info.name)
            + S3XML.element("Key", key) + S3XML.element("ETag", "\"\(s3ETag)\"")
        return S3XML.response("CompleteMultipartUploadResult", body)
    }

    func parts(_ call: S3Call, _ info: ContainerInfo, _ key: String, _ upload: String) async throws -> [ObjectEntry] {
        var query = ListingQuery()
        query.prefix = "\(key)/\(upload)/"
        var entries: [ObjectEntry] = []
        while true {
            let page = try await swift.listings.listObjects(call.account, segments(info), query)
            for case .entry(let entry) in page { entries.append(entry) }
            guard page.count == query.limit, let last = entries.last else { break }
            query.marker = last.name
        }
        return entries
    }

    func abort(_ call: S3Call, _ info: ContainerInfo, _ key: String) async throws -> Response {
        let (upload, _) = try await marker(call, info, key)
        for part in try await parts(call, info, key, upload) {
            try await swift.remove(call.account, segments(info), part.name)
        }
        try await swift.remove(call.account, segments(info), "\(key)/\(upload)")
        return Response(status: .noContent)
    }

    func listParts(_ call: S3Call, _ info: ContainerInfo, _ key: String) async throws -> Response {
        let (upload, _) = try await marker(call, info, key)
        var body =
            S3XML.element("Bucket", info.name) + S3XML.element("Key", key) + S3XML.element("UploadId", upload)
            + S3XML.element("MaxParts", String(Self.maxParts)) + S3XML.element("IsTruncated", "false")
        for part in try await parts(call, info, key, upload) {
            guard let number = part.name.split(separator: "/").last.flatMap({ Int($0) }) else { continue }
            body +=
                "<Part>" + S3XML.element("PartNumber", String(number))
                + S3XML.element("LastModified", S3XML.date(part.timestamp)) + S3XML.element("ETag", "\"\(part.etag)\"")
                + S3XML.element("Size", String(part.size)) + "</Part>"
        }
        return S3XML.response("ListPartsResult", body)
    }

    /// ListMultipartUploads: the markers of the bucket's unfinished uploads.
    func listUploads(_ call: S3Call, _ bucket: String) async throws -> Response {
        var body =
            S3XML.element("Bucket", bucket) + S3XML.element("MaxUploads", "1000")
            + S3XML.element("IsTruncated", "false")
        if try await swift.listings.container(call.account, bucket + S3API.segmentsSuffix) != nil {
            var query = ListingQuery()
            query.prefix = call.query("prefix") ?? ""
            let entries = try await swift.listings.listObjects(call.account, bucket + S3API.segmentsSuffix, query)
            for case .entry(let entry) in entries {
                let parts = entry.name.split(separator: "/")
                guard let upload = parts.last, upload.count == 32, parts.count > 1 else { continue }
                let key = parts.dropLast().joined(separator: "/")
                body +=
                    "<Upload>" + S3XML.element("Key", key) + S3XML.element("UploadId", String(upload))
                    + S3XML.element("Initiated", S3XML.date(entry.timestamp)) + "</Upload>"
            }
        }
        return S3XML.response("ListMultipartUploadsResult", body)
    }
}
