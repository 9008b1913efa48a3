import Foundation
import SQLKit
import StratusCore

/// A server group: a placement policy over its member servers.
struct ServerGroup: Sendable {
    var uuid: String
    var name: String
    var policy: String
    var rules: [String: JSON]
    var projectID: String
    var userID: String
    var members: [String] = []

    static let policies = ["affinity", "anti-affinity", "soft-affinity", "soft-anti-affinity"]

    init(uuid: String, name: String, policy: String, rules: [String: JSON], projectID: String, userID: String) {
        self.uuid = uuid
        self.name = name
        self.policy = policy
        self.rules = rules
        self.projectID = projectID
        self.userID = userID
    }

    init(row: any SQLRow) throws {
        uuid = try row.decode(column: "uuid", as: String.self)
        name = try row.decode(column: "name", as: String.self)
        policy = try row.decode(column: "policy", as: String.self)
        rules = (try JSON.parse(try row.decode(column: "rules", as: String.self))).objectValue ?? [:]
        projectID = try row.decode(column: "project_id", as: String.self)
        userID = try row.decode(column: "user_id", as: String.self)
    }

    /// Anti-affinity's `max_server_per_host` rule (1 when not set).
    var maxServersPerHost: Int { rules["max_server_per_host"]?.intValue ?? 1 }
}

struct ServerGroupStore: Sendable {
    let db: Database

    func insert(_ group: ServerGroup, in db: any SQLDatabase) async throws {
        try await db.insert(into: "server_groups")
            .columns("uuid", "name", "policy", "rules", "project_id", "user_id", "created_at")
            .values(SQLBind(group.uuid), SQLBind(group.name), SQLBind(group.policy), SQLBind(JSON.object(group.rules).serialized()),
                    SQLBind(group.projectID), SQLBind(group.userID), SQLBind(Date().timeIntervalSince1970))
            .run()
    }

    /// Groups with their live members, in creation order.
    func select(where condition: SQLQueryString, in db: any SQLDatabase) async throws -> [ServerGroup] {
        let sql: SQLQueryString = "SELECT uuid, name, policy, rules, project_id, user_id FROM server_groups WHERE " + condition
        var groups = try await db.raw(sql + " ORDER BY created_at, uuid").all().map(ServerGroup.init(row:))
        guard !groups.isEmpty else { return [] }
        let rows = try await db.raw("""
            SELECT m.group_uuid, m.instance_uuid FROM server_group_members m JOIN instances i ON i.uuid = m.instance_uuid
            WHERE i.deleted = \(bind: false) AND m.group_uuid IN
            """ + SQLQueryString.list(groups.map(\.uuid)) + " ORDER BY i.created_at").all()
        var members: [String: [String]] = [:]
        for row in rows {
            members[try row.decode(column: "group_uuid", as: String.self), default: []].append(try row.decode(column: "instance_uuid", as: String.self))
        }
        for index in groups.indices { groups[index].members = members[groups[index].uuid] ?? [] }
        return groups
    }

    func get(_ uuid: String, in db: any SQLDatabase) async throws -> ServerGroup? {
        try await select(where: "uuid = \(bind: uuid)", in: db).first
    }

    func get(_ uuid: String) async throws -> ServerGroup? {
        try await self.db.read { db in try await get(uuid, in: db) }
    }

    func delete(_ uuid: String, in db: any SQLDatabase) async throws {
        try await db.delete(from: "server_group_members").where("group_uuid", .equal, SQLBind(uuid)).run()
        try await db.delete(from: "server_groups").where("uuid", .equal, SQLBind(uuid)).run()
    }

    func addMembers(_ instances: [String], to group: String, in db: any SQLDatabase) async throws {
        for instance in instances {
            try await db.insert(into: "server_group_members").columns("group_uuid", "instance_uuid")
                .values(SQLBind(group), SQLBind(instance)).run()
        }
    }

    /// The group `instance` belongs to, if any.
    func group(of instance: String) async throws -> ServerGroup? {
        try await self.db.read { db in
            try await select(where: "uuid IN (SELECT group_uuid FROM server_group_members WHERE instance_uuid = \(bind: instance))", in: db).first
        }
    }
}
