import Foundation
import SQLKit
import StratusCore

/// A Glance task: the stored state machine of an import (`pending → processing → success`
/// or `failure`), so a restarted process resumes what was under way.
struct TaskRecord: Sendable {
    var id: String
    var type: String
    var status: String
    var owner: String?
    var userID: String?
    var requestID: String?
    var imageID: String?
    var input: JSON
    var result: JSON?
    var message: String
    var createdAt: Double
    var updatedAt: Double
    var expiresAt: Double?

    static let columns = ["id", "type", "status", "owner", "user_id", "request_id", "image_id", "input", "result", "message", "created_at", "updated_at", "expires_at"]

    var values: [any Encodable & Sendable] {
        [id, type, status, owner, userID, requestID, imageID, input.serialized(), result?.serialized(), message, createdAt, updatedAt, expiresAt]
    }

    init(id: String, type: String, owner: String?, userID: String?, requestID: String?, imageID: String?, input: JSON, now: Double) {
        self.id = id
        self.type = type
        self.status = "pending"
        self.owner = owner
        self.userID = userID
        self.requestID = requestID
        self.imageID = imageID
        self.input = input
        self.message = ""
        self.createdAt = now
        self.updatedAt = now
    }

    init(row: any SQLRow) throws {
        id = try row.decode(column: "id", as: String.self)
        type = try row.decode(column: "type", as: String.self)
        status = try row.decode(column: "status", as: String.self)
        owner = try row.decode(column: "owner", as: String?.self)
        userID = try row.decode(column: "user_id", as: String?.self)
        requestID = try row.decode(column: "request_id", as: String?.self)
        imageID = try row.decode(column: "image_id", as: String?.self)
        input = try JSON.parse(try row.decode(column: "input", as: String.self))
        result = try row.decode(column: "result", as: String?.self).map { try JSON.parse($0) }
        message = try row.decode(column: "message", as: String.self)
        createdAt = try row.decode(column: "created_at", as: Double.self)
        updatedAt = try row.decode(column: "updated_at", as: Double.self)
        expiresAt = try row.decode(column: "expires_at", as: Double?.self)
    }

    func rendered() -> JSON {
        func time(_ t: Double?) -> JSON { t.map { .string(Timestamp.iso8601(Date(timeIntervalSince1970: $0))) } ?? .null }
        return [
            "id": .string(id), "type": .string(type), "status": .string(status), "owner": JSON(owner),
            "input": input, "result": result ?? .null, "message": .string(message),
            "created_at": time(createdAt), "updated_at": time(updatedAt), "expires_at": time(expiresAt),
            "image_id": JSON(imageID), "request_id": JSON(requestID), "user_id": JSON(userID),
            "self": .string("/v2/tasks/\(id)"), "schema": "/v2/schemas/task",
        ]
    }
}

struct TaskRepository: Sendable {
    func insert(_ task: TaskRecord, in db: any SQLDatabase) async throws {
        try await db.insert(into: "tasks").columns(TaskRecord.columns).values(task.values.map { SQLBind($0) }).run()
    }

    func get(_ id: String, in db: any SQLDatabase) async throws -> TaskRecord? {
        try await db.select().columns(TaskRecord.columns.map { SQLIdentifier($0) }).from("tasks").where("id", .equal, SQLBind(id))
            .where("deleted_at", .is, SQLLiteral.null).first().map(TaskRecord.init(row:))
    }

    func save(_ task: TaskRecord, in db: any SQLDatabase) async throws {
        try await db.update("tasks").set("status", to: SQLBind(task.status)).set("result", to: SQLBind(task.result?.serialized()))
            .set("message", to: SQLBind(task.message)).set("updated_at", to: SQLBind(task.updatedAt))
            .set("expires_at", to: SQLBind(task.expiresAt)).where("id", .equal, SQLBind(task.id)).run()
    }

    /// Tasks newest first, optionally only `owner`'s or one image's.
    func list(owner: String?, imageID: String?, status: String?, type: String?, limit: Int, in db: any SQLDatabase) async throws -> [TaskRecord] {
        var select = db.select().columns(TaskRecord.columns.map { SQLIdentifier($0) }).from("tasks").where("deleted_at", .is, SQLLiteral.null)
        if let owner { select = select.where("owner", .equal, SQLBind(owner)) }
        if let imageID { select = select.where("image_id", .equal, SQLBind(imageID)) }
        if let status { select = select.where("status", .equal, SQLBind(status)) }
        if let type { select = select.where("type", .equal, SQLBind(type)) }
        return try await select.orderBy("created_at", .descending).orderBy("id", .descending).limit(limit).all().map(TaskRecord.init(row:))
    }

    /// Ids of tasks a crash left unfinished.
    func unfinished(in db: any SQLDatabase) async throws -> [String] {
        try await db.select().column("id").from("tasks").where("status", .in, SQLBind.group(["pending", "processing"]))
            .where("deleted_at", .is, SQLLiteral.null).orderBy("created_at").all().map { try $0.decode(column: "id", as: String.self) }
    }
}
