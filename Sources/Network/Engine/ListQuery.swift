import SQLKit
import StratusCore

/// A list request: filters, `fields`, sorting and paging, as Neutron reads them.
struct ListQuery: Sendable {
    var conditions: [SQLQueryString] = []
    var fields: [String] = []
    var sort: [(attribute: Attribute, ascending: Bool)] = []
    var limit: Int?
    var marker: String?
    var pageReverse = false
    /// The query items other than paging ones, for `*_links`.
    var passThrough: [(String, String)] = []

    static let reserved: Set<String> = [
        "fields", "sort_key", "sort_dir", "limit", "marker", "page_reverse", "tags", "tags-any", "not-tags", "not-tags-any",
    ]

    init(items: [(String, String)], kind: ResourceKind, maxLimit: Int?) throws {
        var grouped: [(String, [String])] = []
        for (key, value) in items {
            if let i = grouped.firstIndex(where: { $0.0 == key }) { grouped[i].1.append(value) } else { grouped.append((key, [value])) }
            if !["limit", "marker", "page_reverse"].contains(key) { passThrough.append((key, value)) }
        }
        for (key, values) in grouped {
            switch key {
            case "fields":
                fields += values.flatMap { $0.split(separator: ",").map(String.init) }
            case "sort_key", "sort_dir":
                continue
            case "limit":
                guard let n = Int(values.last ?? ""), n >= 0 else {
                    throw NeutronError.badRequest("Limit must be an integer 0 or greater and not '\(values.last ?? "")'")
                }
                limit = n == 0 ? nil : n
                if let maxLimit, let l = limit, l > maxLimit { limit = maxLimit }
            case "marker":
                marker = values.last
            case "page_reverse":
                pageReverse = (try? Validate.bool(.string(values.last ?? "")))?.boolValue ?? false
            case "tags", "tags-any", "not-tags", "not-tags-any":
                guard kind.hasTags else { throw NeutronError.badRequest("[\(key)] is invalid attribute for filtering") }
                conditions.append(Self.tagCondition(key, tags: values.flatMap { $0.split(separator: ",").map(String.init) }, member: kind.member))
            default:
                conditions.append(try Self.condition(key, values: values, kind: kind))
            }
        }
        let keys = grouped.first { $0.0 == "sort_key" }?.1 ?? []
        let dirs = grouped.first { $0.0 == "sort_dir" }?.1 ?? []
        guard dirs.isEmpty || dirs.count == keys.count else {
            throw NeutronError.badRequest("The number of sort_keys and sort_dirs must be same")
        }
        for (i, key) in keys.enumerated() {
            let name = key == "tenant_id" ? "project_id" : key
            guard let attribute = kind.attribute(name), attribute.sortable else {
                throw NeutronError.badRequest("\(key) is invalid attribute for sort_keys")
            }
            let dir = dirs.isEmpty ? "asc" : dirs[i].lowercased()
            guard dir == "asc" || dir == "desc" else {
                throw NeutronError.badRequest("\(dirs[i]) is invalid value for sort_dirs, valid value is 'asc' and 'desc'")
            }
            sort.append((attribute, dir == "asc"))
        }
        if let id = kind.attribute("id"), !sort.contains(where: { $0.attribute.name == "id" }) { sort.append((id, true)) }
    }

