/// `VolumeClient` over Cinder's v3 REST API at microversion 3.44 (the attachments API),
/// found in the catalog as `volumev3` (Nova's `[cinder] catalog_info`). Calls made with a
/// caller's token carry the service user's as `X-Service-Token`.
public struct RESTVolumeClient: VolumeClient {
    static let service = "volume"
    let rest: ServiceClient

    public init(auth: ServiceAuth) {
        rest = ServiceClient(
            auth: auth, serviceType: "volumev3", headers: [("OpenStack-API-Version", "volume 3.44")],
            sendsServiceToken: true)
    }

    public func volume(_ id: String, token: String?) async throws -> Volume? {
        let reply = try await rest.get("/volumes/\(id)", token: token)
        if reply.status == 404 { return nil }
        guard let volume = Volume(try reply.checked(Self.service).body["volume"] ?? .null) else {
            throw Self.malformed(reply, "a volume")
        }
        return volume
    }

    public func reserve(volumeID: String, instanceID: String, token: String?) async throws -> String {
        let body: JSON = ["attachment": ["volume_uuid": .string(volumeID), "instance_uuid": .string(instanceID)]]
        let reply = try await rest.send(.POST, "/attachments", body: body, token: token).checked(Self.service)
        guard let id = reply.body["attachment"]?["id"]?.stringValue else {
            throw Self.malformed(reply, "an attachment")
        }
        return id
    }

    public func updateAttachment(_ id: String, connector: VolumeConnector) async throws -> VolumeConnection {
        let body: JSON = [
            "attachment": [
                "connector": [
                    "ip": .string(connector.ip), "host": .string(connector.host), "platform": "x86_64",
                    "os_type": "linux", "multipath": false, "mountpoint": .string(connector.mountpoint),
                    "initiator": nil,
                ],
            ],
        ]
        let reply = try await rest.send(.PUT, "/attachments/\(id)", body: body).checked(Self.service)
        guard let connection = VolumeConnection(flattened: reply.body["attachment"]?["connection_info"] ?? .null) else {
            throw Self.malformed(reply, "connection_info")
        }
        return connection
    }

    public func completeAttachment(_ id: String) async throws {
        let body: JSON = ["os-complete": [:]]
        _ = try await rest.send(.POST, "/attachments/\(id)/action", body: body).checked(Self.service)
    }

    public func deleteAttachment(_ id: String) async throws {
        let reply = try await rest.send(.DELETE, "/attachments/\(id)")
        if reply.status != 404 { _ = try reply.checked(Self.service) }
    }

    public func beginDetaching(_ volumeID: String, token: String?) async throws {
        try await action(volumeID, "os-begin_detaching", token: token)
    }

    public func rollDetaching(_ volumeID: String) async throws {
        try await action(volumeID, "os-roll_detaching", token: nil)
    }

    public func createVolume(_ request: VolumeRequest, token: String?) async throws -> Volume {
        var volume: [String: JSON] = ["size": .int(request.size), "name": .string(request.name)]
        let optional: [(String, String?)] = [
            ("imageRef", request.imageID), ("snapshot_id", request.snapshotID),
            ("source_volid", request.sourceVolumeID), ("availability_zone", request.availabilityZone),
        ]
        for case (let key, let value?) in optional { volume[key] = .string(value) }
        let body: JSON = ["volume": .object(volume)]
        let reply = try await rest.send(.POST, "/volumes", body: body, token: token).checked(Self.service)
        guard let created = Volume(reply.body["volume"] ?? .null) else { throw Self.malformed(reply, "a volume") }
        return created
    }

    public func deleteVolume(_ id: String) async throws {
        let reply = try await rest.send(.DELETE, "/volumes/\(id)")
        if reply.status != 404 { _ = try reply.checked(Self.service) }
    }

    public func migrateVolumeCompletion(old: String, new: String, error: Bool) async throws -> String {
        let body: JSON = ["os-migrate_volume_completion": ["new_volume": .string(new), "error": .bool(error)]]
        let reply = try await rest.send(.POST, "/volumes/\(old)/action", body: body).checked(Self.service)
        guard let saved = reply.body["save_volume_id"]?.stringValue else {
            throw Self.malformed(reply, "save_volume_id")
        }
        return saved
    }

    private func action(_ volumeID: String, _ name: String, token: String?) async throws {
        let body: JSON = [name: [:]]
        _ = try await rest.send(.POST, "/volumes/\(volumeID)/action", body: body, token: token).checked(Self.service)
    }

    private static func malformed(_ reply: ServiceReply, _ what: String) -> ServiceFault {
        ServiceFault(service: service, status: reply.status, message: "The volume service answered without \(what).")
    }
}
