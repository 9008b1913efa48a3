import Foundation
import Logging
import ServiceLifecycle
import SQLKit
import StratusCore
import Virt

/// The long-running side of one compute host: recovery at start, the service heartbeat,
/// inventory reports and the reconciler that removes what no server owns.
struct HostWorker: Service {
    let manager: ComputeManager
    let tracker: ResourceTracker
    let records: ServiceRecords

    var logger: Logger { manager.logger }

    /// Joins the bus; reporting waits for `run`, when the other services answer.
    func start() async throws {
        try await manager.listen()
    }

    func run() async throws {
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    try await records.heartbeat(host: manager.host, binary: "nova-compute")
                    try await tracker.report()
                    break
                } catch {
                    logger.debug("\(manager.host) not reported yet: \(error)")
                    try await Task.sleep(for: .milliseconds(500))
                }
            }
            await recover()
            var tick = 0
            while !Task.isCancelled {
                try await Task.sleep(for: .seconds(manager.settings.reportInterval))
                tick += 1
                await logger.bestEffort("the heartbeat of \("nova-compute") on \(manager.host)") {
                    try await records.heartbeat(host: manager.host, binary: "nova-compute")
                }
                await runPeriodicTasks()
                if tick % 30 == 0 {
                    await logger.bestEffort("reporting the host to Placement") { try await tracker.report() }
                    await reconcile()
                }
            }
        }
    }

    /// After a restart: interrupted builds start over (on any host), deletes finish,
    /// operations in flight settle, and running servers get their guests back.
    func recover() async {
        let host = manager.host
        let mine = await logger.bestEffort("reading the instances of \(host) to recover them") {
            try await manager.db.read { db in
                try await manager.instances.select(where: "host = \(bind: host) AND deleted = \(bind: false)", in: db)
            }
        } ?? []
        let guests = Set(await manager.driver.listGuests())
        for instance in mine {
            if instance.taskState == .deleting {
                await manager.terminate(instance.uuid)
            } else if instance.vmState == .building {
                await logger.bestEffort("destroying guest \(instance.uuid)") {
                    try await manager.driver.destroy(instance.uuid)
                }
                await manager.cleanup.releasePorts(instance.uuid, given: instance.givenPorts)
                await manager.cleanup.releaseAllocation(instance.uuid)
                await logger.bestEffort("updating instance \(instance.uuid)") {
                    try await manager.instances.update(instance.uuid) { instance in
                        instance.host = nil
                        instance.node = nil
                        instance.taskState = .scheduling
                        instance.triedHosts = []
                        instance.addresses = [:]
                        instance.portIDs = []
                    }
                }
                await logger.bestEffort("asking the conductor to schedule again") {
                    try await manager.bus.cast(
                        ConductorRPC.buildInstances, BuildInstancesArgs(instances: [instance.uuid]))
                }
            } else {
                await manager.abandonInterruptedMove(instance)
                await manager.resumeSwaps(instance)
                if [.active, .paused, .suspended].contains(instance.vmState), !guests.contains(instance.uuid) {
                    var guest = GuestSpec(
                        uuid: instance.uuid, name: ServerView.instanceName(instance.uuid), vcpus: instance.vcpus, memoryMB: instance.memoryMB,
                        rootGB: instance.rootGB, imagePath: instance.imageRef.isEmpty ? nil : await manager.cache.path(for: instance.imageRef))
                    guest.volumes = instance.volumes.compactMap(\.guestVolume)
                    await logger.bestEffort("starting guest \(guest.uuid) again") {
                        try await manager.driver.spawn(guest)
                    }
                }
                if instance.taskState != nil {
                    await logger.bestEffort("updating instance \(instance.uuid)") {
                        try await manager.instances.update(instance.uuid) { $0.taskState = nil }
                    }
                }
            }
        }
        await reconcile()
    }

    /// Allocations and ports of this host whose server is gone or never existed, and
    /// cached images no server uses, are removed.
    func reconcile() async {
        do {
            // Servers and the moves that hold a source allocation for them.
            let live = Set(try await manager.db.read { db in
                try await db.raw("SELECT uuid FROM instances WHERE deleted = \(bind: false)").all().map {
                    try $0.decode(column: "uuid", as: String.self)
                }
                    + (try await MigrationStore(db: manager.db).select(where: "updated_at > 0", in: db)).filter(\.inProgress).map(\.uuid)
            })
            let provider = try await tracker.report()
            for consumer in try await manager.clients.placement.consumers(of: provider) where !live.contains(consumer) {
                logger.info("removing orphaned allocation \(consumer) on \(manager.host)")
                await manager.cleanup.releaseAllocation(consumer)
            }
            for port in try await manager.clients.network.ports(.host(manager.host))
            where port.ownedByServer && !live.contains(port.deviceID) {
                logger.info("removing orphaned port \(port.id) of \(port.deviceID)")
                await logger.bestEffort("deleting port \(port.id)") {
                    try await manager.clients.network.deletePort(port.id)
                }
            }
            let images = Set(try await manager.db.read { db in
                try await db.raw("SELECT DISTINCT image_ref FROM instances WHERE deleted = \(bind: false)").all()
                    .map { try $0.decode(column: "image_ref", as: String.self) }
            })
            await manager.cache.prune(keeping: images)
        } catch {
            logger.warning("reconcile of \(manager.host) failed: \(error)")
        }
    }
}
