import Foundation
import StratusCore

/// Nova's periodic tasks of a compute host: resizes confirmed after
/// `resize_confirm_window`, soft-deleted servers reclaimed after `reclaim_instance_interval`.
extension HostWorker {
    func runPeriodicTasks() async {
        let settings = manager.settings
        let now = Date().timeIntervalSince1970
        do {
            if settings.resizeConfirmWindow > 0 {
                let waiting = try await manager.db.read { db in
                    try await manager.instances.select(
                        where: "host = \(bind: manager.host) AND vm_state = \(bind: VMState.resized.rawValue) AND deleted = \(bind: false) AND updated_at < \(bind: now - Double(settings.resizeConfirmWindow))",
                        in: db)
                }
                for instance in waiting where instance.taskState == nil {
                    guard let migration = instance.migration else { continue }
                    logger.info("confirming the resize of \(instance.uuid) after \(settings.resizeConfirmWindow)s")
                    try await manager.startConfirm(instance.uuid, migrationUUID: migration)
                }
            }
            if settings.reclaimInstanceInterval > 0 {
                let expired = try await manager.db.read { db in
                    try await manager.instances.select(
                        where: "host = \(bind: manager.host) AND vm_state = \(bind: VMState.softDeleted.rawValue) AND deleted = \(bind: false) AND updated_at < \(bind: now - Double(settings.reclaimInstanceInterval))",
                        in: db)
                }
                for instance in expired where instance.taskState == nil {
                    logger.info("reclaiming soft-deleted \(instance.uuid)")
                    _ = try await manager.instances.update(instance.uuid) { $0.taskState = .deleting }
                    await manager.terminate(instance.uuid)
                }
            }
        } catch {
            logger.warning("periodic tasks of \(manager.host) failed: \(error)")
        }
    }
}
