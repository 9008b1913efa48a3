import Crypto
import Foundation
import Hummingbird
import SQLKit
import StratusCore

/// OS-EC2 credentials: access/secret pairs kept as `ec2` credentials whose id is the
/// SHA-256 of the access key, as Keystone stores them.
extension IdentityAPI {
    private static func credentialID(access: String) -> String {
        SHA256.hash(data: Data(access.utf8)).hexEncoded()
    }

    private func renderEC2(_ record: Record, base: String) -> JSON {
        let blob = record["blob"]?.stringValue.flatMap { try? JSON.parse($0) } ?? [:]
        let user = record["user_id"]?.stringValue ?? ""
        return [
            "access": blob["access"] ?? .null, "secret": blob["secret"] ?? .null, "user_id": .string(user),
            "tenant_id": record["project_id"] ?? .null, "trust_id": blob["trust_id"] ?? .null,
            "links": ["self": .string("\(base)/v3/users/\(user)/credentials/OS-EC2/\(blob["access"]?.stringValue ?? "")")],
        ]
    }

    func registerEC2Credentials(on router: Router<StratusContext>) {
        let owner: @Sendable (StratusContext) throws -> String = { context in
            let auth = try context.requireAuth()
            let userID = try context.param("id")
            try policy.enforce("identity:ec2_credential", auth: auth, target: ["target.user.id": userID])
            return userID
        }
        router.post("/v3/users/:id/credentials/OS-EC2") { request, context in
            let userID = try owner(context)
            let body = try await request.jsonObject(context: context)
            guard let projectID = body["tenant_id"]?.stringValue else {
                throw APIError.badRequest("Invalid input for field 'tenant_id': 'tenant_id' is a required property.")
            }
            let access = newID()
            let blob: JSON = ["access": .string(access), "secret": .string(newID()), "trust_id": .null]
            let record = try await store.write { db -> Record in
                _ = try await Kinds.user.require(id: userID, from: db)
                _ = try await Kinds.project.require(id: projectID, from: db)
                let record: Record = ["id": .string(Self.credentialID(access: access)), "user_id": .string(userID),
                    "project_id": .string(projectID), "type": "ec2", "blob": .string(blob.serialized())]
                try await Kinds.credential.insert(record, into: db)
                return record
            }
            return Response.json(["credential": renderEC2(record, base: baseURL(request))], status: .created)
        }
        router.get("/v3/users/:id/credentials/OS-EC2") { request, context in
            let userID = try owner(context)
            let records = try await store.read { db in
                try await Kinds.credential.list(from: db, filters: [("user_id", .string(userID)), ("type", "ec2")])
            }
            let base = baseURL(request)
            return Response.json(["credentials": .array(records.map { renderEC2($0, base: base) }),
                "links": ["self": .string("\(base)\(request.uri.path)"), "previous": .null, "next": .null]])
        }
        let find: @Sendable (StratusContext) async throws -> Record = { context in
            let userID = try owner(context)
            let access = try context.param("access")
            let record = try await store.read { db in try await Kinds.credential.fetch(id: Self.credentialID(access: access), from: db) }
            guard let record, record["user_id"]?.stringValue == userID, record["type"]?.stringValue == "ec2" else {
                throw APIError.notFound("Could not find credential: \(access).")
            }
            return record
        }
        router.get("/v3/users/:id/credentials/OS-EC2/:access") { request, context in
            Response.json(["credential": renderEC2(try await find(context), base: baseURL(request))])
        }
        router.delete("/v3/users/:id/credentials/OS-EC2/:access") { _, context in
            let record = try await find(context)
            try await store.write { db in try await Kinds.credential.delete(id: record["id"]?.stringValue ?? "", from: db) }
            return Response.noContent()
        }
    }
}
