import Foundation
import SQLKit
import StratusCore

// MARK: - Records

/// A namespace of the metadata definitions catalog.
struct MetadefNamespace: Sendable {
    var namespace: String
    var displayName: String?
    var description: String?
    var visibility: String
    var protected: Bool
    var owner: String?
    var createdAt: Double
    var updatedAt: Double
}

/// A namespace's association with a resource type.
struct MetadefAssociation: Sendable {
    var name: String
    var prefix: String?
    var propertiesTarget: String?
    var createdAt: Double
    var updatedAt: Double
}

/// A catalog entry that is only a name: a resource type or a tag.
struct MetadefName: Sendable {
    var name: String
    var createdAt: Double
    var updatedAt: Double
}

typealias MetadefResourceType = MetadefName
typealias MetadefTag = MetadefName

struct MetadefObject: Sendable {
    var name: String
    var description: String?
    var required: [String]
    /// Property name to its JSON-schema-like definition.
    var properties: [String: JSON]
    var createdAt: Double
    var updatedAt: Double
}

/// A property definition: `schema` holds title, type, enum and the other keys, not the name.
struct MetadefProperty: Sendable {
    var name: String
    var schema: [String: JSON]
    var createdAt: Double
    var updatedAt: Double
}

// MARK: - Rendering

func metadefTime(_ seconds: Double) -> JSON {
    .string(Timestamp.iso8601(Date(timeIntervalSince1970: seconds)))
}

extension MetadefNamespace {
    init(row: any SQLRow) throws {
        self.init(
            namespace: try row.decode(column: "namespace", as: String.self),
            displayName: try row.decode(column: "display_name", as: String?.self),
            description: try row.decode(column: "description", as: String?.self),
            visibility: try row.decode(column: "visibility", as: String.self),
            protected: try row.decode(column: "protected", as: Bool.self),
            owner: try row.decode(column: "owner", as: String?.self),
            createdAt: try row.decode(column: "created_at", as: Double.self),
            updatedAt: try row.decode(column: "updated_at", as: Double.self))
    }

    var policyTarget: [String: String] {
        ["project_id": owner ?? "", "owner": owner ?? "", "visibility": visibility, "namespace": namespace]
    }

    /// Public namespaces, the viewer's project's, and for admins all.
    func isVisible(to viewer: Viewer) -> Bool {
        viewer.isAdmin || visibility == "public" || (owner != nil && owner == viewer.projectID)
    }

    /// The namespace's attributes; unset ones are left out, as Glance does.
    func rendered() -> [String: JSON] {
        var out: [String: JSON] = [
            "namespace": .string(namespace), "visibility": .string(visibility), "protected": .bool(protected),
            "created_at": metadefTime(createdAt), "updated_at": metadefTime(updatedAt),
            "schema": "/v2/schemas/metadefs/namespace", "self": .string("/v2/metadefs/namespaces/\(namespace)"),
        ]
        if let displayName { out["display_name"] = .string(displayName) }
        if let description { out["description"] = .string(description) }
        if let owner { out["owner"] = .string(owner) }
        return out
    }
}

extension MetadefAssociation {
    init(row: any SQLRow) throws {
        self.init(
            name: try row.decode(column: "resource_type", as: String.self),
            prefix: try row.decode(column: "prefix", as: String?.self),
            propertiesTarget: try row.decode(column: "properties_target", as: String?.self),
            createdAt: try row.decode(column: "created_at", as: Double.self),
            updatedAt: try row.decode(column: "updated_at", as: Double.self))
    }

    func rendered() -> JSON {
        var out: [String: JSON] = ["name": .string(name), "created_at": metadefTime(createdAt), "updated_at": metadefTime(updatedAt)]
        if let prefix { out["prefix"] = .string(prefix) }
        if let propertiesTarget { out["properties_target"] = .string(propertiesTarget) }
        return .object(out)
    }
}

extension MetadefName {
    init(row: any SQLRow) throws {
        self.init(
            name: try row.decode(column: "name", as: String.self),
            createdAt: try row.decode(column: "created_at", as: Double.self),
            updatedAt: try row.decode(column: "updated_at", as: Double.self))
    }

