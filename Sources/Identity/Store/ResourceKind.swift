import Foundation
import StratusCore

/// A column of an identity table and how it appears in the API.
struct Column: Sendable {
    enum Kind: Sendable { case string, bool, int, timestamp, json }

    let name: String
    let kind: Kind
    /// The API field; nil for columns that never appear in bodies (hashes).
    let field: String?
    let required: Bool
    let nullable: Bool
    let mutable: Bool
    let maxLength: Int?
    let defaultValue: JSON?

    init(
        _ name: String, _ kind: Kind = .string, field: String? = "", required: Bool = false, nullable: Bool = true,
        mutable: Bool = true, maxLength: Int? = nil, default defaultValue: JSON? = nil
    ) {
        self.name = name
        self.kind = kind
        self.field = field == "" ? name : field
        self.required = required
        self.nullable = nullable
        self.mutable = mutable
        self.maxLength = maxLength
        self.defaultValue = defaultValue
    }
}

/// The shape of one identity resource type: table, API names, columns.
struct ResourceKind: Sendable {
    let table: String
    /// `project`, used as the body key and in messages.
    let singular: String
    /// `projects`, the collection key and URL segment.
    let plural: String
    let columns: [Column]
    /// Whether unknown body fields are stored in `extra` and returned (Keystone's behaviour).
    let storesExtra: Bool
    /// Query parameters that filter lists, by column name.
    let filters: [String]
    /// The collection URL when it is not `/v3/<plural>` (extensions such as OS-TRUST).
    var collectionPath: String? = nil
    /// Where the API view differs from the record (see `render`).
    var viewChanges: ViewChanges = { _, _ in [] }

    var path: String { collectionPath ?? "/v3/\(plural)" }

    func column(_ name: String) -> Column? { columns.first { $0.name == name } }

    /// Validates an API body for create (all required fields) or update, producing a record.
    func record(from body: [String: JSON], creating: Bool) throws -> Record {
        var record: Record = [:]
        var extra: [String: JSON] = [:]
        let known = Set(columns.compactMap(\.field))
        for column in columns {
            guard let field = column.field else { continue }
            guard let value = body[field] else {
                if creating, column.required { throw APIError.badRequest("Invalid input for field '\(field)': '\(field)' is a required property.") }
                if creating, let def = column.defaultValue { record[column.name] = def }
                continue
            }
            if !creating, !column.mutable, field != "id" {
                throw APIError.badRequest("Invalid input for field '\(field)': it cannot be changed.")
            }
            record[column.name] = try Self.validate(value, column: column)
        }
        if storesExtra {
            for (key, value) in body where !known.contains(key) && key != "links" { extra[key] = value }
            if !extra.isEmpty { record["extra"] = .object(extra) }
        }
        return record
    }

    static func validate(_ value: JSON, column: Column) throws -> JSON {
        let field = column.field ?? column.name
        if value.isNull {
            guard column.nullable && !column.required else {
                throw APIError.badRequest("Invalid input for field '\(field)': None is not of type '\(typeName(column.kind))'.")
            }
            return .null
        }
        switch column.kind {
        case .string:
            guard let s = value.stringValue else { throw typeError(field, value, column.kind) }
            if column.required, s.trimmingCharacters(in: .whitespaces).isEmpty {
                throw APIError.badRequest("Invalid input for field '\(field)': '\(s)' should be non-empty.")
            }
            if let max = column.maxLength, s.count > max {
                throw APIError.badRequest("Invalid input for field '\(field)': '\(s)' is too long (maximum \(max) characters).")
            }
        case .bool:
            guard value.boolValue != nil else { throw typeError(field, value, column.kind) }
        case .int:
            guard value.intValue != nil else { throw typeError(field, value, column.kind) }
        case .timestamp:
            guard let s = value.stringValue, Timestamp.parse(s) != nil else {
                throw APIError.badRequest("Invalid input for field '\(field)': '\(value.serialized())' is not a valid timestamp.")
            }
        case .json:
            break
        }
        return value
    }

    static func typeName(_ kind: Column.Kind) -> String {
        switch kind {
        case .string, .timestamp: return "string"
        case .bool: return "boolean"
        case .int: return "integer"
        case .json: return "object"
        }
    }

    static func typeError(_ field: String, _ value: JSON, _ kind: Column.Kind) -> APIError {
        APIError.badRequest("Invalid input for field '\(field)': \(value.serialized()) is not of type '\(typeName(kind))'.")
    }
}

/// Keystone ids: 32 lowercase hex characters.
func newID() -> String {
    UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
}
