import Foundation
import SQLKit
import StratusCore
import Synchronization

/// A role as it appears in tokens and assignments.
struct RoleRef: Sendable, Hashable {
    let id: String
    let name: String
    let domainID: String?

    var json: JSON { ["id": .string(id), "name": .string(name), "domain_id": JSON(domainID)] }
}

/// One row of the assignments table. `target` is a project id, a domain id or `system`.
struct Assignment: Sendable, Hashable {
    enum Kind: String, Sendable { case userProject = "UserProject", groupProject = "GroupProject"
        case userDomain = "UserDomain", groupDomain = "GroupDomain", userSystem = "UserSystem", groupSystem = "GroupSystem" }
    let kind: Kind
    let actorID: String
    let targetID: String
    let roleID: String
    let inherited: Bool

    var isGroup: Bool { kind == .groupProject || kind == .groupDomain || kind == .groupSystem }
}

/// The identity database and the queries that span tables. Every committed write bumps
/// `generation`, which invalidates the token-validation and catalog caches.
final class IdentityStore: Sendable {
    let db: Database
    let hasher: PasswordHasher
    private let generationCounter = Atomic<Int>(0)

    init(db: Database, hasher: PasswordHasher) {
        self.db = db
        self.hasher = hasher
    }

    var generation: Int { generationCounter.load(ordering: .acquiring) }

