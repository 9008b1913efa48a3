import StratusCore

/// REST clients of the services Compute uses, as the compute service user.
struct ServiceClients: Sendable {
    let auth: ServiceAuth
    let image: ServiceClient
    let network: ServiceClient
    let placement: ServiceClient

    init(auth: ServiceAuth) {
        self.auth = auth
        image = ServiceClient(auth: auth, serviceType: "image")
        network = ServiceClient(auth: auth, serviceType: "network")
        placement = ServiceClient(auth: auth, serviceType: "placement", headers: [("OpenStack-API-Version", "placement 1.36")])
    }
}
