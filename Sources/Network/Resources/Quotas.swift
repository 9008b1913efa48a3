import Hummingbird
import SQLKit
import StratusCore

// Stub: replaced by the quota implementation.
enum Quotas {
    static func check(resource: String, kind: ResourceKind, project: String, adding: Int, db: any SQLDatabase, api: NetworkAPI) async throws {}
}

extension NetworkAPI {
    func registerQuotas(on router: Router<StratusContext>) {}
    func registerIPAvailability(on router: Router<StratusContext>) {}
}
