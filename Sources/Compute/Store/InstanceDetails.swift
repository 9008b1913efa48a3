import StratusCore

/// What an instance keeps beyond its columns, in its `doc` column (a JSON object with
/// these keys): what lists neither filter nor sort on. The flavor and image snapshots,
/// addresses, faults and block devices stay documents: the API shows them as they are.
struct InstanceDetails: Sendable, Equatable {
    /// The flavor as the server was built or resized with (the API's embedded flavor).
    var flavor: JSON = [:]
    /// Nova's image meta: the base fields and the custom ones as `properties`.
    var image: JSON = [:]
    var metadata: [String: String] = [:]
    var keyName: String?
    var keyData: String?
    /// Base64, as the client gave it.
    var userData: String?
    /// Names (or ids) of the security groups asked for.
    var securityGroups: [String] = ["default"]
    /// `{uuid, port, fixed_ip, tag}` per network asked for.
    var requestedNetworks: [JSON] = []
    /// `zone`, `zone:host` or `:host` as the client asked.
    var requestedZone: String?
    var configDrive = false
    var accessIPv4 = ""
    var accessIPv6 = ""
    var description: String?
    var launchIndex = 0
    var hostname: String?
    var diskConfig = "MANUAL"
    var blockDevices: [JSON] = []
    var hints: JSON = [:]
    /// By network name, as the API shows them.
    var addresses: JSON = [:]
    var requestID: String?
    var fault: JSON?
    /// The Neutron ports the server has; `givenPorts` those the client gave (unbound on
    /// delete rather than deleted).
    var ports: [String] = []
    var givenPorts: [String] = []
    /// Hosts a build already failed on (not tried again).
    var triedHosts: [String] = []
    /// The move in progress (`migrations.uuid`).
    var migration: String?
    var newFlavor: JSON?
    var oldFlavor: JSON?
    var oldVMState: String?
    /// What a rebuild or evacuation returns the server to: `active` or `stopped`.
    var rebuildFromState: String?
    /// The encrypted password the guest posted to the metadata service.
    var password: String?
    var lockedReason: String?
    var shelvedImageID: String?
    var shelvedAt: String?
    var shelvedHost: String?
    /// The Cinder volumes attached (or being attached) to the server.
    var volumes: [VolumeMapping] = []

    init() {}

    init(_ doc: [String: JSON]) {
        func strings(_ key: String) -> [String]? { doc[key]?.arrayValue?.compactMap(\.stringValue) }
        flavor = doc["flavor"] ?? [:]
        image = doc["image"] ?? [:]
        metadata = (doc["metadata"]?.objectValue ?? [:]).compactMapValues(\.stringValue)
        keyName = doc["key_name"]?.stringValue
        keyData = doc["key_data"]?.stringValue
        userData = doc["user_data"]?.stringValue
        securityGroups = strings("security_groups") ?? ["default"]
        requestedNetworks = doc["requested_networks"]?.arrayValue ?? []
        requestedZone = doc["requested_zone"]?.stringValue
        configDrive = doc["config_drive"]?.boolValue ?? false
        accessIPv4 = doc["access_ip_v4"]?.stringValue ?? ""
        accessIPv6 = doc["access_ip_v6"]?.stringValue ?? ""
        description = doc["description"]?.stringValue
        launchIndex = doc["launch_index"]?.intValue ?? 0
        hostname = doc["hostname"]?.stringValue
        diskConfig = doc["disk_config"]?.stringValue ?? "MANUAL"
        blockDevices = doc["block_devices"]?.arrayValue ?? []
        hints = doc["hints"] ?? [:]
        addresses = doc["addresses"] ?? [:]
        requestID = doc["request_id"]?.stringValue
        fault = doc["fault"]?.nonNull
        ports = strings("ports") ?? []
        givenPorts = strings("given_ports") ?? []
        triedHosts = strings("tried_hosts") ?? []
        migration = doc["migration"]?.stringValue
        newFlavor = doc["new_flavor"]?.nonNull
        oldFlavor = doc["old_flavor"]?.nonNull
        oldVMState = doc["old_vm_state"]?.stringValue
        rebuildFromState = doc["rebuild_from_state"]?.stringValue
        password = doc["password"]?.stringValue
        lockedReason = doc["locked_reason"]?.stringValue
        shelvedImageID = doc["shelved_image_id"]?.stringValue
        shelvedAt = doc["shelved_at"]?.stringValue
        shelvedHost = doc["shelved_host"]?.stringValue
        volumes = (doc["volumes"]?.arrayValue ?? []).compactMap(VolumeMapping.init)
    }

    /// The `doc` column; absent optionals are left out.
    var document: [String: JSON] {
        var doc: [String: JSON] = [
            "flavor": flavor, "image": image, "metadata": .object(metadata.mapValues { .string($0) }),
            "security_groups": JSON(securityGroups), "requested_networks": .array(requestedNetworks),
            "config_drive": .bool(configDrive), "access_ip_v4": .string(accessIPv4),
            "access_ip_v6": .string(accessIPv6), "launch_index": .int(launchIndex), "disk_config": .string(diskConfig),
            "block_devices": .array(blockDevices),
            "hints": hints, "addresses": addresses, "ports": JSON(ports), "given_ports": JSON(givenPorts),
            "tried_hosts": JSON(triedHosts), "volumes": .array(volumes.map(\.document)),
        ]
        let optional: [(String, JSON?)] = [
            ("key_name", keyName.map(JSON.string)), ("key_data", keyData.map(JSON.string)),
            ("user_data", userData.map(JSON.string)),
            ("requested_zone", requestedZone.map(JSON.string)), ("description", description.map(JSON.string)),
            ("hostname", hostname.map(JSON.string)), ("request_id", requestID.map(JSON.string)), ("fault", fault),
            ("migration", migration.map(JSON.string)), ("new_flavor", newFlavor), ("old_flavor", oldFlavor),
            ("old_vm_state", oldVMState.map(JSON.string)), ("rebuild_from_state", rebuildFromState.map(JSON.string)),
            ("password", password.map(JSON.string)), ("locked_reason", lockedReason.map(JSON.string)),
            ("shelved_image_id", shelvedImageID.map(JSON.string)), ("shelved_at", shelvedAt.map(JSON.string)),
            ("shelved_host", shelvedHost.map(JSON.string)),
        ]
        for (key, value) in optional { if let value { doc[key] = value } }
        return doc
    }
}
