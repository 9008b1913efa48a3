import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import StratusCore

/// A signed S3 request resolved to its bucket, key and the signer's standing on the
/// account of its project (`AUTH_<project>`).
struct S3Call: Sendable {
    let swift: SwiftCall
    let bucket: String?
    let key: String?

    var request: Request { swift.request }
    var account: String { swift.path.account }
    var auth: AuthContext? { swift.auth }

    func query(_ name: String) -> String? { request.formQuery(name) }
    func has(_ name: String) -> Bool { request.formQueryItems.contains { $0.0 == name } }
}

extension HTTPField.Name {
    static let amzRequestID = Self("x-amz-request-id")!
    static let amzContentSHA256 = Self("x-amz-content-sha256")!
    static let amzDecodedLength = Self("x-amz-decoded-content-length")!
    static let amzCopySource = Self("x-amz-copy-source")!
    static let amzMetadataDirective = Self("x-amz-metadata-directive")!
    static let contentMD5 = Self("Content-MD5")!
}

/// Amazon S3's REST API, path-style, over Object Storage's data as Swift's s3api serves it:
/// a bucket is a container of the signer's project's account, a key an object; requests
/// are signed (Signature V4) with EC2 credentials that Identity checks.
struct S3API: Sendable {
    let swift: SwiftAPI
    let credentials: any S3CredentialVerifier

    /// Multipart parts and upload markers live in `<bucket>+segments`, as in s3api.
    static let segmentsSuffix = "+segments"

    func register(on router: Router<StratusContext>) {
        for method in [HTTPRequest.Method.get, .head, .put, .post, .delete] {
            router.on("/", method: method) { request, context in await handle(request, context) }
            router.on("/**", method: method) { request, context in await handle(request, context) }
        }
    }

    func handle(_ request: Request, _ context: StratusContext) async -> Response {
        var response: Response
        do {
            response = try await route(try await resolve(request))
        } catch let error as S3Error {
            response = error.response(
                resource: request.uri.path, requestID: context.requestID, head: request.method == .head)
        } catch let error as APIError {
            response = S3Error(error).response(
                resource: request.uri.path, requestID: context.requestID, head: request.method == .head)
        } catch {
            context.logger.error("S3 \(request.method) \(request.uri.path) failed: \(error)")
            response = S3Error(.internalServerError, "InternalError", "We encountered an internal error.").response(
                resource: request.uri.path, requestID: context.requestID, head: request.method == .head)
        }
        response.headers[.amzRequestID] = context.requestID
        return response
    }

    /// The signer and what the path names; anonymous S3 requests are refused.
    func resolve(_ request: Request) async throws -> S3Call {
        guard let signature = try SignatureV4.parse(request) else { throw S3Error.accessDenied }
        try signature.checkTime()
        let auth: AuthContext
        do {
            auth = try await credentials.verify(
                access: signature.access, stringToSign: signature.stringToSign(request),
                signature: signature.signature)
        } catch let error as APIError where error.status == .unauthorized {
            if error.message.contains("does not exist") {
                throw S3Error(
                    .forbidden, "InvalidAccessKeyId",
                    "The AWS Access Key Id you provided does not exist in our records.")
            }
            throw S3Error.signatureMismatch
        }
        guard let project = auth.projectID else { throw S3Error.accessDenied }
        let parts = request.uri.path.dropFirst().split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        let bucket = parts.first.flatMap { String($0).removingPercentEncoding }.flatMap { $0.isEmpty ? nil : $0 }
        let key = parts.count > 1 ? String(parts[1]).removingPercentEncoding.flatMap { $0.isEmpty ? nil : $0 } : nil
        let account = "AUTH_" + project
        let info = try await swift.listings.account(account)
        let level = swift.access.level(auth, account: account, accountMetadata: info?.metadata ?? [:])
        let path = SwiftPath(account: account, container: bucket, object: key)
        try path.validate()
        return S3Call(
            swift: SwiftCall(request: request, path: path, auth: auth, account: info, level: level), bucket: bucket,
            key: key)
    }

    func route(_ call: S3Call) async throws -> Response {
        guard let bucket = call.bucket else {
            guard call.request.method == .get else {
                throw S3Error(.methodNotAllowed, "MethodNotAllowed", "The method is not allowed for this resource.")
            }
            return try await listBuckets(call)
        }
        guard let key = call.key else { return try await bucketRequest(call, bucket) }
        return try await objectRequest(call, bucket, key)
    }

    func owner(_ call: S3Call) -> String {
        S3XML.element("ID", call.auth?.projectID ?? "") + S3XML.element("DisplayName", call.auth?.projectName ?? "")
    }

    // MARK: the service and buckets

