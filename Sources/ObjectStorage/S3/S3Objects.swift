import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import StratusCore

extension S3API {
    /// The S3 ETag of a multipart upload's object (`<md5 of the parts' md5s>-<parts>`).
    static let multipartETagKey = "x-object-sysmeta-s3api-etag"
    /// Headers S3 keeps with an object besides `x-amz-meta-*`.
    static let keptHeaders = [
        "content-disposition", "content-encoding", "cache-control", "expires", "content-language",
    ]

    func objectRequest(_ call: S3Call, _ bucket: String, _ key: String) async throws -> Response {
        let info = try await container(call, bucket)
        switch call.request.method {
        case .get, .head:
            guard swift.canRead(call.swift, info) else { throw S3Error.accessDenied }
            if call.has("uploadId") { return try await S3Multipart(s3: self).listParts(call, info, key) }
            if call.has("acl") { return acl(call) }
            return try await getObject(call, info, key)
        case .put:
            guard swift.canWrite(call.swift, info) else { throw S3Error.accessDenied }
            if call.has("uploadId") { return try await S3Multipart(s3: self).uploadPart(call, info, key) }
            if call.has("acl") || call.has("tagging") { return Response(status: .ok) }
            if call.request.headers[.amzCopySource] != nil { return try await copyObject(call, info, key) }
            return try await putObject(call, info, key)
        case .delete:
            guard swift.canWrite(call.swift, info) else { throw S3Error.accessDenied }
            if call.has("uploadId") { return try await S3Multipart(s3: self).abort(call, info, key) }
            try await deleteObject(call, info, key)
            return Response(status: .noContent)
        case .post:
            guard swift.canWrite(call.swift, info) else { throw S3Error.accessDenied }
            if call.has("uploads") { return try await S3Multipart(s3: self).initiate(call, info, key) }
            if call.has("uploadId") { return try await S3Multipart(s3: self).complete(call, info, key) }
            throw S3Error.notImplemented("This POST on an object")
        default:
            throw S3Error(.methodNotAllowed, "MethodNotAllowed", "The method is not allowed for this resource.")
        }
    }

    /// The metadata a PUT or an upload's initiation gives an object: `x-amz-meta-*` kept as
    /// `X-Object-Meta-*`, the type and S3's other kept headers.
    func newMetadata(_ call: S3Call, name: String) -> ObjectMetadata {
        let headers = call.request.headers
        var kept: [String: String] = [:]
        for field in headers where field.name.canonicalName.hasPrefix("x-amz-meta-") {
            kept["x-object-meta-" + field.name.canonicalName.dropFirst("x-amz-meta-".count)] = field.value
        }
        for key in Self.keptHeaders {
            if let field = HTTPField.Name(key), let value = headers[field] { kept[key] = value }
        }
        // aws-chunked describes the upload's framing, not the object.
        if let encoding = kept["content-encoding"] {
            let rest = encoding.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
                .filter { $0 != "aws-chunked" }
            kept["content-encoding"] = rest.isEmpty ? nil : rest.joined(separator: ", ")
        }
        let type = headers[.contentType].flatMap { $0.isEmpty ? nil : $0 } ?? MediaTypes.guess(name)
        return ObjectMetadata(name: name, timestamp: SwiftTimestamp.now(), contentType: type, headers: kept)
    }

    /// The upload's bytes: an `aws-chunked` body is unframed.
    func payload(_ request: Request) -> (body: any AsyncSequence<ByteBuffer, any Error> & Sendable, length: Int64?) {
        let declared = request.headers[.amzContentSHA256] ?? ""
        let chunked =
            declared.hasPrefix("STREAMING-")
            || request.headers[.contentEncoding]?.contains("aws-chunked") == true
        if chunked {
            return (AWSChunkedBody(base: request.body), request.headers[.amzDecodedLength].flatMap { Int64($0) })
        }
        return (request.body, request.headers[.contentLength].flatMap { Int64($0) })
    }

    /// `Content-MD5` (base64) as the hex ETag the bytes must have.
    func expectedMD5(_ request: Request) throws -> String? {
        guard let header = request.headers[.contentMD5] else { return nil }
        guard let digest = Data(base64Encoded: header), digest.count == 16 else {
            throw S3Error(.badRequest, "InvalidDigest", "The Content-MD5 you specified was invalid.")
        }
        return digest.hexEncoded()
    }

