import Foundation

/// Who is calling, as established from a validated token.
public struct AuthContext: Sendable {
    public let token: String
    public let userID: String
    public let userName: String
    public let userDomainID: String
    public let userDomainName: String
    public let projectID: String?
    public let projectName: String?
    public let projectDomainID: String?
    public let projectDomainName: String?
    /// Set for domain-scoped tokens.
    public let domainID: String?
    public let domainName: String?
    /// Set for system-scoped tokens.
    public let systemScope: Bool
    public let roles: [String]
    public let roleIDs: [String]
    public let methods: [String]
    public let auditIDs: [String]
    public let issuedAt: Date
    public let expiresAt: Date
    public let applicationCredentialID: String?
    public let isAdminProject: Bool

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
        self.policyCredentials = makePolicyCredentials()
    }

    public func hasRole(_ name: String) -> Bool { roles.contains { $0.caseInsensitiveCompare(name) == .orderedSame } }

    /// The credential attributes policy rules refer to (oslo.policy's `creds`), built once
    /// per validated token since every request checks policy.
    public private(set) var policyCredentials: [String: PolicyValue] = [:]

    private func makePolicyCredentials() -> [String: PolicyValue] {
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
