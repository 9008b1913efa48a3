import Crypto
import Foundation
import Hummingbird
import SQLKit
import StratusCore

/// Remote consoles: a console URL carries a random token (kept hashed, valid for
/// `consoleTokenTTL` seconds) that the console proxy page checks; admins can look tokens up.
extension ComputeAPI {
    static let consoleTokenTTL: Double = 600

    func registerConsoles(on v21: RouterGroup<StratusContext>, root: Router<StratusContext>) {
        v21.post("/servers/:id/remote-consoles") { request, context -> Response in
            guard context.version(atLeast: 2, 6) else { throw APIError.notFound("The resource could not be found.") }
            let auth = try self.caller(context)
            let body = try await request.computeBody("remote_console", context: context)
            let proto = body["protocol"]?.stringValue ?? ""
            let type = body["type"]?.stringValue ?? ""
            guard ["vnc", "spice", "rdp", "serial", "mks"].contains(proto) else {
                throw APIError.badRequest("Invalid input for field/attribute protocol. Value: \(body["protocol"]?.serialized() ?? "None"). is not one of ['vnc', 'spice', 'rdp', 'serial', 'mks']")
            }
            let url = try await self.consoleURL(request, context, auth, protocol: proto, type: type)
            return .json(["remote_console": ["protocol": .string(proto), "type": .string(type), "url": .string(url)]])
        }
        v21.get("/os-console-auth-tokens/:token") { _, context -> Response in
            try self.enforce("os_compute_api:os-console-auth-tokens", try self.caller(context))
            let token = context.parameters.get("token") ?? ""
            guard let console = try await self.consoleToken(token) else {
                throw APIError.notFound("The token '\(token.prefix(4))...' is invalid or has expired")
            }
            return .json(["console": [
                "instance_uuid": .string(console.instance), "host": .string(console.host), "port": .int(console.port), "internal_access_path": .null,
            ]])
        }
        // The console proxy's page: it answers only to a valid token (the guest's display
        // itself is streamed by the QEMU driver's proxy).
        root.get("/vnc_lite.html") { request, _ -> Response in
            let path = request.uri.queryParameters.get("path") ?? ""
            let token = request.uri.queryParameters.get("token")
                ?? path.components(separatedBy: "token=").dropFirst().first?.components(separatedBy: "&").first ?? ""
            guard let console = try await self.consoleToken(token) else {
                return Response(status: .unauthorized, headers: [.contentType: "text/plain"], body: .init(byteBuffer: ByteBuffer(string: "Invalid or expired console token.\n")))
            }
            let instance = console.instance
            let html = "<!DOCTYPE html><html><head><title>Console of \(instance)</title></head><body><p>Console of server \(instance)</p></body></html>\n"
            return Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: html)))
        }
    }

    /// The older per-protocol actions (`os-getVNCConsole` and the like).
    func legacyConsole(_ request: Request, _ context: StratusContext, _ auth: AuthContext, action: String, _ args: JSON) async throws -> Response {
        let proto = ["os-getVNCConsole": "vnc", "os-getSPICEConsole": "spice", "os-getRDPConsole": "rdp", "os-getSerialConsole": "serial"][action] ?? "vnc"
        guard let type = args["type"]?.stringValue else {
            throw APIError.badRequest("Invalid input for field/attribute \(action). 'type' is a required property")
        }
        let url = try await consoleURL(request, context, auth, protocol: proto, type: type)
        return .json(["console": ["type": .string(type), "url": .string(url)]])
    }

    private func consoleURL(_ request: Request, _ context: StratusContext, _ auth: AuthContext, protocol proto: String, type: String) async throws -> String {
        let instance = try await server(context, auth, rule: "os_compute_api:os-remote-consoles")
        let supported: [String: Set<String>] = ["vnc": ["novnc", "xvpvnc"]]
        guard let types = supported[proto], types.contains(type) else {
            if supported[proto] == nil { throw APIError.badRequest("Unavailable console type \(type).") }
            throw APIError.badRequest("Invalid input for field/attribute type. Value: \(type). is not one of ['novnc', 'xvpvnc']")
        }
        guard let host = instance.host, [.active, .paused, .rescued, .resized, .stopped, .suspended].contains(instance.vmState) else {
            throw APIError.conflict("Instance \(instance.uuid) is not ready to get a console: it is in vm_state \(instance.vmState)")
        }
        let token = (0..<32).map { _ in UInt8.random(in: 0...255) }.hexEncoded()
        let hash = SHA256.hash(data: Data(token.utf8)).hexEncoded()
        let now = Date().timeIntervalSince1970
        try await db.transaction { db in
            try await db.delete(from: "console_auth_tokens").where("expires", .lessThan, SQLBind(now)).run()
            try await db.insert(into: "console_auth_tokens").columns("token_hash", "instance_uuid", "console_type", "host", "port", "expires")
                .values(SQLBind(hash), SQLBind(instance.uuid), SQLBind(type), SQLBind(host), SQLBind(5900), SQLBind(now + Self.consoleTokenTTL)).run()
        }
        return "\(request.baseURL)/vnc_lite.html?path=%3Ftoken%3D\(token)"
    }

    private func consoleToken(_ token: String) async throws -> (instance: String, host: String, port: Int)? {
        guard !token.isEmpty else { return nil }
        let hash = SHA256.hash(data: Data(token.utf8)).hexEncoded()
        return try await db.read { db in
            let row = try await db.select().columns("instance_uuid", "host", "port").from("console_auth_tokens").where("token_hash", .equal, SQLBind(hash))
                .where("expires", .greaterThan, SQLBind(Date().timeIntervalSince1970)).first()
            guard let row else { return nil }
            return (try row.decode(column: "instance_uuid", as: String.self), try row.decode(column: "host", as: String.self),
                    try row.decode(column: "port", as: Int.self))
        }
    }
}
