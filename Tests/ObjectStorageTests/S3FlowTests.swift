import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import StratusCore
import StratusTestSupport
import XCTest

@testable import ObjectStorage

/// Accepts any access key that names a `StaticTokens` caller; records what it was asked to
/// check, so tests see the string the API rebuilt (Identity's own check is tested there).
struct StaticS3Credentials: S3CredentialVerifier {
    func verify(access: String, stringToSign: String, signature: String) async throws -> AuthContext {
        guard signature == "good" else { throw APIError.unauthorized("The request signature does not match.") }
        return try await StaticTokens().validate(token: access)
    }
}

/// The S3 API in process: buckets, objects, listings and a multipart upload, with requests
/// "signed" for `StaticS3Credentials`.
final class S3FlowTests: XCTestCase {
    func testTheCanonicalRequestOfAWSsVanillaGET() throws {
        let head = HTTPRequest(
            method: .get, scheme: "http", authority: "example.amazonaws.com", path: "/",
            headerFields: [
                HTTPField.Name("x-amz-date")!: "20150830T123600Z",
                .authorization: "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
                    + "SignedHeaders=host;x-amz-date, Signature=5fa00fa3",
                .amzContentSHA256: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            ])
        let request = Request(head: head, body: .init(buffer: ByteBuffer()))
        let signature = try XCTUnwrap(try SignatureV4.parse(request))
        XCTAssertEqual(signature.access, "AKIDEXAMPLE")
        XCTAssertEqual(signature.signedHeaders, ["host", "x-amz-date"])
        XCTAssertEqual(
            signature.stringToSign(request),
            "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
                + "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63")
        XCTAssertThrowsError(try signature.checkTime(), "a request signed in 2015 is too old")
    }

    static func signed(_ access: String = "alice", signature: String = "good") -> HTTPFields {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        let date = formatter.string(from: Date())
        return [
            .authorization: "AWS4-HMAC-SHA256 Credential=\(access)/\(date.prefix(8))/RegionOne/s3/aws4_request, "
                + "SignedHeaders=host;x-amz-date, Signature=\(signature)",
            HTTPField.Name("x-amz-date")!: date, .amzContentSHA256: "UNSIGNED-PAYLOAD",
        ]
    }

    func testBucketsObjectsAndMultipartUploads() async throws {
        try await ObjectStorageCloud.run(s3: StaticS3Credentials()) { cloud in
            func s3(_ method: HTTPRequest.Method, _ path: String, body: String? = nil, headers: HTTPFields = [:])
                async throws -> TestReply
            {
                var all = Self.signed()
                all.append(contentsOf: headers)
                return try await cloud.send(method, path, token: nil, body: body, headers: all)
            }
            var reply = try await s3(.put, "/photos")
            XCTAssertEqual(reply.status, .ok)
            reply = try await s3(.put, "/photos")
            XCTAssertEqual(reply.status, .conflict)
            reply = try await s3(.get, "/")
            XCTAssertTrue(reply.text.contains("<Name>photos</Name>"), reply.text)
            let md5 = Data(Insecure.MD5.hash(data: Data("0123456789".utf8))).base64EncodedString()
            reply = try await s3(
                .put, "/photos/a/b.txt", body: "0123456789",
                headers: [.contentMD5: md5, HTTPField.Name("x-amz-meta-color")!: "blue"])
            XCTAssertEqual(reply.status, .ok, reply.text)
            XCTAssertEqual(reply.headers[.eTag], "\"781e5e245d69b566979b86e28d23f2c7\"")
            reply = try await s3(.put, "/photos/bad", body: "x", headers: [.contentMD5: md5])
            XCTAssertTrue(reply.text.contains("<Code>BadDigest</Code>"), reply.text)
            reply = try await s3(.get, "/photos/a/b.txt", headers: [.range: "bytes=1-3"])
            XCTAssertEqual(reply.text, "123")
            XCTAssertEqual(cloud.header(reply, "x-amz-meta-color"), "blue")
            reply = try await s3(.get, "/photos?list-type=2&delimiter=/")
            XCTAssertTrue(reply.text.contains("<CommonPrefixes><Prefix>a/</Prefix></CommonPrefixes>"), reply.text)
            XCTAssertTrue(reply.text.contains("<KeyCount>1</KeyCount>"), reply.text)
            reply = try await s3(.get, "/photos/missing")
            XCTAssertEqual(reply.status, .notFound)
            XCTAssertTrue(reply.text.contains("<Code>NoSuchKey</Code>"), reply.text)

            reply = try await s3(.post, "/photos/big?uploads")
            let upload = try XCTUnwrap(S3XML.values("UploadId", in: reply.text).first)
            let first = String(repeating: "a", count: 5 << 20)
            let one = try await s3(.put, "/photos/big?partNumber=1&uploadId=\(upload)", body: first)
            let two = try await s3(.put, "/photos/big?partNumber=2&uploadId=\(upload)", body: "tail")
            let tags = try [one, two].map { try XCTUnwrap($0.headers[.eTag]) }
            let complete =
                "<CompleteMultipartUpload>"
                + tags.enumerated().map {
                    "<Part><PartNumber>\($0.offset + 1)</PartNumber><ETag>\($0.element)</ETag></Part>"
                }
                .joined() + "</CompleteMultipartUpload>"
            reply = try await s3(.post, "/photos/big?uploadId=\(upload)", body: complete)
            XCTAssertEqual(reply.status, .ok, reply.text)
            XCTAssertNotNil(
                reply.text.range(of: "<ETag>&quot;[0-9a-f]{32}-2&quot;</ETag>", options: .regularExpression))
            reply = try await s3(.get, "/photos/big", headers: [.range: "bytes=5242878-5242881"])
            XCTAssertEqual(reply.text, "aata")
            reply = try await s3(.get, "/photos?prefix=big")
            XCTAssertTrue(reply.text.contains("<Size>5242884</Size>"), reply.text)
            let gone = try await s3(.put, "/photos/big?partNumber=1&uploadId=\(upload)", body: "x")
            XCTAssertTrue(gone.text.contains("NoSuchUpload"), gone.text)

            reply = try await s3(.delete, "/photos")
            XCTAssertTrue(reply.text.contains("BucketNotEmpty"), reply.text)
            let delete = "<Delete><Object><Key>a/b.txt</Key></Object><Object><Key>big</Key></Object></Delete>"
            reply = try await s3(.post, "/photos?delete", body: delete)
            XCTAssertTrue(reply.text.contains("<Deleted><Key>big</Key></Deleted>"), reply.text)
            reply = try await s3(.delete, "/photos")
            XCTAssertEqual(reply.status, .noContent)
            reply = try await s3(.get, "/")
            XCTAssertFalse(reply.text.contains("<Name>photos"), "neither the bucket nor its parts container")

            var forged = Self.signed(signature: "bad")
            reply = try await cloud.send(.get, "/", token: nil, headers: forged)
            XCTAssertTrue(reply.text.contains("SignatureDoesNotMatch"), reply.text)
            forged = Self.signed()
            forged[HTTPField.Name("x-amz-date")!] = "20150830T123600Z"
            reply = try await cloud.send(.get, "/", token: nil, headers: forged)
            XCTAssertTrue(reply.text.contains("RequestTimeTooSkewed"), reply.text)
            reply = try await cloud.send(.get, "/", token: nil)
            XCTAssertTrue(reply.text.contains("AccessDenied"), "anonymous S3 requests are refused")
        }
    }
}
