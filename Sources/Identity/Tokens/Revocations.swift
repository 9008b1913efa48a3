import Foundation
import SQLKit
import StratusCore
import Synchronization

/// A revocation event: tokens issued at or before `issuedBefore` that match every set field
/// are invalid, whichever process validates them (events live in the database).
struct RevocationEvent: Sendable {
    var userID: String?
    var projectID: String?
    var domainID: String?
    var auditID: String?
    var auditChainID: String?
    var issuedBefore: Date

    func matches(_ token: TokenPayload, userDomainID: String, projectDomainID: String?) -> Bool {
        guard token.issuedAt <= issuedBefore else { return false }
        if let userID, userID != token.userID { return false }
        if let projectID {
            guard case .project(let id) = token.scope, id == projectID else { return false }
        }
        if let domainID {
            var domains: Set<String> = [userDomainID]
            if let projectDomainID { domains.insert(projectDomainID) }
            if case .domain(let id) = token.scope { domains.insert(id) }
            guard domains.contains(domainID) else { return false }
        }
        if let auditID, token.auditIDs.first != auditID { return false }
        if let auditChainID, token.auditIDs.last != auditChainID { return false }
        return true
    }
}

/// The events in memory for fast checks, written through to the database.
final class RevocationList: Sendable {
    private let events = Mutex<[RevocationEvent]>([])

    func load(from db: any SQLDatabase, since: Date) async throws {
        let rows = try await db.select().column("*").from("revocation_events")
            .where("issued_before", .greaterThan, SQLBind(since.timeIntervalSince1970)).all()
        let loaded = try rows.map { row in
            RevocationEvent(
                userID: try row.decode(column: "user_id", as: String?.self),
                projectID: try row.decode(column: "project_id", as: String?.self),
                domainID: try row.decode(column: "domain_id", as: String?.self),
                auditID: try row.decode(column: "audit_id", as: String?.self),
                auditChainID: try row.decode(column: "audit_chain_id", as: String?.self),
                issuedBefore: Date(timeIntervalSince1970: try row.decode(column: "issued_before", as: Double.self)))
        }
        events.withLock { $0 = loaded }
    }

    /// Records `event` in `db` (inside the caller's transaction) and in memory.
    func add(_ event: RevocationEvent, in db: any SQLDatabase) async throws {
        try await db.insert(into: "revocation_events")
            .columns("id", "user_id", "project_id", "domain_id", "audit_id", "audit_chain_id", "issued_before", "revoked_at")
            .values(
                SQLBind(newID()), SQLBind(event.userID), SQLBind(event.projectID), SQLBind(event.domainID), SQLBind(event.auditID),
                SQLBind(event.auditChainID), SQLBind(event.issuedBefore.timeIntervalSince1970), SQLBind(Date().timeIntervalSince1970)
            )
            .run()
        events.withLock { $0.append(event) }
    }

    func isRevoked(_ token: TokenPayload, userDomainID: String, projectDomainID: String?) -> Bool {
        events.withLock { list in list.contains { $0.matches(token, userDomainID: userDomainID, projectDomainID: projectDomainID) } }
    }
}