    func listBuckets(_ call: S3Call) async throws -> Response {
        guard call.swift.level >= .readOnly else { throw S3Error.accessDenied }
        var query = ListingQuery()
        var buckets = ""
        while true {
            let page = try await swift.listings.listContainers(call.account, query)
            for case .entry(let container) in page where !container.name.hasSuffix(Self.segmentsSuffix) {
                buckets +=
                    "<Bucket>" + S3XML.element("Name", container.name)
                    + S3XML.element("CreationDate", S3XML.date(container.createdAt)) + "</Bucket>"
            }
            guard page.count == query.limit, case .entry(let last)? = page.last else { break }
            query.marker = last.name
        }
        return S3XML.response(
            "ListAllMyBucketsResult", "<Owner>\(owner(call))</Owner><Buckets>\(buckets)</Buckets>")
    }

    func container(_ call: S3Call, _ bucket: String) async throws -> ContainerInfo {
        guard let info = try await swift.listings.container(call.account, bucket) else { throw S3Error.noSuchBucket }
        return info
    }

    func bucketRequest(_ call: S3Call, _ bucket: String) async throws -> Response {
        let request = call.request
        switch request.method {
        case .put:
            guard call.swift.level >= .readWrite else { throw S3Error.accessDenied }
            guard !bucket.hasSuffix(Self.segmentsSuffix), bucket.utf8.count >= 3, bucket.utf8.count <= 63 else {
                throw S3Error(.badRequest, "InvalidBucketName", "The specified bucket is not valid.")
            }
            let created = try await swift.listings.putContainer(
                call.account, bucket, metadata: [:], policy: swift.settings.policyName)
            guard created else {
                throw S3Error(
                    .conflict, "BucketAlreadyOwnedByYou",
                    "Your previous request to create the named bucket succeeded and you already own it.")
            }
            return Response(status: .ok, headers: [.location: "/" + bucket, .contentLength: "0"])
        case .head:
            guard call.swift.level >= .readOnly else { throw S3Error.accessDenied }
            _ = try await container(call, bucket)
            return Response(status: .ok, headers: [.contentLength: "0"])
        case .delete:
            guard call.swift.level >= .readWrite else { throw S3Error.accessDenied }
            let scope = (account: call.account, container: bucket)
            try await swift.removeExpired(
                try await swift.listings.expired(before: Date().timeIntervalSince1970, in: scope, limit: 10_000))
            do {
                try await swift.listings.deleteContainer(call.account, bucket)
            } catch ListingStoreError.containerNotFound {
                throw S3Error.noSuchBucket
            } catch ListingStoreError.containerNotEmpty {
                throw S3Error(.conflict, "BucketNotEmpty", "The bucket you tried to delete is not empty.")
            }
            // The parts container goes with its bucket once no upload is left in it.
            do {
                try await swift.listings.deleteContainer(call.account, bucket + Self.segmentsSuffix)
            } catch is ListingStoreError {}  // absent or still holding parts: kept
            return Response(status: .noContent)
        case .get:
            let info = try await container(call, bucket)
            guard call.swift.level >= .readOnly || swift.canRead(call.swift, info) else { throw S3Error.accessDenied }
            if call.has("location") {
                return S3XML.response("LocationConstraint", "")
            }
            if call.has("versioning") { return S3XML.response("VersioningConfiguration", "") }
            if call.has("acl") { return acl(call) }
            if call.has("uploads") { return try await S3Multipart(s3: self).listUploads(call, bucket) }
            for (name, code) in [
                ("policy", "NoSuchBucketPolicy"), ("cors", "NoSuchCORSConfiguration"),
                ("lifecycle", "NoSuchLifecycleConfiguration"), ("tagging", "NoSuchTagSet"),
                ("website", "NoSuchWebsiteConfiguration"),
                ("encryption", "ServerSideEncryptionConfigurationNotFoundError"),
            ] where call.has(name) {
                throw S3Error(.notFound, code, "The \(name) configuration does not exist.")
            }
            return try await listObjects(call, bucket, v2: call.query("list-type") == "2")
        case .post:
            guard call.has("delete") else { throw S3Error.notImplemented("This POST on a bucket") }
            return try await deleteObjects(call, try await container(call, bucket))
        default:
            throw S3Error(.methodNotAllowed, "MethodNotAllowed", "The method is not allowed for this resource.")
        }
    }

    func acl(_ call: S3Call) -> Response {
        let grant =
            "<Grant><Grantee xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:type=\"CanonicalUser\">"
            + owner(call) + "</Grantee><Permission>FULL_CONTROL</Permission></Grant>"
        return S3XML.response(
            "AccessControlPolicy", "<Owner>\(owner(call))</Owner><AccessControlList>\(grant)</AccessControlList>")
    }

