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

    /// The catalog as one project sees it: Keystone fills `%(project_id)s` (and its older
    /// spellings) in endpoint URLs with the token's project, so Object Storage's
    /// `/v1/AUTH_%(project_id)s` names the caller's account.
    static func scoped(_ catalog: JSON, projectID: String?) -> JSON {
        guard case .array(let services) = catalog else { return catalog }
        return .array(
            services.map { service in
                guard var entry = service.objectValue, case .array(let endpoints)? = entry["endpoints"] else {
                    return service
                }
                entry["endpoints"] = .array(
                    endpoints.map { endpoint in
                        guard var fields = endpoint.objectValue, let url = fields["url"]?.stringValue,
                            url.contains("(")
                        else {
                            return endpoint
                        }
                        fields["url"] = .string(substitute(url, projectID: projectID))
                        return .object(fields)
                    })
                return .object(entry)
            })
    }

    static func substitute(_ url: String, projectID: String?) -> String {
        guard let projectID else { return url }
        var result = url
        for key in ["project_id", "tenant_id"] {
            result = result.replacingOccurrences(of: "%(\(key))s", with: projectID)
                .replacingOccurrences(of: "$(\(key))s", with: projectID)
        }
        return result
    }
}
