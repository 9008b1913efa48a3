import XCTest

@testable import StratusCore

final class ConfigTests: XCTestCase {
    let port = ConfigOption("identity", "port", default: 5000, help: "")
    let debug = ConfigOption("DEFAULT", "debug", default: false, help: "")
    let connection = ConfigOption("database", "connection", default: "sqlite", help: "")

    func testFileThenEnvironmentThenFlag() throws {
        let ini = """
            # comment
            [DEFAULT]
            debug = true
            [identity]
            port = 5001
            [database]
            connection = postgresql://u:p@h/db
            """
        var config = Config(values: try Config.parseINI(ini), environment: ["STRATUS_IDENTITY_PORT": "6000"])
        XCTAssertEqual(config[port], 6000, "environment beats the file")
        XCTAssertTrue(config[debug])
        XCTAssertEqual(config[connection], "postgresql://u:p@h/db")
        config.set("identity", "port", "7000")
        XCTAssertEqual(config[port], 7000, "flags beat the environment")
        XCTAssertEqual(Config()[port], 5000, "default")
    }

    func testDatabaseURLPerService() {
        XCTAssertEqual(CoreOptions.databaseURL(Config(), service: "identity", dataDir: "/d"), "/d/identity.db")
        let shared = Config(values: ["database": ["connection": "postgresql://u:p@h:5432/stratus?sslmode=disable"]])
        XCTAssertEqual(CoreOptions.databaseURL(shared, service: "identity", dataDir: "/d"), "postgresql://u:p@h:5432/stratus_identity?sslmode=disable")
        let own = Config(values: ["database": ["connection": "postgresql://u:p@h/stratus"], "identity": ["connection": "/x.db"]])
        XCTAssertEqual(CoreOptions.databaseURL(own, service: "identity", dataDir: "/d"), "/x.db")
    }

    func testBadLinesAreErrors() {
        XCTAssertThrowsError(try Config.parseINI("[broken\nx = 1"))
        XCTAssertThrowsError(try Config.parseINI("no equals sign"))
    }
}
