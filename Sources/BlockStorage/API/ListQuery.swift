import Foundation
import Hummingbird
import SQLKit
import StratusCore

/// A sortable column of a list: its SQL (nulls made comparable) and how to read a marker's value.
struct SortColumn: Sendable {
    enum Kind: Sendable { case text, integer, number }
    let sql: String
    let kind: Kind
}

/// Paging and sorting of Cinder lists: `limit`, `marker`, `offset`, `sort=key:dir,...` or
/// `sort_key`/`sort_dir`; newest first by default, `id` breaking ties.
struct ListQuery: Sendable {
    var limit: Int?
    var marker: String?
    var offset = 0
    var sort: [(column: SortColumn, ascending: Bool)] = []

    init(_ request: Request, columns: [String: SortColumn], maxLimit: Int) throws {
        if let text = request.query("limit") {
            guard let value = Int(text), value >= 0 else {
                throw BlockStorageError.invalidInput("Invalid limit '\(text)'")
            }
            limit = min(value, maxLimit)
        }
        if let text = request.query("offset") {
            guard let value = Int(text), value >= 0 else {
                throw BlockStorageError.invalidInput("Invalid offset '\(text)'")
            }
            offset = value
        }
        marker = request.query("marker")
        var pairs: [(String, String?)] = []
        if let text = request.query("sort") {
            if request.query("sort_key") != nil || request.query("sort_dir") != nil {
                throw APIError.badRequest(
                    "The 'sort_key' and 'sort_dir' parameters are deprecated and cannot be used with "
                        + "the 'sort' parameter."
                )
            }
            pairs = text.split(separator: ",").map { item in
                let parts = item.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                return (parts[0], parts.count > 1 ? parts[1] : nil)
            }
        } else if let key = request.query("sort_key") {
            pairs = [(key, request.query("sort_dir"))]
        } else if let direction = request.query("sort_dir") {
            pairs = [("created_at", direction)]
        }
        if pairs.isEmpty { pairs = [("created_at", "desc")] }
        for (key, direction) in pairs {
            let name = key == "display_name" ? "name" : key
            guard let column = columns[name] else { throw BlockStorageError.invalidInput("Invalid sort key \(key)") }
            let dir = (direction ?? "desc").lowercased()
            guard dir == "asc" || dir == "desc" else {
                throw BlockStorageError.invalidInput("Invalid sort direction \(direction ?? "")")
            }
            sort.append((column, dir == "asc"))
        }
        if !sort.contains(where: { $0.column.sql == "id" }) {
            sort.append((SortColumn(sql: "id", kind: .text), sort.last?.ascending ?? false))
        }
    }

    /// ` LIMIT n [OFFSET m]`: at most `maxLimit` rows however many were asked for.
    func page(maxLimit: Int) -> SQLQueryString {
        let sql = " LIMIT \(min(limit ?? maxLimit, maxLimit))" + (offset > 0 ? " OFFSET \(offset)" : "")
        return SQLQueryString(sql)
    }

    var orderBy: SQLQueryString {
        SQLQueryString(sort.map { "\($0.column.sql) \($0.ascending ? "ASC" : "DESC")" }.joined(separator: ", "))
    }

    /// Rows after the marker row in this order: `(k1 > m1) OR (k1 = m1 AND k2 > m2) ...`.
    func afterMarker(table: String, in db: any SQLDatabase) async throws -> SQLQueryString? {
        guard let marker else { return nil }
        let keys = sort.enumerated().map { "\($0.element.column.sql) AS k\($0.offset)" }.joined(separator: ", ")
        guard
            let row = try await db.raw("SELECT \(unsafeRaw: keys) FROM \(ident: table) WHERE id = \(bind: marker)")
                .first()
        else {
            throw APIError.notFound("Marker \(marker) could not be found.")
        }
        var alternatives: [SQLQueryString] = []
        for index in sort.indices {
            var terms: [SQLQueryString] = []
            for earlier in 0..<index {
                terms.append(SQLQueryString(sort[earlier].column.sql) + " = " + (try bound(row, earlier)))
            }
            let op = sort[index].ascending ? " > " : " < "
            terms.append(SQLQueryString(sort[index].column.sql) + SQLQueryString(op) + (try bound(row, index)))
            alternatives.append("(" + .all(terms) + ")")
        }
        var condition = alternatives[0]
        for alternative in alternatives.dropFirst() { condition = condition + " OR " + alternative }
        return "(" + condition + ")"
    }

    private func bound(_ row: any SQLRow, _ index: Int) throws -> SQLQueryString {
        switch sort[index].column.kind {
        case .text: return "\(bind: try row.decode(column: "k\(index)", as: String.self))"
        case .integer: return "\(bind: try row.decode(column: "k\(index)", as: Int.self))"
        case .number: return "\(bind: try row.decode(column: "k\(index)", as: Double.self))"
        }
    }

    /// `<collection>_links` with the next page when this one is full.
    func nextLinks(
        _ request: Request, base: LinkBase, path: String, key: String, lastID: String?, count: Int
    ) -> [String: JSON] {
        guard let limit, count == limit, let lastID else { return [:] }
        var query = (request.uri.query ?? "").split(separator: "&").filter { !$0.hasPrefix("marker=") }.map(
            String.init)
        query.append("marker=\(lastID)")
        let href = "\(base.api)/\(path)?" + query.joined(separator: "&")
        return ["\(key)_links": [["rel": "next", "href": .string(href)]]]
    }
}
