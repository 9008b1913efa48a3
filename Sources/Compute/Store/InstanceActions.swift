import Foundation
import SQLKit
import StratusCore

/// Instance actions and their events (`os-instance-actions`): every operation on a
/// server records who asked, and each step its start, finish and result.
struct InstanceActions: Sendable {
    let db: Database

    /// Records the start of `action`; returns its id.
    @discardableResult
    func start(_ action: String, instance: String, requestID: String, projectID: String, userID: String, in db: any SQLDatabase) async throws -> String {
        let id = UUID().uuidString.lowercased()
        let now = Date().timeIntervalSince1970
        try await db.insert(into: "instance_actions")
            .columns("id", "instance_uuid", "request_id", "action", "project_id", "user_id", "start_time", "updated_at")
            .values(SQLBind(id), SQLBind(instance), SQLBind(requestID), SQLBind(action), SQLBind(projectID), SQLBind(userID), SQLBind(now), SQLBind(now))
            .run()
        return id
    }

    /// The newest action of `instance` named `action`.
    func latest(_ action: String, instance: String, in db: any SQLDatabase) async throws -> String? {
        try await db.select().column("id").from("instance_actions").where("instance_uuid", .equal, SQLBind(instance))
            .where("action", .equal, SQLBind(action)).orderBy("start_time", .descending).limit(1).first()?
            .decode(column: "id", as: String.self)
    }

    func startEvent(_ event: String, action: String, instance: String, host: String?) async throws {
        try await db.transaction { db in
            guard let id = try await latest(action, instance: instance, in: db) else { return }
            try await db.delete(from: "instance_action_events").where("action_id", .equal, SQLBind(id)).where("event", .equal, SQLBind(event)).run()
            try await db.insert(into: "instance_action_events").columns("action_id", "event", "start_time", "host")
                .values(SQLBind(id), SQLBind(event), SQLBind(Date().timeIntervalSince1970), SQLBind(host)).run()
            try await db.update("instance_actions").set("updated_at", to: SQLBind(Date().timeIntervalSince1970)).where("id", .equal, SQLBind(id)).run()
        }
    }

    func finishEvent(_ event: String, action: String, instance: String, error: String? = nil) async throws {
        try await db.transaction { db in
            guard let id = try await latest(action, instance: instance, in: db) else { return }
            try await db.update("instance_action_events")
                .set("finish_time", to: SQLBind(Date().timeIntervalSince1970))
                .set("result", to: SQLBind(error == nil ? "Success" : "Error"))
                .set("traceback", to: SQLBind(error))
                .where("action_id", .equal, SQLBind(id)).where("event", .equal, SQLBind(event)).run()
            if let error {
                try await db.update("instance_actions").set("message", to: SQLBind(error)).where("id", .equal, SQLBind(id)).run()
            }
            try await db.update("instance_actions").set("updated_at", to: SQLBind(Date().timeIntervalSince1970)).where("id", .equal, SQLBind(id)).run()
        }
    }
}