    /// `column IN (...)` for a filter on an attribute, or the kind's own condition.
    static func condition(_ key: String, values: [String], kind: ResourceKind) throws -> SQLQueryString {
        if let custom = try kind.hooks.filter(key, values: values) { return custom }
        let name = key == "tenant_id" ? "project_id" : key
        guard let attribute = kind.attribute(name), attribute.filterable, attribute.column != .virtual else {
            throw NeutronError.badRequest("[\(key)] is invalid attribute for filtering")
        }
        let column = SQLQueryString("\(ident: attribute.columnName)")
        switch attribute.column {
        case .bool:
            let flags = try values.map { v -> Bool in
                guard let b = (try? Validate.bool(.string(v)))?.boolValue else {
                    throw NeutronError.badRequest("Invalid input for \(key). Reason: '\(v)' cannot be converted to boolean.")
                }
                return b
            }
            let set = Set(flags)
            if set.count == 2 { return "1 = 1" }
            return column + " = \(bind: set.first ?? true)"
        case .int:
            let numbers = values.compactMap { Int($0) }
            guard numbers.count == values.count else {
                throw NeutronError.badRequest("Invalid input for \(key). Reason: '\(values.joined(separator: ","))' is not an integer.")
            }
            var list: SQLQueryString = "("
            for (i, n) in numbers.enumerated() { list = list + (i > 0 ? ", " : "") + "\(bind: n)" }
            return column + " IN " + list + ")"
        default:
            return column + " IN " + RecordStore.inList(values)
        }
    }

    static func tagCondition(_ key: String, tags: [String], member: String) -> SQLQueryString {
        let sub: SQLQueryString = "SELECT resource_id FROM tags WHERE resource_type = \(bind: member) AND tag IN " + RecordStore.inList(tags)
        switch key {
        case "tags":
            return "id IN (" + sub + " GROUP BY resource_id HAVING COUNT(DISTINCT tag) = \(bind: Set(tags).count))"
        case "not-tags":
            return "id NOT IN (" + sub + " GROUP BY resource_id HAVING COUNT(DISTINCT tag) = \(bind: Set(tags).count))"
        case "tags-any":
            return "id IN (" + sub + ")"
        default:
            return "id NOT IN (" + sub + ")"
        }
    }

    /// ORDER BY for the sort keys; reversed when reading a page backwards.
    func order(reversed: Bool) -> SQLQueryString {
        var order: SQLQueryString = ""
        for (i, key) in sort.enumerated() {
            let ascending = key.ascending != reversed
            order = order + (i > 0 ? ", " : "") + "\(ident: key.attribute.columnName)"
                + (ascending ? " ASC NULLS FIRST" : " DESC NULLS LAST")
        }
        return order
    }

    /// Rows after `marker` in the sort order (before it when reading backwards).
    func keyset(after marker: Record, reversed: Bool) -> SQLQueryString {
        var alternatives: [SQLQueryString] = []
        for i in sort.indices {
            var terms: [SQLQueryString] = []
            for key in sort[..<i] {
                let column = SQLQueryString("\(ident: key.attribute.columnName)")
                let value = marker[key.attribute.name] ?? .null
                terms.append(value.isNull ? column + " IS NULL" : column + " = " + Self.bindValue(value, key.attribute))
            }
            let key = sort[i]
            let column = SQLQueryString("\(ident: key.attribute.columnName)")
            let value = marker[key.attribute.name] ?? .null
            let ascending = key.ascending != reversed
            if ascending {
                terms.append(value.isNull ? column + " IS NOT NULL" : column + " > " + Self.bindValue(value, key.attribute))
            } else {
                terms.append(value.isNull ? "1 = 0" : "(" + column + " < " + Self.bindValue(value, key.attribute) + " OR " + column + " IS NULL)")
            }
            alternatives.append("(" + Self.join(terms, " AND ") + ")")
        }
        return "(" + Self.join(alternatives, " OR ") + ")"
    }

    static func bindValue(_ value: JSON, _ attribute: Attribute) -> SQLQueryString {
        switch value {
        case .bool(let b): return "\(bind: b)"
        case .int(let i): return "\(bind: i)"
        case .string(let s): return "\(bind: s)"
        default: return "\(bind: value.serialized())"
        }
    }

    static func join(_ parts: [SQLQueryString], _ separator: String) -> SQLQueryString {
        guard var result = parts.first else { return "1 = 1" }
        for part in parts.dropFirst() { result = result + "\(unsafeRaw: separator)" + part }
        return result
    }
}
