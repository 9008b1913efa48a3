import Foundation
import StratusCore

/// Volumes as files in a directory: thin qcow2 (or raw) images made and copied with
/// `qemu-img`. Snapshots are full copies, so volumes and snapshots never depend on each
/// other and either can be deleted first. New files are written under a temporary name and
/// renamed when complete: a crash leaves only `*.part` files, which `locations` reports for
/// cleanup.
struct FileVolumeDriver: VolumeDriver {
    let kind = "file"
    /// QEMU locks the files of attached volumes; it grows them itself (`block_resize`).
    let extendsAttached = false
    let directory: String
    /// `qcow2` or `raw`.
    let format: String

    init(directory: String, format: String) throws {
        guard ["qcow2", "raw"].contains(format) else {
            throw VolumeDriverError("volume_format must be qcow2 or raw, not \(format)")
        }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        self.directory = directory
        self.format = format
    }

    func stats() async throws -> BackendStats {
        let attributes = try FileManager.default.attributesOfFileSystem(forPath: directory)
        let total = (attributes[.systemSize] as? NSNumber)?.doubleValue ?? 0
        let free = (attributes[.systemFreeSize] as? NSNumber)?.doubleValue ?? 0
        let gib = Double(1 << 30)
        return BackendStats(
            totalGB: (total / gib * 100).rounded() / 100, freeGB: (free / gib * 100).rounded() / 100,
            thinProvisioning: format == "qcow2", storageProtocol: "local")
    }

    func createVolume(
        id: String, sizeGB: Int, from source: VolumeSource, encryption: VolumeEncryption?
    ) async throws -> String {
        let path = "\(directory)/volume-\(id)"
        try await write(path) { partial in
            switch source {
            case .blank:
                try await QemuImage.create(partial, format: format, sizeGB: sizeGB, encryption: encryption)
            case .copy(let location, let sourceFormat, let encrypted):
                try await QemuImage.convert(
                    location, from: sourceFormat ?? format, encrypted: encrypted, to: partial, format: format,
                    encryption: encryption)
            case .imageFile(let image, let imageFormat):
                guard ["raw", "qcow2"].contains(imageFormat) else {
                    throw VolumeDriverError("Image disk format \(imageFormat) cannot be written to a volume.")
                }
                try await QemuImage.checkSelfContained(image, format: imageFormat)
                try await QemuImage.convert(
                    image, from: imageFormat, to: partial, format: format, encryption: encryption)
            }
            try await QemuImage.grow(partial, format: format, sizeGB: sizeGB, passphrase: encryption?.passphrase)
        }
        return path
    }

    func deleteVolume(location: String) async throws {
        try FileManager.default.removeItemIfPresent(atPath: location)
    }

    func extendVolume(location: String, sizeGB: Int, encryption: VolumeEncryption?) async throws {
        try await QemuImage.grow(location, format: format, sizeGB: sizeGB, passphrase: encryption?.passphrase)
    }

    func createSnapshot(id: String, of volumeLocation: String, encryption: VolumeEncryption?) async throws -> String {
        let path = "\(directory)/snapshot-\(id)"
        try await write(path) { partial in
            try await QemuImage.convert(
                volumeLocation, from: format, encrypted: encryption != nil, to: partial, format: format,
                encryption: encryption)
        }
        return path
    }

    func deleteSnapshot(location: String) async throws {
        try FileManager.default.removeItemIfPresent(atPath: location)
    }

    func revert(volumeLocation: String, to snapshotLocation: String, encryption: VolumeEncryption?) async throws {
        let diskFormat = encryption == nil ? format : LuksImage.diskFormat(format)
        let size = try await QemuImage.info(volumeLocation, format: diskFormat).virtualSize
        try await write(volumeLocation) { partial in
            try await QemuImage.convert(
                snapshotLocation, from: format, encrypted: encryption != nil, to: partial, format: format,
                encryption: encryption)
            try await QemuImage.grow(
                partial, format: format, sizeGB: Int((size + (1 << 30) - 1) >> 30), passphrase: encryption?.passphrase)
        }
    }

    func export(location: String, to path: String, format target: String, encryption: VolumeEncryption?) async throws {
        try await QemuImage.convert(
            location, from: format, encrypted: encryption != nil, to: path, format: target, encryption: encryption)
    }

    func connection(location: String, readOnly: Bool) -> VolumeConnection {
        VolumeConnection(
            driverVolumeType: "local", devicePath: location, format: format,
            accessMode: readOnly ? .readOnly : .readWrite)
    }

    func locations() async throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory).sorted().map { "\(directory)/\($0)" }
    }

    func recordID(of location: String) -> String? {
        let name = (location as NSString).lastPathComponent
        for prefix in ["volume-", "snapshot-"] where name.hasPrefix(prefix) && !name.hasSuffix(".part") {
            return String(name.dropFirst(prefix.count))
        }
        return nil
    }

    /// A regular file of the directory (never a link, which could lead anywhere on the
    /// host), in the backend's format and self-contained.
    func existing(name: String) async throws -> ExistingData {
        guard !name.isEmpty, !name.contains("/"), !name.contains("\0"), name != ".", name != "..",
            !name.hasSuffix(".part")
        else { throw ManageError("'\(name)' is not the name of a file of this backend.") }
        let path = "\(directory)/\(name)"
        let type = (try? FileManager.default.attributesOfItem(atPath: path))?[.type] as? FileAttributeType
        guard type == .typeRegular else { throw ManageError("This backend has no file '\(name)'.") }
        let info: QemuImage.Info
        do {
            info = try await QemuImage.info(path, format: format)
        } catch {
            throw ManageError("'\(name)' is not a \(format) image: \(error)")
        }
        guard info.backingFile == nil, info.dataFile == nil else {
            throw ManageError("'\(name)' refers to another file; only self-contained images are managed.")
        }
        let gib: Int64 = 1 << 30
        return ExistingData(location: path, name: name, sizeGB: max(1, Int((info.virtualSize + gib - 1) / gib)))
    }

    func allExisting() async throws -> [ExistingData] {
        var found: [ExistingData] = []
        for name in try FileManager.default.contentsOfDirectory(atPath: directory).sorted() {
            do {
                found.append(try await existing(name: name))
            } catch is ManageError {
                continue  // not manageable: not listed
            }
        }
        return found
    }

    /// Runs `body` on `<path>.part` and moves the result to `path`; a failure removes it.
    private func write(_ path: String, _ body: (String) async throws -> Void) async throws {
        let partial = path + ".part"
        try FileManager.default.removeItemIfPresent(atPath: partial)
        do {
            try await body(partial)
            guard rename(partial, path) == 0 else {
                throw VolumeDriverError("cannot move \(partial) to \(path): errno \(errno)")
            }
        } catch {
            // The partial file may never have been made; the error that matters is the first.
            try? FileManager.default.removeItemIfPresent(atPath: partial)
            throw error
        }
    }
}
