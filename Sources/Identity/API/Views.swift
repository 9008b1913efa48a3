import StratusCore

/// Where each kind's API view differs from its stored record, as Keystone shows it.
enum Views {
    static let project: ViewChanges = { record, _ in
        var changes = projectTagsAndOptions(record)
        if record["parent_id"]?.isNull ?? true { changes.append(("parent_id", record["domain_id"] ?? .null)) }
        return changes
    }

    /// A domain is a project row without a place in the hierarchy.
    static let domain: ViewChanges = { record, _ in
        projectTagsAndOptions(record) + [("domain_id", nil), ("parent_id", nil), ("is_domain", nil)]
    }

    static let user: ViewChanges = { record, _ in
        var changes: [(name: String, value: JSON?)] = [("password_expires_at", record["password_expires_at"] ?? .null)]
        if record["default_project_id"]?.isNull ?? true { changes.append(("default_project_id", nil)) }
        return changes
    }

    /// Global roles are stored under a marker domain and shown with `domain_id: null`.
    static let role: ViewChanges = { record, _ in
        record["domain_id"]?.stringValue == Kinds.globalRole ? [("domain_id", .null)] : []
    }

    /// The v2-era `region` beside `region_id`, as Keystone still returns it.
    static let endpoint: ViewChanges = { record, _ in [("region", record["region_id"] ?? .null)] }

    static let applicationCredential: ViewChanges = { record, base in
        var changes = [userOwnedLinks(record, base: base, collection: "application_credentials")]
        // Keystone shows application credential expiry as a naive ISO timestamp (no zone suffix).
        if let expires = record["expires_at"]?.stringValue, expires.hasSuffix("Z") {
            changes.append(("expires_at", .string(String(expires.dropLast()))))
        }
        return changes
    }

    static let accessRule: ViewChanges = { record, base in
        [("user_id", nil), userOwnedLinks(record, base: base, collection: "access_rules")]
    }

    static let trust: ViewChanges = { record, base in
        let roles = (record["roles"]?.arrayValue ?? []).map { role -> JSON in
            var shown = role.objectValue ?? [:]
            shown["links"] = ["self": .string("\(base)/v3/roles/\(role["id"]?.stringValue ?? "")")]
            return .object(shown)
        }
        let rolesLink = "\(base)/v3/OS-TRUST/trusts/\(record["id"]?.stringValue ?? "")/roles"
        return [
            ("roles", .array(roles)),
            ("roles_links", ["self": .string(rolesLink), "previous": .null, "next": .null]),
            ("redelegation_count", 0),
        ]
    }

    private static func projectTagsAndOptions(_ record: Record) -> [(name: String, value: JSON?)] {
        [("tags", record["extra"]?["tags"] ?? []), ("options", record["extra"]?["options"] ?? [:])]
    }

    private static func userOwnedLinks(
        _ record: Record, base: String, collection: String
    ) -> (name: String, value: JSON?) {
        let user = record["user_id"]?.stringValue ?? ""
        let link = "\(base)/v3/users/\(user)/\(collection)/\(record["id"]?.stringValue ?? "")"
        return ("links", ["self": .string(link)])
    }
}
