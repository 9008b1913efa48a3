import Foundation
import SQLKit
import StratusCore

/// Who is looking: decides which images are visible.
struct Viewer: Sendable {
    let projectID: String?
    let isAdmin: Bool
}

/// `GET /v2/images` parameters, validated: filters, sort order and page.
struct ImageListQuery: Sendable {
    struct SortKey: Sendable {
        let key: String
        let ascending: Bool
    }

    var limit = 25
    var marker: String?
    var sort: [SortKey] = []
    var visibility: String?
    var memberStatus = "accepted"
    var osHidden = false
    var tags: [String] = []
    var properties: [String: String] = [:]
    /// Core attribute filters: column, operator (`eq`, `in`, `gt`, ...), values.
    var conditions: [(column: String, op: String, values: [any Encodable & Sendable])] = []

    static let sortKeys: Set = [
        "name", "status", "container_format", "disk_format", "size", "virtual_size", "id", "created_at", "updated_at",
        "min_disk", "min_ram", "visibility", "owner", "protected", "os_hidden",
    ]
    static let textFilters: Set = ["name", "status", "disk_format", "container_format", "id", "owner", "checksum", "os_hash_value"]
    static let numberFilters: Set = ["min_ram", "min_disk", "size"]
    static let nullableText: Set = ["name", "owner", "disk_format", "container_format"]
    static let nullableNumbers: Set = ["size", "virtual_size"]
    /// Parameters that are not property filters.
    static let reserved: Set = ["limit", "marker", "sort", "sort_key", "sort_dir", "visibility", "member_status", "os_hidden", "tag",
                                "size_min", "size_max", "created_at", "updated_at", "protected"]

    /// Parses the query string; 400 for anything malformed.
    init(items: [(String, String)], maxLimit: Int) throws {
        var sortKeys: [String] = []
        var sortDirs: [String] = []
        var sortParam: String?
        for (name, value) in items {
            switch name {
            case "limit":
                guard let n = Int(value), n >= 0 else { throw APIError.badRequest("limit param must be an integer") }
                limit = min(n, maxLimit)
            case "marker": marker = value
            case "sort": sortParam = value
            case "sort_key": sortKeys.append(value)
            case "sort_dir": sortDirs.append(value)
            case "visibility":
                guard value == "all" || Visibility(rawValue: value) != nil else {
                    throw APIError.badRequest("Invalid visibility value: \(value)")
                }
                visibility = value
            case "member_status":
                guard value == "all" || ImageMember.statuses.contains(value) else {
                    throw APIError.badRequest("Invalid status value: \(value)")
                }
                memberStatus = value
            case "os_hidden": osHidden = try Self.bool(value, name)
            case "protected": conditions.append(("protected", "eq", [try Self.bool(value, name)]))
            case "tag": tags.append(value)
            case "size_min": conditions.append(("size", "gte", [try Self.number(value, name)]))
            case "size_max": conditions.append(("size", "lte", [try Self.number(value, name)]))
            case "created_at", "updated_at": conditions.append(try Self.timeFilter(name, value))
            case _ where Self.textFilters.contains(name):
                if value.hasPrefix("in:") {
                    conditions.append((name, "in", Self.splitList(String(value.dropFirst(3)))))
                } else {
                    conditions.append((name, "eq", [value]))
                }
            case _ where Self.numberFilters.contains(name):
                conditions.append((name, "eq", [try Self.number(value, name)]))
            default:
                properties[name] = value
            }
        }
        if let sizeMin = conditions.first(where: { $0.column == "size" && $0.op == "gte" })?.values.first as? Int64,
            let sizeMax = conditions.first(where: { $0.column == "size" && $0.op == "lte" })?.values.first as? Int64, sizeMin > sizeMax
        {
            throw APIError.badRequest("size_min (\(sizeMin)) must not be greater than size_max (\(sizeMax)).")
        }
        try parseSort(sortParam: sortParam, keys: sortKeys, dirs: sortDirs)
    }