    func rendered() -> JSON {
        ["name": .string(name), "created_at": metadefTime(createdAt), "updated_at": metadefTime(updatedAt)]
    }
}

extension MetadefObject {
    init(row: any SQLRow) throws {
        let required = try JSON.parse(try row.decode(column: "required", as: String.self)).arrayValue ?? []
        self.init(
            name: try row.decode(column: "name", as: String.self),
            description: try row.decode(column: "description", as: String?.self),
            required: required.compactMap(\.stringValue),
            properties: try JSON.parse(try row.decode(column: "properties", as: String.self)).objectValue ?? [:],
            createdAt: try row.decode(column: "created_at", as: Double.self),
            updatedAt: try row.decode(column: "updated_at", as: Double.self))
    }

    func rendered(namespace: String) -> JSON {
        var out: [String: JSON] = [
            "name": .string(name), "required": JSON(required), "properties": .object(properties),
            "created_at": metadefTime(createdAt), "updated_at": metadefTime(updatedAt),
            "schema": "/v2/schemas/metadefs/object", "self": .string("/v2/metadefs/namespaces/\(namespace)/objects/\(name)"),
        ]
        if let description { out["description"] = .string(description) }
        return .object(out)
    }
}

extension MetadefProperty {
    init(row: any SQLRow) throws {
        self.init(
            name: try row.decode(column: "name", as: String.self),
            schema: try JSON.parse(try row.decode(column: "schema", as: String.self)).objectValue ?? [:],
            createdAt: try row.decode(column: "created_at", as: Double.self),
            updatedAt: try row.decode(column: "updated_at", as: Double.self))
    }

    /// The definition with its name, as shown by GET and returned by POST and PUT.
    func rendered() -> JSON {
        var out = schema
        out["name"] = .string(name)
        return .object(out)
    }
}


// MARK: - Store

/// Reads and writes the catalog. Every method takes the connection or transaction it runs in.
struct MetadefStore: Sendable {
    static let namespaceTables = ["metadef_namespace_resource_types", "metadef_objects", "metadef_properties", "metadef_tags"]

    // Namespaces

    func namespace(_ name: String, in db: any SQLDatabase) async throws -> MetadefNamespace? {
        try await db.select().columns("*").from("metadef_namespaces").where("namespace", .equal, SQLBind(name)).first()
            .map(MetadefNamespace.init(row:))
    }

    func namespaces(in db: any SQLDatabase) async throws -> [MetadefNamespace] {
        try await db.select().columns("*").from("metadef_namespaces").all().map(MetadefNamespace.init(row:))
    }

    func insertNamespace(_ ns: MetadefNamespace, in db: any SQLDatabase) async throws {
        try await db.insert(into: "metadef_namespaces")
            .columns("namespace", "display_name", "description", "visibility", "protected", "owner", "created_at", "updated_at")
            .values(
                SQLBind(ns.namespace), SQLBind(ns.displayName), SQLBind(ns.description), SQLBind(ns.visibility),
                SQLBind(ns.protected), SQLBind(ns.owner), SQLBind(ns.createdAt), SQLBind(ns.updatedAt)
            )
            .run()
    }

    /// Writes `ns` over the namespace called `oldName`, moving its contents when it was renamed.
    func updateNamespace(_ ns: MetadefNamespace, oldName: String, in db: any SQLDatabase) async throws {
        try await db.update("metadef_namespaces")
            .set("namespace", to: SQLBind(ns.namespace))
            .set("display_name", to: SQLBind(ns.displayName))
            .set("description", to: SQLBind(ns.description))
            .set("visibility", to: SQLBind(ns.visibility))
            .set("protected", to: SQLBind(ns.protected))
            .set("owner", to: SQLBind(ns.owner))
            .set("updated_at", to: SQLBind(ns.updatedAt))
            .where("namespace", .equal, SQLBind(oldName))
            .run()
        guard ns.namespace != oldName else { return }
        for table in Self.namespaceTables {
            try await db.update(table).set("namespace", to: SQLBind(ns.namespace)).where("namespace", .equal, SQLBind(oldName)).run()
        }
    }

