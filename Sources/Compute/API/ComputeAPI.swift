import Foundation
import HTTPTypes
import Hummingbird
import Logging
import SQLKit
import StratusCore

/// The routes of the compute API and what they share.
struct ComputeAPI: Sendable {
    let db: Database
    let instances: InstanceStore
    let policy: PolicyEngine
    let settings: ComputeSettings
    let bus: any BusTransport
    let clients: ServiceClients
    let actions: InstanceActions
    let logger: Logger

    static let versions = MicroversionRange(
        service: "compute", min: Microversion(2, 1), max: Microversion(2, 85), legacyHeader: .novaAPIVersion)

    func register(on router: Router<StratusContext>) {
        registerVersions(on: router)
        let v21 = router.group("/v2.1").add(middleware: MicroversionMiddleware(range: Self.versions))
        registerFlavors(on: v21)
        registerKeypairs(on: v21)
        registerServers(on: v21)
        registerServerDetails(on: v21)
        registerServerActions(on: v21)
        registerServerSupport(on: v21)
        registerImagesProxy(on: v21)
        registerServerGroups(on: v21)
        registerAggregates(on: v21)
        registerInterfaceChanges(on: v21)
        registerVolumeAttachments(on: v21)
        registerMigrations(on: v21)
        registerConsoles(on: v21, root: router)
        registerExtensions(on: v21)
        registerHosts(on: v21)
        registerSecurityGroupsProxy(on: v21)
        registerFloatingIPsProxy(on: v21)
        registerNetworksProxy(on: v21)
        registerVolumesProxy(on: v21)
        registerUsageAuditLog(on: v21)
        registerInstanceActions(on: v21)
        registerQuotas(on: v21)
        registerOperatorViews(on: v21)
        registerExternalEvents(on: v21)
    }

    /// The caller, who must be project-scoped (or an admin) to use the compute API.
    func caller(_ context: StratusContext) throws -> AuthContext {
        let auth = try context.requireAuth()
        guard auth.projectID != nil || auth.systemScope else { throw APIError.forbidden("A project-scoped token is required.") }
        return auth
    }

    func enforce(_ rule: String, _ auth: AuthContext, projectID: String? = nil, userID: String? = nil) throws {
        var target: [String: String] = ["project_id": projectID ?? auth.projectID ?? ""]
        target["user_id"] = userID ?? auth.userID
        guard policy.check(rule, creds: auth.policyCredentials, target: target) else {
            throw APIError.forbidden("Policy doesn't allow \(rule) to be performed.")
        }
    }

    func isAdmin(_ auth: AuthContext) -> Bool {
        policy.check("context_is_admin", creds: auth.policyCredentials, target: [:])
    }

    /// The base URL of links, e.g. `http://host:8774`.
    static func base(_ request: Request) -> String { request.baseURL }

    static func links(_ request: Request, _ collection: String, _ id: String, project: String? = nil) -> JSON {
        .array(linkPairs(request, collection, id).map { ["rel": .string($0.rel), "href": .string($0.href)] })
    }

    /// `links` written into `out`.
    static func writeLinks(_ request: Request, _ collection: String, _ id: String, to out: inout JSONWriter) {
        write(links: linkPairs(request, collection, id), to: &out)
    }

    /// `[{"rel": rel, "href": href}, …]` written into `out`.
    static func write(links pairs: [(rel: String, href: String)], to out: inout JSONWriter) {
        out.array { links in
            for (rel, href) in pairs {
                links.object { link in
                    link.field("rel", rel)
                    link.field("href", href)
                }
            }
        }
    }

    private static func linkPairs(
        _ request: Request, _ collection: String, _ id: String
    ) -> [(rel: String, href: String)] {
        let base = request.baseURL
        return [("self", "\(base)/v2.1/\(collection)/\(id)"), ("bookmark", "\(base)/\(collection)/\(id)")]
    }
}

/// Nova's error messages.
enum ComputeError {
    static func instanceNotFound(_ id: String) -> APIError { .notFound("Instance \(id) could not be found.") }
    static func flavorNotFound(_ id: String) -> APIError { .notFound("Flavor \(id) could not be found.") }
    static func invalidState(_ instance: Instance, action: String) -> APIError {
        .conflict("Cannot '\(action)' instance \(instance.uuid) while it is in \(instance.taskState.map { "task_state \($0)" } ?? "vm_state \(instance.vmState)")")
    }
}

extension Request {
    /// The body of a compute request as an object with `key` in it, else Nova's 400.
    func computeBody(_ key: String, context: StratusContext) async throws -> [String: JSON] {
        let body = try await jsonObject(context: context)
        guard let inner = body[key]?.objectValue else {
            throw APIError.badRequest("Invalid input for field/attribute \(key). Value: \(JSON.object(body).serialized()). '\(key)' is a required property")
        }
        return inner
    }

    /// An integer query parameter (limit and the like), 400 when not a non-negative integer.
    func intQuery(_ name: String) throws -> Int? {
        guard let text = query(name) else { return nil }
        guard let value = Int(text), value >= 0 else {
            throw APIError.badRequest("Invalid input for query parameters \(name). Value: \(text). '\(text)' does not match '^[0-9]*$'")
        }
        return value
    }

    /// A date-time query parameter (`changes-since` and the like), 400 when it is not one (with
    /// `invalid` as the message where Nova words it otherwise).
    func dateQuery(_ name: String, invalid: String? = nil) throws -> Date? {
        guard let text = query(name) else { return nil }
        guard let date = Timestamp.parse(text) ?? Timestamp.parse(text + "Z") else {
            let message = "Invalid input for query parameters \(name). Value: \(text). '\(text)' is not a 'date-time'"
            throw APIError.badRequest(invalid ?? message)
        }
        return date
    }

    /// Nova's strict query schemas (lists from some microversion on): only `known` names.
    func rejectUnknownQuery(_ known: Set<String>) throws {
        if let extra = uri.queryParameters.map({ String($0.key) }).sorted().first(where: { !known.contains($0) }) {
            throw APIError.badRequest("Invalid input for query parameters \(extra). Additional properties are not allowed ('\(extra)' was unexpected)")
        }
    }

    func query(_ name: String) -> String? { uri.queryParameters.get(name) }

    func queryAll(_ name: String) -> [String] { uri.queryParameters.getAll(name) }
}
