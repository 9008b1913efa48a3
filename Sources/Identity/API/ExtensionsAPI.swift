import Foundation
import Hummingbird
import SQLKit
import StratusCore
import Synchronization

/// OS-OAUTH1 consumers, OS-EP-FILTER endpoint groups and domain-specific configuration.
extension IdentityAPI {
    func registerExtensions(on router: Router<StratusContext>) {
        var consumers = CRUDRoutes(kind: Kinds.consumer, policyName: "consumer")
        consumers.beforeCreate = { record, _, _ in
            record["secret_hash"] = .string(try store.hasher.hash(Self.generateSecret()))
        }
        consumers.register(on: router, path: Kinds.consumer.path, api: self)

        var groups = CRUDRoutes(kind: Kinds.endpointGroup, policyName: "endpoint_group")
        groups.beforeCreate = { record, _, _ in try Self.checkEndpointFilters(record["filters"]) }
        groups.beforeUpdate = { record, _, _ in try Self.checkEndpointFilters(record["filters"]) }
        groups.register(on: router, path: Kinds.endpointGroup.path, api: self)
        router.head(RouterPath(Kinds.endpointGroup.path + "/:id")) { _, context in
            let auth = try context.requireAuth()
            try policy.enforce("identity:get_endpoint_group", auth: auth)
            _ = try await store.read { db in try await Kinds.endpointGroup.require(id: try context.param("id"), from: db) }
            return Response(status: .ok)
        }
        registerDomainConfig(on: router)
    }

    static func checkEndpointFilters(_ filters: JSON?) throws {
        guard let object = filters?.objectValue, !object.isEmpty else {
            throw APIError.badRequest("Invalid input for field 'filters': a non-empty object is required.")
        }
        for key in object.keys where !["service_id", "region_id", "interface"].contains(key) {
            throw APIError.badRequest("Invalid input for field 'filters': '\(key)' is not a valid filter.")
        }
    }

    /// The settings a domain may override, with Keystone's defaults.
    static let domainConfigDefaults: [String: [String: JSON]] = [
        "identity": ["driver": "sql", "list_limit": .null],
        "ldap": [
            "url": "ldap://localhost", "user": .null, "suffix": "cn=example,cn=com", "query_scope": "one", "page_size": 0,
            "user_tree_dn": .null, "user_objectclass": "inetOrgPerson", "group_tree_dn": .null, "group_objectclass": "groupOfNames",
        ],
    ]

