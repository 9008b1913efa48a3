import Foundation
import SQLKit
import StratusCore

/// One move of a server: a resize, a cold migration, a live migration or an evacuation.
/// Its uuid is also the Placement consumer that holds the source host's allocation while
/// the move is in flight, as in Nova.
struct MigrationRecord: Sendable {
    var id: Int
    var uuid: String
    var instanceUUID: String
    var type: String
    var status: String
    var sourceCompute: String?
    var sourceNode: String?
    var destCompute: String?
    var destNode: String?
    var oldFlavorID: String
    var newFlavorID: String
    var projectID: String
    var userID: String
    var createdAt: Date
    var updatedAt: Date
    var doc: [String: JSON]

    static let columns = [
        "id", "uuid", "instance_uuid", "migration_type", "status", "source_compute", "source_node", "dest_compute", "dest_node",
        "old_flavor_id", "new_flavor_id", "project_id", "user_id", "created_at", "updated_at", "doc",
    ]

    init(row: any SQLRow) throws {
        id = try row.decode(column: "id", as: Int.self)
        uuid = try row.decode(column: "uuid", as: String.self)
        instanceUUID = try row.decode(column: "instance_uuid", as: String.self)
        type = try row.decode(column: "migration_type", as: String.self)
        status = try row.decode(column: "status", as: String.self)
        sourceCompute = try row.decode(column: "source_compute", as: String?.self)
        sourceNode = try row.decode(column: "source_node", as: String?.self)
        destCompute = try row.decode(column: "dest_compute", as: String?.self)
        destNode = try row.decode(column: "dest_node", as: String?.self)
        oldFlavorID = try row.decode(column: "old_flavor_id", as: String.self)
        newFlavorID = try row.decode(column: "new_flavor_id", as: String.self)
        projectID = try row.decode(column: "project_id", as: String.self)
        userID = try row.decode(column: "user_id", as: String.self)
        createdAt = Date(timeIntervalSince1970: try row.decode(column: "created_at", as: Double.self))
        updatedAt = Date(timeIntervalSince1970: try row.decode(column: "updated_at", as: Double.self))
        doc = (try JSON.parse(try row.decode(column: "doc", as: String.self))).objectValue ?? [:]
    }

    /// A new move of `instance` requested by `requester`: the record carries the requester's
    /// user and project (an admin's migration of a member's server is the admin's), as Nova's.
    init(instance: Instance, type: String, newFlavorID: String, by requester: AuthContext) {
        id = 0
        uuid = UUID().uuidString.lowercased()
        instanceUUID = instance.uuid
        self.type = type
        status = "pre-migrating"
        sourceCompute = instance.host
        sourceNode = instance.node
        oldFlavorID = instance.flavorID
        self.newFlavorID = newFlavorID
        projectID = requester.projectID ?? instance.projectID
        userID = requester.userID
        createdAt = Date()
        updatedAt = createdAt
        doc = [:]
    }

    /// Whether the move still holds resources (Nova's "in progress" statuses).
    var inProgress: Bool { !["confirmed", "reverted", "error", "failed", "completed", "done", "cancelled"].contains(status) }
}

struct MigrationStore: Sendable {
    let db: Database

    func insert(_ migration: MigrationRecord, in db: any SQLDatabase) async throws -> MigrationRecord {
        let row = try await db.raw("""
            INSERT INTO migrations (uuid, instance_uuid, migration_type, status, source_compute, source_node, dest_compute, dest_node,
            old_flavor_id, new_flavor_id, project_id, user_id, created_at, updated_at, doc) VALUES (\(bind: migration.uuid),
            \(bind: migration.instanceUUID), \(bind: migration.type), \(bind: migration.status), \(bind: migration.sourceCompute),
            \(bind: migration.sourceNode), \(bind: migration.destCompute), \(bind: migration.destNode), \(bind: migration.oldFlavorID),
            \(bind: migration.newFlavorID), \(bind: migration.projectID), \(bind: migration.userID),
            \(bind: migration.createdAt.timeIntervalSince1970), \(bind: migration.updatedAt.timeIntervalSince1970),
            \(bind: JSON.object(migration.doc).serialized())) RETURNING id
            """).first()
        var stored = migration
        stored.id = try row?.decode(column: "id", as: Int.self) ?? 0
        return stored
    }

    func get(_ uuid: String, in db: any SQLDatabase) async throws -> MigrationRecord? {
        try await select(where: "uuid = \(bind: uuid)", in: db).first
    }

    func get(_ uuid: String) async throws -> MigrationRecord? {
        try await self.db.read { db in try await get(uuid, in: db) }
    }

    /// The instance's move that still holds resources, if any.
    func current(of instance: String, in db: any SQLDatabase) async throws -> MigrationRecord? {
        try await select(where: "instance_uuid = \(bind: instance) ORDER BY id DESC", in: db).first(where: \.inProgress)
    }

    func select(where condition: SQLQueryString, in db: any SQLDatabase) async throws -> [MigrationRecord] {
        let sql: SQLQueryString = "SELECT \(unsafeRaw: MigrationRecord.columns.joined(separator: ", ")) FROM migrations WHERE " + condition
        return try await db.raw(sql).all().map(MigrationRecord.init(row:))
    }

    func save(_ migration: MigrationRecord, in db: any SQLDatabase) async throws {
        try await db.update("migrations")
            .set("status", to: SQLBind(migration.status)).set("dest_compute", to: SQLBind(migration.destCompute))
            .set("dest_node", to: SQLBind(migration.destNode)).set("updated_at", to: SQLBind(Date().timeIntervalSince1970))
            .set("doc", to: SQLBind(JSON.object(migration.doc).serialized()))
            .where("uuid", .equal, SQLBind(migration.uuid)).run()
    }

    @discardableResult
    func update(_ uuid: String, _ change: @escaping @Sendable (inout MigrationRecord) throws -> Void) async throws -> MigrationRecord? {
        try await db.transaction { db in
            let locked: SQLQueryString = self.db.kind == .postgres ? "uuid = \(bind: uuid) FOR UPDATE" : "uuid = \(bind: uuid)"
            guard var migration = try await select(where: locked, in: db).first else { return nil }
            try change(&migration)
            try await save(migration, in: db)
            return migration
        }
    }
}
