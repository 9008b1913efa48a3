import Foundation
import Hummingbird
import SQLKit
import StratusCore

/// `os-aggregates` (admin): host aggregates, their metadata and availability zones, each
/// mirrored as a Placement aggregate on its hosts' resource providers.
extension ComputeAPI {
    var aggregates: AggregateStore { AggregateStore(db: db) }

    func registerAggregates(on router: RouterGroup<StratusContext>) {
        router.get("/os-aggregates") { _, context -> Response in
            try self.enforce("os_compute_api:os-aggregates:index", try self.caller(context))
            let all = try await self.db.read { db in try await self.aggregates.all(in: db) }
            return .json(["aggregates": .array(all.map { Self.aggregateView($0, context: context) })])
        }
        router.post("/os-aggregates") { request, context -> Response in
            try self.enforce("os_compute_api:os-aggregates:create", try self.caller(context))
            let body = try await request.computeBody("aggregate", context: context)
            let name = try Self.aggregateName(body["name"], required: true) ?? ""
            let zone = try Self.aggregateZone(body)
            let created: Aggregate = try await self.db.transaction { db in
                try await self.checkUniqueName(name, except: nil, in: db)
                let id = try await self.aggregates.insert(name: name, in: db)
                if let zone { try await self.aggregates.setMetadata(id, ["availability_zone": zone], in: db) }
                guard let aggregate = try await self.aggregates.get(id, in: db) else { throw APIError.notFound("Aggregate \(id) could not be found.") }
                return aggregate
            }
            var view = Self.aggregateView(created, context: context).objectValue ?? [:]
            view["hosts"] = nil
            view["metadata"] = nil
            return .json(["aggregate": .object(view)])
        }
        router.get("/os-aggregates/:id") { _, context -> Response in
            try self.enforce("os_compute_api:os-aggregates:show", try self.caller(context))
            let aggregate = try await self.aggregate(context)
            return .json(["aggregate": Self.aggregateView(aggregate, context: context)])
        }
        router.put("/os-aggregates/:id") { request, context -> Response in
            try self.enforce("os_compute_api:os-aggregates:update", try self.caller(context))
            let body = try await request.computeBody("aggregate", context: context)
            if let extra = body.keys.sorted().first(where: { !["name", "availability_zone"].contains($0) }) {
                throw APIError.badRequest("Invalid input for field/attribute aggregate. Additional properties are not allowed ('\(extra)' was unexpected)")
            }
            guard !body.isEmpty else { throw APIError.badRequest("Invalid input for field/attribute aggregate. Value: {}. {} does not have enough properties") }
            let name = try Self.aggregateName(body["name"], required: false)
            let zone = try Self.aggregateZone(body)
            let current = try await self.aggregate(context)
            let updated: Aggregate = try await self.db.transaction { db in
                if let name {
                    try await self.checkUniqueName(name, except: current.id, in: db)
                    try await self.aggregates.rename(current.id, to: name, in: db)
                }
                if body.keys.contains("availability_zone") {
                    try await self.checkZoneConflicts(current, zone: zone, hosts: current.hosts, in: db)
                    try await self.aggregates.setMetadata(current.id, ["availability_zone": zone], in: db)
                }
                return try await self.aggregates.get(current.id, in: db) ?? current
            }
            return .json(["aggregate": Self.aggregateView(updated, context: context)])
        }
        router.delete("/os-aggregates/:id") { _, context -> Response in
            try self.enforce("os_compute_api:os-aggregates:delete", try self.caller(context))
            let aggregate = try await self.aggregate(context)
            guard aggregate.hosts.isEmpty else {
                throw APIError.badRequest("Cannot delete aggregate \(aggregate.id). Reason: Host aggregate is not empty.")
            }
            try await self.db.transaction { db in try await self.aggregates.delete(aggregate.id, in: db) }
            return Response(status: .ok)
        }
        router.post("/os-aggregates/:id/images") { request, context -> Response in try await self.cacheImages(request, context) }
        router.post("/os-aggregates/:id/action") { request, context -> Response in
            let auth = try self.caller(context)
            let body = try await request.jsonObject(context: context)
            guard body.count == 1, let (action, args) = body.first, ["add_host", "remove_host", "set_metadata"].contains(action) else {
                throw APIError.badRequest("Invalid input for field/attribute aggregate action. Value: \(JSON.object(body).serialized()). is not valid under any of the given schemas")
            }
            try self.enforce("os_compute_api:os-aggregates:\(action)", auth)
            let aggregate = try await self.aggregate(context)
            let updated: Aggregate
            switch action {
            case "add_host", "remove_host":
                guard let host = args["host"]?.stringValue, !host.isEmpty, host.count <= 255 else {
                    throw APIError.badRequest("Invalid input for field/attribute \(action). 'host' is a required property")
                }
                updated = try await self.changeHost(aggregate, host: host, add: action == "add_host")
            default:
                guard case .object(let metadata)? = args["metadata"] else {
                    throw APIError.badRequest("Invalid input for field/attribute set_metadata. 'metadata' is a required property")
                }
                var changes: [String: String?] = [:]
                for (key, value) in metadata {
                    guard !key.isEmpty, key.count <= 255 else { throw APIError.badRequest("Invalid input for field/attribute metadata. Value: \(key). keys must be 1 to 255 characters") }
                    if value.isNull { changes[key] = .some(nil); continue }
                    guard let text = value.stringValue ?? value.intValue.map(String.init), text.count <= 255 else {
                        throw APIError.badRequest("Invalid input for field/attribute metadata. Value: \(value.serialized()). values must be strings of at most 255 characters")
                    }
                    changes[key] = text
                }
                let frozen = changes
                updated = try await self.db.transaction { db in
                    if let zone = frozen["availability_zone"] {
                        try await self.checkZoneConflicts(aggregate, zone: zone, hosts: aggregate.hosts, in: db)
                    }
                    try await self.aggregates.setMetadata(aggregate.id, frozen, in: db)
                    return try await self.aggregates.get(aggregate.id, in: db) ?? aggregate
                }
            }
            return .json(["aggregate": Self.aggregateView(updated, context: context)])
        }
    }

