/// The Compute calls other services make: the external events Nova waits for, and the
/// swap of an attached volume's data that Block Storage's migration asks for.
public protocol ComputeClient: Sendable {
    /// Tells Nova that an attached volume grew (`volume-extended`), so the guest sees it.
    func volumeExtended(server: String, volume: String) async throws
    /// Asks Nova to move the server's disk from volume `old` onto volume `new` while the
    /// guest runs (a migration of an attached volume); Nova answers before the swap is done
    /// and ends it with Block Storage's `os-migrate_volume_completion`.
    func swapVolume(server: String, old: String, new: String) async throws
}

/// `ComputeClient` over Nova's REST API (`os-server-external-events`, 2.51 for
/// `volume-extended`), as the calling service's user.
public struct RESTComputeClient: ComputeClient {
    let rest: ServiceClient

    public init(auth: ServiceAuth) {
        rest = ServiceClient(auth: auth, serviceType: "compute", headers: [("OpenStack-API-Version", "compute 2.51")])
    }

    public func volumeExtended(server: String, volume: String) async throws {
        let body: JSON = [
            "events": [["name": "volume-extended", "server_uuid": .string(server), "tag": .string(volume)]]
        ]
        _ = try await rest.send(.POST, "/os-server-external-events", body: body).checked("compute")
    }

    public func swapVolume(server: String, old: String, new: String) async throws {
        let body: JSON = ["volumeAttachment": ["volumeId": .string(new)]]
        let path = "/servers/\(server)/os-volume_attachments/\(old)"
        _ = try await rest.send(.PUT, path, body: body).checked("compute")
    }
}
