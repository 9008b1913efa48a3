import Foundation
import StratusCore

/// What a request may do on an account, as Swift's keystoneauth decides it: the account's
/// operators and reseller admins may do everything; others get what the account's and
/// containers' ACLs grant.
struct AccessControl: Sendable {
    /// Roles that make a project's user an operator of its account.
    let operatorRoles: [String]
    /// The role that reaches every account and may set account quotas.
    let resellerRole: String

    enum Level: Int, Comparable, Sendable {
        case none, readOnly, readWrite, admin, owner

        static func < (lhs: Level, rhs: Level) -> Bool { lhs.rawValue < rhs.rawValue }
    }

    func isReseller(_ auth: AuthContext?) -> Bool { auth?.hasRole(resellerRole) == true }

    /// The caller's standing on the whole account (before container ACLs).
    func level(_ auth: AuthContext?, account: String, accountMetadata: [String: String]) -> Level {
        guard let auth else { return .none }
        if isReseller(auth) { return .owner }
        if let project = auth.projectID, account == "AUTH_" + project,
            operatorRoles.contains(where: auth.hasRole)
        {
            return .owner
        }
        guard let text = accountMetadata["x-account-access-control"],
            let acl = try? JSONDecoder().decode([String: [String]].self, from: Data(text.utf8))  // malformed: none
        else { return .none }
        for (key, level) in [("admin", Level.admin), ("read-write", .readWrite), ("read-only", .readOnly)]
        where acl[key]?.contains(where: { Self.matches(entry: $0, auth) }) == true {
            return level
        }
        return .none
    }

    /// Whether a container ACL (`X-Container-Read` or `-Write`) grants the request: a referrer
    /// rule (`.r:*`, `.r:host`, `.r:-host`) lets anyone in, a user rule (`project:user`, with `*`
    /// for either, ids or names, or a role name) lets that user in. Listing a container by referrer
    /// also needs `.rlistings`. Write ACLs have no referrer rules (`referrerRules: false`).
    static func grants(
        _ acl: String?, _ auth: AuthContext?, referrer: String?, listing: Bool = false, referrerRules: Bool = true
    ) -> Bool {
        guard let acl else { return false }
        let entries = acl.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        let host = referrer.flatMap { URL(string: $0)?.host }
        var byReferrer = false
        for entry in entries where referrerRules && entry.hasPrefix(".r:") {
            let rule = entry.dropFirst(3)
            if rule == "*" {
                byReferrer = true
            } else if rule.hasPrefix("-") {
                if let host, Self.hostMatches(host, String(rule.dropFirst())) { byReferrer = false }
            } else if let host, Self.hostMatches(host, String(rule)) {
                byReferrer = true
            }
        }
        if byReferrer && (!listing || entries.contains(".rlistings")) { return true }
        guard let auth else { return false }
        return entries.contains { !$0.hasPrefix(".") && matches(entry: $0, auth) }
    }

    static func hostMatches(_ host: String, _ rule: String) -> Bool {
        rule.hasPrefix(".") ? host.hasSuffix(rule) || host == rule.dropFirst() : host == rule
    }

    /// `project:user` (ids or names, `*` for any), a bare project id, or a role name.
    static func matches(entry: String, _ auth: AuthContext) -> Bool {
        let parts = entry.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        if parts.count == 2 {
            let project = parts[0]
            let user = parts[1]
            let projectMatches = project == "*" || project == auth.projectID || project == auth.projectName
            let userMatches = user == "*" || user == auth.userID || user == auth.userName
            return projectMatches && userMatches
        }
        return entry == auth.projectID || auth.hasRole(entry)
    }
}
