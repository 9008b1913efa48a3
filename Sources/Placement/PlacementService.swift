import Foundation
import Hummingbird
import Logging
import SQLKit
import StratusCore

public enum PlacementOptions {
    public static let port = CoreOptions.port("placement", default: 8778)
}

/// OpenStack Placement: resource providers, inventories, allocations, traits.
public final class PlacementService: StratusService {
    public let name = "placement"
    public let port: Int
    let api: PlacementAPI
    let validator: any TokenValidator

    public static func open(config: Config, dataDir: String, validator: any TokenValidator, logger: Logger)
        async throws -> PlacementService
    {
        let db = try await Database.open(
            connection: CoreOptions.databaseURL(config, service: "placement", dataDir: dataDir), logger: logger)
        do {
            try await db.migrate(PlacementMigrations.all, logger: logger)
            let policy = try PolicyEngine(
                defaults: [
                    "admin_or_service": "role:admin or role:service", "placement": "rule:admin_or_service",
                    // A project's readers may see its usages, as Placement's defaults allow.
                    "placement:usages": "rule:admin_or_service or (role:reader and project_id:%(project_id)s)",
                ],
                overrides: PolicyEngine.loadOverrides(path: config[CoreOptions.policyFile]))
            return PlacementService(
                api: PlacementAPI(db: db, policy: policy), port: config[PlacementOptions.port], validator: validator)
        } catch {
            await db.close()
            throw error
        }
    }

    init(api: PlacementAPI, port: Int, validator: any TokenValidator) {
        self.api = api
        self.port = port
        self.validator = validator
    }

    public func makeRouter() -> Router<StratusContext> {
        let router = Router(context: StratusContext.self)
        router.add(middleware: RequestIDMiddleware())
        router.add(middleware: FaultMiddleware(style: .placement))
        router.add(middleware: AuthMiddleware(validator: validator))
        router.add(middleware: MicroversionMiddleware(range: PlacementAPI.versions))
        api.register(on: router)
        return router
    }

    public func close() async { await api.db.close() }
}

enum PlacementMigrations {
    static let all: [Migration] = [
        Migration(1, "initial placement schema") { db in
            try await db.create(table: "resource_providers")
                .column("uuid", type: .text, .primaryKey(autoIncrement: false))
                .column("name", type: .text, .notNull, .unique)
                .column("generation", type: .int, .notNull)
                .column("parent_uuid", type: .text)
                .column("root_uuid", type: .text, .notNull)
                .column("created_at", type: .double, .notNull)
                .column("updated_at", type: .double, .notNull)
                .run()
            try await db.create(index: "resource_providers_root").on("resource_providers").column("root_uuid").run()
            try await db.create(table: "inventories")
                .column("provider", type: .text, .notNull)
                .column("resource_class", type: .text, .notNull)
                .column("total", type: .bigint, .notNull)
                .column("reserved", type: .bigint, .notNull)
                .column("min_unit", type: .bigint, .notNull)
                .column("max_unit", type: .bigint, .notNull)
                .column("step_size", type: .bigint, .notNull)
                .column("allocation_ratio", type: .double, .notNull)
                .primaryKey("provider", "resource_class")
                .run()
            try await db.create(index: "inventories_class").on("inventories").column("resource_class").run()
            try await db.create(table: "allocations")
                .column("consumer", type: .text, .notNull)
                .column("provider", type: .text, .notNull)
                .column("resource_class", type: .text, .notNull)
                .column("used", type: .bigint, .notNull)
                .primaryKey("consumer", "provider", "resource_class")
                .run()
            try await db.create(index: "allocations_provider").on("allocations").column("provider").column(
                "resource_class"
            ).run()
            try await db.create(table: "consumers")
                .column("uuid", type: .text, .primaryKey(autoIncrement: false))
                .column("project_id", type: .text, .notNull)
                .column("user_id", type: .text, .notNull)
                .column("generation", type: .int, .notNull)
                .column("consumer_type", type: .text)
                .run()
            try await db.create(index: "consumers_project").on("consumers").column("project_id").column("user_id")
                .run()
            try await db.create(table: "custom_traits").column("name", type: .text, .primaryKey(autoIncrement: false))
                .run()
            try await db.create(table: "provider_traits")
                .column("provider", type: .text, .notNull).column("trait", type: .text, .notNull).primaryKey(
                    "provider", "trait"
                ).run()
            try await db.create(index: "provider_traits_trait").on("provider_traits").column("trait").run()
            try await db.create(table: "custom_resource_classes").column(
                "name", type: .text, .primaryKey(autoIncrement: false)
            ).run()
            try await db.create(table: "provider_aggregates")
                .column("provider", type: .text, .notNull).column("aggregate", type: .text, .notNull).primaryKey(
                    "provider", "aggregate"
                ).run()
            try await db.create(index: "provider_aggregates_aggregate").on("provider_aggregates").column("aggregate")
                .run()
        }
    ]
}

/// Placement's error codes ride in `APIError.type`.
enum PlacementError {
    static func make(_ status: HTTPResponse.Status, _ message: String, code: String? = nil) -> APIError {
        APIError(status, message, type: code)
    }
    static func notFound(_ message: String) -> APIError { make(.notFound, message) }
    static func bad(_ message: String) -> APIError { make(.badRequest, message) }
    static func conflict(_ message: String, code: String = "placement.undefined_code") -> APIError {
        make(.conflict, message, code: code)
    }
    static func generation(_ uuid: String) -> APIError {
        conflict(
            "resource provider generation conflict: A resource provider \(uuid) was updated by another thread.",
            code: "placement.concurrent_update")
    }
}