    private mutating func parseSort(sortParam: String?, keys: [String], dirs: [String]) throws {
        if let sortParam {
            guard keys.isEmpty && dirs.isEmpty else {
                throw APIError.badRequest("The 'sort' parameter cannot be combined with 'sort_key' or 'sort_dir'.")
            }
            for part in sortParam.split(separator: ",") {
                let pieces = part.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                let dir = pieces.count > 1 ? pieces[1] : "desc"
                sort.append(SortKey(key: try Self.sortKey(pieces[0]), ascending: try Self.ascending(dir)))
            }
        } else {
            guard dirs.count <= max(keys.count, 1) else { throw APIError.badRequest("There are more sort_dir than sort_key values.") }
            guard dirs.count <= 1 || dirs.count == keys.count else {
                throw APIError.badRequest("The number of sort_dir and sort_key values must match.")
            }
            for (i, key) in keys.enumerated() {
                let dir = dirs.isEmpty ? "desc" : dirs[dirs.count == 1 ? 0 : i]
                sort.append(SortKey(key: try Self.sortKey(key), ascending: try Self.ascending(dir)))
            }
            if keys.isEmpty, let dir = dirs.first {
                sort.append(SortKey(key: "created_at", ascending: try Self.ascending(dir)))
            }
        }
        if sort.isEmpty { sort = [SortKey(key: "created_at", ascending: false)] }
        if !sort.contains(where: { $0.key == "created_at" }) && !sort.contains(where: { $0.key == "id" }) {
            sort.append(SortKey(key: "created_at", ascending: false))
        }
        if !sort.contains(where: { $0.key == "id" }) { sort.append(SortKey(key: "id", ascending: false)) }
    }

    static func sortKey(_ key: String) throws -> String {
        guard sortKeys.contains(key) else { throw APIError.badRequest("Invalid sort key: \(key). It should be one of the following: \(sortKeys.sorted().joined(separator: ", ")).") }
        return key
    }

    static func ascending(_ dir: String) throws -> Bool {
        switch dir {
        case "asc": return true
        case "desc": return false
        default: throw APIError.badRequest("Invalid sort direction: \(dir). It must be one of the following: asc, desc.")
        }
    }

    static func bool(_ value: String, _ name: String) throws -> Bool {
        switch value.lowercased() {
        case "true", "1", "yes", "on": return true
        case "false", "0", "no", "off": return false
        default: throw APIError.badRequest("Invalid value '\(value)' for '\(name)': expected a boolean.")
        }
    }

    static func number(_ value: String, _ name: String) throws -> Int64 {
        guard let n = Int64(value), n >= 0 else { throw APIError.badRequest("Invalid value '\(value)' for '\(name)': expected a non-negative integer.") }
        return n
    }

    static func splitList(_ text: String) -> [any Encodable & Sendable] {
        text.split(separator: ",").map { String($0).trimmingCharacters(in: CharacterSet(charactersIn: "\" ")) }
    }

    /// `created_at=gte:2026-01-01T00:00:00Z` and friends.
    static func timeFilter(_ name: String, _ value: String) throws -> (String, String, [any Encodable & Sendable]) {
        var op = "eq"
        var text = value
        if let colon = value.firstIndex(of: ":"), ["eq", "neq", "gt", "gte", "lt", "lte"].contains(String(value[..<colon])) {
            op = String(value[..<colon])
            text = String(value[value.index(after: colon)...])
        }
        guard let date = Timestamp.parse(text) else {
            throw APIError.badRequest("Unable to filter on a range with a nonsensical value: '\(value)' is not an ISO 8601 time.")
        }
        return (name, op, [date.timeIntervalSince1970])
    }
}

extension ImageRepository {
    /// One page of the images `viewer` may see that match `query`, in its sort order.
    func list(_ query: ImageListQuery, viewer: Viewer, in db: any SQLDatabase) async throws -> [ImageRecord] {
        var select = db.select().columns(ImageRecord.columns.map { SQLIdentifier($0) }).from("images")
            .where("deleted_at", .is, SQLLiteral.null)
        select = select.where(visibilityCondition(query, viewer: viewer))
        select = select.where("os_hidden", .equal, SQLBind(query.osHidden))
        for condition in query.conditions {
            let column = SQLIdentifier(condition.column)
            switch condition.op {
            case "in": select = select.where(column, .in, SQLBind.group(condition.values))
            case "neq": select = select.where(column, .notEqual, SQLBind(condition.values[0]))
            case "gt": select = select.where(column, .greaterThan, SQLBind(condition.values[0]))
            case "gte": select = select.where(column, .greaterThanOrEqual, SQLBind(condition.values[0]))
            case "lt": select = select.where(column, .lessThan, SQLBind(condition.values[0]))
            case "lte": select = select.where(column, .lessThanOrEqual, SQLBind(condition.values[0]))
            default: select = select.where(column, .equal, SQLBind(condition.values[0]))
            }
        }
        // IN (not EXISTS) lets the planner start from the tag and property indexes.
        for tag in query.tags {
            select = select.where(SQLQueryString("id IN (SELECT image_id FROM image_tags WHERE value = \(bind: tag))"))
        }
        for (name, value) in query.properties {
            select = select.where(SQLQueryString(
                "id IN (SELECT image_id FROM image_properties WHERE name = \(bind: name) AND value = \(bind: value))"))
        }
        if let marker = query.marker {
            guard let row = try await db.select().columns(ImageRecord.columns.map { SQLIdentifier($0) }).from("images")
                .where("id", .equal, SQLBind(marker)).where("deleted_at", .is, SQLLiteral.null)
                .where(visibilityCondition(query, viewer: viewer)).first()
            else { throw APIError.badRequest("Invalid marker. Image \(marker) could not be found.") }
            select = select.where(afterMarker(try ImageRecord(row: row), sort: query.sort))
        }
        for key in query.sort {
            select = select.orderBy(SQLOrderBy(expression: Self.sortExpression(key.key), direction: key.ascending ? SQLDirection.ascending : .descending))
        }
        var images = try await select.limit(query.limit).all().map(ImageRecord.init(row:))
        try await loadDetails(&images, in: db)
        return images
    }

