import Foundation
import Hummingbird
import StratusCore

/// Nova's security group proxy (up to 2.35): Neutron's security groups and ingress rules in
/// Nova's shape, with the caller's token, and Nova's validation in front.
extension ComputeAPI {
    func registerSecurityGroupsProxy(on router: RouterGroup<StratusContext>) {
        router.get("/os-security-groups") { request, context -> Response in
            let auth = try self.proxyCaller(context)
            var path = "/v2.0/security-groups"
            if let all = request.query("all_tenants"), self.isAdmin(auth), all != "0", all.lowercased() != "false" {
                path += "?"
            } else {
                path += "?project_id=\(auth.projectID ?? "")"
            }
            let reply = try await self.clients.networkProxy.get(path, token: auth.token)
            guard reply.ok else { throw Self.networkError(reply) }
            var groups = reply.body["security_groups"]?.arrayValue ?? []
            groups = Array(groups.dropFirst(try request.intQuery("offset") ?? 0))
            if let limit = try request.intQuery("limit") { groups = Array(groups.prefix(limit)) }
            let names = Self.groupNames(groups)
            return .json(["security_groups": .array(groups.map { Self.securityGroupView($0, names: names) })])
        }
        router.post("/os-security-groups") { request, context -> Response in
            let auth = try self.proxyCaller(context)
            let body = try await request.computeBody("security_group", context: context)
            let (name, description) = try Self.groupFields(body, required: true)
            let reply = try await self.clients.networkProxy.send(
                .POST, "/v2.0/security-groups",
                body: [
                    "security_group": ["name": JSON(name), "description": JSON(description)]
                ], token: auth.token)
            guard reply.ok, let group = reply.body["security_group"] else { throw Self.networkError(reply) }
            return .json(["security_group": Self.securityGroupView(group, names: Self.groupNames([group]))])
        }
        router.get("/os-security-groups/:id") { _, context -> Response in
            let auth = try self.proxyCaller(context)
            let group = try await self.proxiedGroup(context, auth)
            return .json(["security_group": Self.securityGroupView(group, names: try await self.namesOf(group, auth))])
        }
        router.put("/os-security-groups/:id") { request, context -> Response in
            let auth = try self.proxyCaller(context)
            let id = try Self.groupID(context)
            let body = try await request.computeBody("security_group", context: context)
            let (name, description) = try Self.groupFields(body, required: false)
            var changes: [String: JSON] = [:]
            if let name { changes["name"] = .string(name) }
            if let description { changes["description"] = .string(description) }
            let reply = try await self.clients.networkProxy.send(
                .PUT, "/v2.0/security-groups/\(id.pathSegment)", body: ["security_group": .object(changes)],
                token: auth.token)
            guard reply.ok, let group = reply.body["security_group"] else { throw Self.networkError(reply) }
            return .json(["security_group": Self.securityGroupView(group, names: try await self.namesOf(group, auth))])
        }
        router.delete("/os-security-groups/:id") { _, context -> Response in
            let auth = try self.proxyCaller(context)
            let group = try await self.proxiedGroup(context, auth)
            if group["name"]?.stringValue == "default" {
                throw APIError.badRequest("Removing default security group not allowed.")
            }
            let reply = try await self.clients.networkProxy.send(
                .DELETE, "/v2.0/security-groups/\(group["id"]?.stringValue ?? "")", token: auth.token)
            guard reply.ok else {
                if reply.status == 409 {
                    throw APIError.badRequest("Security group is still in use: \(reply.faultMessage)")
                }
                throw Self.networkError(reply)
            }
            return Response(status: .accepted)
        }
        router.post("/os-security-group-rules") { request, context -> Response in
            let auth = try self.proxyCaller(context)
            let body = try await request.computeBody("security_group_rule", context: context)
            let rule = try Self.neutronRule(body)
            let parent = rule["security_group_id"]?.stringValue ?? ""
            let exists = try await self.clients.networkProxy.get(
                "/v2.0/security-groups/\(parent.pathSegment)", token: auth.token)
            guard exists.ok else { throw APIError.notFound("Security group \(parent) not found.") }
            let reply = try await self.clients.networkProxy.send(
                .POST, "/v2.0/security-group-rules", body: ["security_group_rule": rule], token: auth.token)
            guard reply.ok, let created = reply.body["security_group_rule"] else {
                if reply.status == 409 { throw APIError.badRequest("This rule already exists in group \(parent)") }
                throw Self.networkError(reply)
            }
            return .json([
                "security_group_rule": Self.ruleView(
                    created, names: try await self.namesOf(["rules": [created]], auth))
            ])
        }
        router.delete("/os-security-group-rules/:id") { _, context -> Response in
            let auth = try self.proxyCaller(context)
            let id = context.parameters.get("id") ?? ""
            guard UUID(uuidString: id) != nil else {
                throw APIError.badRequest("Security group rule id should be uuid")
            }
            let reply = try await self.clients.networkProxy.send(
                .DELETE, "/v2.0/security-group-rules/\(id.pathSegment)", token: auth.token)
            guard reply.ok else {
                if reply.status == 404 { throw APIError.notFound("Rule (\(id)) not found") }
                throw Self.networkError(reply)
            }
            return Response(status: .accepted)
        }
        router.get("/servers/:id/os-security-groups") { _, context -> Response in
            let auth = try self.proxyCaller(context)
            let instance = try await self.server(context, auth, rule: "os_compute_api:os-security-groups:list")
            var ids: [String] = []
            for port in instance.portIDs {
                let reply = try await self.clients.networkProxy.get("/v2.0/ports/\(port.pathSegment)")
                for group in reply.body["port"]?["security_groups"]?.arrayValue?.compactMap(\.stringValue) ?? []
                where !ids.contains(group) { ids.append(group) }
            }
            var groups: [JSON] = []
            for id in ids {
                let reply = try await self.clients.networkProxy.get("/v2.0/security-groups/\(id.pathSegment)")
                if let group = reply.body["security_group"] { groups.append(group) }
            }
            let names = Self.groupNames(groups)
            return .json(["security_groups": .array(groups.map { Self.securityGroupView($0, names: names) })])
        }
    }

