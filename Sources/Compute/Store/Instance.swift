import Foundation
import SQLKit
import StratusCore
import Virt

/// One server. Columns hold what lists filter and sort on; `details` (the `doc` column)
/// the rest: the flavor snapshot, metadata, key, user data, requested networks and
/// security groups, addresses, the last fault, and the state of a build or a move. Its
/// fields read as the instance's own (`instance.flavor`).
@dynamicMemberLookup
struct Instance: Sendable {
    var uuid: String
    var projectID: String
    var userID: String
    var name: String
    var vmState: VMState
    var taskState: TaskState?
    var powerState: PowerState
    var host: String?
    var node: String?
    var availabilityZone: String?
    var flavorID: String
    var imageRef: String
    var vcpus: Int
    var memoryMB: Int
    var rootGB: Int
    var reservationID: String
    var locked: Bool
    var deleted: Bool
    var createdAt: Date
    var updatedAt: Date
    var launchedAt: Date?
    var deletedAt: Date?
    var details: InstanceDetails

    static let columns = [
        "uuid", "project_id", "user_id", "name", "vm_state", "task_state", "power_state", "host", "node", "availability_zone",
        "flavor_id", "image_ref", "vcpus", "memory_mb", "root_gb", "reservation_id", "locked", "deleted", "created_at",
        "updated_at", "launched_at", "deleted_at", "doc",
    ]

    init(row: any SQLRow) throws {
        uuid = try row.decode(column: "uuid", as: String.self)
        projectID = try row.decode(column: "project_id", as: String.self)
        userID = try row.decode(column: "user_id", as: String.self)
        name = try row.decode(column: "name", as: String.self)
        vmState = try Self.state(try row.decode(column: "vm_state", as: String.self))
        taskState = try row.decodeNullable(column: "task_state", as: String.self).map { try Self.state($0) }
        powerState = try Self.state(try row.decode(column: "power_state", as: Int.self))
        host = try row.decodeNullable(column: "host", as: String.self)
        node = try row.decodeNullable(column: "node", as: String.self)
        availabilityZone = try row.decodeNullable(column: "availability_zone", as: String.self)
        flavorID = try row.decode(column: "flavor_id", as: String.self)
        imageRef = try row.decode(column: "image_ref", as: String.self)
        vcpus = try row.decode(column: "vcpus", as: Int.self)
        memoryMB = try row.decode(column: "memory_mb", as: Int.self)
        rootGB = try row.decode(column: "root_gb", as: Int.self)
        reservationID = try row.decode(column: "reservation_id", as: String.self)
        locked = try row.decode(column: "locked", as: Bool.self)
        deleted = try row.decode(column: "deleted", as: Bool.self)
        createdAt = Date(timeIntervalSince1970: try row.decode(column: "created_at", as: Double.self))
        updatedAt = Date(timeIntervalSince1970: try row.decode(column: "updated_at", as: Double.self))
        launchedAt = try row.decodeNullable(column: "launched_at", as: Double.self)
            .map(Date.init(timeIntervalSince1970:))
        deletedAt = try row.decodeNullable(column: "deleted_at", as: Double.self)
            .map(Date.init(timeIntervalSince1970:))
        // Brief lists select every column but `doc` (see `listColumns`).
        details = row.contains(column: "doc")
            ? try InstanceDetails.parsing(try row.decode(column: "doc", as: String.self)) : InstanceDetails()
    }

    /// The columns of a brief list, which shows only ids and names: parsing `doc` is most
    /// of what reading a row costs.
    static let listColumns = columns.filter { $0 != "doc" }

    init(
        uuid: String, projectID: String, userID: String, name: String, flavor: Flavor, imageRef: String, reservationID: String,
        details: InstanceDetails
    ) {
        let now = Date()
        self.uuid = uuid
        self.projectID = projectID
        self.userID = userID
        self.name = name
        vmState = .building
        taskState = .scheduling
        powerState = .noState
        flavorID = flavor.id
        self.imageRef = imageRef
        vcpus = flavor.vcpus
        memoryMB = flavor.memoryMB
        rootGB = flavor.rootGB
        self.reservationID = reservationID
        locked = false
        deleted = false
        createdAt = now
        updatedAt = now
        self.details = details
    }

    var values: [any Encodable & Sendable] {
        [
            uuid, projectID, userID, name, vmState.rawValue, taskState?.rawValue, powerState.rawValue, host, node, availabilityZone, flavorID, imageRef, vcpus,
            memoryMB, rootGB, reservationID, locked, deleted, createdAt.timeIntervalSince1970, updatedAt.timeIntervalSince1970,
            launchedAt?.timeIntervalSince1970, deletedAt?.timeIntervalSince1970, JSON.object(details.document).serialized(),
        ]
    }

    private static func state<State: RawRepresentable>(_ raw: State.RawValue) throws -> State {
        guard let state = State(rawValue: raw) else { throw DatabaseStateError(column: "\(State.self)", value: "\(raw)") }
        return state
    }

    subscript<Value>(dynamicMember field: WritableKeyPath<InstanceDetails, Value>) -> Value {
        get { details[keyPath: field] }
        set { details[keyPath: field] = newValue }
    }

    /// Takes `flavor` (an embedded flavor copy) as the server's own, sizes included.
    mutating func apply(flavor: JSON) {
        self.flavor = flavor
        flavorID = flavor["id"]?.stringValue ?? flavorID
        vcpus = flavor["vcpus"]?.intValue ?? vcpus
        memoryMB = flavor["ram"]?.intValue ?? memoryMB
        rootGB = flavor["disk"]?.intValue ?? rootGB
    }