    /// Glance's visibility rules: a project sees its own images, public ones, shared ones it is an
    /// accepted member of, and community ones when it asks for them; admins see everything.
    /// `owner || ''` and `visibility || ''` keep SQLite from answering the OR with one index per
    /// term and sorting every match: walking the (os_hidden, created_at, id) index in order and
    /// stopping after a page is what keeps the first page fast over many images.
    private func visibilityCondition(_ query: ImageListQuery, viewer: Viewer) -> SQLQueryString {
        let project = viewer.projectID ?? ""
        let memberFilter: SQLQueryString = query.memberStatus == "all"
            ? "EXISTS (SELECT 1 FROM image_members m WHERE m.image_id = images.id AND m.member = \(bind: project))"
            : "EXISTS (SELECT 1 FROM image_members m WHERE m.image_id = images.id AND m.member = \(bind: project) AND m.status = \(bind: query.memberStatus))"
        let sharedWithMe: SQLQueryString = "(visibility || '' = 'shared' AND \(memberFilter))"
        let mine: SQLQueryString = "owner || '' = \(bind: project)"
        if viewer.isAdmin {
            switch query.visibility {
            case "all": return "1 = 1"
            // Even admins see other projects' community images only when they ask for them.
            case nil: return "(visibility || '' <> 'community' OR \(mine))"
            case .some(let v): return "visibility = \(bind: v)"
            }
        }
        switch query.visibility {
        case "public": return "visibility = 'public'"
        case "community": return "visibility = 'community'"
        case "private": return "(visibility = 'private' AND owner = \(bind: project))"
        case "shared":
            return query.memberStatus == "accepted"
                ? "(visibility = 'shared' AND (owner = \(bind: project) OR \(memberFilter)))" : "(visibility = 'shared' AND \(memberFilter))"
        case "all":
            return "(\(mine) OR visibility || '' IN ('public', 'community') OR \(sharedWithMe))"
        default:
            return "(\(mine) OR visibility || '' = 'public' OR \(sharedWithMe))"
        }
    }

    /// Rows strictly after `marker` in the sort order (keyset pagination).
    private func afterMarker(_ marker: ImageRecord, sort: [ImageListQuery.SortKey]) -> SQLQueryString {
        var alternatives: [SQLQueryString] = []
        for (i, key) in sort.enumerated() {
            var terms: [SQLQueryString] = []
            for previous in sort[..<i] {
                terms.append("\(Self.sortExpression(previous.key)) = \(bind: Self.sortValue(previous.key, of: marker))")
            }
            let op = key.ascending ? ">" : "<"
            terms.append("\(Self.sortExpression(key.key)) \(unsafeRaw: op) \(bind: Self.sortValue(key.key, of: marker))")
            alternatives.append("(" + terms.joined(separator: " AND ") + ")")
        }
        return "(" + alternatives.joined(separator: " OR ") + ")"
    }

    /// NULLs sort as '' or -1 so that keyset comparisons work the same on SQLite and PostgreSQL.
    static func sortExpression(_ key: String) -> SQLQueryString {
        if ImageListQuery.nullableText.contains(key) { return "COALESCE(\(ident: key), '')" }
        if ImageListQuery.nullableNumbers.contains(key) { return "COALESCE(\(ident: key), -1)" }
        return "\(ident: key)"
    }

    static func sortValue(_ key: String, of image: ImageRecord) -> any Encodable & Sendable {
        switch key {
        case "name": return image.name ?? ""
        case "status": return image.status.rawValue
        case "container_format": return image.containerFormat ?? ""
        case "disk_format": return image.diskFormat ?? ""
        case "size": return image.size ?? -1
        case "virtual_size": return image.virtualSize ?? -1
        case "created_at": return image.createdAt
        case "updated_at": return image.updatedAt
        case "min_disk": return image.minDisk
        case "min_ram": return image.minRAM
        case "visibility": return image.visibility.rawValue
        case "owner": return image.owner ?? ""
        case "protected": return image.protected
        case "os_hidden": return image.osHidden
        default: return image.id
        }
    }
}
