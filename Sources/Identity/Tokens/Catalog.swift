import SQLKit
import StratusCore

/// The service catalog as Keystone puts it in tokens and `/v3/auth/catalog`.
enum Catalog {
    static func build(in db: any SQLDatabase) async throws -> JSON {
        let services = try await Kinds.service.list(from: db)
        let endpoints = try await Kinds.endpoint.list(from: db)
        var entries: [JSON] = []
        for service in services where service["enabled"]?.boolValue != false {
            let id = service["id"]?.stringValue ?? ""
            let mine = endpoints.filter { $0["service_id"]?.stringValue == id && $0["enabled"]?.boolValue != false }
            let rendered: [JSON] = mine.map { endpoint in
                [
                    "id": endpoint["id"] ?? .null, "interface": endpoint["interface"] ?? .null,
                    "region": endpoint["region_id"] ?? .null, "region_id": endpoint["region_id"] ?? .null,
                    "url": endpoint["url"] ?? .null,
                ]
            }
            entries.append([
                "id": .string(id), "type": service["type"] ?? .null,
                "name": service["extra"]?["name"] ?? "", "endpoints": .array(rendered),
            ])
        }
        return .array(entries)
    }
}