    /// Deletes the namespace and everything in it.
    func deleteNamespace(_ name: String, in db: any SQLDatabase) async throws {
        for table in Self.namespaceTables {
            try await deleteAll(from: table, namespace: name, in: db)
        }
        try await db.delete(from: "metadef_namespaces").where("namespace", .equal, SQLBind(name)).run()
    }

    func deleteAll(from table: String, namespace: String, in db: any SQLDatabase) async throws {
        try await db.delete(from: table).where("namespace", .equal, SQLBind(namespace)).run()
    }

    /// Deletes one row of a content table, keyed by namespace and `keyColumn`.
    func deleteItem(from table: String, keyColumn: String = "name", namespace: String, name: String, in db: any SQLDatabase) async throws {
        try await db.delete(from: table).where("namespace", .equal, SQLBind(namespace))
            .where(SQLIdentifier(keyColumn), .equal, SQLBind(name)).run()
    }

    private func rows(_ table: String, namespace: String, in db: any SQLDatabase) -> SQLSelectBuilder {
        db.select().columns("*").from(table).where("namespace", .equal, SQLBind(namespace))
    }

    private func row(_ table: String, keyColumn: String = "name", namespace: String, name: String, in db: any SQLDatabase) async throws -> (any SQLRow)? {
        try await rows(table, namespace: namespace, in: db).where(SQLIdentifier(keyColumn), .equal, SQLBind(name)).first()
    }

    // Resource types and associations

    func resourceTypes(in db: any SQLDatabase) async throws -> [MetadefResourceType] {
        try await db.select().columns("*").from("metadef_resource_types").orderBy("created_at").orderBy("name").all()
            .map(MetadefResourceType.init(row:))
    }

    /// Creates resource type `name` unless it exists, as Glance does when a namespace is associated with a new one.
    func ensureResourceType(_ name: String, now: Double, in db: any SQLDatabase) async throws {
        let existing = try await db.select().column("name").from("metadef_resource_types").where("name", .equal, SQLBind(name)).first()
        guard existing == nil else { return }
        try await db.insert(into: "metadef_resource_types").columns("name", "protected", "created_at", "updated_at")
            .values(SQLBind(name), SQLBind(false), SQLBind(now), SQLBind(now)).run()
    }

    func associations(namespace: String, in db: any SQLDatabase) async throws -> [MetadefAssociation] {
        try await rows("metadef_namespace_resource_types", namespace: namespace, in: db).orderBy("created_at").orderBy("resource_type")
            .all().map(MetadefAssociation.init(row:))
    }

    /// Every association, by namespace name.
    func allAssociations(in db: any SQLDatabase) async throws -> [String: [MetadefAssociation]] {
        var result: [String: [MetadefAssociation]] = [:]
        for row in try await db.select().columns("*").from("metadef_namespace_resource_types").orderBy("created_at").orderBy("resource_type").all() {
            let namespace = try row.decode(column: "namespace", as: String.self)
            result[namespace, default: []].append(try MetadefAssociation(row: row))
        }
        return result
    }

    func association(namespace: String, name: String, in db: any SQLDatabase) async throws -> MetadefAssociation? {
        try await row("metadef_namespace_resource_types", keyColumn: "resource_type", namespace: namespace, name: name, in: db)
            .map(MetadefAssociation.init(row:))
    }

    func insertAssociation(_ a: MetadefAssociation, namespace: String, in db: any SQLDatabase) async throws {
        try await ensureResourceType(a.name, now: a.createdAt, in: db)
        try await db.insert(into: "metadef_namespace_resource_types")
            .columns("namespace", "resource_type", "prefix", "properties_target", "created_at", "updated_at")
            .values(SQLBind(namespace), SQLBind(a.name), SQLBind(a.prefix), SQLBind(a.propertiesTarget), SQLBind(a.createdAt), SQLBind(a.updatedAt))
            .run()
    }

    // Objects

