import StratusCore

/// The services Compute calls, as the compute service user: typed clients for its own
/// flows, and the raw REST clients its proxy APIs (`os-networks`, `os-security-groups`,
/// `os-floating-ips`, `images`) forward a caller's request through.
struct ServiceClients: Sendable {
    let image: any ImageClient
    let network: any NetworkClient
    let placement: any PlacementClient
    let imageProxy: ServiceClient
    let networkProxy: ServiceClient

    init(auth: ServiceAuth) {
        self.init(
            image: RESTImageClient(auth: auth), network: RESTNetworkClient(auth: auth), placement: RESTPlacementClient(auth: auth),
            auth: auth)
    }

    /// Typed clients of the caller's choosing (in-process fakes in tests).
    init(image: any ImageClient, network: any NetworkClient, placement: any PlacementClient, auth: ServiceAuth) {
        self.image = image
        self.network = network
        self.placement = placement
        imageProxy = ServiceClient(auth: auth, serviceType: "image")
        networkProxy = ServiceClient(auth: auth, serviceType: "network")
    }
}
