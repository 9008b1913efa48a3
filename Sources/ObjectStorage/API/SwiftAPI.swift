import Foundation
import HTTPTypes
import Hummingbird
import Logging
import StratusCore

/// What the API reports in `/info` and enforces.
struct SwiftSettings: Sendable {
    var policyName = "Policy-0"
    var maxFileSize: Int64 = 5 * 1024 * 1024 * 1024
    /// How much of a small object GET reads and checks before answering, so that corrupt bytes
    /// are never sent: objects up to this size are verified first.
    var verifiedReadLimit: Int64 = 4 * 1024 * 1024
}

/// A request resolved to its target and its caller's standing on the account.
struct SwiftCall: Sendable {
    let request: Request
    let path: SwiftPath
    let auth: AuthContext?
    let account: AccountInfo?
    let level: AccessControl.Level
    /// Set when a temp URL signature, not a token, admitted the request.
    var tempURL = false

    var method: HTTPRequest.Method { request.method }
    var referrer: String? { request.headers[.referer] }

    /// 401 without a token, 403 with one.
    var denied: APIError {
        auth == nil ? APIError.unauthorized("Unauthorized") : APIError.forbidden("Forbidden")
    }
}

/// Swift v1: accounts, containers and objects under `/v1/AUTH_<project>`.
struct SwiftAPI: Sendable {
    let listings: ListingStore
    let replicas: ObjectReplicas
    let access: AccessControl
    let settings: SwiftSettings
    let logger: Logger

    static let copy = HTTPRequest.Method("COPY")!

    func register(on router: Router<StratusContext>) {
        registerInfo(on: router)
        for method in [HTTPRequest.Method.get, .head, .put, .post, .delete, .options, Self.copy] {
            router.on("/v1/**", method: method) { request, context in try await handle(request, context: context) }
        }
    }

    func handle(_ request: Request, context: StratusContext) async throws -> Response {
        guard let path = SwiftPath(raw: request.uri.path) else { throw APIError.notFound("Not Found") }
        try path.validate()
        let account = try await listings.account(path.account)
        let level = access.level(context.auth, account: path.account, accountMetadata: account?.metadata ?? [:])
        var call = SwiftCall(request: request, path: path, auth: context.auth, account: account, level: level)
        if request.method == .options { return try await options(call) }
        // A signature decides alone, even beside a valid token (an expired form or temp URL is 401).
        if FormPost.applies(request), path.container != nil { return try await FormPost(api: self).handle(call) }
        if call.request.formQuery("temp_url_sig") != nil {
            guard try await TempURL.admits(call, api: self) else {
                throw APIError.unauthorized("Unauthorized: temp URL invalid or expired")
            }
            call.tempURL = true
        }
        let query = Set(request.formQueryItems.map(\.0))
        if query.contains("bulk-delete"), [.delete, .post].contains(request.method), path.container == nil {
            return try await Bulk(api: self).delete(call)
        }
        if query.contains("extract-archive"), request.method == .put { return try await Bulk(api: self).extract(call) }
        guard let container = path.container else { return try await accountRequest(call) }
        guard let object = path.object else { return try await containerRequest(call, container: container) }
        return try await objectRequest(call, container: container, object: object)
    }

    // MARK: accounts

    func accountRequest(_ call: SwiftCall) async throws -> Response {
        switch call.method {
        case .head, .get:
            guard call.level >= .readOnly else { throw call.denied }
            let headers = accountHeaders(call)
            if call.method == .head { return Response(status: .noContent, headers: headers) }
            let items = try await listings.listContainers(call.path.account, ListingQuery(call.request))
            return ListingRenderer.render(
                items, root: "account", name: call.path.account, format: try ListingFormat(call.request),
                headers: headers)
        case .post:
            guard call.level >= .admin else { throw call.denied }
            var changes = try SwiftHeaders.metadataChanges(call.request.headers, kind: "account")
            if changes.keys.contains(where: { $0.hasPrefix("x-account-meta-quota-") }) {
                guard access.isReseller(call.auth) else { throw APIError.forbidden("Forbidden") }
                try Quotas.validate(changes, key: "x-account-meta-quota-bytes")
            }
            let count = SwiftHeaders.settings(call.request.headers, names: ["x-account-quota-count"])
            if !count.isEmpty {
                guard access.isReseller(call.auth) else { throw APIError.forbidden("Forbidden") }
                try Quotas.validate(count, key: "x-account-quota-count")
                changes.merge(count) { $1 }
            }
            let acl = SwiftHeaders.settings(call.request.headers, names: ["x-account-access-control"])
            if let value = acl["x-account-access-control"] {
                if let value, (try? JSONDecoder().decode([String: [String]].self, from: Data(value.utf8))) == nil {
                    throw APIError.badRequest("Syntax error in X-Account-Access-Control")
                }
                changes["x-account-access-control"] = value
            }
            try await listings.updateAccount(call.path.account, changes: changes)
            return Response(status: .noContent)
        default:
            throw APIError(.methodNotAllowed, "Method Not Allowed")
        }
    }