    /// Forgets a finished (or abandoned) resize or migration.
    mutating func clearMove() {
        details.oldFlavor = nil
        details.newFlavor = nil
        details.oldVMState = nil
        details.migration = nil
    }

    /// The ids of the Neutron ports this server was given or created with.
    var portIDs: [String] {
        get { details.ports }
        set { details.ports = newValue }
    }
}

/// A stored state this code does not know: a newer version wrote the row.
struct DatabaseStateError: Error, CustomStringConvertible {
    let column: String
    let value: String
    var description: String { "unknown \(column) '\(value)' in the database" }
}

/// Reads and writes of instances; every change is one transaction.
struct InstanceStore: Sendable {
    let db: Database
    /// Where state changes are announced (`notifications` topic), if anywhere.
    var notifications: (any BusTransport)? = nil
    let updates = WriteBatcher<PendingUpdate, Change?>()

    func insert(_ instances: [Instance], tags: [String], in db: any SQLDatabase) async throws {
        for instance in instances {
            try await db.insert(into: "instances").columns(Instance.columns).values(instance.values.map { SQLBind($0) }).run()
            for tag in tags {
                try await db.insert(into: "instance_tags").columns("instance_uuid", "tag").values(SQLBind(instance.uuid), SQLBind(tag)).run()
            }
        }
    }

    func get(_ uuid: String, includeDeleted: Bool = false, in db: any SQLDatabase) async throws -> Instance? {
        var query = db.select().columns(Instance.columns.map { SQLColumn($0) }).from("instances").where("uuid", .equal, SQLBind(uuid))
        if !includeDeleted { query = query.where("deleted", .equal, SQLBind(false)) }
        return try await query.first().map(Instance.init(row:))
    }

    /// The live instance, locked until the transaction `db` ends: state checks followed by
    /// a change (a new task state) must read through here, or two concurrent requests on
    /// PostgreSQL both see the old state. (SQLite runs one transaction at a time anyway.)
    func getForUpdate(_ uuid: String, in db: any SQLDatabase) async throws -> Instance? {
        try await db.select().columns(Instance.columns.map { SQLColumn($0) }).from("instances").where("uuid", .equal, SQLBind(uuid))
            .where("deleted", .equal, SQLBind(false)).for(.update).first().map(Instance.init(row:))
    }

    func get(_ uuid: String, includeDeleted: Bool = false) async throws -> Instance? {
        try await db.read { db in try await get(uuid, includeDeleted: includeDeleted, in: db) }
    }

    func save(_ instance: Instance, in db: any SQLDatabase) async throws {
        var instance = instance
        instance.updatedAt = Date()
        var update = db.update("instances")
        for (column, value) in zip(Instance.columns, instance.values) where column != "uuid" {
            update = update.set(SQLColumn(column), to: SQLBind(value))
        }
        try await update.where("uuid", .equal, SQLBind(instance.uuid)).run()
    }

    /// Loads, changes and saves one live instance, all or nothing; nil when it is gone. Updates
    /// that arrive together share a transaction (see `write(_:)`).
    @discardableResult
    func update(_ uuid: String, _ change: @escaping @Sendable (inout Instance) throws -> Void) async throws -> Instance? {
        let changed = try await updates.submit(PendingUpdate(uuid: uuid, change: change)) { batch in
            await write(batch)
        }
        guard let changed else { return nil }
        await announce(from: changed.before, to: changed.after)
        return changed.after
    }

    struct PendingUpdate: Sendable {
        let uuid: String
        let change: @Sendable (inout Instance) throws -> Void
    }

    typealias Change = (before: Instance, after: Instance)

    /// Each update's outcome, in order. A batch runs in one transaction, rows locked in uuid
    /// order (two processes batching the same rows cannot deadlock); if any update throws, the
    /// transaction is undone and every update runs again alone, for its own answer.
    private func write(_ batch: [PendingUpdate]) async -> [Result<Change?, any Error>] {
        let order = batch.indices.sorted { (batch[$0].uuid, $0) < (batch[$1].uuid, $1) }
        do {
            let changes = try await db.transaction { db in
                var changes = [Change?](repeating: nil, count: batch.count)
                for index in order { changes[index] = try await apply(batch[index], in: db) }
                return changes
            }
            return changes.map { .success($0) }
        } catch {
            guard batch.count > 1 else { return [.failure(error)] }
            var results: [Result<Change?, any Error>] = []
            for update in batch { results += await write([update]) }
            return results
        }
    }

    private func apply(_ update: PendingUpdate, in db: any SQLDatabase) async throws -> Change? {
        guard var instance = try await getForUpdate(update.uuid, in: db) else { return nil }
        let before = instance
        try update.change(&instance)
        try await save(instance, in: db)
        return (before, instance)
    }

    func select(where condition: SQLQueryString, in db: any SQLDatabase) async throws -> [Instance] {
        let sql: SQLQueryString = "SELECT \(unsafeRaw: Instance.columns.joined(separator: ", ")) FROM instances WHERE " + condition
        return try await db.raw(sql).all().map(Instance.init(row:))
    }

    func tags(of uuids: [String], in db: any SQLDatabase) async throws -> [String: [String]] {
        guard !uuids.isEmpty else { return [:] }
        let rows = try await db.select().columns("instance_uuid", "tag").from("instance_tags")
            .where("instance_uuid", .in, SQLBind.group(uuids)).orderBy("tag").all()
        var tags: [String: [String]] = [:]
        for row in rows {
            tags[try row.decode(column: "instance_uuid", as: String.self), default: []].append(try row.decode(column: "tag", as: String.self))
        }
        return tags
    }
}
