import XCTest

@testable import StratusCore

final class PolicyEngineTests: XCTestCase {
    let member: [String: PolicyValue] = ["roles": .list(["member", "reader"]), "project_id": .string("p1"), "user_id": .string("u1")]
    let admin: [String: PolicyValue] = ["roles": .list(["admin"]), "project_id": .string("p9"), "user_id": .string("u9")]

    func testCheckStrings() throws {
        let engine = try PolicyEngine(defaults: [
            "admin_required": "role:admin",
            "owner": "project_id:%(project_id)s",
            "admin_or_owner": "rule:admin_required or rule:owner",
            "strict": "role:member and not role:admin and (user_id:%(target.user.id)s or 'x':%(flag)s)",
            "anyone": "@",
            "nobody": "!",
            "empty": "",
        ])
        XCTAssertTrue(engine.check("admin_or_owner", creds: member, target: ["project_id": "p1"]))
        XCTAssertFalse(engine.check("admin_or_owner", creds: member, target: ["project_id": "p2"]))
        XCTAssertTrue(engine.check("admin_or_owner", creds: admin, target: ["project_id": "p2"]))
        XCTAssertTrue(engine.check("strict", creds: member, target: ["target.user.id": "u1"]))
        XCTAssertTrue(engine.check("strict", creds: member, target: ["flag": "x"]))
        XCTAssertFalse(engine.check("strict", creds: member, target: [:]))
        XCTAssertFalse(engine.check("strict", creds: admin, target: ["target.user.id": "u9"]))
        XCTAssertTrue(engine.check("anyone", creds: [:], target: [:]))
        XCTAssertFalse(engine.check("nobody", creds: admin, target: [:]))
        XCTAssertTrue(engine.check("empty", creds: [:], target: [:]))
        XCTAssertFalse(engine.check("undefined", creds: admin, target: [:]))
    }

    func testOverridesReplaceDefaults() throws {
        let engine = try PolicyEngine(defaults: ["x": "role:admin"], overrides: ["x": "role:member"])
        XCTAssertTrue(engine.check("x", creds: member, target: [:]))
        XCTAssertFalse(engine.check("x", creds: admin, target: [:]))
    }

    func testSyntaxErrors() {
        XCTAssertThrowsError(try PolicyRule.parse("role:admin or"))
        XCTAssertThrowsError(try PolicyRule.parse("(role:admin"))
        XCTAssertThrowsError(try PolicyRule.parse("nocolon"))
    }

    func testEnforceDistinguishesMissingCallerFromForbidden() throws {
        let engine = try PolicyEngine(defaults: ["x": "role:admin"])
        XCTAssertThrowsError(try engine.enforce("x", auth: nil)) { XCTAssertEqual(($0 as? APIError)?.status, .unauthorized) }
        let auth = AuthContext(token: "t", userID: "u", userName: "n", userDomainID: "d", userDomainName: "D", roles: ["member"])
        XCTAssertThrowsError(try engine.enforce("x", auth: auth)) { XCTAssertEqual(($0 as? APIError)?.status, .forbidden) }
    }
}
