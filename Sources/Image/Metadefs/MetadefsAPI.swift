import Foundation
import Hummingbird
import SQLKit
import StratusCore

/// Glance's metadata definitions catalog (`/v2/metadefs`): namespaces of property, object
/// and tag definitions, associated with the resource types they apply to.
extension ImageAPI {
    var metadefs: MetadefStore { MetadefStore() }

    func registerMetadefs(on router: Router<StratusContext>) {
        registerMetadefNamespaces(on: router)
        registerMetadefResourceTypes(on: router)
        registerMetadefObjects(on: router)
        registerMetadefProperties(on: router)
        registerMetadefTags(on: router)
    }

    /// A path parameter, percent-decoded (names like `OS::Glance::Image` may arrive escaped).
    func metadefParameter(_ context: StratusContext, _ name: String) -> String {
        let raw = context.parameters.get(name) ?? ""
        return raw.removingPercentEncoding ?? raw
    }

    /// The namespace in the path if the caller may see it and passes read rule `rule`; 404 otherwise.
    func readableNamespace(_ context: StratusContext, auth: AuthContext, rule: String, in db: any SQLDatabase) async throws -> MetadefNamespace {
        let name = metadefParameter(context, "namespace")
        guard let namespace = try await metadefs.namespace(name, in: db), namespace.isVisible(to: context.viewer),
            policy.check(rule, creds: auth.policyCredentials, target: namespace.policyTarget)
        else { throw MetadefErrors.namespaceNotFound(name) }
        return namespace
    }

    /// The namespace in the path for a change under rule `rule`: 404 when the caller can't
    /// see it, 403 when it may not make the change.
    func writableNamespace(_ context: StratusContext, auth: AuthContext, rule: String, in db: any SQLDatabase) async throws -> MetadefNamespace {
        let name = metadefParameter(context, "namespace")
        guard let namespace = try await metadefs.namespace(name, in: db), namespace.isVisible(to: context.viewer) else {
            throw MetadefErrors.namespaceNotFound(name)
        }
        try policy.enforce(rule, auth: auth, target: namespace.policyTarget)
        return namespace
    }
}

enum MetadefErrors {
    static func namespaceNotFound(_ name: String) -> APIError {
        .notFound("Metadata definition namespace=\(name) was not found.")
    }

    static func protected(_ namespace: String) -> APIError {
        .forbidden("Namespace \(namespace) is protected and cannot be deleted.")
    }

    static func duplicate(_ kind: String, _ name: String, _ namespace: String) -> APIError {
        .conflict("A metadata definition \(kind) with name=\(name) already exists in namespace=\(namespace).")
    }

    static func duplicateTag(_ name: String, _ namespace: String) -> APIError {
        .conflict("A metadata tag with name=\(name) already exists in namespace=\(namespace).")
    }

    static func propertyNotFound(_ name: String, _ namespace: String) -> APIError {
        .notFound("The metadata definition property with name=\(name) was not found in namespace=\(namespace).")
    }
}

// MARK: - Request bodies

/// Validation of catalog request bodies, after Glance's schemas: 400 for what doesn't match,
/// 403 for read-only attributes.
enum MetadefInput {
    struct Namespace: Sendable {
        var namespace: String
        var displayName: String?
        var description: String?
        var visibility: String?
        var protected: Bool?
        var owner: String?
    }

    /// What a namespace create may carry besides the namespace itself.
    struct Contents: Sendable {
        var associations: [MetadefAssociation] = []
        var properties: [MetadefProperty] = []
        var objects: [MetadefObject] = []
        var tags: [String] = []
    }

    static let propertyTypes: Set = ["array", "boolean", "integer", "number", "object", "string", "null"]

    static func mismatch(_ schema: String, _ detail: String) -> APIError {
        .badRequest("Provided object does not match schema '\(schema)': \(detail)")
    }

    static func checkKeys(_ body: [String: JSON], allowed: Set<String>, schema: String) throws {
        for key in ["created_at", "updated_at"] where body[key] != nil {
            throw APIError.forbidden("Attribute '\(key)' is read-only.")
        }
        if let extra = body.keys.sorted().first(where: { !allowed.contains($0) }) {
            throw mismatch(schema, "Additional properties are not allowed ('\(extra)' was unexpected)")
        }
    }

