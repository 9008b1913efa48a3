import SQLKit

extension SQLRow {
    /// A nullable column's value, nil for NULL. SQLiteKit decodes an `Optional` through a
    /// decoder object allocated per value, several times the cost of the wrapped type; a
    /// NULL check then a plain decode is the same answer for rows read in bulk.
    public func decodeNullable<Value: Decodable>(column: String, as type: Value.Type) throws -> Value? {
        try decodeNil(column: column) ? nil : decode(column: column, as: Value.self)
    }
}
