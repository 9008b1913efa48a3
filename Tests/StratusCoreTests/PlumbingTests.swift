import Foundation
import HTTPTypes
import Logging
import SQLKit
import XCTest

@testable import StratusCore

final class TimestampTests: XCTestCase {
    func testFormatsAndParses() {
        let date = Date(timeIntervalSince1970: 1_700_000_000.25)
        XCTAssertEqual(Timestamp.iso8601(date), "2023-11-14T22:13:20Z")
        XCTAssertEqual(Timestamp.iso8601(date, fractional: true), "2023-11-14T22:13:20.250000Z")
        XCTAssertEqual(Timestamp.parse("2023-11-14T22:13:20.250000Z")?.timeIntervalSince1970 ?? 0, 1_700_000_000.25, accuracy: 0.001)
        XCTAssertEqual(Timestamp.parse("2023-11-14T23:13:20+01:00")?.timeIntervalSince1970, 1_700_000_000)
        XCTAssertNil(Timestamp.parse("2023-13-01T00:00:00Z"))
        XCTAssertNil(Timestamp.parse("yesterday"))
    }
}

final class MicroversionTests: XCTestCase {
    let range = MicroversionRange(service: "compute", min: Microversion(2, 1), max: Microversion(2, 90),
        legacyHeader: HTTPField.Name("X-OpenStack-Nova-API-Version"))

    func testNegotiation() throws {
        XCTAssertEqual(try range.negotiate([:]), Microversion(2, 1))
        XCTAssertEqual(try range.negotiate([.openStackAPIVersion: "compute 2.60"]), Microversion(2, 60))
        XCTAssertEqual(try range.negotiate([.openStackAPIVersion: "compute latest"]), Microversion(2, 90))
        XCTAssertEqual(try range.negotiate([HTTPField.Name("X-OpenStack-Nova-API-Version")!: "2.10"]), Microversion(2, 10))
        XCTAssertThrowsError(try range.negotiate([.openStackAPIVersion: "compute 3.0"])) {
            XCTAssertEqual(($0 as? APIError)?.status, .notAcceptable)
        }
        XCTAssertThrowsError(try range.negotiate([.openStackAPIVersion: "compute two"])) {
            XCTAssertEqual(($0 as? APIError)?.status, .badRequest)
        }
    }
}

final class BusTests: XCTestCase {
    func testCallCastAndFanout() async throws {
        let bus = InProcessBus()
        let counter = Counter()
        await bus.listen(topic: "compute", server: "host1") { message in
            await counter.add(message.method)
            return ["echo": message.args]
        }
        await bus.listen(topic: "compute", server: "host2") { message in
            await counter.add(message.method)
            return [:]
        }
        let reply = try await bus.call(topic: "compute", server: "host1", method: "ping", args: ["n": 1])
        XCTAssertEqual(reply["echo"]?["n"], 1)
        try await bus.cast(topic: "compute", method: "poke")
        await bus.fanout(topic: "compute", message: BusMessage(method: "refresh"))
        for _ in 0..<100 where await counter.count < 4 { try await Task.sleep(for: .milliseconds(5)) }
        let seen = await counter.methods
        XCTAssertEqual(seen.filter { $0 == "refresh" }.count, 2, "fanout reaches every server")
        XCTAssertEqual(seen.filter { $0 == "poke" }.count, 1, "cast reaches one server")
        do {
            _ = try await bus.call(topic: "missing", method: "x")
            XCTFail("expected noListener")
        } catch let error as BusError {
            XCTAssertEqual(error, .noListener(topic: "missing"))
        }
    }

    func testCallTimesOut() async throws {
        let bus = InProcessBus()
        await bus.listen(topic: "slow", server: "a") { _ in
            try await Task.sleep(for: .seconds(5))
            return [:]
        }
        do {
            _ = try await bus.call(topic: "slow", method: "wait", timeout: .milliseconds(50))
            XCTFail("expected timeout")
        } catch let error as BusError {
            XCTAssertEqual(error, .timeout(topic: "slow", method: "wait"))
        }
    }
}

actor Counter {
    var methods: [String] = []
    var count: Int { methods.count }
    func add(_ method: String) { methods.append(method) }
}

final class DatabaseTests: XCTestCase {
    func testMigrationsAndRollback() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("db-\(UUID().uuidString).sqlite").path
        let logger = Logger(label: "test")
        let db = try await Database.open(connection: path, logger: logger)
        let migrations = [Migration(1, "things") { sql in
            try await sql.create(table: "things").column("id", type: .text, .primaryKey(autoIncrement: false)).run()
        }]
        try await db.migrate(migrations, logger: logger)
        try await db.migrate(migrations, logger: logger)  // idempotent
        try await db.transaction { sql in try await sql.insert(into: "things").columns("id").values(SQLBind("a")).run() }
        do {
            try await db.transaction { sql in
                try await sql.insert(into: "things").columns("id").values(SQLBind("b")).run()
                throw APIError.badRequest("abort")
            }
        } catch {}
        let ids = try await db.read { sql in try await sql.select().column("id").from("things").all().map { try $0.decode(column: "id", as: String.self) } }
        XCTAssertEqual(ids, ["a"], "the failed transaction left nothing behind")
        await db.close()
        try? FileManager.default.removeItem(atPath: path)
    }

    /// Snapshot reads run beside a writer that is in the middle of a transaction: they see
    /// what was committed, not what is being written, and they cannot write.
    func testSnapshotReadsDoNotWaitForTheWriter() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("db-\(UUID().uuidString).sqlite").path
        let db = try await Database.open(connection: path, readers: 2, logger: Logger(label: "test"))
        try await db.transaction { sql in
            try await sql.raw("CREATE TABLE things (id TEXT PRIMARY KEY)").run()
            try await sql.raw("INSERT INTO things (id) VALUES ('committed')").run()
        }
        let (entered, writing) = AsyncStream.makeStream(of: Void.self)
        let (finish, release) = AsyncStream.makeStream(of: Void.self)
        let writer = Task {
            try await db.transaction { sql in
                try await sql.raw("INSERT INTO things (id) VALUES ('uncommitted')").run()
                writing.yield()
                for await _ in finish { break }
            }
        }
        for await _ in entered { break }
        let seen = try await db.snapshot { sql in
            try await sql.raw("SELECT id FROM things ORDER BY id").all()
                .map { try $0.decode(column: "id", as: String.self) }
        }
        XCTAssertEqual(seen, ["committed"])
        do {
            try await db.snapshot { sql in try await sql.raw("DELETE FROM things").run() }
            XCTFail("a snapshot connection wrote")
        } catch {}
        release.yield()
        try await writer.value
        let after = try await db.snapshot { sql in try await sql.raw("SELECT id FROM things").all().count }
        XCTAssertEqual(after, 2)
        await db.close()
        try? FileManager.default.removeItem(atPath: path)
    }
}
