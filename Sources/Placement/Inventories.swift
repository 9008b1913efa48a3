import Foundation
import Hummingbird
import SQLKit
import StratusCore

extension PlacementAPI {
    static let inventoryDefaults: [String: JSON] = ["reserved": 0, "min_unit": 1, "max_unit": .int(Int(Int32.max)), "step_size": 1, "allocation_ratio": 1.0]

    func registerInventories(on router: Router<StratusContext>) {
        router.get("/resource_providers/:uuid/inventories") { _, context -> Response in
            try self.authorize(context)
            let uuid = context.parameters.get("uuid") ?? ""
            let (provider, inventories) = try await self.db.read { db in (try await self.provider(uuid, in: db), try await self.inventories(uuid, in: db)) }
            return .json(["resource_provider_generation": .int(provider.generation), "inventories": .object(inventories)])
        }
        router.put("/resource_providers/:uuid/inventories") { request, context -> Response in
            try self.authorize(context)
            let uuid = context.parameters.get("uuid") ?? ""
            let body = try await request.jsonObject(context: context)
            guard let generation = body["resource_provider_generation"]?.intValue, case .object(let given)? = body["inventories"] else {
                throw PlacementError.bad("JSON does not validate: 'resource_provider_generation' and 'inventories' are required properties")
            }
            let inventories = try given.mapValues(Self.validateInventory)
            return try await self.replaceInventories(uuid, generation: generation, inventories, context: context)
        }
        router.delete("/resource_providers/:uuid/inventories") { _, context -> Response in
            try self.authorize(context)
            guard context.version(atLeast: 1, 5) else { throw APIError.methodNotAllowed() }
            let uuid = context.parameters.get("uuid") ?? ""
            let generation = try await self.db.read { db in try await self.provider(uuid, in: db).generation }
            _ = try await self.replaceInventories(uuid, generation: generation, [:], context: context)
            return Response(status: .noContent)
        }
        router.get("/resource_providers/:uuid/inventories/:class") { _, context -> Response in
            try self.authorize(context)
            let uuid = context.parameters.get("uuid") ?? ""
            let rc = context.parameters.get("class") ?? ""
            let (provider, inventories) = try await self.db.read { db in (try await self.provider(uuid, in: db), try await self.inventories(uuid, in: db)) }
            guard case .object(var inventory)? = inventories[rc] else {
                throw PlacementError.notFound("No inventory of class \(rc) for \(uuid)")
            }
            inventory["resource_provider_generation"] = .int(provider.generation)
            return .json(.object(inventory))
        }
        router.put("/resource_providers/:uuid/inventories/:class") { request, context -> Response in
            try self.authorize(context)
            let uuid = context.parameters.get("uuid") ?? ""
            let rc = context.parameters.get("class") ?? ""
            var body = try await request.jsonObject(context: context)
            guard let generation = body.removeValue(forKey: "resource_provider_generation")?.intValue else {
                throw PlacementError.bad("JSON does not validate: 'resource_provider_generation' is a required property")
            }
            let inventory = try Self.validateInventory(.object(body))
            var all = try await self.db.read { db in try await self.inventories(uuid, in: db) }
            all[rc] = inventory
            _ = try await self.replaceInventories(uuid, generation: generation, all, context: context)
            var shown = inventory.objectValue ?? [:]
            shown["resource_provider_generation"] = .int(generation + 1)
            return .json(.object(shown))
        }
        router.delete("/resource_providers/:uuid/inventories/:class") { _, context -> Response in
            try self.authorize(context)
            let uuid = context.parameters.get("uuid") ?? ""
            let rc = context.parameters.get("class") ?? ""
            try await self.db.transaction { db in
                let provider = try await self.provider(uuid, in: db)
                guard try await self.inventories(uuid, in: db)[rc] != nil else { throw PlacementError.notFound("No inventory of class \(rc) found for delete") }
                if try await db.raw("SELECT 1 AS x FROM allocations WHERE provider = \(bind: uuid) AND resource_class = \(bind: rc) LIMIT 1").first() != nil {
                    throw PlacementError.conflict("Inventory for '\(rc)' on resource provider '\(uuid)' in use.", code: "placement.inventory.inuse")
                }
                try await db.raw("DELETE FROM inventories WHERE provider = \(bind: uuid) AND resource_class = \(bind: rc)").run()
                try await self.bump(uuid, expected: provider.generation, in: db)
            }
            return Response(status: .noContent)
        }
        router.get("/resource_providers/:uuid/usages") { _, context -> Response in
            try self.authorize(context)
            let uuid = context.parameters.get("uuid") ?? ""
            let (provider, rows) = try await self.db.read { db in
                (try await self.provider(uuid, in: db),
                 try await db.raw("SELECT resource_class, CAST(SUM(used) AS BIGINT) AS used FROM allocations WHERE provider = \(bind: uuid) GROUP BY resource_class").all())
            }
            var usages: [String: JSON] = [:]
            for row in rows { usages[try row.decode(column: "resource_class", as: String.self)] = .int(try row.decode(column: "used", as: Int.self)) }
            let inventories = try await self.db.read { db in try await self.inventories(uuid, in: db) }
            for rc in inventories.keys where usages[rc] == nil { usages[rc] = 0 }
            return .json(["resource_provider_generation": .int(provider.generation), "usages": .object(usages)])
        }
    }