    func read<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        try await db.read(body)
    }

    func write<T: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        let result = try await db.transaction { db in
            let result = try await body(db)
            // The shared counter tells other processes on this database to drop their caches.
            try await db.update("identity_state").set(SQLIdentifier("generation"), to: SQLRaw("generation + 1"))
                .where("id", .equal, SQLBind(1)).run()
            return result
        }
        generationCounter.add(1, ordering: .releasing)
        return result
    }

    /// Drops this process's caches when another process has written (`write` bumps the
    /// database's generation). Returns whether anything changed.
    func syncGeneration(lastSeen: inout Int) async throws -> Bool {
        let current = try await db.read { db in
            try await db.select().column("generation").from("identity_state").where("id", .equal, SQLBind(1)).first()
                .map { try $0.decode(column: "generation", as: Int.self) } ?? 0
        }
        guard current != lastSeen else { return false }
        lastSeen = current
        generationCounter.add(1, ordering: .releasing)
        return true
    }

    // MARK: Assignments

    func assignments(
        in db: any SQLDatabase, actorIDs: [String]? = nil, targetIDs: [String]? = nil, roleID: String? = nil,
        kinds: [Assignment.Kind]? = nil
    ) async throws -> [Assignment] {
        var query = db.select().columns("type", "actor_id", "target_id", "role_id", "inherited").from("assignments")
        if let actorIDs {
            if actorIDs.isEmpty { return [] }
            query = query.where("actor_id", .in, SQLBind.group(actorIDs))
        }
        if let targetIDs {
            if targetIDs.isEmpty { return [] }
            query = query.where("target_id", .in, SQLBind.group(targetIDs))
        }
        if let roleID { query = query.where("role_id", .equal, SQLBind(roleID)) }
        if let kinds { query = query.where("type", .in, SQLBind.group(kinds.map(\.rawValue))) }
        return try await query.all().compactMap { row in
            guard let kind = Assignment.Kind(rawValue: try row.decode(column: "type", as: String.self)) else { return nil }
            return Assignment(
                kind: kind, actorID: try row.decode(column: "actor_id", as: String.self),
                targetID: try row.decode(column: "target_id", as: String.self),
                roleID: try row.decode(column: "role_id", as: String.self),
                inherited: try row.decode(column: "inherited", as: Bool.self))
        }
    }

    func addAssignment(_ a: Assignment, in db: any SQLDatabase) async throws {
        let exists = try await assignments(in: db, actorIDs: [a.actorID], targetIDs: [a.targetID], roleID: a.roleID, kinds: [a.kind])
            .contains { $0.inherited == a.inherited }
        if exists { return }
        try await db.insert(into: "assignments").columns("type", "actor_id", "target_id", "role_id", "inherited")
            .values(SQLBind(a.kind.rawValue), SQLBind(a.actorID), SQLBind(a.targetID), SQLBind(a.roleID), SQLBind(a.inherited))
            .run()
    }

    /// Deletes one assignment; false if it did not exist.
    func removeAssignment(_ a: Assignment, in db: any SQLDatabase) async throws -> Bool {
        let exists = try await assignments(in: db, actorIDs: [a.actorID], targetIDs: [a.targetID], roleID: a.roleID, kinds: [a.kind])
            .contains { $0.inherited == a.inherited }
        guard exists else { return false }
        try await db.delete(from: "assignments")
            .where("type", .equal, SQLBind(a.kind.rawValue)).where("actor_id", .equal, SQLBind(a.actorID))
            .where("target_id", .equal, SQLBind(a.targetID)).where("role_id", .equal, SQLBind(a.roleID))
            .where("inherited", .equal, SQLBind(a.inherited))
            .run()
        return true
    }

    func groupIDs(ofUser userID: String, in db: any SQLDatabase) async throws -> [String] {
        try await db.select().column("group_id").from("user_groups").where("user_id", .equal, SQLBind(userID)).all()
            .map { try $0.decode(column: "group_id", as: String.self) }
    }

    func userIDs(inGroup groupID: String, in db: any SQLDatabase) async throws -> [String] {
        try await db.select().column("user_id").from("user_groups").where("group_id", .equal, SQLBind(groupID)).all()
            .map { try $0.decode(column: "user_id", as: String.self) }
    }

    /// Parent chain of a project, nearest first (not including the project itself).
    func ancestors(ofProject projectID: String, in db: any SQLDatabase) async throws -> [Record] {
        var result: [Record] = []
        var current = try await Kinds.project.fetch(id: projectID, from: db)
        while let parentID = current?["parent_id"]?.stringValue, result.count < 64 {
            guard let parent = try await Kinds.project.fetch(id: parentID, from: db) else { break }
            result.append(parent)
            current = parent
        }
        return result
    }

    /// All descendants of a project (breadth first).
    func descendants(ofProject projectID: String, in db: any SQLDatabase) async throws -> [Record] {
        var result: [Record] = []
        var frontier = [projectID]
        while !frontier.isEmpty, result.count < 10_000 {
            let children = try await Kinds.project.storage.select(where: "parent_id IN " + SQLQueryString.list(frontier), db: db)
            result.append(contentsOf: children)
            frontier = children.compactMap { $0["id"]?.stringValue }
        }
        return result
    }

    /// Role ids implied by `roleIDs`, transitively, including the given ones.
    func expandImplied(_ roleIDs: Set<String>, in db: any SQLDatabase) async throws -> Set<String> {
        let rules = try await db.select().columns("prior_role_id", "implied_role_id").from("implied_roles").all().map {
            (try $0.decode(column: "prior_role_id", as: String.self), try $0.decode(column: "implied_role_id", as: String.self))
        }
        var result = roleIDs
        var frontier = Array(roleIDs)
        while let next = frontier.popLast() {
            for (prior, implied) in rules where prior == next && !result.contains(implied) {
                result.insert(implied)
                frontier.append(implied)
            }
        }
        return result
    }

    func roles(ids: Set<String>, in db: any SQLDatabase) async throws -> [RoleRef] {
        try await Kinds.role.list(from: db, idIn: Array(ids)).map(Self.roleRef)
    }

    static func roleRef(_ record: Record) -> RoleRef {
        let domain = record["domain_id"]?.stringValue
        return RoleRef(
            id: record["id"]?.stringValue ?? "", name: record["name"]?.stringValue ?? "",
            domainID: domain == Kinds.globalRole ? nil : domain)
    }

    /// The roles a user holds on a scope: direct and group assignments, inherited ones from
    /// parent projects and the owning domain, then implied roles. Domain-specific roles only
    /// contribute the global roles they imply, as in Keystone.
    func effectiveRoles(userID: String, scope: TokenPayload.Scope, in db: any SQLDatabase) async throws -> [RoleRef] {
        let actors = [userID] + (try await groupIDs(ofUser: userID, in: db))
        var direct: Set<String> = []
        switch scope {
        case .unscoped:
            return []
        case .system:
            direct = Set(try await assignments(in: db, actorIDs: actors, targetIDs: ["system"], kinds: [.userSystem, .groupSystem]).map(\.roleID))
        case .domain(let domainID):
            direct = Set(try await assignments(in: db, actorIDs: actors, targetIDs: [domainID], kinds: [.userDomain, .groupDomain])
                .filter { !$0.inherited }.map(\.roleID))
        case .project(let projectID):
            guard let project = try await Kinds.project.fetch(id: projectID, from: db) else { return [] }
            let ancestors = try await ancestors(ofProject: projectID, in: db).compactMap { $0["id"]?.stringValue }
            let domainID = project["domain_id"]?.stringValue ?? ""
            let found = try await assignments(in: db, actorIDs: actors, targetIDs: [projectID, domainID] + ancestors)
            for a in found {
                if a.targetID == projectID && !a.inherited && (a.kind == .userProject || a.kind == .groupProject) {
                    direct.insert(a.roleID)
                } else if a.inherited && a.targetID != projectID {
                    direct.insert(a.roleID)
                }
            }
        }
        let all = try await expandImplied(direct, in: db)
        return try await roles(ids: all, in: db).filter { $0.domainID == nil }.sorted { $0.name < $1.name }
    }
}
