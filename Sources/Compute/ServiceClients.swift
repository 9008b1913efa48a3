import StratusCore

/// The services Compute calls, as the compute service user: typed clients for its own
/// flows, and the raw REST clients its proxy APIs (`os-networks`, `os-security-groups`,
/// `os-floating-ips`, `images`, `os-volumes`) forward a caller's request through.
struct ServiceClients: Sendable {
    let image: any ImageClient
    let network: any NetworkClient
    let placement: any PlacementClient
    /// Block Storage; nil where there is none. The REST client finds its endpoint when first
    /// used, so a catalog without `volumev3` shows as volumes that cannot be found.
    let volume: (any VolumeClient)?
    let imageProxy: ServiceClient
    let networkProxy: ServiceClient
    /// Block Storage's REST API for `os-volumes` and `os-snapshots`.
    let volumeProxy: any ProxyTransport

    init(auth: ServiceAuth) {
        self.init(
            image: RESTImageClient(auth: auth), network: RESTNetworkClient(auth: auth),
            placement: RESTPlacementClient(auth: auth), volume: RESTVolumeClient(auth: auth), auth: auth)
    }

    /// Typed clients of the caller's choosing (in-process fakes in tests).
    init(
        image: any ImageClient, network: any NetworkClient, placement: any PlacementClient,
        volume: (any VolumeClient)? = nil, volumeProxy: (any ProxyTransport)? = nil, auth: ServiceAuth
    ) {
        self.image = image
        self.network = network
        self.placement = placement
        self.volume = volume
        imageProxy = ServiceClient(auth: auth, serviceType: "image")
        networkProxy = ServiceClient(auth: auth, serviceType: "network")
        self.volumeProxy = volumeProxy ?? ServiceClient(auth: auth, serviceType: "volumev3", sendsServiceToken: true)
    }
}
