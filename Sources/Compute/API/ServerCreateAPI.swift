import Foundation
import Hummingbird
import SQLKit
import StratusCore

/// `POST /servers`: the request checked against the flavor, image, zone, networks, security
/// groups and quotas, then the instances written in one transaction and cast to the conductor.
extension ComputeAPI {
    func createServers(_ request: Request, _ context: StratusContext) async throws -> Response {
        let auth = try caller(context)
        let body = try await request.jsonObject(context: context)
        guard let serverBody = body["server"]?.objectValue else {
            throw APIError.badRequest("Invalid input for field/attribute server. 'server' is a required property")
        }
        var spec = try ServerRequest.parse(serverBody, hints: body["os:scheduler_hints"] ?? body["OS-SCH-HNT:scheduler_hints"], context: context)
        let project = auth.projectID ?? ""
        try enforce("os_compute_api:servers:create", auth)
        if let zone = spec.availabilityZone, zone.contains(":") {
            try enforce("os_compute_api:servers:create:forced_host", auth)
        }
        guard let flavor = try await findFlavor(spec.flavorRef, auth) else {
            throw APIError.badRequest("Flavor \(spec.flavorRef) could not be found.")
        }
        var imageDoc: JSON = [:]
        if !spec.imageRef.isEmpty {
            imageDoc = try await checkImage(spec.imageRef, flavor: flavor, token: auth.token)
        } else if let root = spec.blockDevices.compactMap(BlockDeviceRequest.init).first(where: { $0.bootIndex == 0 }),
            root.source == .image, let image = root.uuid
        {
            // Booted from a volume made of an image: Nova's image meta is that image's (kernel_id ...).
            imageDoc = try await checkImage(image, flavor: flavor, token: auth.token, rootOnVolume: true)
        }
        try await checkVolumeRequests(spec.blockDevices, auth: auth)
        var keyData: String?
        if let keyName = spec.keyName {
            let row = try await db.read { db in
                try await db.select().column("public_key").from("key_pairs").where("user_id", .equal, SQLBind(auth.userID))
                    .where("name", .equal, SQLBind(keyName)).first()
            }
            guard let row else { throw APIError.badRequest("Invalid key_name provided.") }
            keyData = try row.decode(column: "public_key", as: String.self)
        }
        try await checkZone(spec.availabilityZone)
        let networks = try await resolveNetworks(spec.networks, project: project, token: auth.token, count: spec.maxCount)
        if spec.securityGroups.isEmpty { spec.securityGroups = ["default"] }
        try await checkSecurityGroups(spec.securityGroups, token: auth.token, needed: !(networks.arrayValue ?? []).isEmpty)
        let limits = try await effectiveLimits(project: project, user: auth.userID)
        try PersonalityRules.check(spec.personality, limits: limits)
        if let limit = limits["metadata_items"], limit >= 0, spec.metadata.count > limit {
            throw APIError.forbidden("Quota exceeded for metadata_items: Requested \(spec.metadata.count), but already used 0 of \(limit) metadata_items")
        }
        var group: ServerGroup?
        if let hint = spec.hints["group"] {
            guard let id = hint.stringValue, UUID(uuidString: id) != nil else {
                throw APIError.badRequest("Invalid input for field/attribute group. Value: \(hint.serialized()). '\(hint.stringValue ?? hint.serialized())' is not a 'uuid'")
            }
            guard let found = try await serverGroups.get(id), found.projectID == project || isAdmin(auth) else {
                throw APIError.badRequest("Group \(id) could not be found.")
            }
            group = found
        }

        let reservation = "r-" + String(UUID().uuidString.lowercased().filter { $0 != "-" }.prefix(8))
        let adminPass = spec.adminPass ?? Self.generatePassword()
        var created: [Instance] = []
        for index in 0..<spec.maxCount {
            let name = spec.maxCount > 1 ? "\(spec.name)-\(index + 1)" : spec.name
            var details = InstanceDetails()
            details.flavor = flavor.snapshot
            details.image = imageDoc
            details.metadata = spec.metadata.compactMapValues(\.stringValue)
            details.keyName = spec.keyName
            details.keyData = keyData
            details.userData = spec.userData
            details.securityGroups = spec.securityGroups
            details.requestedNetworks = networks.arrayValue ?? []
            details.requestedZone = spec.availabilityZone
            details.configDrive = spec.configDrive
            details.accessIPv4 = spec.accessIPv4
            details.accessIPv6 = spec.accessIPv6
            details.description = spec.description.stringValue
            details.launchIndex = index
            details.hostname = spec.hostname ?? Self.hostname(name)
            details.diskConfig = spec.diskConfig
            details.blockDevices = spec.blockDevices
            details.hints = spec.hints
            details.requestID = context.requestID
            var instance = Instance(
                uuid: UUID().uuidString.lowercased(), projectID: project, userID: auth.userID, name: name, flavor: flavor,
                imageRef: spec.imageRef, reservationID: reservation, details: details)
            instance.availabilityZone = spec.availabilityZone.map { String($0.split(separator: ":", omittingEmptySubsequences: false)[0]) }
                .flatMap { $0.isEmpty ? nil : $0 } ?? settings.defaultAvailabilityZone
            created.append(instance)
        }
        let candidates = created
        let frozenGroup = group
        let tags = spec.tags
        let (minCount, maxCount, baseName, hostname) = (spec.minCount, spec.maxCount, spec.name, spec.hostname)
        let frozen: [Instance] = try await db.transaction { db in
            try await self.db.lock("compute-quota:" + project, in: db)
            let used = try await self.usage(project: project, user: auth.userID, in: db)
            let count = try Self.serversFitting(limits: limits, used: used, flavor: flavor, min: minCount, max: maxCount)
            var chosen = Array(candidates.prefix(count))
            if chosen.count == 1, maxCount > 1 {  // a single server keeps its name unnumbered
                chosen[0].name = baseName
                chosen[0].hostname = hostname ?? Self.hostname(baseName)
            }
            try await self.instances.insert(chosen, tags: tags, in: db)
            if let group = frozenGroup {
                let members = try await self.serverGroups.get(group.uuid, in: db)?.members.count ?? 0
                if let limit = limits["server_group_members"], limit >= 0, members + chosen.count > limit {
                    throw APIError.forbidden("Quota exceeded, too many servers in group")
                }
                try await self.serverGroups.addMembers(chosen.map(\.uuid), to: group.uuid, in: db)
            }
            for instance in chosen {
                try await self.actions.start("create", instance: instance.uuid, requestID: context.requestID, projectID: project, userID: auth.userID, in: db)
            }
            return chosen
        }
        let buildable = await mapBuildVolumes(frozen, auth: auth)
        if !buildable.isEmpty {
            try await bus.cast(ConductorRPC.buildInstances, BuildInstancesArgs(instances: buildable.map(\.uuid)))
        }
        if spec.returnReservationID { return .json(["reservation_id": .string(reservation)], status: .accepted) }
        let first = frozen[0]
        var server: [String: JSON] = [
            "id": .string(first.uuid), "links": Self.links(request, "servers", first.uuid), "OS-DCF:diskConfig": .string(spec.diskConfig),
            "security_groups": .array(spec.securityGroups.map { ["name": .string($0)] }), "adminPass": .string(adminPass),
        ]
        if spec.adminPass == nil, !settings.returnGeneratedPassword { server["adminPass"] = nil }
        return .json(["server": .object(server)], status: .accepted, headers: [.location: "\(request.baseURL)/v2.1/servers/\(first.uuid)"])
    }