    private func registerDomainConfig(on router: Router<StratusContext>) {
        @Sendable func respond(_ config: JSON, status: HTTPResponse.Status = .ok) -> Response { Response.json(["config": config], status: status) }
        let defaults = Self.domainConfigDefaults
        router.get("/v3/domains/config/default") { _, context in
            try policy.enforce("identity:get_domain_config_default", auth: context.auth)
            return respond(.object(defaults.mapValues { .object($0) }))
        }
        router.get("/v3/domains/config/:group/default") { _, context in
            try policy.enforce("identity:get_domain_config_default", auth: context.auth)
            let group = try context.param("group")
            guard let values = defaults[group] else { throw APIError.notFound("Could not find config group: \(group).") }
            return respond([group: .object(values)])
        }
        router.get("/v3/domains/config/:group/:option/default") { _, context in
            try policy.enforce("identity:get_domain_config_default", auth: context.auth)
            let group = try context.param("group")
            let option = try context.param("option")
            guard let value = defaults[group]?[option] else { throw APIError.notFound("Could not find config option: \(option).") }
            return respond([option: value])
        }

        /// Loads, changes and stores one domain's configuration in a transaction.
        let edit: @Sendable (StratusContext, String, @escaping @Sendable ([String: [String: JSON]]?) throws -> [String: [String: JSON]]?) async throws -> [String: [String: JSON]]? = {
            context, rule, change in
            try policy.enforce(rule, auth: context.auth)
            let domainID = try context.param("id")
            return try await store.write { db in
                _ = try await Kinds.domain.require(id: domainID, from: db)
                let row = try await db.select().column("config").from("domain_configs").where("id", .equal, SQLBind(domainID)).first()
                let current = try row.flatMap { try JSON.parse(try $0.decode(column: "config", as: String.self)).objectValue?.compactMapValues(\.objectValue) }
                let updated = try change(current)
                try await db.delete(from: "domain_configs").where("id", .equal, SQLBind(domainID)).run()
                if let updated, !updated.isEmpty {
                    let text = JSON.object(updated.mapValues { .object($0) }).serialized()
                    try await db.insert(into: "domain_configs").columns("id", "config").values(SQLBind(domainID), SQLBind(text)).run()
                }
                return updated
            }
        }
        @Sendable func parseConfig(_ body: [String: JSON]) throws -> [String: [String: JSON]] {
            guard let config = body["config"]?.objectValue else { throw APIError.badRequest("Invalid input for field 'config': 'config' is a required property.") }
            var result: [String: [String: JSON]] = [:]
            for (group, options) in config {
                guard defaults[group] != nil, let options = options.objectValue else {
                    throw APIError.forbidden("Invalid domain specific configuration: group \(group) is not supported.")
                }
                result[group] = options
            }
            return result
        }
        @Sendable func render(_ config: [String: [String: JSON]]) -> JSON { .object(config.mapValues { .object($0) }) }

        router.put("/v3/domains/:id/config") { request, context in
            let body = try await request.jsonObject(context: context)
            let config = try parseConfig(body)
            let existed = LockedFlag()
            let stored = try await edit(context, "identity:create_domain_config") { current in
                existed.set(current != nil)
                return config
            }
            return respond(render(stored ?? [:]), status: existed.value ? .ok : .created)
        }
        router.get("/v3/domains/:id/config") { _, context in
            let stored = try await edit(context, "identity:get_domain_config") { $0 }
            guard let stored else { throw APIError.notFound("Could not find domain config.") }
            return respond(render(stored))
        }
        router.patch("/v3/domains/:id/config") { request, context in
            let update = try parseConfig(try await request.jsonObject(context: context))
            let stored = try await edit(context, "identity:update_domain_config") { current in
                guard var current else { throw APIError.notFound("Could not find domain config.") }
                for (group, options) in update { current[group, default: [:]].merge(options) { _, new in new } }
                return current
            }
            return respond(render(stored ?? [:]))
        }
        router.delete("/v3/domains/:id/config") { _, context in
            _ = try await edit(context, "identity:delete_domain_config") { current in
                guard current != nil else { throw APIError.notFound("Could not find domain config.") }
                return nil
            }
            return Response.noContent()
        }
        router.get("/v3/domains/:id/config/:group") { _, context in
            let group = try context.param("group")
            let stored = try await edit(context, "identity:get_domain_config") { $0 }
            guard let options = stored?[group] else { throw APIError.notFound("Could not find config group: \(group).") }
            return respond([group: .object(options)])
        }
        router.patch("/v3/domains/:id/config/:group") { request, context in
            let group = try context.param("group")
            let update = try parseConfig(try await request.jsonObject(context: context))
            guard update.keys.allSatisfy({ $0 == group }) else { throw APIError.badRequest("The body must only change group \(group).") }
            let stored = try await edit(context, "identity:update_domain_config") { current in
                guard var current, current[group] != nil else { throw APIError.notFound("Could not find config group: \(group).") }
                current[group]?.merge(update[group] ?? [:]) { _, new in new }
                return current
            }
            return respond(render(stored ?? [:]))
        }
        router.delete("/v3/domains/:id/config/:group") { _, context in
            let group = try context.param("group")
            _ = try await edit(context, "identity:delete_domain_config") { current in
                guard var current, current[group] != nil else { throw APIError.notFound("Could not find config group: \(group).") }
                current[group] = nil
                return current
            }
            return Response.noContent()
        }
        router.get("/v3/domains/:id/config/:group/:option") { _, context in
            let group = try context.param("group")
            let option = try context.param("option")
            let stored = try await edit(context, "identity:get_domain_config") { $0 }
            guard let value = stored?[group]?[option] else { throw APIError.notFound("Could not find config option: \(option).") }
            return respond([option: value])
        }
        router.patch("/v3/domains/:id/config/:group/:option") { request, context in
            let group = try context.param("group")
            let option = try context.param("option")
            let body = try await request.jsonObject(context: context)
            guard let value = body["config"]?[option] else { throw APIError.badRequest("Invalid input for field 'config': '\(option)' is required.") }
            let stored = try await edit(context, "identity:update_domain_config") { current in
                guard var current, current[group]?[option] != nil else { throw APIError.notFound("Could not find config option: \(option).") }
                current[group]?[option] = value
                return current
            }
            return respond(render(stored ?? [:]))
        }
        router.delete("/v3/domains/:id/config/:group/:option") { _, context in
            let group = try context.param("group")
            let option = try context.param("option")
            _ = try await edit(context, "identity:delete_domain_config") { current in
                guard var current, current[group]?[option] != nil else { throw APIError.notFound("Could not find config option: \(option).") }
                current[group]?[option] = nil
                if current[group]?.isEmpty == true { current[group] = nil }
                return current
            }
            return Response.noContent()
        }
    }
}

/// A flag set inside a `@Sendable` closure and read after it.
final class LockedFlag: Sendable {
    private let storage = Mutex(false)
    func set(_ value: Bool) { storage.withLock { $0 = value } }
    var value: Bool { storage.withLock { $0 } }
}
