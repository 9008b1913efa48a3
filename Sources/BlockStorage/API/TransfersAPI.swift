import Foundation
import Hummingbird
import SQLKit
import StratusCore

/// Volume transfers: `/os-volume-transfer` and, from 3.55, `/volume-transfers`.
extension BlockStorageAPI {
    func registerTransfers(on router: RouterGroup<StratusContext>) {
        for collection in ["os-volume-transfer", "volume-transfers"] {
            let path = "/\(collection)"
            router.post(RouterPath(path)) { request, context -> Response in
                let auth = try transferCaller(context, collection, rule: "volume:create_transfer")
                let body = try await request.volumeBody("transfer", context: context)
                guard let volumeID = body["volume_id"]?.stringValue else {
                    throw BlockStorageError.invalidInput("volume_id is required")
                }
                let name = try Self.optionalText(body, "name") ?? nil
                let noSnapshots = context.version(atLeast: 3, 55) ? body["no_snapshots"]?.boolValue ?? false : false
                let (transfer, key) = try await offer(volumeID, name: name, noSnapshots: noSnapshots, auth: auth)
                var view = transferView(transfer, request, context, collection, detail: true).objectValue ?? [:]
                view["auth_key"] = .string(key)
                return .json(["transfer": .object(view)], status: .accepted)
            }
            for detail in [false, true] {
                router.get(RouterPath(path + (detail ? "/detail" : ""))) { request, context -> Response in
                    let auth = try transferCaller(context, collection, rule: "volume:get_all_transfers")
                    let asked = try request.boolQuery("all_tenants") ?? false
                    let allTenants = asked && isAdmin(auth)
                    let condition: SQLQueryString =
                        allTenants
                        ? "accepted = \(bind: false)"
                        : "accepted = \(bind: false) AND source_project_id = \(bind: auth.projectID ?? "")"
                    let transfers = try await db.read { try await Transfer.select(where: condition, in: $0) }
                    let items = transfers.map { transferView($0, request, context, collection, detail: detail) }
                    return .json(["transfers": .array(items)])
                }
            }
            router.get(RouterPath(path + "/:id")) { request, context -> Response in
                let auth = try transferCaller(context, collection, rule: "volume:get_transfer")
                let transfer = try await visibleTransfer(context, auth)
                return .json(["transfer": transferView(transfer, request, context, collection, detail: true)])
            }
            router.delete(RouterPath(path + "/:id")) { _, context -> Response in
                let auth = try transferCaller(context, collection, rule: "volume:delete_transfer")
                let transfer = try await visibleTransfer(context, auth)
                try await db.transaction { db in
                    try await Transfer.delete(transfer.id, in: db)
                    guard var volume = try await Volume.getForUpdate(transfer.volumeID, in: db),
                        volume.status == .awaitingTransfer
                    else { return }
                    volume.status = .available
                    volume.updatedAt = Date()
                    try await volume.save(in: db)
                }
                return Response(status: .accepted)
            }
            router.post(RouterPath(path + "/:id/accept")) { request, context -> Response in
                let auth = try transferCaller(context, collection, rule: "volume:accept_transfer")
                let body = try await request.volumeBody("accept", context: context)
                guard let key = body["auth_key"]?.stringValue else {
                    throw BlockStorageError.invalidInput("auth_key is required")
                }
                let id = context.parameters.get("id") ?? ""
                let transfer = try await accept(id, key: key, auth: auth)
                let view: JSON = [
                    "id": .string(transfer.id), "name": transfer.name.map(JSON.string) ?? .null,
                    "volume_id": .string(transfer.volumeID),
                    "links": transferLinks(transfer, request, context, collection),
                ]
                return .json(["transfer": view], status: .accepted)
            }
        }
    }

    private func transferCaller(_ context: StratusContext, _ collection: String, rule: String) throws -> AuthContext {
        if collection == "volume-transfers", !context.version(atLeast: 3, 55) {
            throw APIError.notFound("The resource could not be found.")
        }
        let auth = try caller(context)
        try enforce(rule, auth)
        return auth
    }

