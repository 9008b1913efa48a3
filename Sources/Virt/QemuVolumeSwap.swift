import Foundation
import StratusCore

/// Swapping a running guest's volume for another (Block Storage's migration of an attached
/// volume): the new data is opened as a second node, QEMU mirrors the old node onto it while
/// the guest writes, then the device pivots and the old node goes. The guest's device, its
/// serial and its I/O limits stay; the definition names the node after the new volume.
extension QemuDriver {
    public func swapVolume(_ uuid: String, volumeID: String, to target: GuestVolume) async throws {
        try QemuVolumes.check(target)
        var definition = try load(uuid)
        guard let old = definition.volumes?.first(where: { $0.volumeID == volumeID }) else {
            throw DriverError("Guest \(uuid) has no volume \(volumeID).")
        }
        guard QemuVolumes.nodeName(old) != QemuVolumes.nodeName(target) else {
            throw DriverError("Volume \(volumeID) of guest \(uuid) already uses \(QemuVolumes.nodeName(target)).")
        }
        guard pid(uuid) != nil else {
            throw DriverError("Guest \(uuid) is not running; its volume cannot be swapped.")
        }
        let passphrase = try passphrase(of: target)
        if let passphrase {
            try await qmp(uuid, "object-add", QemuVolumes.secretObject(target, passphrase: passphrase))
        }
        do {
            try await qmp(uuid, "blockdev-add", QemuVolumes.blockdev(target))
            do {
                try await QMP.mirror(socket: path(uuid, "qmp.sock"), QemuVolumes.mirror(from: old, to: target))
            } catch {
                await removeNode(uuid, target)
                throw error
            }
        } catch {
            if passphrase != nil { await removeSecret(uuid, target) }
            throw error
        }
        try await dropOld(uuid, old, &definition, target: target)
    }

    public func settleSwap(_ uuid: String, volumeID: String, to target: GuestVolume) async throws -> Bool {
        var definition = try load(uuid)
        guard let old = definition.volumes?.first(where: { $0.volumeID == volumeID }) else { return false }
        if QemuVolumes.nodeName(old) == QemuVolumes.nodeName(target) { return true }
        // A guest that is not running starts from its definition: the old disk.
        guard pid(uuid) != nil else { return false }
        if try await deviceNode(uuid, volumeID: volumeID) == QemuVolumes.nodeName(target) {
            try await dropOld(uuid, old, &definition, target: target)
            return true
        }
        let job = QemuVolumes.mirrorJobID(volumeID: volumeID)
        let jobs = try await qmp(uuid, "query-block-jobs").arrayValue ?? []
        if jobs.contains(where: { $0["device"]?.stringValue == job }) {
            try await QMP.session(socket: path(uuid, "qmp.sock"), timeout: .seconds(30)) { session in
                try await session.execute("block-job-cancel", ["device": .string(job), "force": true])
                _ = try await session.event(["BLOCK_JOB_CANCELLED", "BLOCK_JOB_COMPLETED"]) {
                    $0["device"]?.stringValue == job
                }
            }
        }
        let nodes = try await qmp(uuid, "query-named-block-nodes").arrayValue ?? []
        if nodes.contains(where: { $0["node-name"]?.stringValue == QemuVolumes.nodeName(target) }) {
            await removeNode(uuid, target)
        }
        if target.encryptionKeyID != nil { await removeSecret(uuid, target) }
        return false
    }

    /// The node the guest's device of the volume reads and writes now (`query-block`).
    private func deviceNode(_ uuid: String, volumeID: String) async throws -> String? {
        let device = "/machine/peripheral/\(QemuVolumes.deviceID(volumeID: volumeID))/"
        let blocks = try await qmp(uuid, "query-block").arrayValue ?? []
        let block = blocks.first { $0["qdev"]?.stringValue?.hasPrefix(device) ?? false }
        return block?["inserted"]?["node-name"]?.stringValue
    }

    /// After the pivot: the old node and secret go, the definition holds the new disk.
    private func dropOld(_ uuid: String, _ old: GuestVolume, _ definition: inout Definition, target: GuestVolume)
        async throws
    {
        definition.volumes = definition.volumes?.map { $0.volumeID == old.volumeID ? target : $0 }
        try save(definition)
        await removeNode(uuid, old)
        if old.encryptionKeyID != nil { await removeSecret(uuid, old) }
    }
}
