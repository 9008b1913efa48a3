import SQLKit
import StratusCore

/// A kind of Network API resource (network, port, router, ...): where it lives in the
/// URL space and the database, its attributes, and the hooks that give it behaviour.
/// The generic API (ResourceAPI) does validation, policy, filtering, paging, tags and
/// revisions for every kind the same way.
struct ResourceKind: Sendable {
    /// Plural: the URL segment and the list key (`networks`).
    let collection: String
    /// Singular: the body key and the policy suffix (`network`).
    let member: String
    let table: String
    /// Used in messages: "Network <id> could not be found."
    let displayName: String
    var attributes: [Attribute]
    var hooks: any ResourceHooks
    /// URL of the collection relative to the API root; `{parent}` is the parent's id.
    var path: String
    /// The attribute holding the parent's id for nested collections (QoS rules).
    var parentAttribute: String?
    var parentKind: String?
    /// The quota counted on create (`network`), if any.
    var quotaResource: String?
    var hasTags: Bool
    /// Whether rows belong to a project (agents and availability zones do not).
    var projectScoped: Bool
    /// Extra indexes, each a list of column names.
    var indexes: [[String]]
    var notFoundType: String
    /// Whether the generic REST routes serve it (false for kinds with only custom routes).
    var routed: Bool

    init(
        collection: String, member: String, table: String? = nil, displayName: String, attributes: [Attribute],
        hooks: any ResourceHooks = NoHooks(), path: String? = nil, parentAttribute: String? = nil, parentKind: String? = nil,
        quotaResource: String? = nil, hasTags: Bool = true, projectScoped: Bool = true, indexes: [[String]] = [],
        notFoundType: String? = nil, routed: Bool = true
    ) {
        self.routed = routed
        self.collection = collection
        self.member = member
        self.table = table ?? collection
        self.displayName = displayName
        self.attributes = attributes
        self.hooks = hooks
        self.path = path ?? collection
        self.parentAttribute = parentAttribute
        self.parentKind = parentKind
        self.quotaResource = quotaResource
        self.hasTags = hasTags
        self.projectScoped = projectScoped
        self.indexes = indexes
        self.notFoundType = notFoundType ?? displayName.replacingOccurrences(of: " ", with: "") + "NotFound"
    }

    func attribute(_ name: String) -> Attribute? { attributes.first { $0.name == name } }

    var columns: [Attribute] { attributes.filter { $0.column != .virtual } }

    /// The table of the kind's stored attributes.
    var storage: RecordTable {
        RecordTable(table, columns: columns.map { RecordColumn($0.name, $0.column.storedAs, column: $0.columnName) })
    }
}

/// The caller of one request.
struct Caller: Sendable {
    let auth: AuthContext
    let isAdmin: Bool

    var projectID: String { auth.projectID ?? "" }
}

/// What a hook works with: the transaction, the caller, the service, and work to do
/// once the transaction has committed (agent notifications).
final class HookContext: @unchecked Sendable {  // used by one request task at a time
    let db: any SQLDatabase
    private(set) var caller: Caller
    let api: NetworkAPI
    private(set) var afterCommit: [@Sendable () async -> Void] = []

    init(db: any SQLDatabase, caller: Caller, api: NetworkAPI) {
        self.db = db
        self.caller = caller
        self.api = api
    }

    func onCommit(_ action: @escaping @Sendable () async -> Void) { afterCommit.append(action) }

    /// Runs `body` with admin rights: the service acting on its own behalf (router
    /// gateway and floating IP ports belong to no project).
    func elevated<T>(_ body: () async throws -> T) async throws -> T {
        let saved = caller
        caller = Caller(auth: saved.auth, isAdmin: true)
        defer { caller = saved }
        return try await body()
    }

    /// Creates a record on the service's behalf: defaults, hooks and quota as for a
    /// client request, without the caller's policy checks.
    func createInternal(_ kind: ResourceKind, _ input: Record) async throws -> Record {
        try await elevated {
            let (record, given) = try api.prepareCreate(kind, input, caller: caller)
            return try await api.insert(kind, record, given: given, ctx: self, checkPolicy: false)
        }
    }
}

/// Per-kind behaviour around the generic create, update, delete and read paths. Every
/// method has a default that does nothing.
protocol ResourceHooks: Sendable {
    /// Checks and completes a new record (defaults applied) before it is inserted.
    func willCreate(_ record: inout Record, ctx: HookContext) async throws
    /// Creates dependent rows once the record exists (IP allocations, default rules).
    func didCreate(_ record: inout Record, ctx: HookContext) async throws
    /// Checks an update; `record` already holds the new values, `old` the stored ones.
    func willUpdate(_ record: inout Record, old: Record, changes: Record, ctx: HookContext) async throws
    func didUpdate(_ record: inout Record, old: Record, ctx: HookContext) async throws
    /// Refuses deletes a client may not make directly (router ports through the port API).
    func willDeleteByUser(_ record: Record, ctx: HookContext) async throws
    /// Runs before a list or show (Neutron creates a project's default security group here).
    func beforeRead(_ caller: Caller, api: NetworkAPI) async throws
    /// Refuses or prepares a delete (in-use checks, dependent rows).
    func willDelete(_ record: Record, ctx: HookContext) async throws
    func didDelete(_ record: Record, ctx: HookContext) async throws
    /// Fills computed attributes of records read from the table; `caller` is who reads
    /// them (nil inside internal operations).
    func expand(_ records: inout [Record], caller: Caller?, db: any SQLDatabase, api: NetworkAPI) async throws
    /// The rows a non-admin caller may see; nil means the caller's project only.
    func visibility(_ caller: Caller) -> SQLQueryString?
    /// A condition for a filter the generic code cannot express, or nil to use the column.
    func filter(_ key: String, values: [String]) throws -> SQLQueryString?
}

extension ResourceHooks {
    func willCreate(_ record: inout Record, ctx: HookContext) async throws {}
    func didCreate(_ record: inout Record, ctx: HookContext) async throws {}
    func willUpdate(_ record: inout Record, old: Record, changes: Record, ctx: HookContext) async throws {}
    func didUpdate(_ record: inout Record, old: Record, ctx: HookContext) async throws {}
    func willDeleteByUser(_ record: Record, ctx: HookContext) async throws {}
    func beforeRead(_ caller: Caller, api: NetworkAPI) async throws {}
    func willDelete(_ record: Record, ctx: HookContext) async throws {}
    func didDelete(_ record: Record, ctx: HookContext) async throws {}
    func expand(_ records: inout [Record], caller: Caller?, db: any SQLDatabase, api: NetworkAPI) async throws {}
    func visibility(_ caller: Caller) -> SQLQueryString? { nil }
    func filter(_ key: String, values: [String]) throws -> SQLQueryString? { nil }
}

struct NoHooks: ResourceHooks {}

extension Record {
    func string(_ key: String) -> String? { self[key]?.stringValue }
    func bool(_ key: String) -> Bool { self[key]?.boolValue ?? false }
    func int(_ key: String) -> Int? { self[key]?.intValue }
    var id: String { self["id"]?.stringValue ?? "" }
    var projectID: String { self["project_id"]?.stringValue ?? "" }
}
