import Foundation
import HTTPTypes
import Hummingbird
import StratusCore

/// Nova's volume proxies (`os-volumes`, `os-snapshots`, up to microversion 2.35): the
/// caller's Cinder volumes and snapshots in Nova's shape, read and changed with their own
/// token; Cinder's refusals passed on with its status and message.
extension ComputeAPI {
    /// One proxied collection: Nova's path and policy prefix, Cinder's path and keys.
    struct CinderCollection: Sendable {
        let nova: String
        let cinder: String
        let key: String
        let policy: String
        let toCinder: @Sendable ([String: JSON]) throws -> JSON
        let view: @Sendable (JSON) -> JSON

        static let volumes = CinderCollection(
            nova: "os-volumes", cinder: "volumes", key: "volume", policy: "os_compute_api:os-volumes",
            toCinder: VolumesProxyViews.cinderVolume, view: VolumesProxyViews.volume)
        static let snapshots = CinderCollection(
            nova: "os-snapshots", cinder: "snapshots", key: "snapshot", policy: "os_compute_api:os-volumes:snapshots",
            toCinder: VolumesProxyViews.cinderSnapshot, view: VolumesProxyViews.snapshot)
    }

    func registerVolumesProxy(on router: RouterGroup<StratusContext>) {
        for kind in [CinderCollection.volumes, .snapshots] {
            router.get(RouterPath("/\(kind.nova)")) { request, context -> Response in
                try await self.listProxied(kind, request, context, rule: "list")
            }
            router.get(RouterPath("/\(kind.nova)/detail")) { request, context -> Response in
                try await self.listProxied(kind, request, context, rule: "detail")
            }
            router.get(RouterPath("/\(kind.nova)/:id")) { _, context -> Response in
                let auth = try self.volumesProxyCaller(context, kind, rule: "show")
                let id = context.parameters.get("id") ?? ""
                let found = try await self.cinder(.get, "/\(kind.cinder)/\(id.pathSegment)", auth)
                return .json([kind.key: kind.view(found.body[kind.key] ?? [:])])
            }
            router.post(RouterPath("/\(kind.nova)")) { request, context -> Response in
                let auth = try self.volumesProxyCaller(context, kind, rule: "create")
                let body = try kind.toCinder(try await request.computeBody(kind.key, context: context))
                let created = try await self.cinder(.post, "/\(kind.cinder)", auth, body: body)
                return .json([kind.key: kind.view(created.body[kind.key] ?? [:])])
            }
            router.delete(RouterPath("/\(kind.nova)/:id")) { _, context -> Response in
                let auth = try self.volumesProxyCaller(context, kind, rule: "delete")
                let id = context.parameters.get("id") ?? ""
                _ = try await self.cinder(.delete, "/\(kind.cinder)/\(id.pathSegment)", auth)
                return Response(status: .accepted)
            }
        }
    }

    /// Every volume (or snapshot) of the caller's project, cut by Nova's `offset` and `limit`.
    private func listProxied(
        _ kind: CinderCollection, _ request: Request, _ context: StratusContext, rule: String
    ) async throws -> Response {
        let auth = try volumesProxyCaller(context, kind, rule: rule)
        // `GET /os-volumes/` is a show of the empty id, as Nova routes it.
        if request.uri.path.hasSuffix("/") { throw APIError.notFound("The resource could not be found.") }
        let offset = try request.intQuery("offset") ?? 0
        let limit = min(try request.intQuery("limit") ?? 1000, 1000)
        let reply = try await cinder(.get, "/\(kind.cinder)/detail", auth)
        let items = (reply.body[kind.cinder]?.arrayValue ?? []).dropFirst(offset).prefix(limit)
        return .json([kind.cinder: .array(items.map(kind.view))])
    }

    /// The caller, allowed `rule` of the collection; the proxies are gone from 2.36 on.
    private func volumesProxyCaller(
        _ context: StratusContext, _ kind: CinderCollection, rule: String
    ) throws -> AuthContext {
        let auth = try proxyCaller(context)
        try enforce("\(kind.policy):\(rule)", auth)
        return auth
    }

    /// Cinder's answer; its 4xx refusals as Nova's faults with Cinder's status and message.
    private func cinder(
        _ method: ProxyMethod, _ path: String, _ auth: AuthContext, body: JSON? = nil
    ) async throws -> ServiceReply {
        let reply: ServiceReply
        do {
            reply = try await clients.volumeProxy.forward(method, path, body: body, token: auth.token)
        } catch ServiceClientError.noEndpoint {
            throw APIError(.serviceUnavailable, "Block Storage is not available.")
        }
        guard !reply.ok else { return reply }
        throw Self.cinderError(reply)
    }

    static func cinderError(_ reply: ServiceReply) -> APIError {
        switch reply.status {
        case 413: return .forbidden(reply.faultMessage)  // Cinder's over-quota, Nova's OverQuota
        case 400..<500: return APIError(HTTPResponse.Status(code: reply.status), reply.faultMessage)
        default: return APIError(.serviceUnavailable, "The volume service answered \(reply.status).")
        }
    }
}
