import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import StratusCore

/// An AWS Signature V4 on a request: in the `Authorization` header or, for presigned URLs,
/// in the query (`X-Amz-Algorithm`, `X-Amz-Credential`, ...). The signature is checked by
/// Identity, which holds the secret; this side rebuilds the string that was signed.
struct SignatureV4: Sendable, Equatable {
    var access: String
    /// `<yyyymmdd>/<region>/<service>/aws4_request`.
    var scope: String
    var signedHeaders: [String]
    var signature: String
    /// `yyyyMMdd'T'HHmmss'Z'`.
    var amzDate: String
    /// Seconds a presigned URL stays valid; nil for a signed header.
    var expires: Int?

    static let algorithm = "AWS4-HMAC-SHA256"
    /// How far a signed request's time may be from ours.
    static let allowedSkew: TimeInterval = 15 * 60

    /// The signature of `request`, nil when it carries none (anonymous).
    static func parse(_ request: Request) throws -> SignatureV4? {
        if let header = request.headers[.authorization] {
            guard header.hasPrefix(algorithm + " ") else {
                throw S3Error.invalidArgument("Only AWS Signature Version 4 (AWS4-HMAC-SHA256) is supported.")
            }
            var fields: [String: String] = [:]
            for part in header.dropFirst(algorithm.count + 1).split(separator: ",") {
                let pair = part.trimmingCharacters(in: .whitespaces).split(separator: "=", maxSplits: 1)
                if pair.count == 2 { fields[String(pair[0])] = String(pair[1]) }
            }
            guard let credential = fields["Credential"], let signed = fields["SignedHeaders"],
                let signature = fields["Signature"],
                let date = request.headers[HTTPField.Name("x-amz-date")!] ?? request.headers[.date]
            else {
                throw S3Error(.badRequest, "AuthorizationHeaderMalformed", "The authorization header is malformed.")
            }
            return try make(credential: credential, signed: signed, signature: signature, date: date, expires: nil)
        }
        guard request.formQuery("X-Amz-Algorithm") == algorithm else { return nil }
        guard let credential = request.formQuery("X-Amz-Credential"),
            let signed = request.formQuery("X-Amz-SignedHeaders"),
            let signature = request.formQuery("X-Amz-Signature"),
            let date = request.formQuery("X-Amz-Date"),
            let expires = request.formQuery("X-Amz-Expires").flatMap(Int.init)
        else { throw S3Error(.badRequest, "AuthorizationQueryParametersError", "The presigned URL is incomplete.") }
        return try make(credential: credential, signed: signed, signature: signature, date: date, expires: expires)
    }

    private static func make(
        credential: String, signed: String, signature: String, date: String, expires: Int?
    ) throws -> SignatureV4 {
        let parts = credential.split(separator: "/", maxSplits: 1).map(String.init)
        guard parts.count == 2, parts[1].split(separator: "/").count == 4 else {
            throw S3Error(.badRequest, "AuthorizationHeaderMalformed", "The credential is malformed.")
        }
        return SignatureV4(
            access: parts[0], scope: parts[1], signedHeaders: signed.split(separator: ";").map(String.init),
            signature: signature, amzDate: date, expires: expires)
    }

    /// Too old or too new (presigned: past its expiry) requests are refused before the signature is checked.
    func checkTime(now: Date = Date()) throws {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        let signed = formatter.date(from: amzDate) ?? SwiftHeaders.parseHTTPDate(amzDate)
        guard let signed else { throw S3Error.accessDenied }
        if let expires {
            guard now.timeIntervalSince(signed) <= TimeInterval(expires) else {
                throw S3Error(.forbidden, "AccessDenied", "Request has expired")
            }
        } else if abs(now.timeIntervalSince(signed)) > Self.allowedSkew {
            throw S3Error(
                .forbidden, "RequestTimeTooSkewed",
                "The difference between the request time and the current time is too large.")
        }
    }

    /// The string the client signed: the algorithm, its time, the scope and the SHA-256 of
    /// the canonical request.
    func stringToSign(_ request: Request) -> String {
        let canonical = canonicalRequest(request)
        let digest = SHA256.hash(data: Data(canonical.utf8)).hexEncoded()
        return "\(Self.algorithm)\n\(amzDate)\n\(scope)\n\(digest)"
    }

    func canonicalRequest(_ request: Request) -> String {
        var query = request.formQueryItems
        if expires != nil { query.removeAll { $0.0 == "X-Amz-Signature" } }
        let encoded: [(key: String, value: String)] = query.map { (Self.encode($0.0), Self.encode($0.1)) }
        let sorted = encoded.sorted { $0.key == $1.key ? $0.value < $1.value : $0.key < $1.key }
        let canonicalQuery = sorted.map { "\($0.key)=\($0.value)" }.joined(separator: "&")
        var headers = ""
        for name in signedHeaders {
            let value: String
            if name == "host" {
                value = request.head.authority ?? ""
            } else {
                value = HTTPField.Name(name).map { request.headers[values: $0].joined(separator: ",") } ?? ""
            }
            let trimmed = value.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
            headers += "\(name):\(trimmed)\n"
        }
        let payload =
            request.headers[HTTPField.Name("x-amz-content-sha256")!] ?? (expires != nil ? "UNSIGNED-PAYLOAD" : "")
        return [
            request.method.rawValue, request.uri.path, canonicalQuery, headers,
            signedHeaders.joined(separator: ";"), payload,
        ].joined(separator: "\n")
    }

    /// RFC 3986 encoding of everything but the unreserved characters, as AWS canonicalizes.
    static func encode(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: unreserved) ?? text
    }

    static let unreserved = CharacterSet(
        charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
}
