import Foundation
import HTTPTypes
import HummingbirdTesting
import StratusCore
import StratusTestSupport
import XCTest

@testable import Compute

/// What changes from 2.82 to 2.85: accelerator events, list filters for everyone, action event
/// details, and attachments updated in place.
final class Microversion285Tests: XCTestCase {
    static func version(_ text: String) -> HTTPFields { [.openStackAPIVersion: .init("compute \(text)")] }

    func testListFiltersOpenToEveryoneFrom283() async throws {
        try await ComputeCloud.run { client, peers in
            let id = try await ComputeCloud.boot(client, peers, name: "filtered")
            _ = try await ComputeCloud.waitFor(client, id) { $0["status"]?.stringValue == "ACTIVE" }
            func ids(_ query: String, _ version: String, token: String = "alice") async throws -> [String] {
                let reply = try await client.request(
                    .get, "/v2.1/servers?\(query)", token: token, headers: Self.version(version))
                XCTAssertEqual(reply.status, .ok, "\(query) at \(version): \(reply.text)")
                return reply.json["servers"]?.arrayValue?.compactMap { $0["id"]?.stringValue } ?? []
            }
            for query in [
                "vm_state=stopped", "task_state=spawning", "power_state=4", "key_name=none", "config_drive=True",
            ] {
                let (before, from283) = (try await ids(query, "2.82"), try await ids(query, "2.83"))
                let admin = try await ids(query, "2.82", token: "admin")
                XCTAssertEqual(before, [id], "\(query) is ignored before 2.83")
                XCTAssertEqual(from283, [], "\(query) filters from 2.83")
                XCTAssertEqual(admin, [], "admins filter at any version")
            }
            let year = String(Calendar(identifier: .gregorian).component(.year, from: Date()))
            for query in [
                "vm_state=active", "vm_state=error&vm_state=active", "power_state=1", "created_at=^\(year)-",
                "launched_at=T", "progress=100",
            ] {
                let found = try await ids(query, "2.83")
                XCTAssertEqual(found, [id], query)
            }
            let terminated = try await ids("terminated_at=.", "2.83")
            XCTAssertEqual(terminated, [], "a live server has no termination time")
            let broken = try await client.request(
                .get, "/v2.1/servers?key_name=(", token: "alice", headers: Self.version("2.83"))
            XCTAssertEqual(broken.status, .badRequest, broken.text)
        }
    }

    func testFailedActionEventsSayWhyToAdminsFrom284() async throws {
        try await ComputeCloud.run { client, peers in
            let id = try await ComputeCloud.boot(client, peers, name: "acted")
            _ = try await ComputeCloud.waitFor(client, id) { $0["status"]?.stringValue == "ACTIVE" }
            let actions = try await client.request(.get, "/v2.1/servers/\(id)/os-instance-actions", token: "alice")
            let request = try XCTUnwrap(actions.json["instanceActions"]?.arrayValue?.first?["request_id"]?.stringValue)
            func events(_ version: String, token: String) async throws -> [JSON] {
                let reply = try await client.request(
                    .get, "/v2.1/servers/\(id)/os-instance-actions/\(request)", token: token,
                    headers: Self.version(version))
                XCTAssertEqual(reply.status, .ok, reply.text)
                return reply.json["instanceAction"]?["events"]?.arrayValue ?? []
            }
            let shown = try await events("2.84", token: "admin")
            XCTAssertFalse(shown.isEmpty)
            for event in shown {
                XCTAssertEqual(event["result"], "Success")
                XCTAssertEqual(event["details"], .null, "a successful event has no details: \(event)")
            }
            let (older, member) = (try await events("2.83", token: "admin"), try await events("2.84", token: "alice"))
            XCTAssertTrue(older.allSatisfy { $0["details"] == nil })
            XCTAssertTrue(member.allSatisfy { $0["details"] == nil })
        }
    }

    func testAcceleratorEventsFrom282NeedATag() async throws {
        try await ComputeCloud.run { client, peers in
            let id = try await ComputeCloud.boot(client, peers, name: "accelerated")
            _ = try await ComputeCloud.waitFor(client, id) { $0["status"]?.stringValue == "ACTIVE" }
            func post(_ events: [JSON], _ version: String) async throws -> TestReply {
                try await client.request(
                    .post, "/v2.1/os-server-external-events", token: "nova", body: ["events": .array(events)],
                    headers: Self.version(version))
            }
            let bound: JSON = ["name": "accelerator-request-bound", "server_uuid": .string(id), "tag": "arq-1"]
            let early = try await post([bound], "2.81")
            XCTAssertEqual(early.status, .badRequest, "unknown before 2.82")
            let accepted = try await post([bound], "2.82")
            XCTAssertEqual(accepted.status, .ok, accepted.text)
            XCTAssertEqual(accepted.json["events"]?.arrayValue?.first?["code"], 200)
            let untagged: JSON = ["name": "accelerator-request-bound", "server_uuid": .string(id)]
            let changed: JSON = ["name": "network-changed", "server_uuid": .string(id)]
            let mixed = try await post([untagged, changed], "2.82")
            XCTAssertEqual(mixed.status.code, 207, mixed.text)
            XCTAssertEqual(mixed.json["events"]?.arrayValue?.map { $0["code"] }, [400, 200])
            XCTAssertEqual(mixed.json["events"]?.arrayValue?.first?["status"], "failed")
        }
    }
}
