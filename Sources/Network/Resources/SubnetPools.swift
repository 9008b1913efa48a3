import SQLKit
import StratusCore

// Stub: replaced by the subnet pool and address scope implementation.
extension ResourceKind {
    static let subnetPool = ResourceKind(collection: "subnetpools", member: "subnetpool", displayName: "Subnet pool", attributes: StandardAttributes.all)
    static let addressScope = ResourceKind(collection: "address-scopes", member: "address_scope", table: "address_scopes", displayName: "Address scope", attributes: StandardAttributes.all)
}

enum SubnetPools {
    static func defaultPool(version: Int, db: any SQLDatabase) async throws -> Record? { nil }
    static func checkPrefix(_ cidr: CIDR, poolID: String, ctx: HookContext) async throws {}
    static func allocate(poolID: String, version: Int, prefixLength: Int?, ctx: HookContext) async throws -> CIDR {
        throw NeutronError.badRequest("Subnet pools are not available")
    }
}