    func accountHeaders(_ call: SwiftCall) -> HTTPFields {
        let info = call.account
        let created = info?.createdAt ?? SwiftTimestamp.now()
        var headers: HTTPFields = [
            .timestamp: created, HTTPField.Name("X-Put-Timestamp")!: created,
            HTTPField.Name("X-Account-Container-Count")!: String(info?.containerCount ?? 0),
            HTTPField.Name("X-Account-Object-Count")!: String(info?.objectCount ?? 0),
            HTTPField.Name("X-Account-Bytes-Used")!: String(info?.bytesUsed ?? 0),
            .acceptRanges: "bytes", .contentLength: "0",
        ]
        let policy = "X-Account-Storage-Policy-\(settings.policyName)-"
        if let info, info.containerCount > 0 {
            headers[HTTPField.Name(policy + "Container-Count")!] = String(info.containerCount)
            headers[HTTPField.Name(policy + "Object-Count")!] = String(info.objectCount)
            headers[HTTPField.Name(policy + "Bytes-Used")!] = String(info.bytesUsed)
        }
        var metadata = info?.metadata ?? [:]
        if call.level < .admin {
            metadata = metadata.filter { !$0.key.contains("temp-url-key") && $0.key != "x-account-access-control" }
        }
        SwiftHeaders.add(metadata, to: &headers)
        return headers
    }

    // MARK: containers

    static let containerSettings = [
        "x-container-read", "x-container-write", "x-versions-location", "x-history-location",
        "x-container-sync-to", "x-container-sync-key", "x-versions-enabled",
    ]

    func containerRequest(_ call: SwiftCall, container: String) async throws -> Response {
        let account = call.path.account
        switch call.method {
        case .head, .get:
            guard let info = try await listings.container(account, container) else {
                guard call.level >= .readOnly else { throw call.denied }
                throw APIError.notFound("Not Found")
            }
            if StaticWeb.applies(call, info), canRead(call, info) {
                return try await StaticWeb(api: self).directory(call, info, prefix: "")
            }
            let readable = AccessControl.grants(
                info.metadata["x-container-read"], call.auth, referrer: call.referrer, listing: true)
            guard call.level >= .readOnly || readable else { throw call.denied }
            let versions = ObjectVersions(api: self)
            let headers = containerHeaders(try await versions.withVersionBytes(account, info), call: call)
            if call.method == .head { return Response(status: .noContent, headers: headers) }
            if call.request.formQuery("versions") != nil {
                return try await versions.listing(call, info, headers: headers)
            }
            let items = try await versions.showLinks(
                account, info, try await listings.listObjects(account, container, ListingQuery(call.request)))
            return ListingRenderer.render(
                items, root: "container", name: container, format: try ListingFormat(call.request), headers: headers)
        case .put:
            guard call.level >= .readWrite else { throw call.denied }
            if let policy = call.request.headers[HTTPField.Name("X-Storage-Policy")!],
                policy.caseInsensitiveCompare(settings.policyName) != .orderedSame
            {
                throw APIError.badRequest("Invalid X-Storage-Policy '\(policy)'")
            }
            var changes = try containerChanges(call)
            try await ObjectVersions(api: self).configure(
                call, try await listings.container(account, container), changes: &changes)
            let created = try await listings.putContainer(
                account, container, metadata: changes, policy: settings.policyName)
            return Response(status: created ? .created : .accepted, headers: [.contentLength: "0"])
        case .post:
            guard call.level >= .readWrite else { throw call.denied }
            var changes = try containerChanges(call)
            try await ObjectVersions(api: self).configure(
                call, try await listings.container(account, container), changes: &changes)
            guard try await listings.updateContainer(account, container, changes: changes) else {
                throw APIError.notFound("Not Found")
            }
            return Response(status: .noContent)
        case .delete:
            guard call.level >= .readWrite else { throw call.denied }
            // Expired objects do not keep a container from being deleted.
            let scope = (account: account, container: container)
            try await removeExpired(
                try await listings.expired(before: Date().timeIntervalSince1970, in: scope, limit: 10_000))
            let versions = ObjectVersions(api: self)
            if let info = try await listings.container(account, container) {
                try await versions.checkDeletable(account, info)
            }
            do {
                try await listings.deleteContainer(account, container)
                try await versions.dropVersions(account, container)
            } catch ListingStoreError.containerNotFound {
                throw APIError.notFound("Not Found")
            } catch ListingStoreError.containerNotEmpty {
                throw APIError.conflict("There was a conflict when trying to complete your request.")
            }
            return Response(status: .noContent)
        default:
            throw APIError(.methodNotAllowed, "Method Not Allowed")
        }
    }

