import SQLKit
import StratusCore

extension ResourceKind {
    /// Network segments (`segment` extension): each network has one, mirroring its
    /// provider attributes.
    static let segment = ResourceKind(
        collection: "segments", member: "segment", displayName: "Segment",
        attributes: [
            StandardAttributes.id, StandardAttributes.projectID, StandardAttributes.name, StandardAttributes.description,
            StandardAttributes.createdAt, StandardAttributes.updatedAt, StandardAttributes.revision,
            Attribute("network_id", .text, put: false, required: true, convert: Validate.uuid),
            Attribute("network_type", .text, put: false, required: true, convert: Validate.oneOf(["flat", "vlan", "vxlan", "local", "geneve", "gre"])),
            Attribute("physical_network", .text, put: false, default: .null, convert: Validate.stringOrNull(64)),
            Attribute("segmentation_id", .int, put: false, default: .null, convert: Validate.intOrNull(min: 0)),
        ],
        hooks: SegmentHooks(), hasTags: false, indexes: [["network_id"]])
}

struct SegmentHooks: ResourceHooks {
    func willCreate(_ record: inout Record, ctx: HookContext) async throws {
        guard try await RecordStore.get(.network, id: record.string("network_id") ?? "", db: ctx.db) != nil else {
            throw NeutronError.notFound(.network, id: record.string("network_id") ?? "")
        }
        var provider: Record = [
            "provider:network_type": record["network_type"] ?? .null, "provider:physical_network": record["physical_network"] ?? .null,
            "provider:segmentation_id": record["segmentation_id"] ?? .null,
        ]
        try await Segments.validate(&provider, settings: ctx.api.settings, db: ctx.db)
        record["segmentation_id"] = provider["provider:segmentation_id"] ?? .null
    }
}

/// Provider attributes of networks: validation of what admins ask for, allocation of
/// VXLAN and VLAN ids for project networks, and the MTU each type allows.
enum Segments {
    static func maxMTU(type: String?, settings: NetworkSettings) -> Int {
        switch type {
        case "vxlan", "geneve": return settings.mtu - 50
        case "gre": return settings.mtu - 42
        default: return settings.mtu
        }
    }

    /// Fills the provider attributes of a new network (allocating an id for project
    /// networks), its MTU, and records its segment.
    static func assign(_ record: inout Record, settings: NetworkSettings, db: any SQLDatabase) async throws {
        let given = ["provider:network_type", "provider:physical_network", "provider:segmentation_id"].contains {
            record[$0] != nil && record[$0] != .null
        }
        if !given { record["provider:network_type"] = .string(settings.tenantNetworkType) }
        try await validate(&record, settings: settings, db: db)
        let max = maxMTU(type: record.string("provider:network_type"), settings: settings)
        if let mtu = record.int("mtu") {
            if mtu > max { throw NeutronError.badRequest("Invalid input for operation: Requested MTU is too big, maximum is \(max).") }
        } else {
            record["mtu"] = .int(max)
        }
        try await RecordStore.insert(
            .segment,
            [
                "id": .string(record.id), "project_id": record["project_id"] ?? "", "name": .null, "description": "",
                "created_at": record["created_at"] ?? .null, "updated_at": record["updated_at"] ?? .null, "revision_number": 0,
                "network_id": .string(record.id), "network_type": record["provider:network_type"] ?? .null,
                "physical_network": record["provider:physical_network"] ?? .null,
                "segmentation_id": record["provider:segmentation_id"] ?? .null,
            ], db: db)
    }

