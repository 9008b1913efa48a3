import Foundation
import StratusCore
import Virt

/// Compute options, `[compute]` in the config file.
public enum ComputeOptions {
    public static let port = CoreOptions.port("compute", default: 8774)
    public static let metadataPort = ConfigOption(
        "compute", "metadata_port", default: 8775, help: "TCP port of the metadata service.")
    public static let host = ConfigOption(
        "compute", "host", default: "", help: "Name of this compute host (default: this machine's name).")
    public static let fakeHosts = ConfigOption(
        "compute", "fake_hosts", default: 0,
        help: "Run this many simulated compute hosts (fake driver) instead of the local one.")
    public static let driver = ConfigOption(
        "compute", "driver", default: "auto",
        help:
            "Hypervisor of the local host: qemu, fake, or auto (qemu where it is installed and Stratus runs as root, fake otherwise)."
    )
    public static let virtType = ConfigOption(
        "compute", "virt_type", default: "auto",
        help:
            "How QEMU runs guests: kvm, qemu (emulated), or auto (kvm where /dev/kvm opens and the CPU shows vmx or svm)."
    )
    public static let forceConfigDrive = ConfigOption(
        "compute", "force_config_drive", default: true,
        help:
            "Give every guest a config drive (its keys, hostname and network setup), not only those that ask for one.")
    public static let vifPluggingTimeout = ConfigOption(
        "compute", "vif_plugging_timeout", default: 300, help: "Seconds a build waits for network-vif-plugged events.")
    public static let vifPluggingIsFatal = ConfigOption(
        "compute", "vif_plugging_is_fatal", default: true,
        help: "Whether a missing network-vif-plugged event fails the build.")
    public static let cpuAllocationRatio = ConfigOption(
        "compute", "cpu_allocation_ratio", default: 16.0, help: "Virtual CPUs per physical CPU.")
    public static let ramAllocationRatio = ConfigOption(
        "compute", "ram_allocation_ratio", default: 1.5, help: "Overcommit of memory.")
    public static let diskAllocationRatio = ConfigOption(
        "compute", "disk_allocation_ratio", default: 1.0, help: "Overcommit of disk.")
    public static let reservedHostMemoryMB = ConfigOption(
        "compute", "reserved_host_memory_mb", default: 512, help: "Memory kept for the host.")
    public static let maxLimit = ConfigOption("compute", "max_limit", default: 1000, help: "Largest page of a list.")
    public static let metadataSecret = ConfigOption(
        "compute", "metadata_proxy_shared_secret", default: "",
        help: "HMAC secret of X-Instance-ID-Signature (default: generated and kept in the data directory).")
    public static let metadataRateLimit = ConfigOption(
        "compute", "metadata_rate_limit", default: 20,
        help: "Metadata requests a second one instance may make (bursts of twice that); more get 429.")
    public static let hostSubsetSize = ConfigOption(
        "compute", "host_subset_size", default: 1, help: "Pick randomly among this many best hosts.")
    public static let maxAttempts = ConfigOption(
        "compute", "max_attempts", default: 3, help: "Hosts tried for one build (1 + reschedules).")
    public static let serviceDownTime = ConfigOption(
        "compute", "service_down_time", default: 60, help: "Seconds without a heartbeat before a service is down.")
    public static let reportInterval = ConfigOption(
        "compute", "report_interval", default: 10, help: "Seconds between service heartbeats.")
    public static let allowResizeToSameHost = ConfigOption(
        "compute", "allow_resize_to_same_host", default: true,
        help: "Whether a resize may stay on its host (an all-in-one cloud has one).")
    public static let resizeConfirmWindow = ConfigOption(
        "compute", "resize_confirm_window", default: 0,
        help: "Seconds after which a resize waiting for confirmation is confirmed (0: never).")
    public static let shelvedOffloadTime = ConfigOption(
        "compute", "shelved_offload_time", default: 0,
        help: "Seconds a shelved server keeps its host before it is offloaded (0: at once, -1: never).")
    public static let reclaimInstanceInterval = ConfigOption(
        "compute", "reclaim_instance_interval", default: 0,
        help: "Seconds a deleted server stays restorable (soft delete; 0: deleted at once).")
}

