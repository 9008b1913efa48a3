import SQLKit
import StratusCore

extension ResourceKind {
    /// Metering labels and their rules (`metering`, `metering_source_and_destination_fields`):
    /// admin-only accounting of traffic through routers; the no-op dataplane counts nothing yet.
    /// Neither has standard attributes, and neither can be changed once made (but a rule's
    /// source and destination prefixes).
    static let meteringLabel = ResourceKind(
        collection: "metering_labels", member: "metering_label", displayName: "Metering label",
        attributes: [
            StandardAttributes.id, StandardAttributes.projectID,
            Attribute("name", .text, put: false, default: "", convert: Validate.string(255)),
            Attribute("description", .text, put: false, default: "", convert: Validate.string(1024)),
            Attribute("shared", .bool, put: false, default: false, convert: Validate.bool),
        ],
        hooks: MeteringLabelHooks(), path: "metering/metering-labels", hasTags: false, notFoundType: "MeteringLabelNotFound")

    /// Rules show no project (Neutron keeps none); the label's is kept for policy targets.
    static let meteringLabelRule = ResourceKind(
        collection: "metering_label_rules", member: "metering_label_rule", displayName: "Metering label rule",
        attributes: [
            StandardAttributes.id,
            Attribute("project_id", .text, put: false, readRule: "!", filterable: false, convert: Validate.string(255)),
            Attribute("metering_label_id", .text, put: false, required: true, convert: Validate.uuid),
            Attribute("direction", .text, put: false, required: true, convert: Validate.oneOf(["ingress", "egress"])),
            Attribute("excluded", .bool, put: false, default: false, convert: Validate.bool),
            Attribute("remote_ip_prefix", .text, put: false, default: .null),
            Attribute("source_ip_prefix", .text, default: .null),
            Attribute("destination_ip_prefix", .text, default: .null),
        ],
        hooks: MeteringRuleHooks(), path: "metering/metering-label-rules", hasTags: false, projectScoped: false,
        indexes: [["metering_label_id"]], notFoundType: "MeteringLabelRuleNotFound")
}

struct MeteringLabelHooks: ResourceHooks {
    func willDelete(_ record: Record, ctx: HookContext) async throws {
        try await ctx.db.raw("DELETE FROM metering_label_rules WHERE metering_label_id = \(bind: record.id)").run()
    }
}

/// Neutron's metering plugin checks: prefixes are addresses or networks, `remote_ip_prefix`
/// goes alone, one prefix at least, no overlapping remote prefixes among a label's rules of
/// the same direction and exclusion, and the label must exist.
struct MeteringRuleHooks: ResourceHooks {
    static let prefixes = ["remote_ip_prefix", "source_ip_prefix", "destination_ip_prefix"]

    func willCreate(_ record: inout Record, ctx: HookContext) async throws {
        guard ctx.caller.isAdmin else { throw NeutronError.policy("create_metering_label_rule") }
        try Self.validate(record)
        let labelID = record.string("metering_label_id") ?? ""
        if let remote = record.string("remote_ip_prefix"), let mine = CIDR(remote) {
            let siblings = try await RecordStore.select(
                .meteringLabelRule,
                where: "metering_label_id = \(bind: labelID) AND direction = \(bind: record.string("direction") ?? "") AND excluded = \(bind: record.bool("excluded"))",
                db: ctx.db)
            if siblings.contains(where: { $0.string("remote_ip_prefix").flatMap { CIDR($0) }?.overlaps(mine) == true }) {
                throw NeutronError.conflict(
                    "MeteringLabelRuleOverlaps", "Metering label rule with remote_ip_prefix '\(remote)' overlaps another.")
            }
        }
        guard let label = try await RecordStore.get(.meteringLabel, id: labelID, db: ctx.db) else {
            throw NeutronError.notFound("MeteringLabelNotFound", "Metering label '\(labelID)' does not exist.")
        }
        record["project_id"] = .string(label.projectID)
    }

    func willUpdate(_ record: inout Record, old: Record, changes: Record, ctx: HookContext) async throws {
        try Self.validate(record)
    }

    static func validate(_ record: Record) throws {
        for name in prefixes {
            guard let value = record[name], !value.isNull, value != "" else { continue }
            guard let text = value.stringValue, CIDR(text) != nil else {
                throw invalid("\(name): \(value.display) is invalid ['\(value.display)' does not appear to be an IPv4 or IPv6 interface].")
            }
        }
        func given(_ name: String) -> Bool { record.string(name).map { !$0.isEmpty } ?? false }
        if given("remote_ip_prefix"), given("source_ip_prefix") || given("destination_ip_prefix") {
            throw invalid("Cannot use 'remote-ip-prefix' in conjunction with 'source-ip-prefix' or 'destination-ip-prefix'.")
        }
        if !prefixes.contains(where: given) {
            throw invalid(
                "You must define at least one of the following parameters 'remote_ip_prefix', or 'source_ip_prefix' or 'destination_ip_prefix'.")
        }
    }

    private static func invalid(_ message: String) -> APIError { NeutronError.make(.badRequest, "Invalid", message) }
}