    /// The string at `key`: nil when absent (or null and not required), 400 when of another type or too long.
    static func string(_ body: [String: JSON], _ key: String, max: Int, required: Bool = false, schema: String) throws -> String? {
        guard let value = body[key], !(value.isNull && !required) else {
            if required { throw mismatch(schema, "'\(key)' is a required property") }
            return nil
        }
        guard let text = value.stringValue else { throw mismatch(schema, "\(value.serialized()) is not of type 'string'") }
        guard text.count <= max else { throw mismatch(schema, "'\(text)' is too long") }
        if required && text.isEmpty { throw mismatch(schema, "'\(key)' must not be empty") }
        return text
    }

    static func namespace(_ body: [String: JSON]) throws -> Namespace {
        let schema = "namespace"
        try checkKeys(body, allowed: [
            "namespace", "display_name", "description", "visibility", "protected", "owner",
            "resource_type_associations", "properties", "objects", "tags", "schema", "self",
        ], schema: schema)
        guard let name = try string(body, "namespace", max: 80, required: true, schema: schema) else {
            throw mismatch(schema, "'namespace' is a required property")
        }
        var input = Namespace(namespace: name)
        input.displayName = try string(body, "display_name", max: 80, schema: schema)
        input.description = try string(body, "description", max: 500, schema: schema)
        input.owner = try string(body, "owner", max: 255, schema: schema)
        if let visibility = try string(body, "visibility", max: 10, schema: schema) {
            guard visibility == "public" || visibility == "private" else {
                throw mismatch(schema, "'\(visibility)' is not one of ['public', 'private']")
            }
            input.visibility = visibility
        }
        if let value = body["protected"], !value.isNull {
            guard let flag = value.boolValue else { throw mismatch(schema, "\(value.serialized()) is not of type 'boolean'") }
            input.protected = flag
        }
        return input
    }

    /// The contents given inline on namespace create.
    static func contents(_ body: [String: JSON], now: Double) throws -> Contents {
        var contents = Contents()
        if let value = body["resource_type_associations"], !value.isNull {
            guard let items = value.arrayValue else { throw mismatch("namespace", "'resource_type_associations' is not of type 'array'") }
            contents.associations = try items.map { item in
                guard let object = item.objectValue else { throw mismatch("namespace", "\(item.serialized()) is not of type 'object'") }
                return try association(object, now: now)
            }
        }
        if let value = body["properties"], !value.isNull {
            guard let object = value.objectValue else { throw mismatch("namespace", "'properties' is not of type 'object'") }
            contents.properties = try object.keys.sorted().map { name in
                guard let definition = object[name]?.objectValue else { throw mismatch("property", "'\(name)' is not of type 'object'") }
                return MetadefProperty(name: name, schema: try propertySchema(definition), createdAt: now, updatedAt: now)
            }
        }
        if let value = body["objects"], !value.isNull {
            guard let items = value.arrayValue else { throw mismatch("namespace", "'objects' is not of type 'array'") }
            contents.objects = try items.map { item in
                guard let object = item.objectValue else { throw mismatch("object", "\(item.serialized()) is not of type 'object'") }
                return try self.object(object, now: now)
            }
        }
        if let value = body["tags"], !value.isNull {
            contents.tags = try tagNames(value)
        }
        try checkUnique(contents.associations.map(\.name), what: "resource type association")
        try checkUnique(contents.properties.map(\.name), what: "property")
        try checkUnique(contents.objects.map(\.name), what: "object")
        try checkUnique(contents.tags, what: "tag")
        return contents
    }

    /// A boolean header such as X-Openstack-Append.
    static func isTrue(_ header: String?) -> Bool {
        guard let header else { return false }
        return ["true", "1", "yes", "on", "y", "t"].contains(header.lowercased())
    }

    static func checkUnique(_ names: [String], what: String) throws {
        var seen = Set<String>()
        for name in names where !seen.insert(name).inserted {
            throw APIError.conflict("Duplicate \(what) \(name) in the request.")
        }
    }

    static func association(_ body: [String: JSON], now: Double) throws -> MetadefAssociation {
        let schema = "resource_type_association"
        try checkKeys(body, allowed: ["name", "prefix", "properties_target"], schema: schema)
        guard let name = try string(body, "name", max: 80, required: true, schema: schema) else {
            throw mismatch(schema, "'name' is a required property")
        }
        return MetadefAssociation(
            name: name, prefix: try string(body, "prefix", max: 80, schema: schema),
            propertiesTarget: try string(body, "properties_target", max: 80, schema: schema), createdAt: now, updatedAt: now)
    }

