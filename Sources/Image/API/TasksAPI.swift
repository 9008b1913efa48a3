import Foundation
import Hummingbird
import StratusCore

extension ImageAPI {
    func registerTasks(on router: Router<StratusContext>) {
        router.get("/v2/tasks") { request, context in
            try policy.enforce("get_tasks", auth: context.auth)
            let limit = min(Int(request.query("limit") ?? "") ?? limits.pageDefault, limits.pageMax)
            let tasks = try await db.read { db in
                try await TaskRepository().list(owner: nil, imageID: nil, status: request.query("status"), type: request.query("type"), limit: limit, in: db)
            }
            return Response.json(["tasks": .array(tasks.map { $0.rendered() }), "schema": "/v2/schemas/tasks", "first": "/v2/tasks"])
        }
        router.get("/v2/tasks/:task_id") { _, context in
            try policy.enforce("get_task", auth: context.auth)
            let id = context.parameters.get("task_id") ?? ""
            guard let task = try await db.read({ db in try await TaskRepository().get(id, in: db) }) else {
                throw APIError.notFound("Task with the given id \(id) was not found")
            }
            return Response.json(task.rendered())
        }
        router.post("/v2/tasks") { request, context -> Response in
            try policy.enforce("add_task", auth: context.auth)
            let body = try await request.jsonObject(context: context)
            guard body["type"]?.stringValue == "import" else {
                throw APIError.badRequest("Task type must be 'import'.")
            }
            // The legacy tasks import flow is superseded by interoperable image import.
            throw APIError.badRequest("The legacy 'import' task is not supported; use interoperable image import (POST /v2/images/{image_id}/import).")
        }
        router.get("/v2/images/:image_id/tasks") { _, context in
            let (image, _) = try await db.read { db in try await visibleImage(context, in: db) }
            let tasks = try await db.read { db in
                try await TaskRepository().list(owner: nil, imageID: image.id, status: nil, type: nil, limit: limits.pageMax, in: db)
            }
            return Response.json(["tasks": .array(tasks.map { $0.rendered() })])
        }
    }
}
