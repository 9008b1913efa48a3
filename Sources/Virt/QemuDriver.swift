import Foundation
import Logging
import StratusCore

#if canImport(Glibc)
    import Glibc
#endif

/// Guests as QEMU processes, accelerated by KVM or emulated by TCG. Each guest has a
/// directory under `directory` with its definition, a qcow2 overlay on the cached base
/// image, its config drive, console log, QMP socket and pid file, so a restarted service
/// finds its guests again. Ports are tap devices on the network's Linux bridge, named as
/// Neutron's Linux bridge agent expects (os-vif's plug).
public actor QemuDriver: HypervisorDriver {
    struct Definition: Codable {
        var spec: GuestSpec
        var rescueImage: String?
        /// The attached Cinder volumes (absent in definitions older than volumes).
        var volumes: [GuestVolume]?
    }

    public nonisolated let name = "qemu"
    let directory: String
    let binary: String
    let kvm: Bool
    /// The passphrases of encrypted volumes; without it they cannot be attached.
    let keys: FixedKeyManager?
    let logger: Logger

    /// `virtType` is Nova's `virt_type`: "kvm", "qemu" (TCG), or "auto" (see `usesKVM`).
    public init(
        directory: String, virtType: String = "auto", binary: String = "qemu-system-x86_64",
        keys: FixedKeyManager? = nil, logger: Logger = Logger(label: "stratus.qemu")
    ) {
        self.directory = directory
        self.keys = keys
        self.logger = logger
        self.binary = binary
        kvm = Self.usesKVM(
            virtType: virtType, deviceOpens: access("/dev/kvm", R_OK | W_OK) == 0,
            cpuinfo: (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? "")
        logger.bestEffort("creating \(directory)") {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
    }

    /// Whether guests run on KVM. "auto" needs /dev/kvm and the CPU's virtualization flag
    /// (vmx or svm): a machine that is itself a guest can offer /dev/kvm without passing
    /// the flag through, and KVM guests then hang early in boot.
    public static func usesKVM(virtType: String, deviceOpens: Bool, cpuinfo: String) -> Bool {
        switch virtType {
        case "kvm": return true
        case "qemu": return false
        default:
            let flags = cpuinfo.split(separator: "\n").first { $0.hasPrefix("flags") }?.split(separator: " ") ?? []
            return deviceOpens && (flags.contains("vmx") || flags.contains("svm"))
        }
    }

    /// Whether this machine can run the driver: QEMU installed and root (for tap devices).
    public static func available(binary: String = "qemu-system-x86_64") -> Bool {
        geteuid() == 0 && HostCommand.exists(binary) && HostCommand.exists("qemu-img") && HostCommand.exists("ip")
    }

    // MARK: host

    public func hostResources() async throws -> HostResources {
        let memoryKB = Self.meminfo()["MemTotal"] ?? 0
        let disk = try FileManager.default.attributesOfFileSystem(forPath: directory)[.systemSize] as? Int ?? 0
        let cpus = ProcessInfo.processInfo.activeProcessorCount
        let version = try await HostCommand.run([binary, "--version"])
        return HostResources(
            vcpus: cpus, memoryMB: memoryKB / 1024, diskGB: disk / 1_073_741_824, hypervisorType: "QEMU",
            hypervisorVersion: Self.versionNumber(version),
            cpuInfo:
                #"{"arch": "x86_64", "model": "\#(kvm ? "host" : "qemu64")", "vendor": "QEMU", "topology": {"sockets": 1, "cores": \#(cpus), "threads": 1}, "features": []}"#,
            traits: [
                "COMPUTE_NET_ATTACH_INTERFACE", "COMPUTE_TRUSTED_CERTS", "COMPUTE_IMAGE_TYPE_QCOW2",
                "COMPUTE_IMAGE_TYPE_RAW",
                "COMPUTE_IMAGE_TYPE_AKI", "COMPUTE_IMAGE_TYPE_ARI", "COMPUTE_IMAGE_TYPE_AMI", "HW_CPU_X86_SSE2",
            ])
    }

    /// "QEMU emulator version 7.2.19" -> 7002019, as libvirt reports it.
    static func versionNumber(_ text: String) -> Int {
        guard let range = text.range(of: #"\d+\.\d+(\.\d+)?"#, options: .regularExpression) else { return 0 }
        let parts = text[range].split(separator: ".").compactMap { Int($0) } + [0, 0]
        return parts[0] * 1_000_000 + parts[1] * 1000 + parts[2]
    }

    static func meminfo() -> [String: Int] {
        let text = (try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8)) ?? ""
        var values: [String: Int] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 1)
            if parts.count == 2,
                let value = Int(parts[1].trimmingCharacters(in: .whitespaces).split(separator: " ").first ?? "")
            {
                values[String(parts[0])] = value
            }
        }
        return values
    }

    public func listGuests() -> [String] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return entries.filter { FileManager.default.fileExists(atPath: "\(directory)/\($0)/guest.json") }
    }

    public func powerState(_ uuid: String) async -> PowerState {
        guard let definition = try? load(uuid) else { return .noState }
        _ = definition
        guard pid(uuid) != nil else { return .shutdown }
        // A monitor that does not answer belongs to a QEMU busy running its guest.
        let asked = await logger.bestEffort("asking the state of \(uuid)") {
            try await QMP.execute(socket: path(uuid, "qmp.sock"), "query-status")
        }
        guard let status = asked else { return .running }
        switch status["status"]?.stringValue {
        case "running": return .running
        case "paused", "suspended": return exists(uuid, "suspended") ? .suspended : .paused
        case "guest-panicked": return .crashed
        case "shutdown": return .shutdown
        default: return .running
        }
    }

    // MARK: lifecycle

    public func spawn(_ guest: GuestSpec) async throws {
        let dir = path(guest.uuid)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        for volume in guest.volumes {
            try QemuVolumes.check(volume)
            _ = try passphrase(of: volume)
        }
        // A disk kept by `migrate` on this machine is the guest's own; anything else starts anew,
        // unless the guest boots from a volume.
        let disk = path(guest.uuid, "disk.qcow2")
        if guest.volumes.contains(where: \.isRoot) {
            try FileManager.default.removeItemIfPresent(atPath: disk)
        } else if !FileManager.default.fileExists(atPath: disk) || !exists(guest.uuid, "migrated") {
            try FileManager.default.removeItemIfPresent(atPath: disk)
            try await createOverlay(disk, base: guest.imagePath, sizeGB: guest.rootGB)
        }
        try FileManager.default.removeItemIfPresent(atPath: path(guest.uuid, "migrated"))
        if let files = guest.configDrive { try await buildConfigDrive(guest.uuid, files: files) }
        try save(Definition(spec: guest, rescueImage: nil, volumes: guest.volumes))
        do {
            try await start(guest.uuid)
        } catch {
            await logger.bestEffort("removing the guest \(guest.uuid) that did not start") {
                try await destroy(guest.uuid)
            }
            throw error
        }
    }

    public func destroy(_ uuid: String) async throws {
        try await stop(uuid)
        // A definition that cannot be read still leaves the guest's directory to remove.
        if exists(uuid, "guest.json"),
            let definition = logger.bestEffort("reading the definition of \(uuid)", { try load(uuid) })
        {
            for port in definition.spec.ports { await unplug(port) }
        }
        try FileManager.default.removeItemIfPresent(atPath: path(uuid))
    }

    public func reboot(_ uuid: String, hard: Bool) async throws {
        if !hard, pid(uuid) != nil,
            await logger.bestEffort("soft reboot of \(uuid)", { try await qmp(uuid, "system_reset") }) != nil
        {
            return
        }
        try await stop(uuid)
        try await start(uuid)
    }

    public func powerOn(_ uuid: String) async throws {
        if pid(uuid) != nil { return }
        try await start(uuid)
    }

    public func powerOff(_ uuid: String) async throws { try await stop(uuid) }

    public func pause(_ uuid: String) async throws { try await qmp(uuid, "stop") }
    public func unpause(_ uuid: String) async throws { try await qmp(uuid, "cont") }

    public func suspend(_ uuid: String) async throws {
        try await qmp(uuid, "stop")
        _ = FileManager.default.createFile(atPath: path(uuid, "suspended"), contents: nil)
    }

    public func resume(_ uuid: String) async throws {
        try await qmp(uuid, "cont")
        try FileManager.default.removeItemIfPresent(atPath: path(uuid, "suspended"))
    }

    public func snapshot(_ uuid: String, to target: String) async throws {
        let definition = try load(uuid)
        let format = try await baseFormat(definition.spec.imagePath) == "raw" ? "raw" : "qcow2"
        // -U: the running QEMU holds the image's lock; the copy is crash-consistent.
        try await HostCommand.run([
            "qemu-img", "convert", "-U", "-f", "qcow2", "-O", format, path(uuid, "disk.qcow2"), target,
        ])
    }

    /// All hosts of this machine share `directory`: the guest stops here and its disk stays
    /// for the destination's spawn.
    public func migrate(_ uuid: String, toHost host: String) async throws {
        _ = try load(uuid)
        try await stop(uuid)
        _ = FileManager.default.createFile(atPath: path(uuid, "migrated"), contents: nil)
    }

    public func attachInterface(_ uuid: String, port: GuestPort) async throws {
        var definition = try load(uuid)
        try await plug(port)
        if pid(uuid) != nil {
            let id = port.id
            let netdev = JSON.string("net-\(id.prefix(8))")
            try await qmp(
                uuid, "netdev_add",
                [
                    "type": "tap", "id": netdev, "ifname": .string(LinuxNames.tap(port: id)), "script": "no",
                    "downscript": "no",
                ])
            try await qmp(
                uuid, "device_add",
                [
                    "driver": "virtio-net-pci", "netdev": netdev, "mac": .string(port.mac),
                    "id": .string("nic-\(id.prefix(8))"),
                ])
        }
        definition.spec.ports.append(port)
        try save(definition)
    }

    public func detachInterface(_ uuid: String, portID: String) async throws {
        var definition = try load(uuid)
        if pid(uuid) != nil {
            // The guest lets go of the device before its backend goes; a refusal leaves it for
            // the restart, which rebuilds the devices from the definition.
            await logger.bestEffort("unplugging nic of port \(portID)") {
                try await qmp(uuid, "device_del", ["id": .string("nic-\(portID.prefix(8))")])
            }
            try await Task.sleep(for: .milliseconds(300))
            await logger.bestEffort("removing the backend of port \(portID)") {
                try await qmp(uuid, "netdev_del", ["id": .string("net-\(portID.prefix(8))")])
            }
        }
        for port in definition.spec.ports where port.id == portID { await unplug(port) }
        definition.spec.ports.removeAll { $0.id == portID }
        try save(definition)
    }

    public func attachVolume(_ uuid: String, volume: GuestVolume) async throws {
        try QemuVolumes.check(volume)
        var definition = try load(uuid)
        var volumes = definition.volumes ?? []
        let passphrase = try passphrase(of: volume)
        if pid(uuid) != nil, !volumes.contains(where: { $0.volumeID == volume.volumeID }) {
            if let passphrase {
                try await qmp(uuid, "object-add", QemuVolumes.secretObject(volume, passphrase: passphrase))
            }
            do {
                try await qmp(uuid, "blockdev-add", QemuVolumes.blockdev(volume))
                do {
                    try await qmp(uuid, "device_add", QemuVolumes.device(volume))
                } catch {
                    await removeNode(uuid, volume)
                    throw error
                }
            } catch {
                if passphrase != nil { await removeSecret(uuid, volume) }
                throw error
            }
            await limitIO(uuid, volume)
        }
        volumes.removeAll { $0.volumeID == volume.volumeID }
        volumes.append(volume)
        definition.volumes = volumes
        try save(definition)
    }

    public func detachVolume(_ uuid: String, volumeID: String) async throws {
        var definition = try load(uuid)
        guard let volumes = definition.volumes, let volume = volumes.first(where: { $0.volumeID == volumeID }) else {
            return
        }
        if pid(uuid) != nil {
            // The guest lets go of the device first (DEVICE_DELETED); then its node can go.
            let device = QemuVolumes.deviceID(volumeID: volumeID)
            try await QMP.execute(
                socket: path(uuid, "qmp.sock"), "device_del", arguments: ["id": .string(device)],
                awaiting: "DEVICE_DELETED", where: { $0["device"]?.stringValue == device })
            try await qmp(uuid, "blockdev-del", ["node-name": .string(QemuVolumes.nodeName(volume))])
            if volume.encryptionKeyID != nil { await removeSecret(uuid, volume) }
        }
        definition.volumes = volumes.filter { $0.volumeID != volumeID }
        try save(definition)
    }

    public func extendVolume(_ uuid: String, volumeID: String, newSize: Int64) async throws {
        guard let volume = try load(uuid).volumes?.first(where: { $0.volumeID == volumeID }) else {
            throw DriverError("Guest \(uuid) has no volume \(volumeID).")
        }
        // Cinder may have grown the file already; a node never shrinks below its file.
        let current = try await QemuVolumes.virtualSize(volume)
        let size = max(current, newSize)
        if pid(uuid) != nil {
            try await qmp(uuid, "block_resize", QemuVolumes.resize(volume, size: size))
        } else if size > current, let passphrase = try passphrase(of: volume) {
            try await LuksImage.resize(volume.path, format: volume.format, to: "\(size)", passphrase: passphrase)
        } else if size > current {
            try await HostCommand.run(["qemu-img", "resize", "-q", "-f", volume.format, volume.path, "\(size)"])
        }
    }

    public func rescue(_ uuid: String, imagePath: String?) async throws {
        var definition = try load(uuid)
        try await stop(uuid)
        let rescueDisk = path(uuid, "rescue.qcow2")
        try FileManager.default.removeItemIfPresent(atPath: rescueDisk)
        try await createOverlay(rescueDisk, base: imagePath ?? definition.spec.imagePath, sizeGB: 0)
        definition.rescueImage = rescueDisk
        try save(definition)
        try await start(uuid)
    }

    public func unrescue(_ uuid: String) async throws {
        var definition = try load(uuid)
        try await stop(uuid)
        if let rescue = definition.rescueImage { try FileManager.default.removeItemIfPresent(atPath: rescue) }
        definition.rescueImage = nil
        try save(definition)
        try await start(uuid)
    }

    public func setAdminPassword(_ uuid: String, password: String) throws {
        throw DriverError("Setting the admin password needs a guest agent, which QEMU guests here do not run.")
    }

    public func triggerCrashDump(_ uuid: String) async throws { try await qmp(uuid, "inject-nmi") }

    public func consoleOutput(_ uuid: String) throws -> String {
        _ = try load(uuid)
        let data = FileManager.default.contents(atPath: path(uuid, "console.log")) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }

    public func diagnostics(_ uuid: String) throws -> [String: Int] {
        let definition = try load(uuid)
        var result = ["memory": definition.spec.memoryMB * 1024]
        if let pid = pid(uuid), let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) {
            // fields after the command name: utime and stime are the 12th and 13th
            let fields = stat.split(separator: ")").last?.split(separator: " ") ?? []
            if fields.count > 12, let user = Int(fields[11]), let system = Int(fields[12]) {
                result["cpu0_time"] = (user + system) * 10_000_000
            }
        }
        return result
    }

    // MARK: processes

    private func start(_ uuid: String) async throws {
        let definition = try load(uuid)
        let spec = definition.spec
        for port in spec.ports { try await plug(port) }
        var arguments = [
            binary, "-name", "guest=\(spec.name)", "-uuid", spec.uuid, "-machine", "pc,accel=\(kvm ? "kvm" : "tcg")",
            // without arch-capabilities: KVM nested in another hypervisor refuses that MSR
            "-cpu", kvm ? "host,arch-capabilities=off" : "max",
            "-m", String(max(spec.memoryMB, 64)), "-smp", String(max(spec.vcpus, 1)), "-nodefaults", "-no-user-config",
            "-display", "none",
            "-serial", "file:" + path(uuid, "console.log"), "-qmp",
            "unix:\(path(uuid, "qmp.sock")),server=on,wait=off",
            "-pidfile", path(uuid, "qemu.pid"), "-daemonize",
        ]
        if let rescue = definition.rescueImage { arguments += ["-drive", "file=\(rescue),if=virtio,format=qcow2"] }
        let volumes = definition.volumes ?? []
        // Encrypted volumes' passphrases, in files QEMU reads as it starts and that go then.
        var secretFiles: [String: String] = [:]
        defer {
            for file in secretFiles.values {
                logger.bestEffort("removing \(file)") { try FileManager.default.removeItemIfPresent(atPath: file) }
            }
        }
        for volume in volumes {
            guard let passphrase = try passphrase(of: volume) else { continue }
            let file = path(uuid, QemuVolumes.secretID(volume))
            let attributes: [FileAttributeKey: Any] = [.posixPermissions: 0o600]
            guard FileManager.default.createFile(atPath: file, contents: Data(passphrase.utf8), attributes: attributes)
            else { throw DriverError("cannot write \(file)") }
            secretFiles[volume.volumeID] = file
        }
        if let root = volumes.first(where: \.isRoot) {
            arguments += QemuVolumes.arguments(root, secretFile: secretFiles[root.volumeID])
        } else {
            arguments += ["-drive", "file=\(path(uuid, "disk.qcow2")),if=virtio,format=qcow2"]
        }
        if exists(uuid, "config.iso") {
            arguments += ["-drive", "file=\(path(uuid, "config.iso")),if=virtio,format=raw,readonly=on"]
        }
        for volume in volumes where !volume.isRoot {
            arguments += QemuVolumes.arguments(volume, secretFile: secretFiles[volume.volumeID])
        }
        for port in spec.ports {
            let id = port.id
            arguments += [
                "-netdev", "tap,id=net-\(id.prefix(8)),ifname=\(LinuxNames.tap(port: id)),script=no,downscript=no",
            ]
            arguments += [
                "-device", "virtio-net-pci,netdev=net-\(id.prefix(8)),mac=\(port.mac),id=nic-\(id.prefix(8))",
            ]
        }
        if definition.rescueImage == nil, let kernel = spec.kernelPath {
            arguments += ["-kernel", kernel]
            if let ramdisk = spec.ramdiskPath { arguments += ["-initrd", ramdisk] }
            arguments += ["-append", spec.kernelArgs ?? "root=/dev/vda console=tty0 console=ttyS0"]
        }
        try FileManager.default.removeItemIfPresent(atPath: path(uuid, "suspended"))
        try await HostCommand.runDaemon(arguments, log: path(uuid, "qemu.log"))
        for volume in volumes { await limitIO(uuid, volume) }
    }

    /// The passphrase an encrypted volume is opened with; nil for one that is not encrypted.
    func passphrase(of volume: GuestVolume) throws -> String? {
        guard let keyID = volume.encryptionKeyID else { return nil }
        guard let keys else { throw DriverError("Volume \(volume.volumeID) is encrypted, and no key manager is set.") }
        return try keys.passphrase(keyID: keyID)
    }

    /// Removes the volume's block node from a running guest; a failure is logged.
    func removeNode(_ uuid: String, _ volume: GuestVolume) async {
        await logger.bestEffort("removing block node \(QemuVolumes.nodeName(volume)) from \(uuid)") {
            try await qmp(uuid, "blockdev-del", ["node-name": .string(QemuVolumes.nodeName(volume))])
        }
    }

    func removeSecret(_ uuid: String, _ volume: GuestVolume) async {
        await logger.bestEffort("removing the secret of volume \(volume.volumeID) from \(uuid)") {
            try await qmp(uuid, "object-del", ["id": .string(QemuVolumes.secretID(volume))])
        }
    }

    /// Applies the volume's front-end QoS to its device. The disk works without it, so a
    /// refusal is logged rather than failing the attach or the start.
    private func limitIO(_ uuid: String, _ volume: GuestVolume) async {
        guard let throttle = QemuVolumes.throttle(volume) else { return }
        await logger.bestEffort("limiting the I/O of volume \(volume.volumeID) on \(uuid)") {
            try await qmp(uuid, "block_set_io_throttle", throttle)
        }
    }

    /// Asks QEMU to quit, killing it if it does not, and returns once it is gone (its QMP
    /// socket closed). A QEMU whose monitor cannot be asked is killed outright.
    private func stop(_ uuid: String) async throws {
        guard let pid = pid(uuid) else { return }
        let ended: Bool
        do {
            ended = try await QMP.quit(socket: path(uuid, "qmp.sock")) { kill(pid, SIGKILL) }
        } catch {
            logger.warning("QMP quit of \(uuid) failed, killing pid \(pid): \(error)")
            kill(pid, SIGKILL)
            return
        }
        if !ended { throw DriverError("QEMU of \(uuid) (pid \(pid)) did not end.") }
    }

    /// The running QEMU of `uuid`: the pid file's process, if it is that guest's QEMU.
    func pid(_ uuid: String) -> pid_t? {
        guard let text = try? String(contentsOfFile: path(uuid, "qemu.pid"), encoding: .utf8),
            let pid = pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)), kill(pid, 0) == 0,
            let cmdline = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline"),
            String(decoding: cmdline, as: UTF8.self).contains(uuid),
            !((try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8))?.split(separator: ")").last?
                .hasPrefix(" Z") ?? false)
        else { return nil }
        return pid
    }

    @discardableResult
    func qmp(_ uuid: String, _ command: String, _ arguments: JSON? = nil) async throws -> JSON {
        guard pid(uuid) != nil else { throw DriverError("Guest \(uuid) is not running.") }
        return try await QMP.execute(socket: path(uuid, "qmp.sock"), command, arguments: arguments)
    }

    // MARK: disks and ports

    private func createOverlay(_ disk: String, base: String?, sizeGB: Int) async throws {
        var arguments = ["qemu-img", "create", "-q", "-f", "qcow2"]
        if let base { arguments += ["-F", try await baseFormat(base) ?? "raw", "-b", base] }
        arguments.append(disk)
        if sizeGB > 0 || base == nil { arguments.append("\(max(sizeGB, 1))G") }
        try await HostCommand.run(arguments)
    }

    /// The base image's format as qemu names it, read by the format inspector: qemu is never
    /// asked to probe (a qcow2 header in a raw image, a backing file naming a host file), and an
    /// image that fails the inspector's safety checks is never handed to it.
    private func baseFormat(_ image: String?) async throws -> String? {
        guard let image else { return nil }
        let inspection = try await FormatInspector.inspect(try await FileImageData.open(image))
        // A partition table or an ISO filesystem is raw to qemu: there is nothing in it to follow.
        let raw = ["gpt", "iso"].contains(inspection.format)
        guard !inspection.isAmbiguous, raw || inspection.failures.isEmpty else {
            let checks = inspection.failures.keys.sorted().joined(separator: ", ")
            throw DriverError("The base image \(image) fails the format checks (\(checks)); it is not used.")
        }
        return Self.qemuFormats[inspection.format] ?? "raw"
    }

    /// The inspector's format names as qemu spells them (partitioned disks and ISOs are raw).
    static let qemuFormats = [
        "raw": "raw", "gpt": "raw", "iso": "raw", "qcow2": "qcow2", "vmdk": "vmdk", "vhd": "vpc", "vhdx": "vhdx",
        "vdi": "vdi",
    ]

    /// Nova's config drive: an ISO 9660 volume labelled `config-2`.
    private func buildConfigDrive(_ uuid: String, files: [String: String]) async throws {
        let staging = path(uuid, "config")
        try FileManager.default.removeItemIfPresent(atPath: staging)
        for (name, content) in files {
            let file = "\(staging)/\(name)"
            try FileManager.default.createDirectory(
                atPath: (file as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try Data(content.utf8).write(to: URL(fileURLWithPath: file))
        }
        try await HostCommand.run([
            "genisoimage", "-o", path(uuid, "config.iso"), "-ldots", "-allow-lowercase", "-allow-multidot", "-l",
            "-publisher", "Stratus",
            "-quiet", "-J", "-r", "-V", "config-2", staging,
        ])
        try FileManager.default.removeItemIfPresent(atPath: staging)
    }

    private func plug(_ port: GuestPort) async throws {
        let tap = LinuxNames.tap(port: port.id)
        let bridge = LinuxNames.bridge(network: port.network)
        try await LinuxNames.ensureBridge(bridge)
        if !LinuxNames.deviceExists(tap) {
            try await HostCommand.run(["ip", "tuntap", "add", "dev", tap, "mode", "tap"])
        }
        try await HostCommand.run(["ip", "link", "set", tap, "master", bridge, "up"])
    }

    private func unplug(_ port: GuestPort) async {
        let tap = LinuxNames.tap(port: port.id)
        if LinuxNames.deviceExists(tap) {
            await logger.bestEffort("removing tap \(tap)") { try await HostCommand.run(["ip", "link", "del", tap]) }
        }
    }

    // MARK: files

    func path(_ uuid: String, _ file: String? = nil) -> String {
        file.map { "\(directory)/\(uuid)/\($0)" } ?? "\(directory)/\(uuid)"
    }

    private func exists(_ uuid: String, _ file: String) -> Bool {
        FileManager.default.fileExists(atPath: path(uuid, file))
    }

    func load(_ uuid: String) throws -> Definition {
        guard let data = FileManager.default.contents(atPath: path(uuid, "guest.json")) else {
            throw DriverError("No guest \(uuid).")
        }
        return try JSONDecoder().decode(Definition.self, from: data)
    }

    func save(_ definition: Definition) throws {
        try JSONEncoder().encode(definition).write(
            to: URL(fileURLWithPath: path(definition.spec.uuid, "guest.json")), options: .atomic)
    }
}
