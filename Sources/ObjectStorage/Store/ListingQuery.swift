import Foundation
import SQLKit
import StratusCore

/// A listing's window: Swift's `marker`, `end_marker`, `prefix`, `delimiter`, `limit` and
/// `reverse` (markers are exclusive; with `reverse` the marker is the upper bound).
public struct ListingQuery: Sendable, Equatable {
    public var marker = ""
    public var endMarker = ""
    public var prefix = ""
    public var delimiter: String?
    public var limit = 10_000
    public var reverse = false

    public init() {}

    /// The highest code point: every name starting with `text` sorts below `text` + this.
    static let highest = "\u{10FFFF}"
}

extension ListingStore {
    /// One page of a listing, folding names past the delimiter into `subdir` entries: each
    /// subdir is listed once, and the scan jumps past the names under it.
    static func list<Entry: Sendable>(
        table: String, scope: SQLQueryString, query: ListingQuery, in db: any SQLDatabase,
        decode: (any SQLRow) throws -> Entry
    ) async throws -> [ListingItem<Entry>] {
        var items: [ListingItem<Entry>] = []
        var marker = query.marker
        // After a subdir the next rows are fetched a few at a time (growing while they are plain
        // names): a directory of many names would otherwise be read whole only to be skipped.
        var batch = query.limit
        scan: while items.count < query.limit {
            let wanted = min(query.limit - items.count, batch)
            var sql = "SELECT * FROM \(unsafeRaw: table) WHERE " + scope
            let lower = query.reverse ? query.endMarker : marker
            let upper = query.reverse ? marker : query.endMarker
            if !lower.isEmpty { sql = sql + " AND name > \(bind: lower)" }
            if !upper.isEmpty { sql = sql + " AND name < \(bind: upper)" }
            if !query.prefix.isEmpty {
                let bound = query.prefix + ListingQuery.highest
                sql = sql + " AND name >= \(bind: query.prefix) AND name < \(bind: bound)"
            }
            sql =
                sql + " ORDER BY name \(unsafeRaw: query.reverse ? "DESC" : "ASC") LIMIT \(unsafeRaw: String(wanted))"
            let rows = try await db.raw(sql).all()
            for row in rows {
                let name = try row.decode(column: "name", as: String.self)
                if let delimiter = query.delimiter, !delimiter.isEmpty,
                    let range = name.dropFirst(query.prefix.count).range(of: delimiter)
                {
                    let subdir = String(name[..<range.upperBound])
                    items.append(.subdir(subdir))
                    // Names under the subdir sort right after it (or, reversed, right before the next).
                    marker = query.reverse ? subdir : subdir + ListingQuery.highest
                    batch = 1
                    continue scan
                }
                items.append(.entry(try decode(row)))
                marker = name
            }
            if rows.count < wanted { break }
            batch = min(query.limit, batch * 4)
        }
        return items
    }
}

/// Swift's timestamps: seconds since 1970 with five decimals, zero-padded to sort as text.
public enum SwiftTimestamp {
    public static func now() -> String { format(Date().timeIntervalSince1970) }

    public static func format(_ seconds: Double) -> String { String(format: "%016.5f", seconds) }

    public static func seconds(_ timestamp: String) -> Double { Double(timestamp) ?? 0 }
}