    func inventories(_ uuid: String, in db: any SQLDatabase) async throws -> [String: JSON] {
        var result: [String: JSON] = [:]
        for row in try await db.raw("SELECT * FROM inventories WHERE provider = \(bind: uuid)").all() {
            result[try row.decode(column: "resource_class", as: String.self)] = [
                "total": .int(try row.decode(column: "total", as: Int.self)), "reserved": .int(try row.decode(column: "reserved", as: Int.self)),
                "min_unit": .int(try row.decode(column: "min_unit", as: Int.self)), "max_unit": .int(try row.decode(column: "max_unit", as: Int.self)),
                "step_size": .int(try row.decode(column: "step_size", as: Int.self)),
                "allocation_ratio": .double(try row.decode(column: "allocation_ratio", as: Double.self)),
            ]
        }
        return result
    }

    static func validateInventory(_ value: JSON) throws -> JSON {
        guard case .object(var inventory) = value, let total = inventory["total"]?.intValue, total >= 1 else {
            throw PlacementError.bad("JSON does not validate: 'total' is a required property and must be at least 1")
        }
        for (key, fallback) in inventoryDefaults where inventory[key] == nil { inventory[key] = fallback }
        for key in inventory.keys where !["total", "reserved", "min_unit", "max_unit", "step_size", "allocation_ratio"].contains(key) {
            throw PlacementError.bad("JSON does not validate: Additional properties are not allowed ('\(key)' was unexpected)")
        }
        let reserved = inventory["reserved"]?.intValue ?? -1
        let minUnit = inventory["min_unit"]?.intValue ?? 0
        let maxUnit = inventory["max_unit"]?.intValue ?? 0
        let step = inventory["step_size"]?.intValue ?? 0
        let ratio: Double? = {
            switch inventory["allocation_ratio"] {
            case .double(let value)?: return value
            case .int(let value)?: return Double(value)
            default: return nil
            }
        }()
        guard reserved >= 0, minUnit >= 1, maxUnit >= 1, step >= 1, let ratio, ratio > 0 else {
            throw PlacementError.bad("JSON does not validate: inventory values are out of range")
        }
        guard reserved <= total, minUnit <= maxUnit else {
            throw PlacementError.bad("Unable to update inventory: reserved \(reserved) exceeds total \(total) or min_unit exceeds max_unit")
        }
        inventory["allocation_ratio"] = .double(ratio)
        return .object(inventory)
    }

    /// Replaces a provider's inventory under its generation; classes in use cannot go,
    /// and capacity may not shrink below what is allocated.
    func replaceInventories(_ uuid: String, generation: Int, _ inventories: [String: JSON], context: StratusContext) async throws -> Response {
        let known = try await db.read { db in try await self.resourceClasses(in: db) }
        for rc in inventories.keys where !known.contains(rc) {
            throw PlacementError.bad("Unknown resource class in inventory for resource provider \(uuid): \(rc)")
        }
        let provider: Provider = try await db.transaction { db in
            try await self.storeInventories(uuid, generation: generation, inventories, checkInUse: true, in: db)
            return try await self.provider(uuid, in: db)
        }
        let shown = try await db.read { db in try await self.inventories(uuid, in: db) }
        return .json(["resource_provider_generation": .int(provider.generation), "inventories": .object(shown)])
    }

    /// Writes a provider's inventory under its generation. The reshaper skips the in-use
    /// check because it moves the allocations in the same transaction and checks after.
    func storeInventories(_ uuid: String, generation: Int, _ inventories: [String: JSON], checkInUse: Bool, in db: any SQLDatabase) async throws {
        let provider = try await self.provider(uuid, in: db)
        guard provider.generation == generation else { throw PlacementError.generation(uuid) }
        if checkInUse {
            let used = try await db.raw("SELECT DISTINCT resource_class FROM allocations WHERE provider = \(bind: uuid)").all()
            for row in used {
                let rc = try row.decode(column: "resource_class", as: String.self)
                guard inventories[rc] != nil else {
                    throw PlacementError.conflict("Inventory for '\(rc)' on resource provider '\(uuid)' in use.", code: "placement.inventory.inuse")
                }
            }
        }
        try await db.raw("DELETE FROM inventories WHERE provider = \(bind: uuid)").run()
        for (rc, inventory) in inventories {
            try await db.insert(into: "inventories")
                .columns("provider", "resource_class", "total", "reserved", "min_unit", "max_unit", "step_size", "allocation_ratio")
                .values(SQLBind(uuid), SQLBind(rc), SQLBind(inventory["total"]?.intValue ?? 0), SQLBind(inventory["reserved"]?.intValue ?? 0),
                        SQLBind(inventory["min_unit"]?.intValue ?? 1), SQLBind(inventory["max_unit"]?.intValue ?? 1),
                        SQLBind(inventory["step_size"]?.intValue ?? 1), SQLBind(inventory["allocation_ratio"]?.numberValue ?? 1.0))
                .run()
        }
        try await self.bump(uuid, expected: generation, in: db)
    }
}