/// Compute's options as read at start (`[compute]`; the defaults are the options').
struct ComputeSettings: Sendable {
    var host: String
    var fakeHosts: Int
    var driver: String
    var virtType: String
    var forceConfigDrive: Bool
    var vifPluggingTimeout: Int
    var vifPluggingIsFatal: Bool
    var cpuAllocationRatio: Double
    var ramAllocationRatio: Double
    var diskAllocationRatio: Double
    var reservedHostMemoryMB: Int
    var maxLimit: Int
    var metadataSecret: String
    var metadataRateLimit: Int
    var hostSubsetSize: Int
    var maxAttempts: Int
    var serviceDownTime: Int
    var reportInterval: Int
    var allowResizeToSameHost: Bool
    var resizeConfirmWindow: Int
    var shelvedOffloadTime: Int
    var reclaimInstanceInterval: Int
    var dataDir: String
    /// The address volume connectors name (Nova's `my_ip`).
    var myIP: String
    /// How long a build waits for a volume it created to become available.
    var volumeCreateTimeout = 180
    var defaultAvailabilityZone = "nova"
    /// Nova's `enable_instance_password`: a generated `adminPass` is returned on create.
    var returnGeneratedPassword = true

    init(config: Config, dataDir: String) {
        let host = config[ComputeOptions.host]
        self.host = host.isEmpty ? ProcessInfo.processInfo.hostName : host
        fakeHosts = config[ComputeOptions.fakeHosts]
        driver = config[ComputeOptions.driver]
        virtType = config[ComputeOptions.virtType]
        forceConfigDrive = config[ComputeOptions.forceConfigDrive]
        vifPluggingTimeout = config[ComputeOptions.vifPluggingTimeout]
        vifPluggingIsFatal = config[ComputeOptions.vifPluggingIsFatal]
        cpuAllocationRatio = config[ComputeOptions.cpuAllocationRatio]
        ramAllocationRatio = config[ComputeOptions.ramAllocationRatio]
        diskAllocationRatio = config[ComputeOptions.diskAllocationRatio]
        reservedHostMemoryMB = config[ComputeOptions.reservedHostMemoryMB]
        maxLimit = config[ComputeOptions.maxLimit]
        metadataSecret = config[ComputeOptions.metadataSecret]
        metadataRateLimit = config[ComputeOptions.metadataRateLimit]
        hostSubsetSize = max(1, config[ComputeOptions.hostSubsetSize])
        maxAttempts = max(1, config[ComputeOptions.maxAttempts])
        serviceDownTime = config[ComputeOptions.serviceDownTime]
        reportInterval = config[ComputeOptions.reportInterval]
        allowResizeToSameHost = config[ComputeOptions.allowResizeToSameHost]
        resizeConfirmWindow = config[ComputeOptions.resizeConfirmWindow]
        shelvedOffloadTime = config[ComputeOptions.shelvedOffloadTime]
        reclaimInstanceInterval = config[ComputeOptions.reclaimInstanceInterval]
        self.dataDir = dataDir
        myIP = config[CoreOptions.publicHost]
    }

    /// Whether the local host runs guests in QEMU (`driver`, and `auto` where QEMU can run).
    var usesQemu: Bool {
        guard fakeHosts == 0 else { return false }
        switch driver {
        case "qemu": return true
        case "auto": return QemuDriver.available()
        default: return false
        }
    }

    /// The compute hosts this process runs.
    var hostNames: [String] {
        fakeHosts > 0 ? (1...fakeHosts).map { String(format: "fake-host-%03d", $0) } : [host]
    }
}