    /// The proxies are gone from 2.36 on.
    func proxyCaller(_ context: StratusContext) throws -> AuthContext {
        let auth = try caller(context)
        guard !context.version(atLeast: 2, 36) else { throw APIError.notFound("The resource could not be found.") }
        return auth
    }

    private static func groupID(_ context: StratusContext) throws -> String {
        let id = context.parameters.get("id") ?? ""
        guard UUID(uuidString: id) != nil else {
            throw APIError.badRequest("Invalid input received: Security group id should be uuid")
        }
        return id
    }

    private func proxiedGroup(_ context: StratusContext, _ auth: AuthContext) async throws -> JSON {
        let id = try Self.groupID(context)
        let reply = try await clients.networkProxy.get("/v2.0/security-groups/\(id.pathSegment)", token: auth.token)
        guard reply.ok, let group = reply.body["security_group"] else {
            if reply.status == 404 { throw APIError.notFound("Security group \(id) not found.") }
            throw Self.networkError(reply)
        }
        return group
    }

    /// Nova's checks: a name (not blank) and a description, each at most 255 characters.
    private static func groupFields(_ body: [String: JSON], required: Bool) throws -> (String?, String?) {
        func field(_ key: String, mayBeEmpty: Bool) throws -> String? {
            guard let value = body[key] else {
                if required { throw APIError.badRequest("Security group \(key) is required") }
                return nil
            }
            guard let text = value.stringValue else {
                throw APIError.badRequest("Security group \(key) is not a string or unicode")
            }
            if !mayBeEmpty, text.trimmingCharacters(in: .whitespaces).isEmpty {
                throw APIError.badRequest("Security group \(key) should not be empty.")
            }
            if text.count > 255 {
                throw APIError.badRequest("Security group \(key) should not be greater than 255 characters.")
            }
            return text
        }
        return (try field("name", mayBeEmpty: false), try field("description", mayBeEmpty: true))
    }

