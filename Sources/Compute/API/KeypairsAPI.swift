import Foundation
import Hummingbird
import SQLKit
import StratusCore

extension ComputeAPI {
    /// `/os-keypairs`: per-user key pairs, imported or generated (private key returned once).
    func registerKeypairs(on router: RouterGroup<StratusContext>) {
        router.get("/os-keypairs") { request, context -> Response in
            let auth = try self.caller(context)
            let user = try self.keypairUser(request, context, auth, rule: "os_compute_api:os-keypairs:index")
            let limit = context.version(atLeast: 2, 35) ? try request.intQuery("limit") : nil
            let marker = context.version(atLeast: 2, 35) ? request.query("marker") : nil
            let rows = try await self.db.read { db in
                var query = db.select().columns("*").from("key_pairs").where("user_id", .equal, SQLBind(user)).orderBy("name")
                if let marker {
                    guard try await db.select().column("name").from("key_pairs").where("user_id", .equal, SQLBind(user))
                        .where("name", .equal, SQLBind(marker)).first() != nil
                    else { throw APIError.badRequest("Marker \(marker) could not be found.") }
                    query = query.where("name", .greaterThan, SQLBind(marker))
                }
                if let limit { query = query.limit(limit) }
                return try await query.all()
            }
            let items: [JSON] = try rows.map { ["keypair": .object(try Self.keypairView($0, context, detail: false))] }
            var body: [String: JSON] = ["keypairs": .array(items)]
            if let limit, rows.count == limit, let last = rows.last {
                body["keypairs_links"] = [["rel": "next", "href": .string(Self.nextLink(request, marker: try last.decode(column: "name", as: String.self), limit: limit))]]
            }
            return .json(.object(body))
        }
        router.get("/os-keypairs/:name") { request, context -> Response in
            let auth = try self.caller(context)
            let user = try self.keypairUser(request, context, auth, rule: "os_compute_api:os-keypairs:show")
            let row = try await self.keypair(context.parameters.get("name") ?? "", user: user)
            return .json(["keypair": .object(try Self.keypairView(row, context, detail: true))])
        }
        router.delete("/os-keypairs/:name") { request, context -> Response in
            let auth = try self.caller(context)
            let user = try self.keypairUser(request, context, auth, rule: "os_compute_api:os-keypairs:delete")
            let name = context.parameters.get("name") ?? ""
            _ = try await self.keypair(name, user: user)
            try await self.db.read { db in
                try await db.delete(from: "key_pairs").where("user_id", .equal, SQLBind(user)).where("name", .equal, SQLBind(name)).run()
            }
            return Response(status: context.version(atLeast: 2, 2) ? .noContent : .accepted)
        }
        router.post("/os-keypairs") { request, context -> Response in
            let auth = try self.caller(context)
            let body = try await request.computeBody("keypair", context: context)
            return try await self.createKeypair(body, request: request, context: context, auth: auth)
        }
    }