    /// `POST /os-aggregates/{id}/images` (2.81): the hosts of the aggregate download the
    /// images into their image caches ahead of the servers that will boot from them.
    private func cacheImages(_ request: Request, _ context: StratusContext) async throws -> Response {
        guard context.version(atLeast: 2, 81) else { throw APIError.notFound("The resource could not be found.") }
        let auth = try caller(context)
        try enforce("os_compute_api:os-aggregates:images", auth)
        let body = try await request.jsonObject(context: context)
        if let extra = body.keys.sorted().first(where: { $0 != "cache" }) {
            throw APIError.badRequest("Invalid input for field/attribute request body. Additional properties are not allowed ('\(extra)' was unexpected)")
        }
        guard case .array(let items)? = body["cache"], !items.isEmpty else {
            throw APIError.badRequest("Invalid input for field/attribute cache. Value: \(body["cache"]?.serialized() ?? "None"). 'cache' must be a non-empty list of images")
        }
        var images: [String] = []
        for item in items {
            guard case .object(let fields) = item, fields.count == 1, let id = fields["id"]?.stringValue, UUID(uuidString: id) != nil else {
                throw APIError.badRequest("Invalid input for field/attribute cache. Value: \(item.serialized()). Each item must be {\"id\": <image uuid>}")
            }
            images.append(id.lowercased())
        }
        guard Set(images).count == images.count else { throw APIError.badRequest("Duplicate images in request") }
        guard Int(context.parameters.get("id") ?? "") != nil else { throw APIError.badRequest("Aggregate id must be an integer.") }
        let aggregate = try await self.aggregate(context)
        for image in images { _ = try await visibleImage(image, token: auth.token) }
        for host in aggregate.hosts {
            do {
                try await bus.cast(ComputeRPC.cacheImages, to: host, CacheImagesArgs(images: images))
            } catch {
                logger.warning("host \(host) of aggregate \(aggregate.id) cannot cache images now: \(error)")
            }
        }
        return Response(status: .accepted)
    }

    private func aggregate(_ context: StratusContext) async throws -> Aggregate {
        let text = context.parameters.get("id") ?? ""
        guard let id = Int(text), let aggregate = try await db.read({ db in try await self.aggregates.get(id, in: db) }) else {
            throw APIError.notFound("Aggregate \(text) could not be found.")
        }
        return aggregate
    }

