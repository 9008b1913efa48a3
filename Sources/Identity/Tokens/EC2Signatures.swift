import Crypto
import Foundation
import StratusCore

/// AWS Signature V4 checked with the secret of an EC2 credential, for Object Storage's S3
/// API: the caller is the credential's user on its project.
struct EC2Signatures: S3CredentialVerifier {
    let store: IdentityStore
    let tokens: TokenProvider

    func verify(access: String, stringToSign: String, signature: String) async throws -> AuthContext {
        let id = SHA256.hash(data: Data(access.utf8)).hexEncoded()
        let record = try await store.read { db in try await Kinds.credential.fetch(id: id, from: db) }
        guard let record, record["type"]?.stringValue == "ec2",
            let blob = record["blob"]?.stringValue.flatMap({ try? JSON.parse($0) }),  // unreadable blob: no credential
            let secret = blob["secret"]?.stringValue, let userID = record["user_id"]?.stringValue,
            let projectID = record["project_id"]?.stringValue
        else { throw APIError.unauthorized("The AWS access key id does not exist.") }
        guard let expected = Self.signatureV4(secret: secret, stringToSign: stringToSign),
            Self.constantTimeEqual(expected, signature.lowercased())
        else { throw APIError.unauthorized("The request signature does not match.") }
        let grant: ScopeGrant
        do {
            grant = try await tokens.grant(userID: userID, scope: .project(projectID), applicationCredentialID: nil)
        } catch is InvalidToken {
            throw APIError.unauthorized("The credential's user has no role on its project.")
        }
        let now = Date()
        return grant.authContext(
            token: "", userID: userID, systemScope: false, methods: ["ec2credential"], auditIDs: [], issuedAt: now,
            expiresAt: now.addingTimeInterval(3600), applicationCredentialID: nil)
    }

    /// HMAC-SHA256 of the string to sign with the key derived from `AWS4<secret>`, the date,
    /// region and service of the string's scope line (`<date>/<region>/<service>/aws4_request`).
    static func signatureV4(secret: String, stringToSign: String) -> String? {
        let lines = stringToSign.split(separator: "\n", omittingEmptySubsequences: false)
        guard lines.count == 4, lines[0] == "AWS4-HMAC-SHA256" else { return nil }
        let scope = lines[2].split(separator: "/").map(String.init)
        guard scope.count == 4, scope[3] == "aws4_request" else { return nil }
        var key = SymmetricKey(data: Data("AWS4\(secret)".utf8))
        for part in scope {
            key = SymmetricKey(data: Data(HMAC<SHA256>.authenticationCode(for: Data(part.utf8), using: key)))
        }
        return HMAC<SHA256>.authenticationCode(for: Data(stringToSign.utf8), using: key).hexEncoded()
    }

    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let (x, y) = (Array(a.utf8), Array(b.utf8))
        guard x.count == y.count else { return false }
        return zip(x, y).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }
}
