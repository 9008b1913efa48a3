import SQLKit

extension SQLQueryString {
    /// `a AND b AND ...`, or a condition that is always true.
    public static func all(_ conditions: [SQLQueryString]) -> SQLQueryString {
        guard var sql = conditions.first else { return "1 = 1" }
        for condition in conditions.dropFirst() { sql = sql + " AND " + condition }
        return sql
    }

    /// `(a, b, ...)` of bound values for `IN`; `(NULL)` matches nothing.
    public static func list(_ values: [String]) -> SQLQueryString {
        guard let first = values.first else { return "(NULL)" }
        var sql: SQLQueryString = "(\(bind: first)"
        for value in values.dropFirst() { sql = sql + ", \(bind: value)" }
        return sql + ")"
    }
}
