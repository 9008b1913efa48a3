import Foundation
import SQLKit
import StratusCore

/// Reads and writes images, members and their details. Every method takes the connection
/// or transaction it runs in, so callers group changes into one transaction.
struct ImageRepository: Sendable {
    /// The live (not deleted) image `id`, with its properties, tags and locations.
    func get(_ id: String, in db: any SQLDatabase) async throws -> ImageRecord? {
        guard let row = try await db.select().columns(ImageRecord.columns.map { SQLIdentifier($0) }).from("images")
            .where("id", .equal, SQLBind(id)).where("deleted_at", .is, SQLLiteral.null).first()
        else { return nil }
        var image = try ImageRecord(row: row)
        try await loadDetails(&image, in: db)
        return image
    }

    /// Whether `id` was ever used, deleted images included.
    func exists(_ id: String, in db: any SQLDatabase) async throws -> Bool {
        try await db.select().column("id").from("images").where("id", .equal, SQLBind(id)).first() != nil
    }

    func insert(_ image: ImageRecord, in db: any SQLDatabase) async throws {
        try await db.insert(into: "images").columns(ImageRecord.columns)
            .values(image.columnValues.map { SQLBind($0) }).run()
        try await replaceDetails(of: image, previous: nil, in: db)
    }

    /// Writes every attribute of `image`, replacing changed properties, tags and locations.
    func save(_ image: ImageRecord, previous: ImageRecord, in db: any SQLDatabase) async throws {
        var update = db.update("images")
        for (column, value) in zip(ImageRecord.columns, image.columnValues).dropFirst() {
            update = update.set(SQLIdentifier(column), to: SQLBind(value))
        }
        try await update.where("id", .equal, SQLBind(image.id)).run()
        try await replaceDetails(of: image, previous: previous, in: db)
    }

    func markDeleted(_ id: String, at now: Double, in db: any SQLDatabase) async throws {
        try await db.update("images").set("deleted_at", to: SQLBind(now)).set("status", to: SQLBind(ImageStatus.deleted.rawValue))
            .where("id", .equal, SQLBind(id)).run()
        for table in ["image_properties", "image_tags", "image_members", "image_data_locations"] {
            try await db.delete(from: table).where("image_id", .equal, SQLBind(id)).run()
        }
    }

    private func replaceDetails(of image: ImageRecord, previous: ImageRecord?, in db: any SQLDatabase) async throws {
        let now = image.updatedAt
        let oldProperties = previous?.properties ?? [:]
        for (name, _) in oldProperties where image.properties[name] == nil {
            try await db.delete(from: "image_properties").where("image_id", .equal, SQLBind(image.id))
                .where("name", .equal, SQLBind(name)).run()
        }
        for (name, value) in image.properties where oldProperties[name] != value {
            if oldProperties[name] != nil {
                try await db.update("image_properties").set("value", to: SQLBind(value))
                    .where("image_id", .equal, SQLBind(image.id)).where("name", .equal, SQLBind(name)).run()
            } else {
                try await db.insert(into: "image_properties").columns("image_id", "name", "value")
                    .values(SQLBind(image.id), SQLBind(name), SQLBind(value)).run()
            }
        }
        let oldTags = Set(previous?.tags ?? [])
        let newTags = Set(image.tags)
        for tag in oldTags.subtracting(newTags) {
            try await db.delete(from: "image_tags").where("image_id", .equal, SQLBind(image.id)).where("value", .equal, SQLBind(tag)).run()
        }
        for tag in image.tags where !oldTags.contains(tag) {
            try await db.insert(into: "image_tags").columns("image_id", "value", "created_at")
                .values(SQLBind(image.id), SQLBind(tag), SQLBind(now)).run()
        }
        if image.locations != previous?.locations ?? [] {
            try await db.delete(from: "image_data_locations").where("image_id", .equal, SQLBind(image.id)).run()
            for (position, location) in image.locations.enumerated() {
                try await db.insert(into: "image_data_locations").columns("image_id", "position", "store", "path", "metadata", "created_at")
                    .values(SQLBind(image.id), SQLBind(position), SQLBind(location.store), SQLBind(location.path),
                            SQLBind(JSON.object(location.metadata).serialized()), SQLBind(now)).run()
            }
        }
    }

