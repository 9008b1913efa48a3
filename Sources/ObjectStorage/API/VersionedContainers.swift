import Foundation
import HTTPTypes
import Hummingbird
import StratusCore

/// The container side of object versioning: turning it on and off, listing versions, and
/// deleting a versioned container.
extension ObjectVersions {
    static let legacyKeys = ["x-versions-location", "x-history-location"]

    /// A container PUT or POST's `X-Versions-Enabled`, kept as `True` or `False` (a container
    /// once versioned stays so); enabling it makes the versions container. Legacy versioning
    /// and this one exclude each other (400).
    func configure(_ call: SwiftCall, _ existing: ContainerInfo?, changes: inout [String: String?]) async throws {
        let settingLegacy = Self.legacyKeys.contains { key in
            if case .some(.some(let value)) = changes[key] { return !value.isEmpty }
            return false
        }
        guard let flag = changes["x-versions-enabled"] else {
            if settingLegacy, let existing, existing.versioning != .never {
                throw APIError.badRequest(
                    "Cannot set X-Versions-Location or X-History-Location on a container using object versioning")
            }
            return
        }
        let keepsLegacy = Self.legacyKeys.contains { changes[$0] == nil && existing?.metadata[$0] != nil }
        guard !settingLegacy, !keepsLegacy else {
            throw APIError.badRequest(
                "Cannot enable object versioning on a container that is already using the legacy versioned writes "
                    + "feature.")
        }
        let enabled = SwiftHeaders.isTrue(flag)
        changes["x-versions-enabled"] = enabled ? "True" : "False"
        guard enabled, let container = call.path.container, existing != nil || call.method == .put else { return }
        _ = try await versionsContainer(
            call.path.account, container, policy: existing?.policy ?? api.settings.policyName)
    }

    /// A versioned container's HEAD counts its versions' bytes too.
    func withVersionBytes(_ account: String, _ info: ContainerInfo) async throws -> ContainerInfo {
        guard info.versioning != .never,
            let versions = try await api.listings.container(account, VersionNames.container(for: info.name))
        else { return info }
        var shown = info
        shown.bytesUsed += versions.bytesUsed
        return shown
    }

    /// 409 while versions are left; the caller then deletes the container and `dropVersions`.
    func checkDeletable(_ account: String, _ info: ContainerInfo) async throws {
        guard info.versioning != .never,
            let versions = try await api.listings.container(account, VersionNames.container(for: info.name))
        else { return }
        guard versions.objectCount == 0 else {
            throw APIError.conflict("Delete all versions before deleting container.")
        }
    }

    func dropVersions(_ account: String, _ container: String) async throws {
        do {
            try await api.listings.deleteContainer(account, VersionNames.container(for: container))
        } catch ListingStoreError.containerNotFound {
        } catch ListingStoreError.containerNotEmpty {
            api.logger.warning("versions of \(account)/\(container) were written while it was deleted: kept")
        }
    }

    /// A container listing shows a link as the version it leads to: its size, and a
    /// `symlink_path` naming the version id.
    func showLinks(_ account: String, _ info: ContainerInfo, _ items: [ListingItem<ObjectEntry>]) async throws
        -> [ListingItem<ObjectEntry>]
    {
        guard info.versioning != .never else { return items }
        let versions = VersionNames.container(for: info.name)
        let targets = items.compactMap { item -> String? in
            guard case .entry(let entry) = item else { return nil }
            return linkTarget(entry, account: account, versions: versions)
        }
        guard !targets.isEmpty else { return items }
        let sizes = try await api.listings.sizes(account, versions, names: targets)
        return items.map { item in
            guard case .entry(var entry) = item, let target = linkTarget(entry, account: account, versions: versions)
            else { return item }
            entry.size = sizes[target] ?? 0
            entry.symlink = VersionNames.parse(target).map { parsed in
                SwiftPath(account: account, container: info.name, object: entry.name).encoded
                    + "?version-id=\(parsed.version)"
            }
            return .entry(entry)
        }
    }

