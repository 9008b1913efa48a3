import SQLKit
import StratusCore

extension ResourceKind {
    /// Metering labels and their rules (`metering`): admin-only accounting of traffic
    /// through routers; the no-op dataplane counts nothing yet.
    static let meteringLabel = ResourceKind(
        collection: "metering_labels", member: "metering_label", displayName: "Metering label",
        attributes: [
            StandardAttributes.id, StandardAttributes.projectID, StandardAttributes.name, StandardAttributes.description,
            Attribute("shared", .bool, put: false, default: false, convert: Validate.bool),
        ],
        hooks: MeteringLabelHooks(), path: "metering/metering-labels", hasTags: false, notFoundType: "MeteringLabelNotFound")

    static let meteringLabelRule = ResourceKind(
        collection: "metering_label_rules", member: "metering_label_rule", displayName: "Metering label rule",
        attributes: [
            StandardAttributes.id, StandardAttributes.projectID,
            Attribute("metering_label_id", .text, put: false, required: true, convert: Validate.uuid),
            Attribute("direction", .text, put: false, default: "ingress", convert: Validate.oneOf(["ingress", "egress"])),
            Attribute("excluded", .bool, default: false, convert: Validate.bool),
            Attribute("remote_ip_prefix", .text, put: false, default: .null, convert: Validate.cidrOrNull),
            Attribute("source_ip_prefix", .text, put: false, default: .null, convert: Validate.cidrOrNull),
            Attribute("destination_ip_prefix", .text, put: false, default: .null, convert: Validate.cidrOrNull),
        ],
        hooks: MeteringRuleHooks(), path: "metering/metering-label-rules", hasTags: false, indexes: [["metering_label_id"]],
        notFoundType: "MeteringLabelRuleNotFound")
}

struct MeteringLabelHooks: ResourceHooks {
    func willDelete(_ record: Record, ctx: HookContext) async throws {
        try await ctx.db.raw("DELETE FROM metering_label_rules WHERE metering_label_id = \(bind: record.id)").run()
    }
}

struct MeteringRuleHooks: ResourceHooks {
    func willCreate(_ record: inout Record, ctx: HookContext) async throws {
        let labelID = record.string("metering_label_id") ?? ""
        guard let label = try await RecordStore.get(.meteringLabel, id: labelID, db: ctx.db) else {
            throw NeutronError.notFound("MeteringLabelNotFound", "Metering label \(labelID) does not exist")
        }
        record["project_id"] = .string(label.projectID)
        let prefixes = ["remote_ip_prefix", "source_ip_prefix", "destination_ip_prefix"].filter { record.string($0) != nil }
        if record.string("remote_ip_prefix") != nil && prefixes.count > 1 {
            throw NeutronError.badRequest("Cannot use 'remote-ip-prefix' in conjunction with 'source-ip-prefix' or 'destination-ip-prefix'.")
        }
        guard let mine = record.string("remote_ip_prefix").flatMap({ CIDR($0) }) else { return }
        let siblings = try await RecordStore.select(
            .meteringLabelRule,
            where: "metering_label_id = \(bind: labelID) AND direction = \(bind: record.string("direction") ?? "ingress") AND excluded = \(bind: record.bool("excluded"))",
            db: ctx.db)
        for other in siblings {
            if let cidr = other.string("remote_ip_prefix").flatMap({ CIDR($0) }), cidr.overlaps(mine) {
                throw NeutronError.conflict(
                    "MeteringLabelRuleOverlaps", "Metering label rule with remote_ip_prefix \(mine) overlaps another.")
            }
        }
    }
}
