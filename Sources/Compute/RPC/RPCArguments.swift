import StratusCore

/// The arguments and replies of Compute's bus methods. Wire names follow oslo's
/// snake_case (`instance_uuid`), so the messages read the same on RabbitMQ.

/// A method that needs only the server.
struct InstanceRef: Codable, Sendable, Equatable {
    var instance: String

    init(_ instance: String) { self.instance = instance }

    enum CodingKeys: String, CodingKey { case instance = "instance_uuid" }
}

/// A move step: the server and its migration record.
struct MigrationRef: Codable, Sendable, Equatable {
    var instance: String
    var migration: String

    enum CodingKeys: String, CodingKey {
        case instance = "instance_uuid"
        case migration = "migration_uuid"
    }
}

struct RebootArgs: Codable, Sendable, Equatable {
    var instance: String
    var hard: Bool

    enum CodingKeys: String, CodingKey {
        case instance = "instance_uuid"
        case hard
    }
}

struct RescueArgs: Codable, Sendable, Equatable {
    var instance: String
    /// The image to boot the rescue from; nil rescues from the server's own image.
    var image: String?

    enum CodingKeys: String, CodingKey {
        case instance = "instance_uuid"
        case image = "rescue_image_ref"
    }
}

/// `set_admin_password` and `rebuild_instance`: the server and its new password.
struct PasswordArgs: Codable, Sendable, Equatable {
    var instance: String
    var password: String

    enum CodingKeys: String, CodingKey {
        case instance = "instance_uuid"
        case password = "admin_password"
    }
}

struct SnapshotArgs: Codable, Sendable, Equatable {
    var instance: String
    var image: String
    /// `createBackup`: the backup type and how many of that type to keep.
    var backupType: String?
    var rotation: Int?

    enum CodingKeys: String, CodingKey {
        case instance = "instance_uuid"
        case image = "image_id"
        case backupType = "backup_type"
        case rotation
    }
}

struct ShelveArgs: Codable, Sendable, Equatable {
    var instance: String
    /// The snapshot image to store; nil for a server booted from a volume.
    var image: String?
    /// Whether the server gives up its host at once (`shelved_offload_time` 0).
    var offload: Bool

    enum CodingKeys: String, CodingKey {
        case instance = "instance_uuid"
        case image = "image_id"
        case offload
    }
}

struct AttachInterfaceArgs: Codable, Sendable, Equatable {
    var instance: String
    /// The port to bind, or else a new port on `network` (with `fixedIP` if given).
    var port: String?
    var network: String?
    var fixedIP: String?

    enum CodingKeys: String, CodingKey {
        case instance = "instance_uuid"
        case port = "port_id"
        case network = "net_id"
        case fixedIP = "fixed_ip"
    }
}

/// The port as Neutron shows it, or why the attach failed.
struct AttachInterfaceReply: Codable, Sendable, Equatable {
    var port: JSON?
    var error: String?
}

struct DetachInterfaceArgs: Codable, Sendable, Equatable {
    var instance: String
    var port: String

    enum CodingKeys: String, CodingKey {
        case instance = "instance_uuid"
        case port = "port_id"
    }
}

/// Empty when the port was detached, otherwise why not.
struct DetachInterfaceReply: Codable, Sendable, Equatable {
    var error: String?
}

/// `attach_volume` and `detach_volume`: the server and the volume of one of its mappings.
struct VolumeArgs: Codable, Sendable, Equatable {
    var instance: String
    var volume: String

    enum CodingKeys: String, CodingKey {
        case instance = "instance_uuid"
        case volume = "volume_id"
    }
}

struct SwapVolumeArgs: Codable, Sendable, Equatable {
    var instance: String
    var oldVolume: String
    var newVolume: String

    enum CodingKeys: String, CodingKey {
        case instance = "instance_uuid"
        case oldVolume = "old_volume_id"
        case newVolume = "new_volume_id"
    }
}

struct ConsoleOutput: Codable, Sendable, Equatable {
    var output: String
}

struct CacheImagesArgs: Codable, Sendable, Equatable {
    var images: [String]

    enum CodingKeys: String, CodingKey { case images = "image_ids" }
}

/// An event from Neutron or Cinder (`os-server-external-events`) for the server's host.
struct ExternalEvent: Codable, Sendable, Equatable {
    var instance: String
    var name: String
    var tag: String?
    var status: String

    /// How a build waiting for the event names it: `network-vif-plugged-<port>`.
    var key: String { name + "-" + (tag ?? "") }

    enum CodingKeys: String, CodingKey {
        case instance = "server_uuid"
        case name, tag, status
    }
}

struct BuildInstancesArgs: Codable, Sendable, Equatable {
    var instances: [String]

    enum CodingKeys: String, CodingKey { case instances = "instance_uuids" }
}

/// A cold or live migration or an evacuation for the conductor, to `host` if forced.
struct MoveArgs: Codable, Sendable, Equatable {
    var instance: String
    var migration: String
    var host: String?

    enum CodingKeys: String, CodingKey {
        case instance = "instance_uuid"
        case migration = "migration_uuid"
        case host
    }
}

/// What the conductor asks the scheduler: a host for the server, avoiding `excludedHosts`;
/// `flavor` (a flavor snapshot) replaces the server's own for a resize.
struct DestinationRequest: Codable, Sendable, Equatable {
    var instance: String
    var excludedHosts: [String]
    var flavor: [String: JSON]?
    var forcedHost: String?

    enum CodingKeys: String, CodingKey {
        case instance = "instance_uuid"
        case excludedHosts = "excluded_hosts"
        case flavor
        case forcedHost = "forced_host"
    }
}

/// The host the scheduler chose and claimed, with the next best for a reschedule.
struct Destination: Codable, Sendable, Equatable {
    var host: String
    var node: String
    var zone: String
    var alternates: [String]
}
