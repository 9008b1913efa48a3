import Foundation
import StratusCore

/// The target of a Swift request: `/v1/<account>[/<container>[/<object>]]`, decoded.
struct SwiftPath: Sendable, Equatable {
    var account: String
    var container: String?
    var object: String?

    static let maxContainerName = 256
    static let maxObjectName = 1024

    /// Parses the raw (percent-encoded) request path; nil when it is not a `/v1/` path.
    init?(raw: String) {
        guard raw.hasPrefix("/v1/") else { return nil }
        let rest = raw.dropFirst(4)
        let parts = rest.split(separator: "/", maxSplits: 2, omittingEmptySubsequences: false)
        guard let account = parts.first.map({ Self.decode($0) }), !account.isEmpty else { return nil }
        self.account = account
        if parts.count > 1, case let container = Self.decode(parts[1]), !container.isEmpty {
            self.container = container
            if parts.count > 2, case let object = Self.decode(parts[2]), !object.isEmpty {
                self.object = object
            }
        }
    }

    /// A percent-decoded name part. A part whose escapes are not UTF-8 is kept as a name holding
    /// NUL, which `validate` refuses as Swift does: dropping it would aim the request one level up.
    private static func decode(_ part: Substring) -> String {
        String(part).removingPercentEncoding ?? "\u{0}" + part
    }

    init(account: String, container: String? = nil, object: String? = nil) {
        self.account = account
        self.container = container
        self.object = object
    }

    /// The project an `AUTH_<project>` account belongs to.
    var projectID: String? {
        account.hasPrefix("AUTH_") ? String(account.dropFirst(5)) : nil
    }

    /// Swift's name limits (400 beyond them); reserved characters are refused as Swift refuses NUL.
    func validate() throws {
        for part in [account, container, object].compactMap({ $0 }) where VersionNames.isReserved(part) {
            throw APIError(.preconditionFailed, "Invalid UTF8 or contains NULL")
        }
        if let container, container.utf8.count > Self.maxContainerName {
            throw APIError.badRequest("Container name length of \(container.utf8.count) longer than 256")
        }
        if let object, object.utf8.count > Self.maxObjectName {
            throw APIError.badRequest("Object name length of \(object.utf8.count) longer than 1024")
        }
    }

    /// `/v1/<account>/<container>/<object>`, percent-encoded as clients send it.
    var encoded: String {
        var path = "/v1/" + Self.encode(account)
        if let container { path += "/" + Self.encode(container) }
        if let object { path += "/" + Self.encode(object) }
        return path
    }

    static func encode(_ part: String) -> String {
        part.addingPercentEncoding(withAllowedCharacters: allowed) ?? part
    }

    private static let allowed: CharacterSet = {
        var set = CharacterSet.urlPathAllowed
        set.remove(charactersIn: "%;?#")
        return set
    }()
}

/// A `<container>/<object>` reference, as `X-Copy-From`, `Destination`, `X-Object-Manifest`
/// and `X-Versions-Location` give it (optionally with a leading slash, possibly encoded).
/// Only the service's own links (`allowingReserved`) may name a versions container.
struct ObjectReference: Sendable, Equatable {
    var container: String
    var object: String

    init?(_ header: String, allowingReserved: Bool = false) {
        let text = header.removingPercentEncoding ?? header
        let trimmed = text.hasPrefix("/") ? text.dropFirst() : Substring(text)
        let parts = trimmed.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else { return nil }
        guard allowingReserved || !VersionNames.isReserved(String(trimmed)) else { return nil }
        container = String(parts[0])
        object = String(parts[1])
    }
}
