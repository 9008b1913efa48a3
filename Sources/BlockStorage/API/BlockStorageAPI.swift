import Foundation
import HTTPTypes
import Hummingbird
import Logging
import SQLKit
import StratusCore

/// Settings of the Block Storage API.
struct BlockStorageSettings: Sendable {
    var defaultZone = "nova"
    var maxLimit = 1000
    var defaultVolumeSizeGB = 1
}

/// The routes of the Block Storage API and what they share.
struct BlockStorageAPI: Sendable {
    let db: Database
    let policy: PolicyEngine
    let bus: any BusTransport
    let images: any ImageClient
    let settings: BlockStorageSettings
    /// Where volumes are placed (restores of backups to new volumes use its filters).
    let scheduler: VolumeScheduler
    /// The backup service's host on the bus; nil when no backup service runs.
    let backups: String?
    /// Checks service tokens (`X-Service-Token`) the API must tell apart.
    let validator: any TokenValidator
    let logger: Logger

    static let versions = MicroversionRange(service: "volume", min: Microversion(3, 0), max: Microversion(3, 71))

    func register(on router: Router<StratusContext>) {
        registerVersions(on: router)
        let plain = router.group("/v3").add(middleware: MicroversionMiddleware(range: Self.versions))
        let scoped = router.group("/v3/:project_id")
            .add(middleware: ProjectPathMiddleware())
            .add(middleware: MicroversionMiddleware(range: Self.versions))
        for group in [plain, scoped] {
            registerVolumes(on: group)
            registerVolumeActions(on: group)
            registerMetadata(on: group)
            registerSnapshots(on: group)
            registerAttachments(on: group)
            registerTypes(on: group)
            registerServices(on: group)
            registerLimits(on: group)
            registerTransfers(on: group)
            registerQosSpecs(on: group)
            registerMessages(on: group)
            registerBackups(on: group)
            registerGroupTypes(on: group)
            registerGroups(on: group)
            registerConsistencyGroups(on: group)
            registerManage(on: group)
        }
    }

    /// The caller, who must be project-scoped (or an admin).
    func caller(_ context: StratusContext) throws -> AuthContext {
        let auth = try context.requireAuth()
        guard auth.projectID != nil || auth.systemScope else {
            throw APIError.forbidden("A project-scoped token is required.")
        }
        return auth
    }

    func enforce(_ rule: String, _ auth: AuthContext, projectID: String? = nil) throws {
        let target = ["project_id": projectID ?? auth.projectID ?? "", "user_id": auth.userID]
        guard policy.check(rule, creds: auth.policyCredentials, target: target) else {
            throw APIError.forbidden("Policy doesn't allow \(rule) to be performed.")
        }
    }

    func isAdmin(_ auth: AuthContext) -> Bool {
        policy.check("context_is_admin", creds: auth.policyCredentials, target: [:])
    }

    /// The volume named in the path, as the caller may see it, else Cinder's 404.
    func visibleVolume(_ context: StratusContext, _ auth: AuthContext, rule: String) async throws -> Volume {
        let id = context.parameters.get("id") ?? ""
        guard let volume = try await db.read({ try await VolumeStore.volume(id, in: $0) }),
            volume.projectID == auth.projectID || isAdmin(auth)
        else { throw BlockStorageError.volumeNotFound(id) }
        try enforce(rule, auth, projectID: volume.projectID)
        return volume
    }

    func visibleSnapshot(_ context: StratusContext, _ auth: AuthContext, rule: String) async throws -> Snapshot {
        let id = context.parameters.get("id") ?? ""
        guard let snapshot = try await db.read({ try await VolumeStore.snapshot(id, in: $0) }),
            snapshot.projectID == auth.projectID || isAdmin(auth)
        else { throw BlockStorageError.snapshotNotFound(id) }
        try enforce(rule, auth, projectID: snapshot.projectID)
        return snapshot
    }
}

/// `http://host:8776/v3[/<project>]`: links repeat the form of URL the request used.
struct LinkBase: Sendable {
    let host: String
    let project: String?

    init(_ request: Request, _ context: StratusContext) {
        host = request.baseURL
        project = context.parameters.get("project_id")
    }

    var api: String { host + "/v3" + (project.map { "/\($0)" } ?? "") }

    /// Cinder's `self` and `bookmark` links.
    func links(_ collection: String, _ id: String) -> JSON {
        let bookmark = host + (project.map { "/\($0)" } ?? "") + "/\(collection)/\(id)"
        return [
            ["rel": "self", "href": .string("\(api)/\(collection)/\(id)")],
            ["rel": "bookmark", "href": .string(bookmark)],
        ]
    }
}

/// `/v3/{project_id}/...`: the project in the path must be the token's (Cinder's 400).
struct ProjectPathMiddleware: RouterMiddleware {
    typealias Context = StratusContext

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        let project = context.parameters.get("project_id") ?? ""
        if let auth = context.auth, let own = auth.projectID, own != project, !auth.roles.contains("admin") {
            throw APIError.badRequest("Malformed request url")
        }
        return try await next(request, context)
    }
}

/// Cinder's error messages.
enum BlockStorageError {
    static func volumeNotFound(_ id: String) -> APIError { .notFound("Volume \(id) could not be found.") }
    static func snapshotNotFound(_ id: String) -> APIError { .notFound("Snapshot \(id) could not be found.") }
    static func attachmentNotFound(_ id: String) -> APIError {
        .notFound("VolumeAttachment \(id) could not be found.")
    }
    static func typeNotFound(_ id: String) -> APIError { .notFound("Volume type \(id) could not be found.") }
    static func invalidVolume(_ reason: String) -> APIError { .badRequest("Invalid volume: \(reason)") }
    static func invalidInput(_ reason: String) -> APIError { .badRequest("Invalid input received: \(reason)") }
}

extension Request {
    /// The body's object under `key`, else Cinder's 400.
    func volumeBody(_ key: String, context: StratusContext) async throws -> [String: JSON] {
        let body = try await jsonObject(context: context)
        guard let inner = body[key]?.objectValue else {
            throw APIError.badRequest("Missing required element '\(key)' in request body.")
        }
        return inner
    }
}
