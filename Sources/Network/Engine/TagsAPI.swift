import Foundation
import Hummingbird
import SQLKit
import StratusCore

/// `/{collection}/{id}/tags`: read, replace, add and remove a resource's tags. Changing
/// tags bumps the resource's revision like any other update.
extension NetworkAPI {
    func registerTags(_ kind: ResourceKind, base: String, on router: Router<StratusContext>) {
        router.get(RouterPath(base + "/:id/tags")) { _, context -> Response in
            let (_, tags) = try await self.tagged(kind, context, write: false) { _ in nil }
            return .json(["tags": JSON(tags)])
        }
        router.put(RouterPath(base + "/:id/tags")) { request, context -> Response in
            let body = try await request.jsonObject(context: context)
            let tags = try Self.tagList(body["tags"] ?? .null)
            let (_, result) = try await self.tagged(kind, context, write: true) { _ in tags }
            return .json(["tags": JSON(result)])
        }
        router.delete(RouterPath(base + "/:id/tags")) { _, context -> Response in
            _ = try await self.tagged(kind, context, write: true) { _ in [] }
            return .noContent()
        }
        router.get(RouterPath(base + "/:id/tags/:tag")) { _, context -> Response in
            let tag = context.parameters.get("tag") ?? ""
            let (_, tags) = try await self.tagged(kind, context, write: false) { _ in nil }
            guard tags.contains(tag) else { throw NeutronError.notFound("TagNotFound", "Tag \(tag) could not be found for \(kind.member) \(context.parameters.get("id") ?? "").") }
            return .noContent()
        }
        router.put(RouterPath(base + "/:id/tags/:tag")) { _, context -> Response in
            let tag = context.parameters.get("tag") ?? ""
            _ = try Self.tagList(.array([.string(tag)]))
            _ = try await self.tagged(kind, context, write: true) { $0.contains(tag) ? nil : $0 + [tag] }
            return Response(status: .created)
        }
        router.delete(RouterPath(base + "/:id/tags/:tag")) { _, context -> Response in
            let tag = context.parameters.get("tag") ?? ""
            _ = try await self.tagged(kind, context, write: true) { tags in
                guard tags.contains(tag) else {
                    throw NeutronError.notFound("TagNotFound", "Tag \(tag) could not be found for \(kind.member) \(context.parameters.get("id") ?? "").")
                }
                return tags.filter { $0 != tag }
            }
            return .noContent()
        }
    }

    static func tagList(_ value: JSON) throws -> [String] {
        do {
            return try Validate.tags(value).arrayValue?.compactMap(\.stringValue) ?? []
        } catch let invalid as InvalidValue {
            throw NeutronError.badRequest("Invalid input for tags. Reason: \(invalid.reason).")
        }
    }

    /// Loads the resource and its tags; `change` returns the new tag list, or nil to keep it.
    private func tagged(
        _ kind: ResourceKind, _ context: StratusContext, write: Bool, change: @escaping @Sendable ([String]) throws -> [String]?
    ) async throws -> (Record, [String]) {
        let caller = try caller(context)
        let id = context.parameters.get("id") ?? ""
        return try await db.transactionRetryingConflicts { db in
            let record = try await self.load(kind, id: id, caller: caller, context: context, db: db)
            let current = record["tags"]?.arrayValue?.compactMap(\.stringValue) ?? []
            guard write, let new = try change(current) else { return (record, current) }
            try self.enforce("update_\(kind.member)", caller: caller, target: Self.target(record))
            try await RecordStore.setTags(member: kind.member, id: id, tags: new, db: db)
            if kind.attribute("revision_number") != nil {
                let values: Record = [
                    "revision_number": .int((record.int("revision_number") ?? 0) + 1), "updated_at": .string(Timestamp.iso8601(Date())),
                ]
                try await RecordStore.update(kind, id: id, values: values, db: db)
            }
            return (record, Array(Set(new)).sorted())
        }
    }
}
