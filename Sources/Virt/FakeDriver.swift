import Foundation

/// Guests that exist only in memory: for scale simulation (`--fake-hosts N`) and tests,
/// never the default where QEMU can run. `failSpawn` makes spawns of matching names fail,
/// to exercise rescheduling and error paths.
public actor FakeDriver: HypervisorDriver {
    struct Guest {
        var spec: GuestSpec
        var state: PowerState
        var interfaces: [String]
        var volumes: [GuestVolume]
        var console: [String]
    }

    /// A volume `extendVolume` grew.
    public struct Extension: Sendable, Equatable {
        public var instance: String
        public var volumeID: String
        public var newSize: Int64

        public init(instance: String, volumeID: String, newSize: Int64) {
            self.instance = instance
            self.volumeID = volumeID
            self.newSize = newSize
        }
    }

    public nonisolated let name = "fake"
    let resources: HostResources
    let failSpawn: @Sendable (GuestSpec) -> Bool
    let spawnDelay: Duration
    private var guests: [String: Guest] = [:]
    /// What `extendVolume` was asked, in order, for tests.
    public private(set) var extended: [Extension] = []

    public init(
        vcpus: Int = 16, memoryMB: Int = 32768, diskGB: Int = 500, spawnDelay: Duration = .zero,
        failSpawn: @escaping @Sendable (GuestSpec) -> Bool = { _ in false }
    ) {
        self.resources = HostResources(
            vcpus: vcpus, memoryMB: memoryMB, diskGB: diskGB, hypervisorType: "fake", hypervisorVersion: 1000,
            cpuInfo: #"{"arch": "x86_64", "model": "fake", "vendor": "fake", "topology": {"sockets": 1, "cores": \#(vcpus), "threads": 1}}"#,
            traits: ["COMPUTE_NET_ATTACH_INTERFACE", "COMPUTE_VOLUME_ATTACH_WITH_TAG", "COMPUTE_DEVICE_TAGGING", "HW_CPU_X86_SSE2"])
        self.spawnDelay = spawnDelay
        self.failSpawn = failSpawn
    }

    public func hostResources() -> HostResources { resources }
    public func listGuests() -> [String] { Array(guests.keys) }
    public func powerState(_ uuid: String) -> PowerState { guests[uuid]?.state ?? .noState }

    public func spawn(_ guest: GuestSpec) async throws {
        if spawnDelay > .zero { try await Task.sleep(for: spawnDelay) }
        if failSpawn(guest) { throw DriverError("The fake hypervisor refused to spawn \(guest.name).") }
        guests[guest.uuid] = Guest(
            spec: guest, state: .running, interfaces: guest.ports.map(\.id), volumes: guest.volumes,
            console: [
                "[    0.000000] Linux version 6.1.0-fake (stratus@fake) #1 SMP", "[    0.000000] Command line: root=/dev/vda1 console=ttyS0",
                "[    0.120000] x86/fpu: Supporting XSAVE feature 0x001", "[    1.024000] EXT4-fs (vda1): mounted filesystem",
                "[    2.048000] cloud-init: fetching metadata", "[    3.000000] cloud-init: finished",
                "Fake guest \(guest.name) booted", "\(guest.name) login: ",
            ])
    }

    public func destroy(_ uuid: String) { guests[uuid] = nil }

    public func reboot(_ uuid: String, hard: Bool) throws {
        try change(uuid, allowed: hard ? nil : [.running]) { $0.state = .running; $0.console.append("reboot (\(hard ? "hard" : "soft"))") }
    }
    public func powerOn(_ uuid: String) throws { try change(uuid) { $0.state = .running } }
    public func powerOff(_ uuid: String) throws { try change(uuid) { $0.state = .shutdown } }
    public func pause(_ uuid: String) throws { try change(uuid, allowed: [.running]) { $0.state = .paused } }
    public func unpause(_ uuid: String) throws { try change(uuid, allowed: [.paused]) { $0.state = .running } }
    public func suspend(_ uuid: String) throws { try change(uuid, allowed: [.running]) { $0.state = .suspended } }
    public func resume(_ uuid: String) throws { try change(uuid, allowed: [.suspended]) { $0.state = .running } }

    public func snapshot(_ uuid: String, to path: String) throws {
        guard guests[uuid] != nil else { throw DriverError("No guest \(uuid).") }
        _ = FileManager.default.createFile(atPath: path, contents: Data("fake snapshot of \(uuid)\n".utf8))
    }

    public func migrate(_ uuid: String, toHost host: String) throws {
        guard guests[uuid] != nil else { throw DriverError("No guest \(uuid).") }
        guests[uuid] = nil
    }

    public func attachInterface(_ uuid: String, port: GuestPort) throws {
        try change(uuid) { $0.interfaces.append(port.id) }
    }
    public func detachInterface(_ uuid: String, portID: String) throws { try change(uuid) { $0.interfaces.removeAll { $0 == portID } } }
    public func attachVolume(_ uuid: String, volume: GuestVolume) throws {
        try change(uuid) { guest in
            guest.volumes.removeAll { $0.volumeID == volume.volumeID }
            guest.volumes.append(volume)
        }
    }
    public func detachVolume(_ uuid: String, volumeID: String) throws {
        try change(uuid) { $0.volumes.removeAll { $0.volumeID == volumeID } }
    }
    public func extendVolume(_ uuid: String, volumeID: String, newSize: Int64) throws {
        guard guests[uuid]?.volumes.contains(where: { $0.volumeID == volumeID }) == true else {
            throw DriverError("Guest \(uuid) has no volume \(volumeID).")
        }
        extended.append(Extension(instance: uuid, volumeID: volumeID, newSize: newSize))
    }
    public func swapVolume(_ uuid: String, volumeID: String, to target: GuestVolume) throws {
        guard guests[uuid]?.volumes.contains(where: { $0.volumeID == volumeID }) == true else {
            throw DriverError("Guest \(uuid) has no volume \(volumeID).")
        }
        try change(uuid, allowed: [.running]) { guest in
            guest.volumes = guest.volumes.map { $0.volumeID == volumeID ? target : $0 }
        }
    }
    public func settleSwap(_ uuid: String, volumeID: String, to target: GuestVolume) -> Bool {
        guests[uuid]?.volumes.contains(target) ?? false
    }
    /// The volumes the guest has now, for tests.
    public func volumes(of uuid: String) -> [GuestVolume] { guests[uuid]?.volumes ?? [] }

    public func rescue(_ uuid: String, imagePath: String?) throws {
        try change(uuid) { $0.state = .running; $0.console.append("rescue boot") }
    }
    public func unrescue(_ uuid: String) throws { try change(uuid) { $0.state = .running; $0.console.append("boot") } }
    public func setAdminPassword(_ uuid: String, password: String) throws {
        try change(uuid, allowed: [.running]) { $0.console.append("password changed") }
    }
    public func triggerCrashDump(_ uuid: String) throws { try change(uuid) { $0.console.append("NMI received: crash dump") } }

    public func consoleOutput(_ uuid: String) throws -> String {
        guard let guest = guests[uuid] else { throw DriverError("No guest \(uuid).") }
        return guest.console.joined(separator: "\n") + "\n"
    }

    public func diagnostics(_ uuid: String) throws -> [String: Int] {
        guard let guest = guests[uuid] else { throw DriverError("No guest \(uuid).") }
        return ["memory": guest.spec.memoryMB * 1024, "cpu0_time": 17_300_000_000, "vda_read": 262_144, "vda_write": 5_778_432]
    }

    private func change(_ uuid: String, allowed: Set<PowerState>? = nil, _ body: (inout Guest) -> Void) throws {
        guard var guest = guests[uuid] else { throw DriverError("No guest \(uuid).") }
        if let allowed, !allowed.contains(guest.state) { throw DriverError("Guest \(uuid) is \(guest.state).") }
        body(&guest)
        guests[uuid] = guest
    }
}
