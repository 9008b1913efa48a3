import StratusCore

/// The resource kinds of the identity API, as stored.
enum Kinds {
    static let rootDomain = "<<keystone.domain.root>>"
    static let globalRole = "<<null>>"

    static let project = ResourceKind(
        table: "projects", singular: "project", plural: "projects",
        columns: [
            Column("id", mutable: false, maxLength: 64),
            Column("name", required: true, maxLength: 64),
            Column("domain_id", mutable: false, maxLength: 64),
            Column("parent_id", mutable: false, maxLength: 64),
            Column("is_domain", .bool, mutable: false, default: false),
            Column("enabled", .bool, nullable: false, default: true),
            Column("description", default: ""),
        ],
        storesExtra: true, filters: ["name", "domain_id", "parent_id", "is_domain", "enabled"],
        viewChanges: Views.project)

    static let domain = ResourceKind(
        table: "projects", singular: "domain", plural: "domains",
        columns: project.columns, storesExtra: true, filters: ["name", "enabled"], viewChanges: Views.domain)

    static let user = ResourceKind(
        table: "users", singular: "user", plural: "users",
        columns: [
            Column("id", mutable: false, maxLength: 64),
            Column("name", required: true, maxLength: 255),
            Column("domain_id", maxLength: 64),
            Column("enabled", .bool, nullable: false, default: true),
            Column("default_project_id", maxLength: 64),
            Column("password_hash", field: nil),
            Column("password_created_at", .timestamp, field: nil),
            Column("password_expires_at", .timestamp, field: nil),
            Column("options", .json, nullable: false, default: [:]),
            Column("created_at", .timestamp, field: nil),
        ],
        storesExtra: true, filters: ["name", "domain_id", "enabled"], viewChanges: Views.user)

    static let group = ResourceKind(
        table: "groups", singular: "group", plural: "groups",
        columns: [
            Column("id", mutable: false, maxLength: 64),
            Column("name", required: true, maxLength: 64),
            Column("domain_id", maxLength: 64),
            Column("description", default: ""),
        ],
        storesExtra: true, filters: ["name", "domain_id"])

    static let role = ResourceKind(
        table: "roles", singular: "role", plural: "roles",
        columns: [
            Column("id", mutable: false, maxLength: 64),
            Column("name", required: true, maxLength: 255),
            Column("domain_id", mutable: false, maxLength: 64),
            Column("description"),
            Column("options", .json, nullable: false, default: [:]),
        ],
        storesExtra: true, filters: ["name", "domain_id"], viewChanges: Views.role)

    static let region = ResourceKind(
        table: "regions", singular: "region", plural: "regions",
        columns: [
            Column("id", mutable: false, maxLength: 255),
            Column("description", nullable: false, default: ""),
            Column("parent_region_id", maxLength: 255),
        ],
        storesExtra: true, filters: ["parent_region_id"])

    static let service = ResourceKind(
        table: "services", singular: "service", plural: "services",
        columns: [
            Column("id", mutable: false, maxLength: 64),
            Column("type", required: true, maxLength: 255),
            Column("enabled", .bool, nullable: false, default: true),
        ],
        storesExtra: true, filters: ["type"])

    static let endpoint = ResourceKind(
        table: "endpoints", singular: "endpoint", plural: "endpoints",
        columns: [
            Column("id", mutable: false, maxLength: 64),
            Column("service_id", required: true, maxLength: 64),
            Column("interface", required: true, maxLength: 8),
            Column("region_id", maxLength: 255),
            Column("url", required: true, maxLength: 225),
            Column("enabled", .bool, nullable: false, default: true),
        ],
        storesExtra: true, filters: ["service_id", "interface", "region_id"], viewChanges: Views.endpoint)

    static let credential = ResourceKind(
        table: "credentials", singular: "credential", plural: "credentials",
        columns: [
            Column("id", mutable: false, maxLength: 64),
            Column("user_id", required: true, maxLength: 64),
            Column("project_id", maxLength: 64),
            Column("type", required: true, maxLength: 255),
            Column("blob", required: true),
        ],
        storesExtra: true, filters: ["user_id", "type"])

