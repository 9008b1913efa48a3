import Foundation
import StratusCore

/// Nova's `instance.update` notifications: every change of a server's vm, task or power
/// state (and its deletion) is announced on the `notifications` topic, after it committed,
/// for metering and the dashboard.
extension InstanceStore {
    static let notificationTopic = "notifications"

    func announce(from before: Instance, to after: Instance) async {
        guard let notifications else { return }
        let stateChanged = before.vmState != after.vmState || before.taskState != after.taskState || before.powerState != after.powerState
        guard stateChanged || before.deleted != after.deleted else { return }
        let event = after.deleted && !before.deleted ? "instance.delete.end" : "instance.update"
        let payload: JSON = [
            "event_type": .string(event), "publisher_id": .string("nova-compute:\(after.host ?? "api")"),
            "timestamp": .string(Timestamp.iso8601(Date(), fractional: true)),
            "payload": [
                "instance_id": .string(after.uuid), "display_name": .string(after.name), "tenant_id": .string(after.projectID),
                "user_id": .string(after.userID), "host": JSON(after.host), "node": JSON(after.node),
                "state": .string(after.vmState.rawValue), "old_state": .string(before.vmState.rawValue),
                "new_task_state": JSON(after.taskState?.rawValue), "old_task_state": JSON(before.taskState?.rawValue),
                "power_state": .int(after.powerState.rawValue), "old_power_state": .int(before.powerState.rawValue),
                "instance_type_id": .string(after.flavorID), "vcpus": .int(after.vcpus), "memory_mb": .int(after.memoryMB),
                "root_gb": .int(after.rootGB), "image_ref": .string(after.imageRef),
                "availability_zone": JSON(after.availabilityZone), "launched_at": JSON(after.launchedAt.map { Timestamp.iso8601($0) }),
                "deleted_at": JSON(after.deletedAt.map { Timestamp.iso8601($0) }),
            ],
        ]
        try? await notifications.fanout(topic: Self.notificationTopic, message: BusMessage(method: event, args: payload))
    }
}
