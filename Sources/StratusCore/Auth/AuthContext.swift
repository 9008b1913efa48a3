import Foundation

/// Who is calling, as established from a validated token.
public struct AuthContext: Sendable {
    public var token: String
    public var userID: String
    public var userName: String
    public var userDomainID: String
    public var userDomainName: String
    public var projectID: String?
    public var projectName: String?
    public var projectDomainID: String?
    public var projectDomainName: String?
    /// Set for domain-scoped tokens.
    public var domainID: String?
    public var domainName: String?
    /// Set for system-scoped tokens.
    public var systemScope: Bool
    public var roles: [String]
    public var roleIDs: [String]
    public var methods: [String]
    public var auditIDs: [String]
    public var issuedAt: Date
    public var expiresAt: Date
    public var applicationCredentialID: String?
    public var isAdminProject: Bool

    public init(
        token: String, userID: String, userName: String, userDomainID: String, userDomainName: String,
        projectID: String? = nil, projectName: String? = nil, projectDomainID: String? = nil, projectDomainName: String? = nil,
        domainID: String? = nil, domainName: String? = nil, systemScope: Bool = false,
        roles: [String] = [], roleIDs: [String] = [], methods: [String] = [], auditIDs: [String] = [],
        issuedAt: Date = Date(), expiresAt: Date = Date(), applicationCredentialID: String? = nil, isAdminProject: Bool = false
    ) {
        self.token = token
        self.userID = userID
        self.userName = userName
        self.userDomainID = userDomainID
        self.userDomainName = userDomainName
        self.projectID = projectID
        self.projectName = projectName
        self.projectDomainID = projectDomainID
        self.projectDomainName = projectDomainName
        self.domainID = domainID
        self.domainName = domainName
        self.systemScope = systemScope
        self.roles = roles
        self.roleIDs = roleIDs
        self.methods = methods
        self.auditIDs = auditIDs
        self.issuedAt = issuedAt
        self.expiresAt = expiresAt
        self.applicationCredentialID = applicationCredentialID
        self.isAdminProject = isAdminProject
    }

    public func hasRole(_ name: String) -> Bool { roles.contains { $0.caseInsensitiveCompare(name) == .orderedSame } }

    /// The credential attributes policy rules refer to (oslo.policy's `creds`).
    public var policyCredentials: [String: PolicyValue] {
        var creds: [String: PolicyValue] = [
            "user_id": .string(userID),
            "user_domain_id": .string(userDomainID),
            "roles": .list(roles.map { $0.lowercased() }),
            "is_admin_project": .bool(isAdminProject),
        ]
        if let projectID { creds["project_id"] = .string(projectID); creds["tenant"] = .string(projectID) }
        if let projectDomainID { creds["project_domain_id"] = .string(projectDomainID) }
        if let domainID { creds["domain_id"] = .string(domainID) }
        if systemScope { creds["system_scope"] = .string("all") }
        return creds
    }
}

/// Validates tokens for a service's auth middleware: in process (Identity's own provider)
/// or, in split deployments, over REST with a short cache.
public protocol TokenValidator: Sendable {
    /// The caller behind `token`; throws `APIError.unauthorized` for invalid, expired or revoked tokens.
    func validate(token: String) async throws -> AuthContext
}