    static let policy = ResourceKind(
        table: "policies", singular: "policy", plural: "policies",
        columns: [
            Column("id", mutable: false, maxLength: 64),
            Column("type", required: true, maxLength: 255),
            Column("blob", required: true),
        ],
        storesExtra: true, filters: ["type"])

    static let registeredLimit = ResourceKind(
        table: "registered_limits", singular: "registered_limit", plural: "registered_limits",
        columns: [
            Column("id", mutable: false, maxLength: 64),
            Column("service_id", required: true, maxLength: 255),
            Column("region_id", maxLength: 255),
            Column("resource_name", required: true, maxLength: 255),
            Column("default_limit", .int, required: true),
            Column("description"),
        ],
        storesExtra: false, filters: ["service_id", "region_id", "resource_name"])

    static let limit = ResourceKind(
        table: "limits", singular: "limit", plural: "limits",
        columns: [
            Column("id", mutable: false, maxLength: 64),
            Column("project_id", mutable: false, maxLength: 64),
            Column("domain_id", mutable: false, maxLength: 64),
            Column("service_id", required: true, mutable: false, maxLength: 255),
            Column("region_id", mutable: false, maxLength: 255),
            Column("resource_name", required: true, mutable: false, maxLength: 255),
            Column("resource_limit", .int, required: true),
            Column("description"),
        ],
        storesExtra: false, filters: ["service_id", "region_id", "resource_name", "project_id", "domain_id"])

    static let applicationCredential = ResourceKind(
        table: "application_credentials", singular: "application_credential", plural: "application_credentials",
        columns: [
            Column("id", mutable: false, maxLength: 64),
            Column("name", required: true, maxLength: 255),
            Column("user_id", mutable: false),
            Column("project_id", mutable: false),
            Column("secret_hash", field: nil),
            Column("description"),
            Column("expires_at", .timestamp),
            Column("unrestricted", .bool, nullable: false, default: false),
            Column("roles", .json, nullable: false, default: []),
            Column("access_rules", .json, nullable: false, default: []),
        ],
        storesExtra: false, filters: ["name", "user_id"], viewChanges: Views.applicationCredential)

    static let accessRule = ResourceKind(
        table: "access_rules", singular: "access_rule", plural: "access_rules",
        columns: [
            Column("id", mutable: false),
            Column("user_id", mutable: false),
            Column("service", required: true),
            Column("path", required: true),
            Column("method", required: true),
        ],
        storesExtra: false, filters: ["service", "path", "method"], viewChanges: Views.accessRule)

    static let trust = ResourceKind(
        table: "trusts", singular: "trust", plural: "trusts",
        columns: [
            Column("id", mutable: false),
            Column("trustor_user_id", required: true, mutable: false),
            Column("trustee_user_id", required: true, mutable: false),
            Column("project_id", mutable: false),
            Column("impersonation", .bool, required: true, mutable: false),
            Column("expires_at", .timestamp, mutable: false),
            Column("remaining_uses", .int, mutable: false),
            Column("roles", .json, nullable: false, mutable: false, default: []),
        ],
        storesExtra: true, filters: ["trustor_user_id", "trustee_user_id"], collectionPath: "/v3/OS-TRUST/trusts",
        viewChanges: Views.trust)

    static let consumer = ResourceKind(
        table: "oauth_consumers", singular: "consumer", plural: "consumers",
        columns: [
            Column("id", mutable: false),
            Column("description"),
            Column("secret_hash", field: nil),
        ],
        storesExtra: true, filters: [], collectionPath: "/v3/OS-OAUTH1/consumers")

    static let endpointGroup = ResourceKind(
        table: "endpoint_groups", singular: "endpoint_group", plural: "endpoint_groups",
        columns: [
            Column("id", mutable: false),
            Column("name", required: true, maxLength: 255),
            Column("description"),
            Column("filters", .json, required: true),
        ],
        storesExtra: true, filters: ["name"], collectionPath: "/v3/OS-EP-FILTER/endpoint_groups")
}
