import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import StratusCore

/// An S3 error: its HTTP status, code and message, answered as S3's XML error document.
struct S3Error: Error, Equatable {
    let status: HTTPResponse.Status
    let code: String
    let message: String

    init(_ status: HTTPResponse.Status, _ code: String, _ message: String) {
        self.status = status
        self.code = code
        self.message = message
    }

    static let accessDenied = S3Error(.forbidden, "AccessDenied", "Access Denied.")
    static let noSuchBucket = S3Error(.notFound, "NoSuchBucket", "The specified bucket does not exist.")
    static let noSuchKey = S3Error(.notFound, "NoSuchKey", "The specified key does not exist.")
    static let noSuchUpload = S3Error(
        .notFound, "NoSuchUpload", "The specified multipart upload does not exist. The upload ID might be invalid.")
    static let signatureMismatch = S3Error(
        .forbidden, "SignatureDoesNotMatch",
        "The request signature we calculated does not match the signature you provided.")
    static let malformedXML = S3Error(
        .badRequest, "MalformedXML", "The XML you provided was not well-formed or did not validate.")

    static func invalidArgument(_ message: String) -> S3Error { S3Error(.badRequest, "InvalidArgument", message) }
    static func notImplemented(_ what: String) -> S3Error {
        S3Error(.notImplemented, "NotImplemented", "\(what) is not implemented.")
    }

    /// The S3 error for an error of the Swift layer underneath.
    init(_ error: APIError) {
        let code: String
        switch error.status.code {
        case 400: code = "InvalidArgument"
        case 401, 403: code = "AccessDenied"
        case 404: code = "NoSuchKey"
        case 409: code = "BucketNotEmpty"
        case 411: code = "MissingContentLength"
        case 412: code = "PreconditionFailed"
        case 413: code = "EntityTooLarge"
        case 416: code = "InvalidRange"
        case 422: code = "BadDigest"
        case 503: code = "ServiceUnavailable"
        default: code = "InternalError"
        }
        self.init(error.status.code == 401 ? .forbidden : error.status, code, error.message)
    }

    func response(resource: String, requestID: String, head: Bool) -> Response {
        var headers: HTTPFields = [.contentType: "application/xml"]
        headers[HTTPField.Name("x-amz-request-id")!] = requestID
        if head {
            headers[.contentLength] = "0"
            return Response(status: status, headers: headers)
        }
        let body = S3XML.document(
            "Error",
            S3XML.element("Code", code) + S3XML.element("Message", message) + S3XML.element("Resource", resource)
                + S3XML.element("RequestId", requestID), namespace: false)
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: body)))
    }
}

/// S3's XML documents: built from escaped elements, and the few request bodies read back.
enum S3XML {
    static let namespace = "http://s3.amazonaws.com/doc/2006-03-01/"

    static func element(_ name: String, _ text: String) -> String {
        "<\(name)>\(ListingRenderer.escape(text))</\(name)>"
    }

    static func document(_ root: String, _ content: String, namespace withNamespace: Bool = true) -> String {
        let attribute = withNamespace ? " xmlns=\"\(namespace)\"" : ""
        return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<\(root)\(attribute)>\(content)</\(root)>"
    }

    static func response(_ root: String, _ content: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(
            status: status, headers: [.contentType: "application/xml"],
            body: .init(byteBuffer: ByteBuffer(string: document(root, content))))
    }

    /// The texts of every `<name>` element of `xml`, in order (request bodies are small
    /// and flat: `CompleteMultipartUpload`, `Delete`).
    static func values(_ name: String, in xml: String) -> [String] {
        var values: [String] = []
        var rest = Substring(xml)
        while let open = rest.range(of: "<\(name)>"), let close = rest[open.upperBound...].range(of: "</\(name)>") {
            values.append(unescape(String(rest[open.upperBound..<close.lowerBound])))
            rest = rest[close.upperBound...]
        }
        return values
    }

    /// The contents of every `<name>...</name>` block of `xml`, in order.
    static func blocks(_ name: String, in xml: String) -> [String] {
        var blocks: [String] = []
        var rest = Substring(xml)
        while let open = rest.range(of: "<\(name)>"), let close = rest[open.upperBound...].range(of: "</\(name)>") {
            blocks.append(String(rest[open.upperBound..<close.lowerBound]))
            rest = rest[close.upperBound...]
        }
        return blocks
    }

    static func unescape(_ text: String) -> String {
        text.replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&lt;", with: "<")
            .replacingOccurrences(of: "&gt;", with: ">").replacingOccurrences(of: "&apos;", with: "'")
            .replacingOccurrences(of: "&amp;", with: "&")
    }

    /// `2026-12-07T00:13:20.000Z` for a Swift timestamp.
    static func date(_ timestamp: String) -> String {
        let seconds = SwiftTimestamp.seconds(timestamp)
        let whole = Timestamp.iso8601(Date(timeIntervalSince1970: seconds.rounded(.down)))
        let millis = Int((seconds - seconds.rounded(.down)) * 1000)
        return String(whole.dropLast()) + String(format: ".%03dZ", min(millis, 999))
    }
}