    private func loadDetails(_ image: inout ImageRecord, in db: any SQLDatabase) async throws {
        var one = [image]
        try await loadDetails(&one, in: db)
        image = one[0]
    }

    /// Fills in properties, tags and locations of a page of images, in one query.
    func loadDetails(_ images: inout [ImageRecord], in db: any SQLDatabase) async throws {
        guard !images.isEmpty else { return }
        var index: [String: Int] = [:]
        for (i, image) in images.enumerated() { index[image.id] = i }
        let ids: [any Encodable & Sendable] = images.map(\.id)
        // kind p: (name, value); t: (tag, ''), in creation order; l: (store, path, metadata) by position.
        let rows = try await db.raw("""
            SELECT image_id, 'p' AS kind, name AS a, value AS b, '' AS c, CAST(0 AS DOUBLE PRECISION) AS pos
              FROM image_properties WHERE image_id IN (\(binds: ids))
            UNION ALL SELECT image_id, 't', value, '', '', created_at FROM image_tags WHERE image_id IN (\(binds: ids))
            UNION ALL SELECT image_id, 'l', store, path, metadata, CAST(position AS DOUBLE PRECISION)
              FROM image_data_locations WHERE image_id IN (\(binds: ids))
            ORDER BY kind, image_id, pos, a
            """).all()
        for row in rows {
            guard let i = index[try row.decode(column: "image_id", as: String.self)] else { continue }
            let a = try row.decode(column: "a", as: String.self)
            let b = try row.decode(column: "b", as: String.self)
            switch try row.decode(column: "kind", as: String.self) {
            case "p": images[i].properties[a] = b
            case "t": images[i].tags.append(a)
            default:
                let metadata = try JSON.parse(try row.decode(column: "c", as: String.self)).objectValue ?? [:]
                images[i].locations.append(ImageLocation(store: a, path: b, metadata: metadata))
            }
        }
    }

    /// Bytes of image data `owner` keeps (active and in-flight images).
    func usage(owner: String, in db: any SQLDatabase) async throws -> Int64 {
        // SUM of a bigint is a numeric on PostgreSQL: cast it back.
        let row = try await db.select().column(SQLRaw("CAST(COALESCE(SUM(size), 0) AS BIGINT)"), as: "total")
            .from("images").where("owner", .equal, SQLBind(owner)).where("deleted_at", .is, SQLLiteral.null).first()
        return try row?.decode(column: "total", as: Int64.self) ?? 0
    }

    // MARK: Members

    func member(image: String, member: String, in db: any SQLDatabase) async throws -> ImageMember? {
        try await db.select().columns("*").from("image_members").where("image_id", .equal, SQLBind(image))
            .where("member", .equal, SQLBind(member)).first().map(ImageMember.init(row:))
    }

    func members(image: String, in db: any SQLDatabase) async throws -> [ImageMember] {
        try await db.select().columns("*").from("image_members").where("image_id", .equal, SQLBind(image))
            .orderBy("created_at").orderBy("member").all().map(ImageMember.init(row:))
    }

    func memberCount(image: String, in db: any SQLDatabase) async throws -> Int {
        let row = try await db.select().column(SQLFunction("COUNT", args: SQLLiteral.all), as: "n").from("image_members")
            .where("image_id", .equal, SQLBind(image)).first()
        return try row?.decode(column: "n", as: Int.self) ?? 0
    }

    func insertMember(_ m: ImageMember, in db: any SQLDatabase) async throws {
        try await db.insert(into: "image_members").columns("image_id", "member", "status", "created_at", "updated_at")
            .values(SQLBind(m.imageID), SQLBind(m.member), SQLBind(m.status), SQLBind(m.createdAt), SQLBind(m.updatedAt)).run()
    }

    func updateMember(_ m: ImageMember, in db: any SQLDatabase) async throws {
        try await db.update("image_members").set("status", to: SQLBind(m.status)).set("updated_at", to: SQLBind(m.updatedAt))
            .where("image_id", .equal, SQLBind(m.imageID)).where("member", .equal, SQLBind(m.member)).run()
    }

    func deleteMember(image: String, member: String, in db: any SQLDatabase) async throws {
        try await db.delete(from: "image_members").where("image_id", .equal, SQLBind(image)).where("member", .equal, SQLBind(member)).run()
    }
}