    /// Checks provider attributes and allocates a segmentation id where one is needed.
    static func validate(_ record: inout Record, settings: NetworkSettings, db: any SQLDatabase) async throws {
        let type = record.string("provider:network_type") ?? ""
        let physnet = record.string("provider:physical_network")
        let segmentation = record.int("provider:segmentation_id")
        func invalid(_ message: String) -> APIError { NeutronError.invalidInput(message) }
        switch type {
        case "flat":
            guard let physnet, !physnet.isEmpty else { throw invalid("provider:physical_network required for flat provider network") }
            guard segmentation == nil else { throw invalid("provider:segmentation_id specified for flat provider network") }
            guard settings.flatNetworks.contains("*") || settings.flatNetworks.contains(physnet) else {
                throw invalid("physical_network '\(physnet)' unknown for flat provider network")
            }
            if try await RecordStore.exists(.segment, where: "network_type = 'flat' AND physical_network = \(bind: physnet)", db: db) {
                throw NeutronError.conflict(
                    "FlatNetworkInUse", "Unable to create the flat network. Physical network \(physnet) is in use.")
            }
        case "vlan":
            var physnet = physnet
            if physnet == nil || physnet?.isEmpty == true {
                guard segmentation == nil else { throw invalid("provider:physical_network required for VLAN provider network") }
                physnet = settings.vlanRanges.first { !$0.value.isEmpty }?.key
                guard physnet != nil else {
                    throw NeutronError.conflict("NoNetworkAvailable", "Unable to create the network. No tenant network is available for allocation.")
                }
                record["provider:physical_network"] = JSON(physnet)
            }
            guard let physnet, settings.vlanRanges[physnet] != nil || settings.flatNetworks.contains("*") else {
                throw invalid("physical_network '\(physnet ?? "")' unknown for VLAN provider network")
            }
            if let segmentation {
                guard (1...4094).contains(segmentation) else { throw invalid("provider:segmentation_id out of range (1 through 4094)") }
                if try await inUse(type: "vlan", physnet: physnet, id: segmentation, db: db) {
                    throw NeutronError.conflict(
                        "VlanIdInUse", "Unable to create the network. The VLAN \(segmentation) on physical network \(physnet) is in use.")
                }
            } else {
                record["provider:segmentation_id"] = .int(
                    try await allocate(type: "vlan", physnet: physnet, ranges: settings.vlanRanges[physnet] ?? [], db: db))
            }
        case "vxlan", "geneve", "gre":
            guard physnet == nil || physnet?.isEmpty == true else { throw invalid("provider:physical_network specified for \(type) network") }
            record["provider:physical_network"] = .null
            if let segmentation {
                guard (1...16_777_215).contains(segmentation) else { throw invalid("provider:segmentation_id out of range (1 through 16777215)") }
                if try await inUse(type: type, physnet: nil, id: segmentation, db: db) {
                    throw NeutronError.conflict("TunnelIdInUse", "Unable to create the network. The tunnel ID \(segmentation) is in use.")
                }
            } else {
                record["provider:segmentation_id"] = .int(try await allocate(type: type, physnet: nil, ranges: settings.vniRanges, db: db))
            }
        case "local":
            guard physnet == nil || physnet?.isEmpty == true, segmentation == nil else {
                throw invalid("provider:physical_network and provider:segmentation_id must not be specified for local network")
            }
            record["provider:physical_network"] = .null
        default:
            throw invalid("network_type value '\(type)' not supported")
        }
    }

    static func inUse(type: String, physnet: String?, id: Int, db: any SQLDatabase) async throws -> Bool {
        var condition: SQLQueryString = "network_type = \(bind: type) AND segmentation_id = \(bind: id)"
        if let physnet { condition = condition + " AND physical_network = \(bind: physnet)" }
        return try await RecordStore.exists(.segment, where: condition, db: db)
    }

    /// The lowest free id in `ranges`.
    static func allocate(type: String, physnet: String?, ranges: [ClosedRange<Int>], db: any SQLDatabase) async throws -> Int {
        var query: SQLQueryString = "SELECT segmentation_id FROM segments WHERE network_type = \(bind: type) AND segmentation_id IS NOT NULL"
        if let physnet { query = query + " AND physical_network = \(bind: physnet)" }
        let used = Set(try await db.raw(query).all().map { try $0.decode(column: "segmentation_id", as: Int.self) })
        for range in ranges {
            for id in range where !used.contains(id) { return id }
        }
        throw NeutronError.conflict("NoNetworkAvailable", "Unable to create the network. No tenant network is available for allocation.")
    }
}