    static func object(_ body: [String: JSON], now: Double) throws -> MetadefObject {
        let schema = "object"
        try checkKeys(body, allowed: ["name", "description", "required", "properties", "schema", "self"], schema: schema)
        guard let name = try string(body, "name", max: 80, required: true, schema: schema) else {
            throw mismatch(schema, "'name' is a required property")
        }
        var required: [String] = []
        if let value = body["required"], !value.isNull {
            guard let items = value.arrayValue, items.allSatisfy({ $0.stringValue != nil }) else {
                throw mismatch(schema, "\(value.serialized()) is not an array of strings")
            }
            required = items.compactMap(\.stringValue)
        }
        var properties: [String: JSON] = [:]
        if let value = body["properties"], !value.isNull {
            guard let object = value.objectValue else { throw mismatch(schema, "\(value.serialized()) is not of type 'object'") }
            for (key, definition) in object {
                guard let fields = definition.objectValue else { throw mismatch(schema, "'\(key)' is not of type 'object'") }
                properties[key] = .object(try propertySchema(fields))
            }
        }
        return MetadefObject(
            name: name, description: try string(body, "description", max: 65_535, schema: schema), required: required,
            properties: properties, createdAt: now, updatedAt: now)
    }

    /// JSON types each property-definition key takes ("any" for `default`).
    static let propertyKeys: [String: String] = [
        "title": "string", "description": "string", "type": "string", "pattern": "string",
        "enum": "array", "operators": "array", "items": "object", "default": "any",
        "readonly": "boolean", "uniqueItems": "boolean", "additionalItems": "boolean",
        "minimum": "number", "maximum": "number",
        "minLength": "integer", "maxLength": "integer", "minItems": "integer", "maxItems": "integer",
    ]

    /// A property definition without its name: title and type required, the other
    /// JSON-schema keys checked for their type.
    static func propertySchema(_ body: [String: JSON]) throws -> [String: JSON] {
        let schema = "property"
        var result: [String: JSON] = [:]
        for key in body.keys.sorted() where key != "name" {
            guard let kind = propertyKeys[key] else {
                throw mismatch(schema, "Additional properties are not allowed ('\(key)' was unexpected)")
            }
            guard let value = body[key] else { continue }
            let matches: Bool
            switch kind {
            case "string": matches = value.stringValue != nil
            case "array": matches = value.arrayValue != nil
            case "object": matches = value.objectValue != nil
            case "boolean": matches = value.boolValue != nil
            case "number": matches = value.typeName == "number"
            case "integer": matches = (value.intValue ?? -1) >= 0
            default: matches = true
            }
            guard matches else { throw mismatch(schema, "\(value.serialized()) is not valid for '\(key)' (expected \(kind))") }
            result[key] = value
        }
        guard let title = result["title"]?.stringValue, !title.isEmpty else { throw mismatch(schema, "'title' is a required property") }
        guard let type = result["type"]?.stringValue else { throw mismatch(schema, "'type' is a required property") }
        guard propertyTypes.contains(type) else {
            throw mismatch(schema, "'\(type)' is not one of ['array', 'boolean', 'integer', 'number', 'object', 'string', None]")
        }
        if let operators = result["operators"]?.arrayValue, !operators.allSatisfy({ $0.stringValue != nil }) {
            throw mismatch(schema, "'operators' must be an array of strings")
        }
        return result
    }

    /// A named property definition (POST and PUT bodies).
    static func property(_ body: [String: JSON], now: Double) throws -> MetadefProperty {
        try checkKeys(body, allowed: Set(propertyKeys.keys).union(["name"]), schema: "property")
        guard let name = try string(body, "name", max: 80, required: true, schema: "property") else {
            throw mismatch("property", "'name' is a required property")
        }
        return MetadefProperty(name: name, schema: try propertySchema(body), createdAt: now, updatedAt: now)
    }

    static func tagName(_ body: [String: JSON]) throws -> String {
        try checkKeys(body, allowed: ["name"], schema: "tag")
        guard let name = try string(body, "name", max: 255, required: true, schema: "tag") else {
            throw mismatch("tag", "'name' is a required property")
        }
        return name
    }

    /// `[{"name": ...}, ...]`, the tags of a namespace create or of POST .../tags.
    static func tagNames(_ value: JSON) throws -> [String] {
        guard let items = value.arrayValue else { throw mismatch("tags", "\(value.serialized()) is not of type 'array'") }
        return try items.map { item in
            guard let object = item.objectValue else { throw mismatch("tag", "\(item.serialized()) is not of type 'object'") }
            return try tagName(object)
        }
    }
}