    /// Any project may see (and accept) a transfer by id: the auth key is the secret.
    private func visibleTransfer(_ context: StratusContext, _ auth: AuthContext) async throws -> Transfer {
        let id = context.parameters.get("id") ?? ""
        guard let transfer = try await db.read({ try await Transfer.get(id, in: $0) }), !transfer.accepted,
            transfer.sourceProjectID == auth.projectID || isAdmin(auth)
        else { throw APIError.notFound("Transfer \(id) could not be found.") }
        return transfer
    }

    private func offer(
        _ volumeID: String, name: String?, noSnapshots: Bool, auth: AuthContext
    ) async throws -> (Transfer, String) {
        try await db.transaction { db in
            guard var volume = try await Volume.getForUpdate(volumeID, in: db),
                volume.projectID == auth.projectID || self.isAdmin(auth)
            else { throw BlockStorageError.volumeNotFound(volumeID) }
            guard volume.status == .available else {
                throw BlockStorageError.invalidVolume("status must be available")
            }
            let (transfer, key) = Transfer.offer(volume: volume, name: name, noSnapshots: noSnapshots)
            try await transfer.insert(in: db)
            volume.status = .awaitingTransfer
            volume.updatedAt = Date()
            try await volume.save(in: db)
            return (transfer, key)
        }
    }

    /// Moves the volume (and its snapshots, unless left out) to the acceptor's project.
    private func accept(_ id: String, key: String, auth: AuthContext) async throws -> Transfer {
        guard let project = auth.projectID else { throw APIError.forbidden("A project-scoped token is required.") }
        return try await db.transaction { db in
            guard var transfer = try await Transfer.getForUpdate(id, in: db), !transfer.accepted else {
                throw APIError.notFound("Transfer \(id) could not be found.")
            }
            guard transfer.accepts(key) else {
                throw BlockStorageError.invalidInput(
                    "Invalid auth key: Attempt to transfer \(id) with invalid auth key.")
            }
            guard var volume = try await Volume.getForUpdate(transfer.volumeID, in: db),
                volume.status == .awaitingTransfer
            else { throw BlockStorageError.invalidVolume("status must be awaiting-transfer") }
            let snapshots = try await Snapshot.select(where: "volume_id = \(bind: volume.id)", in: db)
            let moving = transfer.noSnapshots ? 0 : snapshots.count
            try await Quotas.check(
                project: project,
                adding: .init(volumes: 1, gigabytes: volume.size + moving * volume.size, snapshots: moving), in: db)
            volume.projectID = project
            volume.userID = auth.userID
            volume.status = .available
            volume.updatedAt = Date()
            try await volume.save(in: db)
            if !transfer.noSnapshots {
                for var snapshot in snapshots {
                    snapshot.projectID = project
                    snapshot.userID = auth.userID
                    try await snapshot.save(in: db)
                }
            }
            transfer.accepted = true
            transfer.destinationProjectID = project
            try await transfer.save(in: db)
            return transfer
        }
    }

    private func transferLinks(
        _ transfer: Transfer, _ request: Request, _ context: StratusContext, _ collection: String
    ) -> JSON {
        LinkBase(request, context).links(collection, transfer.id)
    }

    private func transferView(
        _ transfer: Transfer, _ request: Request, _ context: StratusContext, _ collection: String, detail: Bool
    ) -> JSON {
        var view: [String: JSON] = [
            "id": .string(transfer.id), "name": transfer.name.map(JSON.string) ?? .null,
            "volume_id": .string(transfer.volumeID), "links": transferLinks(transfer, request, context, collection),
        ]
        guard detail else { return .object(view) }
        view["created_at"] = .string(Timestamp.iso8601(transfer.createdAt, fractional: true))
        if context.version(atLeast: 3, 55) { view["no_snapshots"] = .bool(transfer.noSnapshots) }
        if context.version(atLeast: 3, 57) {
            view["source_project_id"] = .string(transfer.sourceProjectID)
            view["destination_project_id"] = transfer.destinationProjectID.map(JSON.string) ?? .null
            view["accepted"] = .bool(transfer.accepted)
        }
        return .object(view)
    }
}