    /// The version a listed link leads to.
    func linkTarget(_ entry: ObjectEntry, account: String, versions: String) -> String? {
        let prefix = "/v1/\(account)/" + SwiftPath.encode(versions) + "/"
        guard let link = entry.symlink, link.hasPrefix(prefix) else { return nil }
        return String(link.dropFirst(prefix.count)).removingPercentEncoding
    }

    /// `GET ?versions` (JSON only): every version of every object, each name's newest first,
    /// with `version_id` and `is_latest`; objects written while versioning was off are version
    /// `null`. `version_marker` pages within a name's versions.
    func listing(_ call: SwiftCall, _ info: ContainerInfo, headers: HTTPFields) async throws -> Response {
        let request = call.request
        let format = request.formQuery("format")?.lowercased()
        let accept = request.headers[.accept]?.lowercased()
        guard format.map({ $0 == "json" }) ?? accept.map({ $0.contains("json") || $0.contains("*/*") }) ?? true else {
            throw APIError(.notAcceptable, "Not Acceptable")
        }
        let query = try ListingQuery(request)
        if let delimiter = query.delimiter, delimiter.contains(where: { "0123456789.".contains($0) }) {
            throw APIError.badRequest("invalid delimiter param")
        }
        let account = call.path.account
        let versions = VersionNames.container(for: info.name)
        var versionsQuery = query
        versionsQuery.endMarker = ""
        let versionMarker = request.formQuery("version_marker")
        if query.marker.isEmpty {
            guard versionMarker == nil else { throw APIError.badRequest("version_marker param requires marker") }
        } else if versionMarker == "null" {
            versionsQuery.marker = query.marker + String(VersionNames.reserved)
        } else if let versionMarker {
            guard let version = VersionNames.version(versionMarker) else {
                throw APIError.badRequest("invalid version_marker param")
            }
            versionsQuery.marker = VersionNames.object(query.marker, version: version)
        } else {
            versionsQuery.marker = query.marker + String(VersionNames.reserved) + ":"  // past every version id
        }
        let current = try await api.listings.listObjects(account, info.name, query)
        let archived = try await api.listings.listObjects(account, versions, versionsQuery)

        var listed: [(name: String, json: JSON)] = []
        var subdirs = Set<String>()
        var links = Set<String>()
        var latest = Set<String>()
        for item in current {
            switch item {
            case .subdir(let name):
                if subdirs.insert(name).inserted { listed.append((name, ["subdir": .string(name)])) }
            case .entry(let entry):
                if let target = linkTarget(entry, account: account, versions: versions) {
                    links.insert(target)
                    latest.insert(entry.name)
                    continue
                }
                var json = entry.json
                json["version_id"] = "null"
                json["is_latest"] = true
                listed.append((entry.name, .object(json)))
                latest.insert(entry.name)
            }
        }
        for item in archived {
            switch item {
            case .subdir(let name):
                if subdirs.insert(name).inserted { listed.append((name, ["subdir": .string(name)])) }
            case .entry(let entry):
                guard let (name, version) = VersionNames.parse(entry.name) else { continue }
                // A delete marker is the latest of a name that shows nothing now, if newest.
                let isMarker = entry.contentType == VersionNames.deleteMarkerType
                let isLatest = links.contains(entry.name) || (isMarker && !latest.contains(name))
                var json = entry.json
                json["name"] = .string(name)
                json["symlink_path"] = nil
                json["version_id"] = .string(version)
                json["is_latest"] = .bool(isLatest)
                listed.append((name, .object(json)))
                if isLatest { latest.insert(name) }
            }
        }
        let ordered = listed.enumerated().sorted { left, right in
            if left.element.name == right.element.name { return left.offset < right.offset }
            let ascending = left.element.name.utf8.lexicographicallyPrecedes(right.element.name.utf8)
            return query.reverse ? !ascending : ascending
        }
        let page = ordered.prefix(query.limit).map(\.element.json)
        return ListingRenderer.body(JSON.array(page).serialized(), format: .json, headers: headers)
    }
}