    /// A Nova rule body as Neutron's ingress rule.
    private static func neutronRule(_ body: [String: JSON]) throws -> JSON {
        guard let parent = body["parent_group_id"]?.stringValue ?? body["parent_group_id"]?.intValue.map(String.init),
            UUID(uuidString: parent) != nil
        else {
            throw APIError.badRequest("Invalid input received: Security group id should be uuid")
        }
        var rule: [String: JSON] = ["security_group_id": .string(parent), "direction": "ingress"]
        let proto = body["ip_protocol"]?.stringValue?.lowercased()
        if let proto {
            guard ["tcp", "udp", "icmp"].contains(proto) else {
                throw APIError.badRequest("Invalid IP protocol \(proto).")
            }
            rule["protocol"] = .string(proto)
        }
        func port(_ key: String) throws -> Int? {
            guard let raw = body[key], !raw.isNull else { return nil }
            guard let value = raw.intValue ?? raw.stringValue.flatMap({ Int($0) }) else {
                throw APIError.badRequest("Invalid port range: \(key) must be an integer.")
            }
            return value
        }
        let from = try port("from_port")
        let to = try port("to_port")
        if let proto, proto != "icmp" {
            guard let from, let to, (1...65535).contains(from), (1...65535).contains(to), from <= to else {
                throw APIError.badRequest(
                    "Invalid port range \(from.map(String.init) ?? "None"):\(to.map(String.init) ?? "None"). Valid TCP ports should be between 1-65535"
                )
            }
            rule["port_range_min"] = .int(from)
            rule["port_range_max"] = .int(to)
        } else if proto == "icmp" {
            if let from, !(-1...255).contains(from) {
                throw APIError.badRequest(
                    "Invalid port range \(from):\(to ?? -1). For ICMP, the type must be between -1 and 255")
            }
            if let to, !(-1...255).contains(to) {
                throw APIError.badRequest(
                    "Invalid port range \(from ?? -1):\(to). For ICMP, the code must be between -1 and 255")
            }
            if let from, from >= 0 { rule["port_range_min"] = .int(from) }
            if let to, to >= 0 { rule["port_range_max"] = .int(to) }
        }
        if let group = body["group_id"]?.stringValue {
            guard UUID(uuidString: group) != nil else {
                throw APIError.badRequest("Invalid input received: Security group id should be uuid")
            }
            rule["remote_group_id"] = .string(group)
        } else {
            let cidr = body["cidr"]?.stringValue ?? "0.0.0.0/0"
            guard let address = cidr.split(separator: "/").first.map(String.init), IPText.isAddress(address) else {
                throw APIError.badRequest("Invalid cidr \(cidr).")
            }
            rule["remote_ip_prefix"] = .string(cidr)
            rule["ethertype"] = .string(address.contains(":") ? "IPv6" : "IPv4")
        }
        return .object(rule)
    }

    private static func groupNames(_ groups: [JSON]) -> [String: JSON] {
        var names: [String: JSON] = [:]
        for group in groups {
            if let id = group["id"]?.stringValue {
                names[id] = [
                    "name": group["name"] ?? .null, "tenant_id": group["project_id"] ?? group["tenant_id"] ?? .null,
                ]
            }
        }
        return names
    }

    /// Names of the groups that `group`'s rules point at.
    private func namesOf(_ group: JSON, _ auth: AuthContext) async throws -> [String: JSON] {
        var names = Self.groupNames([group])
        for rule in group["rules"]?.arrayValue ?? group["security_group_rules"]?.arrayValue ?? [] {
            guard let remote = rule["remote_group_id"]?.stringValue, names[remote] == nil else { continue }
            let reply = try await clients.networkProxy.get(
                "/v2.0/security-groups/\(remote.pathSegment)", token: auth.token)
            if let found = reply.body["security_group"] { names.merge(Self.groupNames([found])) { $1 } }
        }
        return names
    }

    private static func securityGroupView(_ group: JSON, names: [String: JSON]) -> JSON {
        let rules = (group["security_group_rules"]?.arrayValue ?? []).filter {
            $0["direction"]?.stringValue == "ingress"
        }
        return [
            "id": group["id"] ?? .null, "name": group["name"] ?? .null, "description": group["description"] ?? "",
            "tenant_id": group["project_id"] ?? group["tenant_id"] ?? .null,
            "rules": .array(rules.map { ruleView($0, names: names) }),
        ]
    }

    private static func ruleView(_ rule: JSON, names: [String: JSON]) -> JSON {
        let proto = rule["protocol"]?.stringValue
        var from = rule["port_range_min"]?.intValue
        var to = rule["port_range_max"]?.intValue
        if proto == "icmp" {
            from = from ?? -1
            to = to ?? -1
        } else if proto != nil {
            from = from ?? 1
            to = to ?? 65535
        }
        var view: [String: JSON] = [
            "id": rule["id"] ?? .null, "parent_group_id": rule["security_group_id"] ?? .null,
            "ip_protocol": JSON(proto),
            "from_port": JSON(from), "to_port": JSON(to), "ip_range": [:], "group": [:],
        ]
        if let remote = rule["remote_group_id"]?.stringValue {
            view["group"] = names[remote] ?? ["name": .null, "tenant_id": .null]
        } else {
            view["ip_range"] = [
                "cidr": rule["remote_ip_prefix"]?.nonNull
                    ?? .string(rule["ethertype"]?.stringValue == "IPv6" ? "::/0" : "0.0.0.0/0")
            ]
        }
        return .object(view)
    }

    static func networkError(_ reply: ServiceReply) -> APIError {
        switch reply.status {
        case 404: return .notFound(reply.faultMessage)
        case 403: return .forbidden(reply.faultMessage)
        case 409: return .conflict(reply.faultMessage)
        case 400, 413: return .badRequest(reply.faultMessage)
        default: return APIError(.serviceUnavailable, "The network service answered \(reply.status).")
        }
    }
}
