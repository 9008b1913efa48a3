import Foundation
import StratusCore

/// Tokens for fixed callers, so service tests need no Identity service: the token is
/// the caller's name.
public struct StaticTokens: TokenValidator {
    public static let callers: [String: (project: String, roles: [String])] = [
        "admin": ("p-admin", ["admin", "member", "reader"]),
        "alice": ("p-alice", ["member", "reader"]),
        "bob": ("p-bob", ["member", "reader"]),
        "reader": ("p-alice", ["reader"]),
        "reseller": ("p-reseller", ["ResellerAdmin", "member", "reader"]),
        "nova": ("p-service", ["admin", "service", "member", "reader"]),
    ]

    public init() {}

    public func validate(token: String) async throws -> AuthContext {
        guard let caller = Self.callers[token] else { throw APIError.unauthorized() }
        return AuthContext(
            token: token, userID: "u-\(token)", userName: token, userDomainID: "default", userDomainName: "Default",
            projectID: caller.project, projectName: caller.project, projectDomainID: "default", roles: caller.roles,
            expiresAt: Date().addingTimeInterval(3600))
    }
}
