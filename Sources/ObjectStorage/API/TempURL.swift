import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import StratusCore

/// Temporary URLs: `temp_url_sig` is an HMAC (SHA-1, SHA-256 or SHA-512) of
/// `<method>\n<expires>\n<path>` with one of the account's or container's `Temp-URL-Key`s.
enum TempURL {
    /// Whether the request's signature is valid now; false when it has none or a bad one.
    static func admits(_ call: SwiftCall, api: SwiftAPI) async throws -> Bool {
        let request = call.request
        guard let signature = request.formQuery("temp_url_sig"),
            let expiresText = request.formQuery("temp_url_expires"),
            let expires = Double(expiresText), expires > Date().timeIntervalSince1970,
            let container = call.path.container, let object = call.path.object
        else { return false }
        let prefix = request.formQuery("temp_url_prefix")
        if let prefix, !object.hasPrefix(prefix) { return false }
        let base = "/v1/\(call.path.account)/\(container)/"
        let path = prefix.map { "prefix:" + base + $0 } ?? base + object
        let keys = try await Self.keys(call, container: container, api: api)
        let methods = request.method == .head ? ["HEAD", "GET", "PUT"] : [request.method.rawValue]
        for key in keys {
            for method in methods where matches(signature, key: key, message: "\(method)\n\(expiresText)\n\(path)") {
                return true
            }
        }
        return false
    }

    /// The account's and the container's temp URL keys (form POST signs with them too).
    static func keys(_ call: SwiftCall, container: String, api: SwiftAPI) async throws -> [String] {
        var keys = ["x-account-meta-temp-url-key", "x-account-meta-temp-url-key-2"].compactMap {
            call.account?.metadata[$0]
        }
        if let info = try await api.listings.container(call.path.account, container) {
            keys += ["x-container-meta-temp-url-key", "x-container-meta-temp-url-key-2"].compactMap {
                info.metadata[$0]
            }
        }
        return keys
    }

    /// Compares a signature (hex, whose length names the digest, or `<digest>:<base64>`) with
    /// the HMAC of `message`, in constant time.
    static func matches(_ signature: String, key: String, message: String) -> Bool {
        let keyData = SymmetricKey(data: Data(key.utf8))
        let messageData = Data(message.utf8)
        let given: [UInt8]
        let algorithm: String
        if let colon = signature.firstIndex(of: ":") {
            algorithm = String(signature[..<colon])
            var text = signature[signature.index(after: colon)...].replacingOccurrences(of: "-", with: "+")
                .replacingOccurrences(of: "_", with: "/")
            while text.count % 4 != 0 { text += "=" }
            guard let decoded = Data(base64Encoded: text) else { return false }
            given = Array(decoded)
        } else {
            switch signature.count {
            case 40: algorithm = "sha1"
            case 64: algorithm = "sha256"
            case 128: algorithm = "sha512"
            default: return false
            }
            guard let decoded = hexBytes(signature) else { return false }
            given = decoded
        }
        let expected: [UInt8]
        switch algorithm {
        case "sha1": expected = Array(HMAC<Insecure.SHA1>.authenticationCode(for: messageData, using: keyData))
        case "sha256": expected = Array(HMAC<SHA256>.authenticationCode(for: messageData, using: keyData))
        case "sha512": expected = Array(HMAC<SHA512>.authenticationCode(for: messageData, using: keyData))
        default: return false
        }
        guard given.count == expected.count else { return false }
        return zip(given, expected).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }

    static func hexBytes(_ text: String) -> [UInt8]? {
        let digits = Array(text.utf8)
        guard digits.count % 2 == 0 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(digits.count / 2)
        for index in stride(from: 0, to: digits.count, by: 2) {
            guard let byte = UInt8(String(decoding: digits[index...index + 1], as: UTF8.self), radix: 16) else {
                return nil
            }
            bytes.append(byte)
        }
        return bytes
    }

    /// A temp URL GET downloads as an attachment named after the object, unless `inline` is asked.
    static func addDisposition(_ request: Request, object: String, to headers: inout HTTPFields) {
        let filename = request.formQuery("filename")
        let inline = request.formQuery("inline") != nil
        if inline {
            headers[.contentDisposition] = filename.map { "inline; filename=\"\($0)\"" } ?? "inline"
            return
        }
        let name = filename ?? String(object.split(separator: "/").last ?? Substring(object))
        headers[.contentDisposition] = "attachment; filename=\"\(name.replacingOccurrences(of: "\"", with: "\\\""))\""
    }
}
