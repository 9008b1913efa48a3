import Hummingbird
import StratusCore

/// The URL prefix clients used to reach us, for `links`.
func baseURL(_ request: Request) -> String {
    request.baseURL
}

extension ResourceKind {
    /// The API view of a record: its fields, its `extra` attributes, and a self link.
    func render(_ record: Record, base: String) -> [String: JSON] {
        var out: [String: JSON] = [:]
        if let extra = record["extra"]?.objectValue {
            for (key, value) in extra { out[key] = value }
        }
        for column in columns {
            guard let field = column.field else { continue }
            out[field] = record[column.name] ?? .null
        }
        out["links"] = ["self": .string("\(base)\(path)/\(record["id"]?.stringValue ?? "")")]
        return out
    }

    /// `{"<plural>": [...], "links": {...}}`
    func collection(_ items: [JSON], request: Request) -> JSON {
        let base = baseURL(request)
        var selfLink = "\(base)\(request.uri.path)"
        if let query = request.uri.query, !query.isEmpty { selfLink += "?\(query)" }
        return [plural: .array(items), "links": ["self": .string(selfLink), "previous": .null, "next": .null]]
    }
}

extension Request {
    /// The object under `key` in a JSON body, or a 400 in Keystone's words.
    func resourceBody(_ key: String, context: StratusContext) async throws -> [String: JSON] {
        let body = try await jsonObject(context: context)
        guard let value = body[key] else {
            throw APIError.badRequest("Invalid input for field '\(key)': '\(key)' is a required property.")
        }
        guard let object = value.objectValue else {
            throw APIError.badRequest("Invalid input for field '\(key)': \(value.serialized()) is not of type 'object'.")
        }
        return object
    }

    /// A boolean query flag the way Keystone reads them: present and not "0"/"false" is true.
    func flag(_ name: String) -> Bool {
        guard let value = query(name) else { return false }
        return !["0", "false", "no", "off"].contains(value.lowercased())
    }
}

extension StratusContext {
    func param(_ name: String) throws -> String {
        guard let value = parameters.get(name) else { throw APIError.badRequest("missing path parameter \(name)") }
        return value
    }
}
