import Foundation
import StratusCore
import StratusTestSupport

@testable import Compute

/// Cinder's REST API for volumes and snapshots as JSON in memory, enough for Nova's
/// `os-volumes` and `os-snapshots` proxies: each caller (a `StaticTokens` name) sees its
/// project's resources; missing ones answer Cinder's `itemNotFound` fault.
actor ScriptedCinder: ProxyTransport {
    private var items: [String: [String: (project: String, body: JSON)]] = ["volumes": [:], "snapshots": [:]]
    private var order: [String] = []
    private var refusal: ServiceReply?
    private(set) var received: [(method: ProxyMethod, path: String, body: JSON?)] = []

    /// The next call answers `status` with Cinder's fault body.
    func refuseNext(status: Int, kind: String, message: String) {
        refusal = ServiceReply(status: status, body: [kind: ["code": .int(status), "message": .string(message)]])
    }

    /// A volume of `project` as Cinder's detail view shows it.
    func add(volume: JSON, project: String) {
        let id = volume["id"]?.stringValue ?? UUID().uuidString.lowercased()
        items["volumes"]?[id] = (project, volume)
        order.append(id)
    }

    func forward(_ method: ProxyMethod, _ path: String, body: JSON?, token: String) -> ServiceReply {
        received.append((method, path, body))
        if let refusal {
            self.refusal = nil
            return refusal
        }
        let project = StaticTokens.callers[token]?.project ?? ""
        let parts = path.split(separator: "/").map(String.init)
        guard let collection = parts.first, items[collection] != nil else { return reply(404, nil) }
        let key = String(collection.dropLast())
        switch (method, parts.count > 1 ? parts[1] : nil) {
        case (.get, "detail"):
            let mine = order.compactMap { items[collection]?[$0] }.filter { $0.project == project }.map(\.body)
            return reply(200, [collection: .array(mine)])
        case (.post, nil):
            var created = body?[key]?.objectValue ?? [:]
            let id = UUID().uuidString.lowercased()
            created["id"] = .string(id)
            created["status"] = "creating"
            created["created_at"] = "2024-01-01T00:00:00.000000"
            if collection == "volumes" { created["availability_zone"] = "nova" }
            items[collection]?[id] = (project, .object(created))
            order.append(id)
            return reply(202, [key: .object(created)])
        case (.get, let id?):
            guard let found = items[collection]?[id], found.project == project else { return notFound(key, id) }
            return reply(200, [key: found.body])
        case (.delete, let id?):
            guard let found = items[collection]?[id], found.project == project else { return notFound(key, id) }
            items[collection]?[id] = nil
            return reply(202, nil)
        default:
            return reply(405, nil)
        }
    }

    private func notFound(_ key: String, _ id: String) -> ServiceReply {
        let message = "\(key == "volume" ? "Volume" : "Snapshot") \(id) could not be found."
        return reply(404, ["itemNotFound": ["code": 404, "message": .string(message)]])
    }

    private func reply(_ status: Int, _ body: JSON?) -> ServiceReply {
        ServiceReply(status: status, body: body ?? .null, headers: [])
    }
}