    func putObject(_ call: S3Call, _ info: ContainerInfo, _ key: String) async throws -> Response {
        let (body, length) = payload(call.request)
        if let length, length > swift.settings.maxFileSize {
            throw S3Error(.badRequest, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size.")
        }
        try swift.checkQuotas(call.swift, info, adding: length ?? 0)
        let metadata = newMetadata(call, name: "/\(call.account)/\(info.name)/\(key)")
        let expected = try expectedMD5(call.request)
        let stored: ObjectMetadata
        do {
            try await Versioning(api: swift).archiveCurrent(call.swift, info, key)
            stored = try await swift.store(
                call.account, info.name, key, metadata: metadata, expectedETag: expected, body: body)
        } catch let error as APIError where error.status.code == 422 {
            throw S3Error(.badRequest, "BadDigest", "The Content-MD5 you specified did not match what we received.")
        }
        return Response(status: .ok, headers: [.eTag: "\"\(stored.etag)\"", .contentLength: "0"])
    }

    func getObject(_ call: S3Call, _ info: ContainerInfo, _ key: String) async throws -> Response {
        guard let stored = try await swift.read(call.account, info.name, key) else { throw S3Error.noSuchKey }
        var content = try await swift.content(stored, account: call.account, manifest: false)
        content.etag =
            "\"\(stored.metadata.headers[Self.multipartETagKey] ?? content.etag.trimmingCharacters(in: ["\""]))\""
        var headers: HTTPFields = [
            .contentType: stored.metadata.contentType, .eTag: content.etag, .contentLength: String(content.length),
            .lastModified: SwiftHeaders.lastModified(stored.lastModified), .acceptRanges: "bytes",
        ]
        for (name, value) in stored.metadata.headers.sorted(by: { $0.key < $1.key }) {
            let header: String
            if name.hasPrefix("x-object-meta-") {
                header = "x-amz-meta-" + name.dropFirst("x-object-meta-".count)
            } else if Self.keptHeaders.contains(name) {
                header = name
            } else {
                continue
            }
            if let field = HTTPField.Name(header) { headers.append(HTTPField(name: field, value: value)) }
        }
        for name in [
            "content-type", "content-language", "expires", "cache-control", "content-disposition",
            "content-encoding",
        ] {
            if let value = call.query("response-" + name), let field = HTTPField.Name(name) { headers[field] = value }
        }
        return try await swift.serve(
            call.request, stored, content, headers: headers, at: (call.account, info.name, key))
    }

    /// DeleteObject: a multipart upload's object takes its parts with it; a missing key is no error.
    func deleteObject(_ call: S3Call, _ info: ContainerInfo, _ key: String) async throws {
        guard let stored = try await swift.read(call.account, info.name, key) else {
            if try await swift.listings.object(call.account, info.name, key) != nil {
                try await swift.remove(call.account, info.name, key)
            }
            return
        }
        if stored.metadata.headers[Self.multipartETagKey] != nil, stored.isStaticManifest {
            for segment in try await LargeObjects(api: swift).manifest(stored) {
                guard let reference = ObjectReference(segment.name) else { continue }
                try await swift.remove(call.account, reference.container, reference.object)
            }
        }
        try await swift.remove(call.account, info.name, key)
    }

    /// CopyObject: `x-amz-copy-source: /<bucket>/<key>`; the source's metadata unless
    /// `x-amz-metadata-directive: REPLACE`.
    func copyObject(_ call: S3Call, _ info: ContainerInfo, _ key: String) async throws -> Response {
        let header = call.request.headers[.amzCopySource] ?? ""
        let source = header.split(separator: "?").first.map(String.init) ?? header
        guard let reference = ObjectReference(source) else {
            throw S3Error.invalidArgument(
                "Copy Source must mention the source bucket and key: sourcebucket/sourcekey.")
        }
        let sourceInfo = try await container(call, reference.container)
        guard swift.canRead(call.swift, sourceInfo) else { throw S3Error.accessDenied }
        guard let stored = try await swift.read(call.account, reference.container, reference.object) else {
            throw S3Error.noSuchKey
        }
        let content = try await swift.content(stored, account: call.account, manifest: false)
        var metadata: ObjectMetadata
        if call.request.headers[.amzMetadataDirective]?.uppercased() == "REPLACE" {
            metadata = newMetadata(call, name: "/\(call.account)/\(info.name)/\(key)")
        } else {
            guard reference.container != info.name || reference.object != key else {
                throw S3Error(
                    .badRequest, "InvalidRequest",
                    "This copy request is illegal because it is trying to copy an object to itself without changing "
                        + "the object's metadata.")
            }
            metadata = ObjectMetadata(
                name: "/\(call.account)/\(info.name)/\(key)", timestamp: SwiftTimestamp.now(),
                contentType: stored.metadata.contentType,
                headers: stored.metadata.headers.filter {
                    !$0.key.hasPrefix("x-object-sysmeta-") && $0.key != "x-static-large-object"
                })
        }
        try swift.checkQuotas(call.swift, info, adding: content.length)
        let copied = try await swift.store(
            call.account, info.name, key, metadata: metadata, expectedETag: nil,
            body: PartsSequence(parts: content.parts))
        let body =
            S3XML.element("LastModified", S3XML.date(copied.timestamp)) + S3XML.element("ETag", "\"\(copied.etag)\"")
        return S3XML.response("CopyObjectResult", body)
    }
}
