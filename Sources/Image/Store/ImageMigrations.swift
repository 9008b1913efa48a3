import SQLKit
import StratusCore

/// The image database schema, as versioned migrations.
enum ImageMigrations {
    static let all: [Migration] = [
        Migration(1, "initial image schema") { db in
            // Deleted images keep their row (deleted_at set) so an id is never reused, as in Glance.
            try await db.create(table: "images")
                .column("id", type: .text, .primaryKey(autoIncrement: false))
                .column("name", type: .text)
                .column("status", type: .text, .notNull)
                .column("visibility", type: .text, .notNull)
                .column("protected", type: .boolean, .notNull)
                .column("os_hidden", type: .boolean, .notNull)
                .column("owner", type: .text)
                .column("checksum", type: .text)
                .column("os_hash_algo", type: .text)
                .column("os_hash_value", type: .text)
                .column("size", type: .bigint)
                .column("virtual_size", type: .bigint)
                .column("min_ram", type: .bigint, .notNull)
                .column("min_disk", type: .bigint, .notNull)
                .column("disk_format", type: .text)
                .column("container_format", type: .text)
                .column("created_at", type: .double, .notNull)
                .column("updated_at", type: .double, .notNull)
                .column("deleted_at", type: .double)
                .run()
            try await db.create(index: "images_owner").on("images").column("owner").run()
            try await db.create(index: "images_created").on("images").column("created_at").column("id").run()
            try await db.create(index: "images_visibility").on("images").column("visibility").run()
            try await db.create(table: "image_properties")
                .column("image_id", type: .text, .notNull)
                .column("name", type: .text, .notNull)
                .column("value", type: .text, .notNull)
                .primaryKey("image_id", "name")
                .run()
            try await db.create(index: "image_properties_name").on("image_properties").column("name").column("value").run()
            try await db.create(table: "image_tags")
                .column("image_id", type: .text, .notNull)
                .column("value", type: .text, .notNull)
                .column("created_at", type: .double, .notNull)
                .primaryKey("image_id", "value")
                .run()
            try await db.create(index: "image_tags_value").on("image_tags").column("value").run()
            try await db.create(table: "image_members")
                .column("image_id", type: .text, .notNull)
                .column("member", type: .text, .notNull)
                .column("status", type: .text, .notNull)
                .column("created_at", type: .double, .notNull)
                .column("updated_at", type: .double, .notNull)
                .primaryKey("image_id", "member")
                .run()
            try await db.create(index: "image_members_member").on("image_members").column("member").column("status").run()
            // Where an image's data lives: one row per store holding a copy.
            try await db.create(table: "image_locations")
                .column("image_id", type: .text, .notNull)
                .column("store", type: .text, .notNull)
                .column("path", type: .text, .notNull)
                .column("created_at", type: .double, .notNull)
                .primaryKey("image_id", "store")
                .run()
            try await db.create(table: "tasks")
                .column("id", type: .text, .primaryKey(autoIncrement: false))
                .column("type", type: .text, .notNull)
                .column("status", type: .text, .notNull)
                .column("owner", type: .text)
                .column("user_id", type: .text)
                .column("request_id", type: .text)
                .column("image_id", type: .text)
                .column("input", type: .text, .notNull)
                .column("result", type: .text)
                .column("message", type: .text, .notNull)
                .column("created_at", type: .double, .notNull)
                .column("updated_at", type: .double, .notNull)
                .column("expires_at", type: .double)
                .column("deleted_at", type: .double)
                .run()
            try await db.create(index: "tasks_image").on("tasks").column("image_id").run()
            try await db.create(index: "tasks_status").on("tasks").column("status").run()
        },
        MetadefMigration.migration,
        ImageAPI.cacheMigration,
        Migration(4, "ordered image locations with metadata") { db in
            try await db.create(table: "image_data_locations")
                .column("image_id", type: .text, .notNull)
                .column("position", type: .bigint, .notNull)
                .column("store", type: .text, .notNull)
                .column("path", type: .text, .notNull)
                .column("metadata", type: .text, .notNull)
                .column("created_at", type: .double, .notNull)
                .primaryKey("image_id", "position")
                .run()
            try await db.raw("""
                INSERT INTO image_data_locations (image_id, position, store, path, metadata, created_at)
                SELECT l.image_id, (SELECT COUNT(*) FROM image_locations o WHERE o.image_id = l.image_id AND o.store < l.store),
                       l.store, l.path, '{"store": "' || l.store || '"}', l.created_at
                FROM image_locations l
                """).run()
            try await db.drop(table: "image_locations").run()
        },
        Migration(5, "list index: visible images newest first") { db in
            try await db.create(index: "images_listing").on("images").column("os_hidden").column("created_at").column("id").run()
        },
    ]
}
