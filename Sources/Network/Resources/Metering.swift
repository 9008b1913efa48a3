import StratusCore

// Stub: replaced by the metering implementation.
extension ResourceKind {
    static let meteringLabel = ResourceKind(collection: "metering/metering-labels", member: "metering_label", table: "metering_labels", displayName: "Metering label", attributes: [StandardAttributes.id, StandardAttributes.projectID])
    static let meteringLabelRule = ResourceKind(collection: "metering/metering-label-rules", member: "metering_label_rule", table: "metering_label_rules", displayName: "Metering label rule", attributes: [StandardAttributes.id, StandardAttributes.projectID])
}