    static func generatePassword() -> String {
        let alphabet = Array("abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789")
        return String((0..<12).map { _ in alphabet.randomElement() ?? "x" })
    }

    /// The image must exist for the caller, be active, and fit the flavor (its disk only when
    /// the root disk is not a volume).
    func checkImage(_ id: String, flavor: Flavor, token: String, rootOnVolume: Bool = false) async throws -> JSON {
        guard UUID(uuidString: id) != nil else { throw APIError.badRequest("Invalid image identifier or it is not found.") }
        let image = try await visibleImage(id, token: token)
        guard image["status"]?.stringValue == "active" else { throw APIError.badRequest("Image \(id) is not active.") }
        let minRAM = image["min_ram"]?.intValue ?? 0
        let minDisk = image["min_disk"]?.intValue ?? 0
        if flavor.memoryMB < minRAM { throw APIError.badRequest("Flavor's memory is too small for requested image.") }
        if flavor.rootGB > 0, !rootOnVolume {
            if flavor.rootGB < minDisk { throw APIError.badRequest("Flavor's disk is too small for requested image.") }
            if let size = image["size"]?.intValue, size > flavor.rootGB << 30 {
                throw APIError.badRequest("Flavor's disk is too small for requested image. Flavor disk is \(flavor.rootGB << 30) bytes, image is \(size) bytes.")
            }
        }
        // Nova's image meta: the base fields, and the custom ones as "properties"
        // (kernel_id, hw_*, img_* ...) for the scheduler's filters and the driver.
        return [
            "id": .string(id), "name": image["name"] ?? .null, "size": image["size"] ?? .null, "disk_format": image["disk_format"] ?? .null,
            "min_ram": .int(minRAM), "min_disk": .int(minDisk), "properties": .object(Self.imageProperties(image)),
        ]
    }

