import Hummingbird
import StratusCore

// Stub: availability zones and service providers.
extension NetworkAPI {
    func registerAvailabilityZones(on router: Router<StratusContext>) {}
    func registerServiceProviders(on router: Router<StratusContext>) {}
}
