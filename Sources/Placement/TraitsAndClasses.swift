import Foundation
import Hummingbird
import SQLKit
import StratusCore

extension PlacementAPI {
    func resourceClasses(in db: any SQLDatabase) async throws -> [String] {
        Standard.resourceClasses
            + (try await db.raw("SELECT name FROM custom_resource_classes ORDER BY name").all().map {
                try $0.decode(column: "name", as: String.self)
            })
    }

    func traits(in db: any SQLDatabase) async throws -> [String] {
        Standard.traits
            + (try await db.raw("SELECT name FROM custom_traits ORDER BY name").all().map {
                try $0.decode(column: "name", as: String.self)
            })
    }

    static func validCustom(_ name: String) -> Bool {
        name.hasPrefix("CUSTOM_") && name.count > 7 && name.count <= 255
            && name.allSatisfy { $0.isUppercase || $0.isNumber || $0 == "_" }
    }

    func registerTraitsAndClasses(on router: Router<StratusContext>) {
        router.get("/resource_classes") { _, context -> Response in
            try self.authorize(context)
            let names = try await self.db.read { db in try await self.resourceClasses(in: db) }
            return .json([
                "resource_classes": .array(
                    names.map {
                        ["name": .string($0), "links": [["rel": "self", "href": .string("/resource_classes/\($0)")]]]
                    })
            ])
        }
        router.get("/resource_classes/:name") { _, context -> Response in
            try self.authorize(context)
            let name = context.parameters.get("name") ?? ""
            guard try await self.db.read({ db in try await self.resourceClasses(in: db) }).contains(name) else {
                throw PlacementError.notFound("No such resource class \(name).")
            }
            return .json([
                "name": .string(name), "links": [["rel": "self", "href": .string("/resource_classes/\(name)")]],
            ])
        }
        router.post("/resource_classes") { request, context -> Response in
            try self.authorize(context)
            let body = try await request.jsonObject(context: context)
            guard let name = body["name"]?.stringValue, Self.validCustom(name) else {
                throw PlacementError.bad("JSON does not validate: the name must match '^CUSTOM_[A-Z0-9_]+$'")
            }
            try await self.db.transaction { db in
                if try await self.resourceClasses(in: db).contains(name) {
                    throw PlacementError.conflict(
                        "Conflicting resource class already exists: \(name)", code: "placement.duplicate_name")
                }
                try await db.insert(into: "custom_resource_classes").columns("name").values(SQLBind(name)).run()
            }
            return Response(status: .created, headers: [.location: "/resource_classes/\(name)"])
        }
        router.put("/resource_classes/:name") { _, context -> Response in
            try self.authorize(context)
            let name = context.parameters.get("name") ?? ""
            guard Self.validCustom(name) else {
                throw PlacementError.bad("JSON does not validate: the name must match '^CUSTOM_[A-Z0-9_]+$'")
            }
            let created: Bool = try await self.db.transaction { db in
                if try await self.resourceClasses(in: db).contains(name) { return false }
                try await db.insert(into: "custom_resource_classes").columns("name").values(SQLBind(name)).run()
                return true
            }
            return Response(status: created ? .created : .noContent, headers: [.location: "/resource_classes/\(name)"])
        }
        router.delete("/resource_classes/:name") { _, context -> Response in
            try self.authorize(context)
            let name = context.parameters.get("name") ?? ""
            if Standard.resourceClasses.contains(name) {
                throw PlacementError.bad("Cannot delete standard resource class \(name)")
            }
            try await self.db.transaction { db in
                guard try await self.resourceClasses(in: db).contains(name) else {
                    throw PlacementError.notFound("No such resource class \(name).")
                }
                if try await db.raw("SELECT 1 AS x FROM inventories WHERE resource_class = \(bind: name) LIMIT 1")
                    .first() != nil
                {
                    throw PlacementError.conflict(
                        "Unable to delete resource class \(name). Class is in use in inventory.")
                }
                try await db.raw("DELETE FROM custom_resource_classes WHERE name = \(bind: name)").run()
            }
            return Response(status: .noContent)
        }
        router.get("/traits") { request, context -> Response in
            try self.authorize(context)
            var names = try await self.db.read { db in try await self.traits(in: db) }
            if let filter = request.uri.queryParameters.get("name") {
                if filter.hasPrefix("in:") {
                    let wanted = Set(filter.dropFirst(3).split(separator: ",").map(String.init))
                    names = names.filter { wanted.contains($0) }
                } else if filter.hasPrefix("startswith:") {
                    let prefix = String(filter.dropFirst("startswith:".count))
                    names = names.filter { $0.hasPrefix(prefix) }
                } else {
                    throw PlacementError.bad("Badly formed name parameter. Expected in: or startswith:, got \(filter)")
                }
            }
            if let associated = try request.boolQuery("associated") {
                let used = Set(
                    try await self.db.read { db in
                        try await db.raw("SELECT DISTINCT trait FROM provider_traits").all().map {
                            try $0.decode(column: "trait", as: String.self)
                        }
                    })
                names = names.filter { used.contains($0) == associated }
            }
            return .json(["traits": JSON(names)])
        }
        router.get("/traits/:name") { _, context -> Response in
            try self.authorize(context)
            let name = context.parameters.get("name") ?? ""
            guard try await self.db.read({ db in try await self.traits(in: db) }).contains(name) else {
                throw PlacementError.notFound("No such trait(s): \(name).")
            }
            return Response(status: .noContent)
        }
        router.put("/traits/:name") { _, context -> Response in
            try self.authorize(context)
            let name = context.parameters.get("name") ?? ""
            guard Self.validCustom(name) else {
                throw PlacementError.bad(
                    "The trait is invalid. A valid trait must be no longer than 255 characters, start with the prefix \"CUSTOM_\" and use following characters: \"A\"-\"Z\", \"0\"-\"9\" and \"_\""
                )
            }
            let created: Bool = try await self.db.transaction { db in
                if try await self.traits(in: db).contains(name) { return false }
                try await db.insert(into: "custom_traits").columns("name").values(SQLBind(name)).run()
                return true
            }
            return Response(status: created ? .created : .noContent, headers: [.location: "/traits/\(name)"])
        }
        router.delete("/traits/:name") { _, context -> Response in
            try self.authorize(context)
            let name = context.parameters.get("name") ?? ""
            if Standard.traits.contains(name) { throw PlacementError.bad("Cannot delete standard trait \(name).") }
            try await self.db.transaction { db in
                guard try await self.traits(in: db).contains(name) else {
                    throw PlacementError.notFound("No such trait(s): \(name).")
                }
                if try await db.raw("SELECT 1 AS x FROM provider_traits WHERE trait = \(bind: name) LIMIT 1").first()
                    != nil
                {
                    throw PlacementError.conflict("The trait \(name) is in use by a resource provider.")
                }
                try await db.raw("DELETE FROM custom_traits WHERE name = \(bind: name)").run()
            }
            return Response(status: .noContent)
        }
        router.get("/resource_providers/:uuid/traits") { _, context -> Response in
            try self.authorize(context)
            let uuid = context.parameters.get("uuid") ?? ""
            let (provider, traits) = try await self.db.read { db in
                (
                    try await self.provider(uuid, in: db),
                    try await db.raw("SELECT trait FROM provider_traits WHERE provider = \(bind: uuid) ORDER BY trait")
                        .all().map { try $0.decode(column: "trait", as: String.self) }
                )
            }
            return .json(["resource_provider_generation": .int(provider.generation), "traits": JSON(traits)])
        }
        router.put("/resource_providers/:uuid/traits") { request, context -> Response in
            try self.authorize(context)
            let uuid = context.parameters.get("uuid") ?? ""
            let body = try await request.jsonObject(context: context)
            guard let generation = body["resource_provider_generation"]?.intValue,
                case .array(let items)? = body["traits"]
            else {
                throw PlacementError.bad(
                    "JSON does not validate: 'resource_provider_generation' and 'traits' are required properties")
            }
            let traits = Array(Set(items.compactMap(\.stringValue))).sorted()
            let provider: Provider = try await self.db.transaction { db in
                let known = Set(try await self.traits(in: db))
                let unknown = traits.filter { !known.contains($0) }
                if !unknown.isEmpty {
                    throw PlacementError.bad("No such trait(s): \(unknown.joined(separator: ", ")).")
                }
                let provider = try await self.provider(uuid, in: db)
                guard provider.generation == generation else { throw PlacementError.generation(uuid) }
                try await db.raw("DELETE FROM provider_traits WHERE provider = \(bind: uuid)").run()
                for trait in traits {
                    try await db.insert(into: "provider_traits").columns("provider", "trait").values(
                        SQLBind(uuid), SQLBind(trait)
                    ).run()
                }
                try await self.bump(uuid, expected: generation, in: db)
                return try await self.provider(uuid, in: db)
            }
            return .json(["resource_provider_generation": .int(provider.generation), "traits": JSON(traits)])
        }
        router.delete("/resource_providers/:uuid/traits") { _, context -> Response in
            try self.authorize(context)
            let uuid = context.parameters.get("uuid") ?? ""
            try await self.db.transaction { db in
                let provider = try await self.provider(uuid, in: db)
                try await db.raw("DELETE FROM provider_traits WHERE provider = \(bind: uuid)").run()
                try await self.bump(uuid, expected: provider.generation, in: db)
            }
            return Response(status: .noContent)
        }
        router.get("/resource_providers/:uuid/aggregates") { _, context -> Response in
            try self.authorize(context)
            let uuid = context.parameters.get("uuid") ?? ""
            let (provider, aggregates) = try await self.db.read { db in
                (
                    try await self.provider(uuid, in: db),
                    try await db.raw(
                        "SELECT aggregate FROM provider_aggregates WHERE provider = \(bind: uuid) ORDER BY aggregate"
                    ).all().map { try $0.decode(column: "aggregate", as: String.self) }
                )
            }
            var body: [String: JSON] = ["aggregates": JSON(aggregates)]
            if context.version(atLeast: 1, 19) { body["resource_provider_generation"] = .int(provider.generation) }
            return .json(.object(body))
        }
        router.put("/resource_providers/:uuid/aggregates") { request, context -> Response in
            try self.authorize(context)
            let uuid = context.parameters.get("uuid") ?? ""
            let value = try await request.jsonValue(context: context)
            let items: [JSON]
            var generation: Int?
            if context.version(atLeast: 1, 19) {
                guard case .array(let list)? = value["aggregates"],
                    let given = value["resource_provider_generation"]?.intValue
                else {
                    throw PlacementError.bad(
                        "JSON does not validate: 'aggregates' and 'resource_provider_generation' are required properties"
                    )
                }
                items = list
                generation = given
            } else {
                guard case .array(let list) = value else {
                    throw PlacementError.bad("JSON does not validate: a list of aggregate uuids is required")
                }
                items = list
            }
            let aggregates = Array(Set(items.compactMap(\.stringValue))).sorted()
            let expected = generation
            guard aggregates.allSatisfy({ UUID(uuidString: $0) != nil }) else {
                throw PlacementError.bad("JSON does not validate: aggregates must be uuids")
            }
            let provider: Provider = try await self.db.transaction { db in
                let provider = try await self.provider(uuid, in: db)
                if let expected {
                    guard provider.generation == expected else { throw PlacementError.generation(uuid) }
                }
                try await db.raw("DELETE FROM provider_aggregates WHERE provider = \(bind: uuid)").run()
                for aggregate in aggregates {
                    try await db.insert(into: "provider_aggregates").columns("provider", "aggregate").values(
                        SQLBind(uuid), SQLBind(aggregate)
                    ).run()
                }
                try await self.bump(uuid, expected: provider.generation, in: db)
                return try await self.provider(uuid, in: db)
            }
            var body: [String: JSON] = ["aggregates": JSON(aggregates)]
            if context.version(atLeast: 1, 19) { body["resource_provider_generation"] = .int(provider.generation) }
            return .json(.object(body))
        }
    }
}