    func objects(namespace: String, in db: any SQLDatabase) async throws -> [MetadefObject] {
        try await rows("metadef_objects", namespace: namespace, in: db).orderBy("created_at", .descending).orderBy("name")
            .all().map(MetadefObject.init(row:))
    }

    func object(namespace: String, name: String, in db: any SQLDatabase) async throws -> MetadefObject? {
        try await row("metadef_objects", namespace: namespace, name: name, in: db).map(MetadefObject.init(row:))
    }

    func insertObject(_ o: MetadefObject, namespace: String, in db: any SQLDatabase) async throws {
        try await db.insert(into: "metadef_objects")
            .columns("namespace", "name", "description", "required", "properties", "created_at", "updated_at")
            .values(
                SQLBind(namespace), SQLBind(o.name), SQLBind(o.description), SQLBind(JSON(o.required).serialized()),
                SQLBind(JSON.object(o.properties).serialized()), SQLBind(o.createdAt), SQLBind(o.updatedAt)
            )
            .run()
    }

    func updateObject(_ o: MetadefObject, oldName: String, namespace: String, in db: any SQLDatabase) async throws {
        try await db.update("metadef_objects")
            .set("name", to: SQLBind(o.name))
            .set("description", to: SQLBind(o.description))
            .set("required", to: SQLBind(JSON(o.required).serialized()))
            .set("properties", to: SQLBind(JSON.object(o.properties).serialized()))
            .set("updated_at", to: SQLBind(o.updatedAt))
            .where("namespace", .equal, SQLBind(namespace)).where("name", .equal, SQLBind(oldName))
            .run()
    }

    // Properties

    func properties(namespace: String, in db: any SQLDatabase) async throws -> [MetadefProperty] {
        try await rows("metadef_properties", namespace: namespace, in: db).orderBy("name").all().map(MetadefProperty.init(row:))
    }

    func property(namespace: String, name: String, in db: any SQLDatabase) async throws -> MetadefProperty? {
        try await row("metadef_properties", namespace: namespace, name: name, in: db).map(MetadefProperty.init(row:))
    }

    func insertProperty(_ p: MetadefProperty, namespace: String, in db: any SQLDatabase) async throws {
        try await db.insert(into: "metadef_properties").columns("namespace", "name", "schema", "created_at", "updated_at")
            .values(SQLBind(namespace), SQLBind(p.name), SQLBind(JSON.object(p.schema).serialized()), SQLBind(p.createdAt), SQLBind(p.updatedAt))
            .run()
    }

    func updateProperty(_ p: MetadefProperty, oldName: String, namespace: String, in db: any SQLDatabase) async throws {
        try await db.update("metadef_properties")
            .set("name", to: SQLBind(p.name))
            .set("schema", to: SQLBind(JSON.object(p.schema).serialized()))
            .set("updated_at", to: SQLBind(p.updatedAt))
            .where("namespace", .equal, SQLBind(namespace)).where("name", .equal, SQLBind(oldName))
            .run()
    }

    // Tags

    func tags(namespace: String, in db: any SQLDatabase) async throws -> [MetadefTag] {
        try await rows("metadef_tags", namespace: namespace, in: db).orderBy("created_at").orderBy("name").all().map(MetadefTag.init(row:))
    }

    func tag(namespace: String, name: String, in db: any SQLDatabase) async throws -> MetadefTag? {
        try await row("metadef_tags", namespace: namespace, name: name, in: db).map(MetadefTag.init(row:))
    }

    func insertTag(_ t: MetadefTag, namespace: String, in db: any SQLDatabase) async throws {
        try await db.insert(into: "metadef_tags").columns("namespace", "name", "created_at", "updated_at")
            .values(SQLBind(namespace), SQLBind(t.name), SQLBind(t.createdAt), SQLBind(t.updatedAt)).run()
    }

    func renameTag(_ oldName: String, to t: MetadefTag, namespace: String, in db: any SQLDatabase) async throws {
        try await db.update("metadef_tags").set("name", to: SQLBind(t.name)).set("updated_at", to: SQLBind(t.updatedAt))
            .where("namespace", .equal, SQLBind(namespace)).where("name", .equal, SQLBind(oldName)).run()
    }
}
