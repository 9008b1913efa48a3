import Foundation
import Hummingbird
import SQLKit
import StratusCore

/// `/messages` (3.3+): what failed in the caller's asynchronous requests.
extension BlockStorageAPI {
    func registerMessages(on router: RouterGroup<StratusContext>) {
        router.get("/messages") { request, context -> Response in
            let auth = try messageCaller(context, rule: "message:get_all")
            let now = Date().timeIntervalSince1970
            var terms: [SQLQueryString] = ["expires_at > \(bind: now)"]
            if !isAdmin(auth) { terms.append("project_id = \(bind: auth.projectID ?? "")") }
            let filter = SQLQueryString.all(terms)
            let messages = try await db.read {
                try await UserMessage.select(where: filter, limit: settings.maxLimit, in: $0)
            }
            let base = LinkBase(request, context)
            return .json(["messages": .array(messages.map { Self.messageView($0, base) })])
        }
        router.get("/messages/:id") { request, context -> Response in
            let auth = try messageCaller(context, rule: "message:get")
            let message = try await visibleMessage(context, auth)
            return .json(["message": Self.messageView(message, LinkBase(request, context))])
        }
        router.delete("/messages/:id") { _, context -> Response in
            let auth = try messageCaller(context, rule: "message:delete")
            let message = try await visibleMessage(context, auth)
            try await db.transaction { try await UserMessage.delete(message.id, in: $0) }
            return .noContent()
        }
    }

    private func messageCaller(_ context: StratusContext, rule: String) throws -> AuthContext {
        guard context.version(atLeast: 3, 3) else { throw APIError.notFound("The resource could not be found.") }
        let auth = try caller(context)
        try enforce(rule, auth)
        return auth
    }

    private func visibleMessage(_ context: StratusContext, _ auth: AuthContext) async throws -> UserMessage {
        let id = context.parameters.get("id") ?? ""
        guard let message = try await db.read({ try await UserMessage.get(id, in: $0) }),
            message.projectID == auth.projectID || isAdmin(auth)
        else { throw APIError.notFound("Message \(id) could not be found.") }
        return message
    }

    static func messageView(_ message: UserMessage, _ base: LinkBase) -> JSON {
        [
            "id": .string(message.id), "request_id": .string(message.requestID),
            "message_level": .string(message.level),
            "event_id": .string(message.eventID), "user_message": .string(message.text),
            "resource_type": .string(message.resourceType),
            "resource_uuid": message.resourceID.map(JSON.string) ?? .null,
            "created_at": .string(Timestamp.iso8601(message.createdAt, fractional: true)),
            "guaranteed_until": .string(Timestamp.iso8601(message.expiresAt, fractional: true)),
            "links": base.links("messages", message.id),
        ]
    }
}