    func containerChanges(_ call: SwiftCall) throws -> [String: String?] {
        var changes = try SwiftHeaders.metadataChanges(call.request.headers, kind: "container")
        try Quotas.validate(changes, key: "x-container-meta-quota-bytes")
        try Quotas.validate(changes, key: "x-container-meta-quota-count")
        let named = SwiftHeaders.settings(call.request.headers, names: Self.containerSettings)
        if !named.isEmpty, call.level < .admin, named.keys.contains(where: { $0.hasPrefix("x-container-") }) {
            throw call.denied
        }
        changes.merge(named) { $1 }
        // Swift keeps one of the two versioning modes.
        if named["x-versions-location"] != nil, case .some(.some) = named["x-versions-location"] {
            changes["x-history-location"] = String?.none
        } else if case .some(.some) = named["x-history-location"] {
            changes["x-versions-location"] = String?.none
        }
        return changes
    }

    func containerHeaders(_ info: ContainerInfo, call: SwiftCall) -> HTTPFields {
        var headers: HTTPFields = [
            .timestamp: info.createdAt, HTTPField.Name("X-Put-Timestamp")!: info.modifiedAt,
            .lastModified: SwiftHeaders.lastModified(info.modifiedAt),
            HTTPField.Name("X-Container-Object-Count")!: String(info.objectCount),
            HTTPField.Name("X-Container-Bytes-Used")!: String(info.bytesUsed),
            HTTPField.Name("X-Storage-Policy")!: info.policy, .acceptRanges: "bytes", .contentLength: "0",
        ]
        var metadata = info.metadata
        if call.level < .admin {
            metadata = metadata.filter {
                !$0.key.contains("temp-url-key") && !["x-container-read", "x-container-write"].contains($0.key)
            }
        }
        SwiftHeaders.add(metadata, to: &headers)
        return headers
    }

    /// CORS preflight: allowed when the container names the origin (`X-Container-Meta-Access-Control-Allow-Origin`).
    func options(_ call: SwiftCall) async throws -> Response {
        let allow = "HEAD, GET, PUT, POST, COPY, OPTIONS, DELETE"
        guard let origin = call.request.headers[HTTPField.Name("Origin")!], let container = call.path.container else {
            return Response(status: .ok, headers: [.allow: allow, .contentLength: "0"])
        }
        let info = try await listings.container(call.path.account, container)
        let allowed =
            info?.metadata["x-container-meta-access-control-allow-origin"]?
            .split(separator: " ").map(String.init) ?? []
        guard allowed.contains(origin) || allowed.contains("*") else { throw call.denied }
        var headers: HTTPFields = [.allow: allow, .contentLength: "0"]
        headers[HTTPField.Name("Access-Control-Allow-Origin")!] = origin
        headers[HTTPField.Name("Access-Control-Allow-Methods")!] = allow
        if let requested = call.request.headers[HTTPField.Name("Access-Control-Request-Headers")!] {
            headers[HTTPField.Name("Access-Control-Allow-Headers")!] = requested
        }
        return Response(status: .ok, headers: headers)
    }
}

/// Account and container quotas: byte and object-count limits kept as metadata.
enum Quotas {
    static func validate(_ changes: [String: String?], key: String) throws {
        if case .some(.some(let value)) = changes[key], Int64(value) == nil {
            throw APIError.badRequest("Invalid value for \(SwiftHeaders.titleCased(key))")
        }
    }
}