    /// ListObjects (v1: `marker`) and ListObjectsV2 (`continuation-token`, `start-after`).
    func listObjects(_ call: S3Call, _ bucket: String, v2: Bool) async throws -> Response {
        let maxKeys =
            try call.query("max-keys").map { text -> Int in
                guard let value = Int(text), value >= 0 else {
                    throw S3Error.invalidArgument("max-keys must be a number.")
                }
                return min(value, 1000)
            } ?? 1000
        let urlEncoded = call.query("encoding-type") == "url"
        func text(_ value: String) -> String { urlEncoded ? S3API.urlEncode(value) : value }
        var query = ListingQuery()
        query.prefix = call.query("prefix") ?? ""
        query.delimiter = call.query("delimiter").flatMap { $0.isEmpty ? nil : $0 }
        let token = call.query("continuation-token")
        if v2 {
            query.marker =
                token.flatMap { Data(base64Encoded: $0) }.map { String(decoding: $0, as: UTF8.self) }
                ?? call.query("start-after") ?? ""
        } else {
            query.marker = call.query("marker") ?? ""
        }
        query.limit = maxKeys + 1
        let items = maxKeys == 0 ? [] : try await swift.listings.listObjects(call.account, bucket, query)
        let truncated = items.count > maxKeys
        let page = items.prefix(maxKeys)
        let showOwner = !v2 || call.query("fetch-owner") == "true"
        var body = S3XML.element("Name", bucket) + S3XML.element("Prefix", text(query.prefix))
        var contents = ""
        var last = ""
        for item in page {
            switch item {
            case .entry(let entry):
                contents +=
                    "<Contents>" + S3XML.element("Key", text(entry.name))
                    + S3XML.element("LastModified", S3XML.date(entry.timestamp))
                    + S3XML.element("ETag", "\"\(entry.etag)\"") + S3XML.element("Size", String(entry.size))
                    + S3XML.element("StorageClass", "STANDARD")
                    + (showOwner ? "<Owner>\(owner(call))</Owner>" : "") + "</Contents>"
                last = entry.name
            case .subdir(let prefix):
                contents += "<CommonPrefixes>" + S3XML.element("Prefix", text(prefix)) + "</CommonPrefixes>"
                last = prefix
            }
        }
        if v2 {
            body += S3XML.element("KeyCount", String(page.count))
            if let token { body += S3XML.element("ContinuationToken", token) }
            if truncated { body += S3XML.element("NextContinuationToken", Data(last.utf8).base64EncodedString()) }
            if let after = call.query("start-after") { body += S3XML.element("StartAfter", text(after)) }
        } else {
            body += S3XML.element("Marker", text(call.query("marker") ?? ""))
            if truncated && query.delimiter != nil { body += S3XML.element("NextMarker", text(last)) }
        }
        body += S3XML.element("MaxKeys", String(maxKeys))
        if let delimiter = query.delimiter { body += S3XML.element("Delimiter", text(delimiter)) }
        if urlEncoded { body += S3XML.element("EncodingType", "url") }
        body += S3XML.element("IsTruncated", truncated ? "true" : "false") + contents
        return S3XML.response("ListBucketResult", body)
    }

    /// Keys as `encoding-type=url` asks: percent-encoded except unreserved characters and `/`.
    static func urlEncode(_ text: String) -> String {
        var allowed = SignatureV4.unreserved
        allowed.insert("/")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }

    /// DeleteObjects: `<Delete><Object><Key>...` (a missing key counts as deleted, as S3 says).
    func deleteObjects(_ call: S3Call, _ info: ContainerInfo) async throws -> Response {
        guard swift.canWrite(call.swift, info) else { throw S3Error.accessDenied }
        let buffer = try await call.request.body.collect(upTo: 2 << 20)
        let xml = String(buffer: buffer)
        let objects = S3XML.blocks("Object", in: xml)
        guard xml.contains("<Delete"), objects.count <= 1000 else { throw S3Error.malformedXML }
        let quiet = S3XML.values("Quiet", in: xml).first == "true"
        var result = ""
        for object in objects {
            guard let key = S3XML.values("Key", in: object).first else { throw S3Error.malformedXML }
            do {
                try await deleteObject(call, info, key)
                if !quiet { result += "<Deleted>" + S3XML.element("Key", key) + "</Deleted>" }
            } catch let error as APIError {
                let failure = S3Error(error)
                result +=
                    "<Error>" + S3XML.element("Key", key) + S3XML.element("Code", failure.code)
                    + S3XML.element("Message", failure.message) + "</Error>"
            }
        }
        return S3XML.response("DeleteResult", result)
    }
}