    private func createKeypair(_ body: [String: JSON], request: Request, context: StratusContext, auth: AuthContext) async throws -> Response {
        guard let name = body["name"]?.stringValue else {
            throw APIError.badRequest("Invalid input for field/attribute keypair. 'name' is a required property")
        }
        let allowed = context.version(atLeast: 2, 92) ? " ._-@" : " ._-"
        guard !name.isEmpty, name.count <= 255, name.trimmingCharacters(in: .whitespaces) == name,
            name.unicodeScalars.allSatisfy({ CharacterSet.alphanumerics.contains($0) || allowed.unicodeScalars.contains($0) })
        else {
            throw APIError.badRequest("Invalid input for field/attribute name. Value: \(name). Keypair name contains unsafe characters")
        }
        var type = "ssh"
        if let given = body["type"] {
            guard context.version(atLeast: 2, 2) else { throw APIError.badRequest("Additional properties are not allowed ('type' was unexpected)") }
            guard let text = given.stringValue, ["ssh", "x509"].contains(text) else {
                throw APIError.badRequest("Invalid input for field/attribute type. Value: \(given.serialized()). is not one of ['ssh', 'x509']")
            }
            type = text
        }
        var user = auth.userID
        if let given = body["user_id"] {
            guard context.version(atLeast: 2, 10), let text = given.stringValue else {
                throw APIError.badRequest("Additional properties are not allowed ('user_id' was unexpected)")
            }
            user = text
        }
        try enforce("os_compute_api:os-keypairs:create", auth, userID: user)
        var privateKey: String?
        let publicKey: String
        let fingerprint: String
        if let given = body["public_key"] {
            guard let text = given.stringValue?.trimmingCharacters(in: .whitespacesAndNewlines),
                let print = KeyGeneration.fingerprint(publicKey: text, type: type)
            else { throw APIError.badRequest("Keypair data is invalid: failed to generate fingerprint") }
            publicKey = text
            fingerprint = print
        } else {
            guard !context.version(atLeast: 2, 92) else {
                throw APIError.badRequest("Invalid input for field/attribute keypair. 'public_key' is a required property")
            }
            let generated = type == "x509" ? try KeyGeneration.x509(commonName: user) : try KeyGeneration.ssh()
            privateKey = generated.privateKey
            publicKey = generated.publicKey
            fingerprint = generated.fingerprint
        }
        let limit = try await quotaLimit("key_pairs", project: auth.projectID ?? "")
        let frozenKey = publicKey
        let (owner, keyType) = (user, type)
        let row = try await db.transaction { db in
            let count = try await db.select().column(SQLFunction("COUNT", args: SQLLiteral.all), as: "n").from("key_pairs")
                .where("user_id", .equal, SQLBind(owner)).first()?.decode(column: "n", as: Int.self) ?? 0
            if limit >= 0, count >= limit { throw APIError.forbidden("Quota exceeded, too many key pairs.") }
            if try await db.select().column("name").from("key_pairs").where("user_id", .equal, SQLBind(owner)).where("name", .equal, SQLBind(name)).first() != nil {
                throw APIError.conflict("Key pair '\(name)' already exists.")
            }
            try await db.insert(into: "key_pairs").columns("user_id", "name", "id", "type", "fingerprint", "public_key", "created_at")
                .values(SQLBind(owner), SQLBind(name), SQLBind(Int.random(in: 1...Int(Int32.max))), SQLBind(keyType), SQLBind(fingerprint),
                        SQLBind(frozenKey), SQLBind(Date().timeIntervalSince1970)).run()
            return try await db.select().columns("*").from("key_pairs").where("user_id", .equal, SQLBind(owner)).where("name", .equal, SQLBind(name)).first()
        }
        guard let row else { throw APIError(.internalServerError, "The key pair was not stored.") }
        var view = try Self.keypairView(row, context, detail: false)
        view["user_id"] = .string(user)
        if let privateKey { view["private_key"] = .string(privateKey) }
        return .json(["keypair": .object(view)], status: context.version(atLeast: 2, 2) ? .created : .ok)
    }

    /// The user whose key pairs a request is about: the caller, or `?user_id=` for admins (2.10).
    private func keypairUser(_ request: Request, _ context: StratusContext, _ auth: AuthContext, rule: String) throws -> String {
        let user = context.version(atLeast: 2, 10) ? request.query("user_id") ?? auth.userID : auth.userID
        try enforce(rule, auth, userID: user)
        return user
    }

    private func keypair(_ name: String, user: String) async throws -> any SQLRow {
        let row = try await db.read { db in
            try await db.select().columns("*").from("key_pairs").where("user_id", .equal, SQLBind(user)).where("name", .equal, SQLBind(name)).first()
        }
        guard let row else { throw APIError.notFound("Keypair \(name) not found for user \(user)") }
        return row
    }

    static func keypairView(_ row: any SQLRow, _ context: StratusContext, detail: Bool) throws -> [String: JSON] {
        var view: [String: JSON] = [
            "name": .string(try row.decode(column: "name", as: String.self)),
            "public_key": .string(try row.decode(column: "public_key", as: String.self)),
            "fingerprint": .string(try row.decode(column: "fingerprint", as: String.self)),
        ]
        if context.version(atLeast: 2, 2) { view["type"] = .string(try row.decode(column: "type", as: String.self)) }
        if detail {
            view["user_id"] = .string(try row.decode(column: "user_id", as: String.self))
            view["id"] = .int(try row.decode(column: "id", as: Int.self))
            view["created_at"] = .string(Timestamp.nova(Date(timeIntervalSince1970: try row.decode(column: "created_at", as: Double.self))))
            view["deleted"] = false
            view["deleted_at"] = .null
            view["updated_at"] = .null
        }
        return view
    }
}

extension Timestamp {
    /// Nova's database timestamps: microseconds, no zone (`2026-11-22T06:00:00.000000`).
    static func nova(_ date: Date) -> String {
        String(iso8601(date, fractional: true).dropLast())
    }
}
