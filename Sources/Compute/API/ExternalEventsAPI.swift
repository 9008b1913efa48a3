import Foundation
import Hummingbird
import StratusCore

extension ComputeAPI {
    /// Each event name and the microversion that introduced it.
    static let eventNames: [String: Int] = [
        "network-changed": 1, "network-vif-plugged": 1, "network-vif-unplugged": 1, "network-vif-deleted": 1,
        "volume-extended": 51, "power-update": 76, "accelerator-request-bound": 82, "volume-reimaged": 93,
    ]

    /// Events that name what they are about in `tag` (a volume, a power state, an accelerator request).
    static let taggedEvents: Set = ["volume-extended", "power-update", "accelerator-request-bound"]

    /// `POST /os-server-external-events`: Neutron (and Cinder) tell a server's host that
    /// something happened; each event answers 200, or 404/422 on its own.
    func registerExternalEvents(on router: RouterGroup<StratusContext>) {
        router.post("/os-server-external-events") { request, context -> Response in
            let auth = try self.caller(context)
            try self.enforce("os_compute_api:os-server-external-events:create", auth)
            let body = try await request.jsonObject(context: context)
            guard case .array(let events)? = body["events"], !events.isEmpty else {
                throw APIError.badRequest("Invalid input for field/attribute events. 'events' is a required property")
            }
            var results: [JSON] = []
            var accepted = 0
            for event in events {
                guard let name = event["name"]?.stringValue, let since = Self.eventNames[name],
                    context.version(atLeast: 2, since), let uuid = event["server_uuid"]?.stringValue
                else {
                    throw APIError.badRequest("Invalid input for field/attribute events. Value: \(event.serialized()).")
                }
                let status = event["status"]?.stringValue ?? "completed"
                guard ["completed", "failed", "in-progress"].contains(status) else {
                    throw APIError.badRequest("Invalid input for field/attribute status. Value: \(status).")
                }
                var result = event.objectValue ?? [:]
                result["status"] = .string(status)
                if Self.taggedEvents.contains(name), event["tag"]?.stringValue == nil {
                    result["code"] = 400
                    result["status"] = "failed"
                } else if let instance = try await self.instances.get(uuid), let host = instance.host {
                    if name == "volume-extended" {
                        // Nova's `extend_volume` action; the host records its `compute_extend_volume` event.
                        _ = try await self.db.transaction { db in
                            try await self.actions.start(
                                "extend_volume", instance: uuid, requestID: context.requestID,
                                projectID: instance.projectID, userID: auth.userID, in: db)
                        }
                    }
                    await self.logger.bestEffort("passing the event to \(host)") {
                        let message = ExternalEvent(instance: uuid, name: name, tag: event["tag"]?.stringValue, status: status)
                        try await self.bus.cast(ComputeRPC.externalEvent, to: host, message)
                    }
                    result["code"] = 200
                    accepted += 1
                } else if try await self.instances.get(uuid) != nil {
                    result["code"] = 422
                    result["status"] = "failed"
                } else {
                    result["code"] = 404
                    result["status"] = "failed"
                }
                results.append(.object(result))
            }
            if accepted == 0 { throw APIError.notFound("No instances found for any event") }
            return .json(["events": .array(results)], status: accepted == events.count ? .ok : .init(code: 207))
        }
    }
}