    /// Adds or removes a compute host, and the aggregate on its resource provider with it.
    private func changeHost(_ aggregate: Aggregate, host: String, add: Bool) async throws -> Aggregate {
        let isCompute = try await ServiceRecords(db: db, settings: settings).all().contains { $0.host == host && $0.binary == "nova-compute" }
        guard isCompute else { throw APIError.notFound("Compute host \(host) could not be found.") }
        let updated: Aggregate = try await db.transaction { db in
            guard let current = try await self.aggregates.get(aggregate.id, in: db) else { throw APIError.notFound("Aggregate \(aggregate.id) could not be found.") }
            if add {
                guard !current.hosts.contains(host) else { throw APIError.conflict("Aggregate \(current.id) already has host \(host).") }
                try await self.checkZoneConflicts(current, zone: current.availabilityZone, hosts: [host], in: db)
                try await self.aggregates.addHost(current.id, host, in: db)
            } else {
                guard current.hosts.contains(host) else { throw APIError.notFound("Aggregate \(current.id) has no host \(host).") }
                try await self.aggregates.removeHost(current.id, host, in: db)
            }
            return try await self.aggregates.get(current.id, in: db) ?? current
        }
        try await mirrorToPlacement(aggregate.uuid, host: host, add: add)
        return updated
    }

    /// Placement's provider aggregates follow the host's membership (retried on a generation race).
    private func mirrorToPlacement(_ aggregate: String, host: String, add: Bool) async throws {
        guard let node = try await ServiceRecords(db: db, settings: settings).nodes().first(where: { $0.host == host }) else { return }
        try await clients.placement.updateAggregates(of: node.uuid) { current in
            current.filter { $0 != aggregate } + (add ? [aggregate] : [])
        }
    }

    /// A host is in at most one availability zone.
    private func checkZoneConflicts(_ aggregate: Aggregate, zone: String?, hosts: [String], in db: any SQLDatabase) async throws {
        guard let zone else { return }
        for other in try await aggregates.all(in: db) where other.id != aggregate.id {
            guard let otherZone = other.availabilityZone, otherZone != zone, let host = hosts.first(where: other.hosts.contains) else { continue }
            throw APIError.conflict(
                "Cannot add host to aggregate \(aggregate.id). Reason: One or more hosts already in availability zone(s) ['\(otherZone)'] (host \(host)).")
        }
    }

    private func checkUniqueName(_ name: String, except id: Int?, in db: any SQLDatabase) async throws {
        if try await aggregates.all(in: db).contains(where: { $0.name == name && $0.id != id }) {
            throw APIError.conflict("Aggregate \(name) already exists.")
        }
    }

    private static func aggregateName(_ value: JSON?, required: Bool) throws -> String? {
        guard let value else {
            if required { throw APIError.badRequest("Invalid input for field/attribute aggregate. 'name' is a required property") }
            return nil
        }
        guard let name = value.stringValue, !name.isEmpty, name.count <= 255, name.trimmingCharacters(in: .whitespaces) == name else {
            throw APIError.badRequest("Invalid input for field/attribute name. Value: \(value.serialized()). must be a string of 1 to 255 characters without leading or trailing whitespace")
        }
        return name
    }

    private static func aggregateZone(_ body: [String: JSON]) throws -> String? {
        guard let value = body["availability_zone"], !value.isNull else { return nil }
        guard let zone = value.stringValue, !zone.isEmpty, zone.count <= 255 else {
            throw APIError.badRequest("Invalid input for field/attribute availability_zone. Value: \(value.serialized()). must be a string of 1 to 255 characters")
        }
        return zone
    }

    static func aggregateView(_ aggregate: Aggregate, context: StratusContext) -> JSON {
        var view: [String: JSON] = [
            "id": .int(aggregate.id), "name": .string(aggregate.name), "availability_zone": JSON(aggregate.availabilityZone),
            "hosts": JSON(aggregate.hosts), "metadata": .object(aggregate.metadata.mapValues { .string($0) }),
            "created_at": .string(Timestamp.nova(aggregate.createdAt)), "updated_at": JSON(aggregate.updatedAt.map(Timestamp.nova)),
            "deleted_at": .null, "deleted": false,
        ]
        if context.version(atLeast: 2, 41) { view["uuid"] = .string(aggregate.uuid) }
        return .object(view)
    }
}
