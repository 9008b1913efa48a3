import Foundation
import Logging
import SQLKit
import StratusCore

/// Places new volumes on a backend (Cinder's `cinder-scheduler`) from the capabilities the
/// volume services report with their heartbeats.
struct VolumeScheduler: Sendable {
    let db: Database
    let bus: any BusTransport
    /// Seconds without a heartbeat after which a volume service is down.
    let serviceDownTime: TimeInterval
    let logger: Logger

    func handlers() -> RPCHandlers {
        var rpc = RPCHandlers(topic: SchedulerRPC.topic)
        rpc.on(SchedulerRPC.createVolume) {
            try await schedule($0)
            return NoReply()
        }
        return rpc
    }

    /// Up, enabled volume services and their pools.
    func pools(in db: any SQLDatabase) async throws -> [PoolCandidate] {
        try await ServiceRecord.all(in: db).compactMap { service in
            guard service.binary == ServiceRecord.volumeBinary, !service.disabled,
                service.isUp(downTime: serviceDownTime),
                let capabilities = service.capabilities
            else { return nil }
            return PoolCandidate(host: service.host, zone: service.zone, capabilities: capabilities)
        }
    }

    func schedule(_ args: ScheduleVolumeArgs) async throws {
        let placed: String?? = try await db.transaction { db in
            // nil: nothing to place (a message delivered twice); .some(nil): no backend fits.
            guard var volume = try await Volume.getForUpdate(args.volumeID, in: db), volume.status == .creating,
                volume.host == nil
            else { return .none }
            let specs = try await VolumeTypes.extraSpecs(volume.typeID, in: db)
            let request = PoolRequest(
                sizeGB: volume.size, zone: volume.availabilityZone, extraSpecs: specs, multiattach: volume.multiattach)
            let pools = try await pools(in: db).filter { !args.triedHosts.contains($0.host) }
            guard let pool = PoolFilters.choose(pools, for: request) else {
                volume.status = .error
                try await volume.save(in: db)
                try await UserMessage(volume: volume, event: .noValidBackend, requestID: args.requestID).insert(in: db)
                return .some(nil)
            }
            volume.host = "\(pool.host)#\(pool.capabilities.pool)"
            volume.updatedAt = Date()
            try await volume.save(in: db)
            return pool.host
        }
        guard let placed else { return }
        guard let host = placed else {
            logger.warning("no valid backend for volume \(args.volumeID)")
            return
        }
        try await bus.cast(VolumeRPC.createVolume, to: host, args)
    }
}
