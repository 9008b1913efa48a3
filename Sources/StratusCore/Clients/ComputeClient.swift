/// The Compute calls other services make: the external events Nova waits for.
public protocol ComputeClient: Sendable {
    /// Tells Nova that an attached volume grew (`volume-extended`), so the guest sees it.
    func volumeExtended(server: String, volume: String) async throws
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
}
