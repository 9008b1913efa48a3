import Foundation
import SQLKit
import StratusCore

/// Tables of the metadata definitions catalog. Contents are keyed by namespace name
/// (no foreign keys): renaming a namespace rewrites the column, deleting one deletes its rows.
enum MetadefMigration {
    /// The resource types Glance seeds, in the order it lists them.
    static let resourceTypes = [
        "OS::Glance::Image", "OS::Cinder::Volume", "OS::Nova::Flavor", "OS::Nova::Aggregate", "OS::Nova::Server",
        "OS::Trove::Instance",
    ]

    static let migration = Migration(2, "metadata definitions catalog") { db in
        try await db.create(table: "metadef_namespaces")
            .column("namespace", type: .text, .primaryKey(autoIncrement: false))
            .column("display_name", type: .text)
            .column("description", type: .text)
            .column("visibility", type: .text, .notNull)
            .column("protected", type: .boolean, .notNull)
            .column("owner", type: .text)
            .column("created_at", type: .double, .notNull)
            .column("updated_at", type: .double, .notNull)
            .run()
        try await db.create(table: "metadef_resource_types")
            .column("name", type: .text, .primaryKey(autoIncrement: false))
            .column("protected", type: .boolean, .notNull)
            .column("created_at", type: .double, .notNull)
            .column("updated_at", type: .double, .notNull)
            .run()
        try await db.create(table: "metadef_namespace_resource_types")
            .column("namespace", type: .text, .notNull)
            .column("resource_type", type: .text, .notNull)
            .column("prefix", type: .text)
            .column("properties_target", type: .text)
            .column("created_at", type: .double, .notNull)
            .column("updated_at", type: .double, .notNull)
            .primaryKey("namespace", "resource_type")
            .run()
        try await db.create(index: "metadef_ns_rt_type").on("metadef_namespace_resource_types").column("resource_type").run()
        try await db.create(table: "metadef_objects")
            .column("namespace", type: .text, .notNull)
            .column("name", type: .text, .notNull)
            .column("description", type: .text)
            .column("required", type: .text, .notNull)
            .column("properties", type: .text, .notNull)
            .column("created_at", type: .double, .notNull)
            .column("updated_at", type: .double, .notNull)
            .primaryKey("namespace", "name")
            .run()
        try await db.create(table: "metadef_properties")
            .column("namespace", type: .text, .notNull)
            .column("name", type: .text, .notNull)
            .column("schema", type: .text, .notNull)
            .column("created_at", type: .double, .notNull)
            .column("updated_at", type: .double, .notNull)
            .primaryKey("namespace", "name")
            .run()
        try await db.create(table: "metadef_tags")
            .column("namespace", type: .text, .notNull)
            .column("name", type: .text, .notNull)
            .column("created_at", type: .double, .notNull)
            .column("updated_at", type: .double, .notNull)
            .primaryKey("namespace", "name")
            .run()
        // A millisecond apart, so listing by creation time keeps Glance's order.
        let now = Date().timeIntervalSince1970
        for (index, name) in MetadefMigration.resourceTypes.enumerated() {
            let created = now + Double(index) / 1_000
            try await db.insert(into: "metadef_resource_types").columns("name", "protected", "created_at", "updated_at")
                .values(SQLBind(name), SQLBind(true), SQLBind(created), SQLBind(created)).run()
        }
    }
}