    /// The image as the caller sees it: a 400 when it cannot, a 503 when the image service fails.
    func visibleImage(_ id: String, token: String) async throws -> JSON {
        let found: JSON?
        do {
            found = try await clients.image.image(id, token: token)
        } catch let fault as ServiceFault {
            throw APIError(.serviceUnavailable, "The image service answered \(fault.status).")
        }
        guard let found else { throw APIError.badRequest("Image \(id) could not be found.") }
        return found
    }

    private func checkZone(_ zone: String?) async throws {
        guard let zone, let name = zone.split(separator: ":", omittingEmptySubsequences: false).first, !name.isEmpty else { return }
        let zones = try await ServiceRecords(db: db, settings: settings).zones()
        guard zones.contains(String(name)) else {
            throw APIError.badRequest("The requested availability zone is not available")
        }
    }

    /// Requested networks as a list of `{uuid, fixed_ip, port, tag}` (empty for none),
    /// checked against Neutron with the caller's token.
    private func resolveNetworks(_ requested: JSON?, project: String, token: String, count: Int) async throws -> JSON {
        if case .string("none") = requested { return [] }
        guard case .array(let items) = requested else {
            var ids = try await clients.network.networkIDs(.project(project), token: token)
            if ids.isEmpty { ids = try await clients.network.networkIDs(.shared, token: token) }
            if ids.count > 1 { throw APIError.conflict("Multiple possible networks found, use a Network ID to be more specific.") }
            if ids.isEmpty, case .string("auto") = requested {
                throw APIError.badRequest("Unable to automatically allocate a network for project \(project)")
            }
            return .array(ids.map { ["uuid": .string($0)] })
        }
        for item in items {
            if let port = item["port"]?.stringValue {
                guard let found = try await clients.network.port(port, token: token) else {
                    throw APIError.badRequest("Port id \(port) could not be found.")
                }
                if !found.deviceID.isEmpty { throw APIError.conflict("Port \(port) is still in use.") }
                if count > 1 { throw APIError.badRequest("Unable to launch multiple instances with a single configured port ID. Please launch your instance one by one with different ports.") }
            } else if let network = item["uuid"]?.stringValue {
                guard try await clients.network.networkName(network, token: token) != nil else {
                    throw APIError.badRequest("Network \(network) could not be found.")
                }
                if item["fixed_ip"] != nil, count > 1 {
                    throw APIError.badRequest("Unable to launch multiple instances with a single configured fixed IP.")
                }
            }
        }
        return requested ?? []
    }

    private func checkSecurityGroups(_ names: [String], token: String, needed: Bool) async throws {
        guard needed, names != ["default"] else { return }
        let groups = try await clients.network.securityGroups(project: nil, token: token)
        for name in names where !groups.contains(where: { $0.name == name || $0.id == name }) {
            throw APIError.badRequest("Security group \(name) not found.")
        }
    }
}
