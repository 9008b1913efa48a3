import Foundation
import Hummingbird
import StratusCore

/// Nova's network proxies (`os-networks` and `os-tenant-networks`, up to 2.35): the
/// caller's Neutron networks as Nova showed them, labelled by name with their first CIDR.
extension ComputeAPI {
    func registerNetworksProxy(on router: RouterGroup<StratusContext>) {
        for collection in ["os-networks", "os-tenant-networks"] {
            router.get(RouterPath("/\(collection)")) { _, context -> Response in
                let auth = try self.proxyCaller(context)
                let reply = try await self.clients.networkProxy.get("/v2.0/networks", token: auth.token)
                guard reply.ok else { throw Self.networkError(reply) }
                let subnets = try await self.subnetCIDRs(auth)
                return .json([
                    "networks": .array(
                        (reply.body["networks"]?.arrayValue ?? []).map { Self.proxyNetworkView($0, subnets) })
                ])
            }
            router.get(RouterPath("/\(collection)/:id")) { _, context -> Response in
                let auth = try self.proxyCaller(context)
                let id = context.parameters.get("id") ?? ""
                let reply = try await self.clients.networkProxy.get(
                    "/v2.0/networks/\(id.pathSegment)", token: auth.token)
                guard reply.ok, let network = reply.body["network"] else {
                    throw APIError.notFound("Network \(id) could not be found.")
                }
                return .json(["network": Self.proxyNetworkView(network, try await self.subnetCIDRs(auth))])
            }
        }
    }

    private func subnetCIDRs(_ auth: AuthContext) async throws -> [String: String] {
        let reply = try await clients.networkProxy.get("/v2.0/subnets?fields=id&fields=cidr", token: auth.token)
        var cidrs: [String: String] = [:]
        for subnet in reply.body["subnets"]?.arrayValue ?? [] {
            if let id = subnet["id"]?.stringValue, let cidr = subnet["cidr"]?.stringValue { cidrs[id] = cidr }
        }
        return cidrs
    }

    private static func proxyNetworkView(_ network: JSON, _ cidrs: [String: String]) -> JSON {
        let first = network["subnets"]?.arrayValue?.compactMap(\.stringValue).compactMap { cidrs[$0] }.first
        return ["id": network["id"] ?? .null, "label": network["name"] ?? "", "cidr": JSON(first)]
    }
}
