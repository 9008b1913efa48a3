import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import StratusCore
import StratusTestSupport
import Virt
import XCTest

@testable import Compute

/// The compute API in process, with no peers: what needs no Placement, Network or Image.
final class ComputeAPITests: XCTestCase {
    static let latest: HTTPFields = [.openStackAPIVersion: "compute 2.85"]

    func withCompute(
        bus: InProcessBus = InProcessBus(), _ body: @Sendable (any TestClientProtocol) async throws -> Void
    ) async throws {
        try await withCompute(bus: bus) { client, _ in try await body(client) }
    }

    func withCompute(
        bus: InProcessBus = InProcessBus(),
        _ body: @Sendable (any TestClientProtocol, ComputeService) async throws -> Void
    ) async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("stratus-compute-\(UUID().uuidString)")
            .path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let postgres = try await PostgresTestDatabase.make()
        var values = ["host": "testhost", "driver": "fake"]
        if let postgres { values["connection"] = postgres.url }
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let auth = ServiceAuth(.init(authURL: "http://127.0.0.1:9/v3", username: "nova", password: "unused"))
        // No Block Storage: the servers these tests boot from a volume are never built.
        let clients = ServiceClients(
            image: RESTImageClient(auth: auth), network: RESTNetworkClient(auth: auth),
            placement: RESTPlacementClient(auth: auth), volume: nil, auth: auth)
        let service = try await ComputeService.open(
            config: Config(values: ["compute": values]), dataDir: dir, validator: StaticTokens(), bus: bus,
            clients: clients, logger: logger)
        try await service.bootstrap()
        do {
            try await Application(router: service.makeRouter()).test(.router) { client in
                try await body(client, service)
            }
        } catch {
            await service.close()
            throw error
        }
        await service.close()
        try? FileManager.default.removeItem(atPath: dir)
        try await postgres?.drop()
    }

    func testVersionsAndMicroversions() async throws {
        try await withCompute { client in
            let root = try await client.request(.get, "/")
            XCTAssertEqual(root.json["versions"]?.arrayValue?.dropFirst().first?["version"]?.stringValue, "2.85")
            let tooNew = try await client.request(
                .get, "/v2.1/flavors", headers: [.openStackAPIVersion: "compute 2.200"])
            XCTAssertEqual(tooNew.status, .notAcceptable)
            let latest = try await client.request(
                .get, "/v2.1/flavors", headers: [.openStackAPIVersion: "compute latest"])
            XCTAssertEqual(latest.headers[.openStackAPIVersion], "compute 2.85")
            XCTAssertEqual(
                latest.headers[HTTPField.Name("X-Compute-Request-Id") ?? .date], latest.headers[.openStackRequestID])
        }
    }

    func testFlavorsLifecycleAndAccess() async throws {
        try await withCompute { client in
            let list = try await client.request(.get, "/v2.1/flavors/detail?minRam=2048", token: "alice")
            XCTAssertEqual(
                Set(list.json["flavors"]?.arrayValue?.compactMap { $0["name"]?.stringValue } ?? []),
                ["m1.small", "m1.medium", "m1.large", "m1.xlarge"])
            let denied = try await client.request(
                .post, "/v2.1/flavors", token: "alice",
                body: ["flavor": ["name": "x", "ram": 1, "vcpus": 1, "disk": 0]])
            XCTAssertEqual(denied.status, .forbidden)
            XCTAssertNotNil(denied.json["forbidden"], "Nova's fault body")
            let created = try await client.request(
                .post, "/v2.1/flavors",
                body: [
                    "flavor": [
                        "name": "private", "ram": 64, "vcpus": 1, "disk": 0, "id": "p1",
                        "os-flavor-access:is_public": false,
                    ]
                ], headers: Self.latest)
            XCTAssertEqual(created.status, .ok, created.text)
            XCTAssertEqual(created.json["flavor"]?["swap"]?.intValue, 0, "2.75 shows swap 0")
            let duplicate = try await client.request(
                .post, "/v2.1/flavors", body: ["flavor": ["name": "private", "ram": 64, "vcpus": 1, "disk": 0]])
            XCTAssertEqual(duplicate.status, .conflict)
            let r1 = try await client.request(.get, "/v2.1/flavors/p1", token: "alice")

            XCTAssertEqual(r1.status, .notFound, "private flavors are hidden")
            let grant = try await client.request(
                .post, "/v2.1/flavors/p1/action", body: ["addTenantAccess": ["tenant": "p-alice"]])
            XCTAssertEqual(grant.status, .ok, grant.text)
            let r2 = try await client.request(.get, "/v2.1/flavors/p1", token: "alice")

            XCTAssertEqual(r2.status, .ok)
            let specs = try await client.request(
                .post, "/v2.1/flavors/p1/os-extra_specs", body: ["extra_specs": ["hw:cpu_policy": "shared"]])
            XCTAssertEqual(specs.json["extra_specs"]?["hw:cpu_policy"]?.stringValue, "shared")
            let r3 = try await client.request(.delete, "/v2.1/flavors/p1")

            XCTAssertEqual(r3.status, .accepted)
            let r4 = try await client.request(.get, "/v2.1/flavors/p1")

            XCTAssertEqual(r4.status, .notFound)
        }
    }

    func testKeypairsGeneratedAndImported() async throws {
        try await withCompute { client in
            let generated = try await client.request(
                .post, "/v2.1/os-keypairs", token: "alice", body: ["keypair": ["name": "gen"]],
                headers: [.openStackAPIVersion: "compute 2.2"])
            XCTAssertEqual(generated.status, .created, generated.text)
            XCTAssertTrue(generated.json["keypair"]?["private_key"]?.stringValue?.contains("PRIVATE KEY") ?? false)
            XCTAssertTrue(generated.json["keypair"]?["public_key"]?.stringValue?.hasPrefix("ssh-rsa ") ?? false)
            let x509 = try await client.request(
                .post, "/v2.1/os-keypairs", token: "alice", body: ["keypair": ["name": "cert", "type": "x509"]],
                headers: [.openStackAPIVersion: "compute 2.2"])
            XCTAssertEqual(x509.json["keypair"]?["type"]?.stringValue, "x509")
            XCTAssertTrue(x509.json["keypair"]?["public_key"]?.stringValue?.contains("BEGIN CERTIFICATE") ?? false)
            let key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGiDw5JrGbbnuR1G6bH3j1cG8kN2x2Y8Yk1qW0y1y2y3 test"
            let imported = try await client.request(
                .post, "/v2.1/os-keypairs", token: "alice",
                body: ["keypair": ["name": "mine", "public_key": .string(key)]])
            XCTAssertEqual(imported.status, .ok, imported.text)
            XCTAssertEqual(imported.json["keypair"]?["fingerprint"]?.stringValue?.count, 47, "MD5 as colon hex")
            let bad = try await client.request(
                .post, "/v2.1/os-keypairs", token: "alice",
                body: ["keypair": ["name": "bad", "public_key": "not a key"]])
            XCTAssertEqual(bad.status, .badRequest)
            let dup = try await client.request(
                .post, "/v2.1/os-keypairs", token: "alice",
                body: ["keypair": ["name": "mine", "public_key": .string(key)]])
            XCTAssertEqual(dup.status, .conflict)
            let r5 = try await client.request(.get, "/v2.1/os-keypairs/mine", token: "bob")

            XCTAssertEqual(r5.status, .notFound, "key pairs are per user")
            let list = try await client.request(.get, "/v2.1/os-keypairs", token: "alice")
            XCTAssertEqual(list.json["keypairs"]?.arrayValue?.count, 3)
        }
    }

    func testServerCreateValidationAndQuotas() async throws {
        try await withCompute { client in
            for (body, why) in [
                (["name": 12345, "imageRef": "", "flavorRef": "1"] as JSON, "numeric name"),
                (["name": "", "flavorRef": "1"], "blank name"),
                (["name": .string(String(repeating: "a", count: 256)), "flavorRef": "1"], "name too long"),
                (
                    ["name": "ok", "flavorRef": "1", "metadata": ["a": .string(String(repeating: "b", count: 260))]],
                    "metadata value too long"
                ),
                (["name": "ok", "flavorRef": "1", "accessIPv6": "notvalid"], "bad access IPv6"),
                (["name": "ok", "flavorRef": "1", "networks": [["uuid": "a-b-c-d-e-f-g-h-i-j"]]], "bad network uuid"),
                (["name": "ok", "flavorRef": "-1"], "unknown flavor"),
            ] {
                let reply = try await client.request(.post, "/v2.1/servers", token: "alice", body: ["server": body])
                XCTAssertEqual(reply.status, .badRequest, "\(why): \(reply.text)")
            }
            let quota = try await client.request(.get, "/v2.1/os-quota-sets/p-alice/detail", token: "alice")
            XCTAssertEqual(quota.json["quota_set"]?["instances"]?["limit"]?.intValue, 10)
            XCTAssertEqual(quota.json["quota_set"]?["instances"]?["in_use"]?.intValue, 0)
            let set = try await client.request(
                .put, "/v2.1/os-quota-sets/p-alice", body: ["quota_set": ["instances": 0]])
            XCTAssertEqual(set.json["quota_set"]?["instances"]?.intValue, 0)
            let notAdmin = try await client.request(
                .put, "/v2.1/os-quota-sets/p-alice", token: "alice", body: ["quota_set": ["instances": 50]])
            XCTAssertEqual(notAdmin.status, .forbidden)
            let limits = try await client.request(.get, "/v2.1/limits", token: "alice")
            XCTAssertEqual(limits.json["limits"]?["absolute"]?["maxTotalInstances"]?.intValue, 0)
            let missing = try await client.request(.get, "/v2.1/servers/\(UUID().uuidString)", token: "alice")
            XCTAssertEqual(missing.status, .notFound)
            XCTAssertNotNil(missing.json["itemNotFound"])
            let empty = try await client.request(.get, "/v2.1/servers/detail?status=NOPE", token: "alice")
            XCTAssertEqual(empty.json["servers"]?.arrayValue?.count, 0)
            let badLimit = try await client.request(.get, "/v2.1/servers?limit=-1", token: "alice")
            XCTAssertEqual(badLimit.status, .badRequest)
        }
    }

    /// Racing creates count each other under the per-project quota lock: exactly the
    /// quota's worth are accepted and the rest get Nova's 403.
    func testRacingCreatesStayWithinQuota() async throws {
        try await withCompute { client in
            let set = try await client.request(
                .put, "/v2.1/os-quota-sets/p-alice", body: ["quota_set": ["instances": 3]])
            XCTAssertEqual(set.status, .ok, set.text)
            let server: JSON = [
                "server": [
                    "name": "racer", "flavorRef": "1", "networks": "none",
                    "block_device_mapping_v2": [
                        [
                            "boot_index": 0, "uuid": .string(UUID().uuidString.lowercased()), "source_type": "volume",
                            "destination_type": "volume",
                        ]
                    ],
                ]
            ]
            let replies = try await withThrowingTaskGroup(of: TestReply.self) { group in
                for _ in 0..<12 {
                    group.addTask {
                        try await client.request(
                            .post, "/v2.1/servers", token: "alice", body: server, headers: Self.latest)
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            let accepted = replies.filter { $0.status == .accepted }.count
            XCTAssertTrue(
                replies.allSatisfy { $0.status == .accepted || $0.status == .forbidden },
                replies.map(\.text).joined(separator: "\n"))
            XCTAssertEqual(accepted, 3)
            let quota = try await client.request(.get, "/v2.1/os-quota-sets/p-alice/detail", token: "alice")
            XCTAssertEqual(quota.json["quota_set"]?["instances"]?["in_use"]?.intValue, accepted)
        }
    }

    /// Server groups: both request shapes, policy checks, the rules only anti-affinity takes,
    /// and the quota of groups.
    func testServerGroupsValidateAndCountAgainstQuota() async throws {
        try await withCompute { client in
            let old: HTTPFields = [.openStackAPIVersion: "compute 2.1"]
            let created = try await client.request(
                .post, "/v2.1/os-server-groups", token: "alice",
                body: ["server_group": ["name": "g1", "policies": ["anti-affinity"]]], headers: old)
            XCTAssertEqual(created.status, .ok, created.text)
            XCTAssertEqual(created.json["server_group"]?["policies"]?.arrayValue?.first?.stringValue, "anti-affinity")
            let modern = try await client.request(
                .post, "/v2.1/os-server-groups", token: "alice",
                body: [
                    "server_group": ["name": "g2", "policy": "anti-affinity", "rules": ["max_server_per_host": 2]]
                ], headers: Self.latest)
            XCTAssertEqual(modern.status, .ok, modern.text)
            XCTAssertEqual(modern.json["server_group"]?["rules"]?["max_server_per_host"]?.intValue, 2)
            let invalid: [(JSON, HTTPFields)] = [
                (["name": "bad", "policy": "affinity", "rules": ["max_server_per_host": 2]], Self.latest),
                (["name": "bad", "policy": "sideways"], Self.latest),
                (["name": "bad", "policies": ["soft-affinity"]], old),
                (["name": "", "policy": "affinity"], Self.latest),
            ]
            for (body, headers) in invalid {
                let reply = try await client.request(
                    .post, "/v2.1/os-server-groups", token: "alice", body: ["server_group": body], headers: headers)
                XCTAssertEqual(reply.status, .badRequest, "\(body): \(reply.text)")
            }
            // Nova finds the group, then its policy refuses another project (403, not 404).
            let others = try await client.request(
                .get, "/v2.1/os-server-groups/\(created.json["server_group"]?["id"]?.stringValue ?? "")", token: "bob")
            XCTAssertEqual(others.status, .forbidden)
            let quota = try await client.request(
                .put, "/v2.1/os-quota-sets/p-alice", body: ["quota_set": ["server_groups": 2]])
            XCTAssertEqual(quota.status, .ok)
            let over = try await client.request(
                .post, "/v2.1/os-server-groups", token: "alice",
                body: ["server_group": ["name": "g3", "policy": "affinity"]], headers: Self.latest)
            XCTAssertEqual(over.status, .forbidden, over.text)
            let list = try await client.request(.get, "/v2.1/os-server-groups", token: "alice")
            XCTAssertEqual(list.json["server_groups"]?.arrayValue?.count, 2)
            let deleted = try await client.request(
                .delete, "/v2.1/os-server-groups/\(created.json["server_group"]?["id"]?.stringValue ?? "")",
                token: "alice")
            XCTAssertEqual(deleted.status, .noContent)
        }
    }

    /// Aggregates: admin only, unique names, zones in metadata, hosts must be compute hosts.
    func testAggregatesAdminOnlyUniqueAndZoned() async throws {
        try await withCompute { client in
            let user = try await client.request(
                .post, "/v2.1/os-aggregates", token: "alice", body: ["aggregate": ["name": "a1"]])
            XCTAssertEqual(user.status, .forbidden)
            let created = try await client.request(
                .post, "/v2.1/os-aggregates", body: ["aggregate": ["name": "a1", "availability_zone": "z1"]])
            XCTAssertEqual(created.status, .ok, created.text)
            XCTAssertEqual(created.json["aggregate"]?["availability_zone"]?.stringValue, "z1")
            XCTAssertNil(created.json["aggregate"]?["hosts"])
            let id = created.json["aggregate"]?["id"]?.intValue ?? 0
            let duplicate = try await client.request(.post, "/v2.1/os-aggregates", body: ["aggregate": ["name": "a1"]])
            XCTAssertEqual(duplicate.status, .conflict)
            let blank = try await client.request(.post, "/v2.1/os-aggregates", body: ["aggregate": ["name": ""]])
            XCTAssertEqual(blank.status, .badRequest)
            let unknownHost = try await client.request(
                .post, "/v2.1/os-aggregates/\(id)/action", body: ["add_host": ["host": "nowhere"]])
            XCTAssertEqual(unknownHost.status, .notFound)
            let metadata = try await client.request(
                .post, "/v2.1/os-aggregates/\(id)/action", body: ["set_metadata": ["metadata": ["ssd": "true"]]])
            XCTAssertEqual(metadata.json["aggregate"]?["metadata"]?["ssd"]?.stringValue, "true")
            XCTAssertEqual(metadata.json["aggregate"]?["metadata"]?["availability_zone"]?.stringValue, "z1")
            let shown = try await client.request(.get, "/v2.1/os-aggregates/\(id)", headers: Self.latest)
            XCTAssertNotNil(shown.json["aggregate"]?["uuid"]?.stringValue)
            let missing = try await client.request(.get, "/v2.1/os-aggregates/99999")
            XCTAssertEqual(missing.status, .notFound)
            let deleted = try await client.request(.delete, "/v2.1/os-aggregates/\(id)")
            XCTAssertEqual(deleted.status, .ok)
            let list = try await client.request(.get, "/v2.1/os-aggregates")
            XCTAssertEqual(list.json["aggregates"]?.arrayValue?.count, 0)
        }
    }

    /// State changes are announced on the `notifications` topic: a building server reset to
    /// error is seen going from building to error.
    func testStateChangesAreAnnouncedOnTheBus() async throws {
        let bus = InProcessBus()
        let seen = NotificationLog()
        await bus.listen(topic: "notifications", server: "test") { message in
            await seen.append(message.args)
            return .null
        }
        try await withCompute(bus: bus) { client in
            let server: JSON = [
                "server": [
                    "name": "noted", "flavorRef": "1", "networks": "none",
                    "block_device_mapping_v2": [
                        [
                            "boot_index": 0, "uuid": .string(UUID().uuidString.lowercased()), "source_type": "volume",
                            "destination_type": "volume",
                        ]
                    ],
                ]
            ]
            let created = try await client.request(
                .post, "/v2.1/servers", token: "alice", body: server, headers: Self.latest)
            guard created.status == .accepted, let id = created.json["server"]?["id"]?.stringValue else {
                return XCTFail("create failed: \(created.text)")
            }
            let reset = try await client.request(
                .post, "/v2.1/servers/\(id)/action", body: ["os-resetState": ["state": "error"]])
            XCTAssertEqual(reset.status, .accepted, reset.text)
            var errored = false
            for _ in 0..<200 where !errored {
                errored = await seen.events.contains {
                    $0["event_type"]?.stringValue == "instance.update"
                        && $0["payload"]?["instance_id"]?.stringValue == id
                        && $0["payload"]?["state"]?.stringValue == "error"
                        && $0["payload"]?["old_state"]?.stringValue == "building"
                }
                if !errored { try await Task.sleep(for: .milliseconds(50)) }
            }
            let events = await seen.events
            XCTAssertTrue(errored, "no building -> error notification for \(id): \(events)")
        }
    }
}

extension ComputeAPITests {
    /// A server whose host is busy with one task refuses every other action with Nova's 409,
    /// and of several actions sent at once exactly one is accepted (the state check and the
    /// new task state are one transaction). The host here is parked: it takes the work and
    /// never finishes it, as a slow rebuild or migration would.
    func testActionsWhileATaskRunsAreRefused() async throws {
        let bus = InProcessBus()
        let parked = NotificationLog()
        await bus.listen(topic: "compute", server: "parked") { message in
            await parked.append(.string(message.method))
            return .null
        }
        try await withCompute(bus: bus) { client, service in
            await bus.listen(topic: "scheduler", server: "scheduler") { _ in
                ["host": "parked", "node": "parked", "zone": "nova", "alternates": []]
            }
            let server: JSON = [
                "server": [
                    "name": "busy", "flavorRef": "1", "networks": "none",
                    "block_device_mapping_v2": [
                        [
                            "boot_index": 0, "uuid": .string(UUID().uuidString.lowercased()), "source_type": "volume",
                            "destination_type": "volume",
                        ]
                    ],
                ]
            ]
            let created = try await client.request(
                .post, "/v2.1/servers", token: "alice", body: server, headers: Self.latest)
            guard created.status == .accepted, let id = created.json["server"]?["id"]?.stringValue else {
                return XCTFail("create failed: \(created.text)")
            }
            // The parked host got the build; it never finishes it, so the test plays its part.
            for _ in 0..<100 where await parked.events.isEmpty { try await Task.sleep(for: .milliseconds(10)) }
            try await service.api.instances.update(id) {
                $0.vmState = .active
                $0.taskState = nil
                $0.powerState = .running
            }

            func act(_ body: JSON) async throws -> TestReply {
                try await client.request(
                    .post, "/v2.1/servers/\(id)/action", token: "alice", body: body, headers: Self.latest)
            }
            let reboot = try await act(["reboot": ["type": "HARD"]])
            XCTAssertEqual(reboot.status, .accepted, reboot.text)
            let rebuild = try await act(["rebuild": ["imageRef": .string(UUID().uuidString.lowercased())]])
            XCTAssertEqual(rebuild.status, .conflict, rebuild.text)
            XCTAssertEqual(
                rebuild.json["conflictingRequest"]?["message"]?.stringValue,
                "Cannot 'rebuild' instance \(id) while it is in task_state rebooting_hard")
            for body: JSON in [
                ["os-stop": .null], ["pause": .null], ["resize": ["flavorRef": "2"]],
                ["createImage": ["name": "snap"]],
            ] {
                let refused = try await act(body)
                XCTAssertEqual(refused.status, .conflict, "\(body.serialized()): \(refused.text)")
            }

            try await service.api.instances.update(id) { $0.taskState = nil }

            // Concurrent updates share transactions; one that throws changes nothing and fails alone.
            struct Refused: Error {}
            let applied = await withTaskGroup(of: Bool.self) { group in
                for n in 0..<20 {
                    group.addTask {
                        let updated = try? await service.api.instances.update(id) { instance in
                            instance.metadata["k\(n)"] = "\(n)"
                            if n == 7 { throw Refused() }
                        }
                        return updated != nil
                    }
                }
                return await group.reduce(into: 0) { $0 += $1 ? 1 : 0 }
            }
            XCTAssertEqual(applied, 19)
            let stored = try await service.api.instances.get(id)
            XCTAssertEqual(stored?.metadata.count, 19)
            XCTAssertNil(stored?.metadata["k7"])
            try await service.api.instances.update(id) { $0.metadata = [:] }

            let bodies: [JSON] = [
                ["reboot": ["type": "SOFT"]], ["os-stop": .null], ["pause": .null], ["suspend": .null],
                ["reboot": ["type": "HARD"]],
            ]
            let statuses = try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                for body in bodies { group.addTask { try await act(body).status } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            XCTAssertEqual(statuses.filter { $0 == .accepted }.count, 1, "\(statuses)")
            XCTAssertEqual(statuses.filter { $0 == .conflict }.count, bodies.count - 1, "\(statuses)")
            try await Task.sleep(for: .milliseconds(100))
            let sent = await parked.events
            XCTAssertEqual(
                sent, ["build_and_run_instance", "reboot_instance", .string(sent.last?.stringValue ?? "")],
                "the host got the build and the accepted tasks")
        }
    }
}

extension ComputeAPITests {
    /// Instance actions page from 2.58 (limit, marker, `links`), and lists with strict query
    /// schemas refuse unknown parameters and malformed dates with 400.
    func testInstanceActionsAndMigrationsPageAndValidate() async throws {
        try await withCompute { client, _ in
            let server: JSON = [
                "server": [
                    "name": "acted", "flavorRef": "1", "networks": "none",
                    "block_device_mapping_v2": [
                        [
                            "boot_index": 0, "uuid": .string(UUID().uuidString.lowercased()), "source_type": "volume",
                            "destination_type": "volume",
                        ]
                    ],
                ]
            ]
            let created = try await client.request(.post, "/v2.1/servers", body: server, headers: Self.latest)
            guard let id = created.json["server"]?["id"]?.stringValue else {
                return XCTFail("create failed: \(created.text)")
            }
            for state in ["error", "active", "error"] {
                let reset = try await client.request(
                    .post, "/v2.1/servers/\(id)/action", body: ["os-resetState": ["state": .string(state)]])
                XCTAssertEqual(reset.status, .accepted, reset.text)
            }
            let all = try await client.request(.get, "/v2.1/servers/\(id)/os-instance-actions", headers: Self.latest)
            XCTAssertEqual(all.json["instanceActions"]?.arrayValue?.count, 4, all.text)
            XCTAssertNil(all.json["links"])
            let first = try await client.request(
                .get, "/v2.1/servers/\(id)/os-instance-actions?limit=3", headers: Self.latest)
            let page = first.json["instanceActions"]?.arrayValue ?? []
            XCTAssertEqual(page.count, 3, first.text)
            guard let next = first.json["links"]?.arrayValue?.first?["href"]?.stringValue,
                let marker = page.last?["request_id"]?.stringValue
            else {
                return XCTFail("no next link: \(first.text)")
            }
            XCTAssertTrue(next.contains("marker=\(marker)"), next)
            let rest = try await client.request(
                .get, "/v2.1/servers/\(id)/os-instance-actions?marker=\(marker)", headers: Self.latest)
            XCTAssertEqual(
                rest.json["instanceActions"]?.arrayValue?.map { $0["action"]?.stringValue }, ["create"], rest.text)
            let future = try await client.request(
                .get, "/v2.1/servers/\(id)/os-instance-actions?changes-since=2999-01-01T00:00:00Z",
                headers: Self.latest)
            XCTAssertEqual(future.json["instanceActions"]?.arrayValue?.count, 0, future.text)
            for query in ["changes-since=yesterday", "marker=nonesuch", "color=blue"] {
                let refused = try await client.request(
                    .get, "/v2.1/servers/\(id)/os-instance-actions?\(query)", headers: Self.latest)
                XCTAssertEqual(refused.status, .badRequest, "\(query): \(refused.text)")
            }
            let legacy = try await client.request(
                .get, "/v2.1/servers/\(id)/os-instance-actions?color=blue",
                headers: [.openStackAPIVersion: "compute 2.57"])
            XCTAssertEqual(legacy.status, .ok, legacy.text)

            let migrations = try await client.request(
                .get, "/v2.1/os-migrations?user_id=someone&project_id=elsewhere", headers: Self.latest)
            XCTAssertEqual(migrations.status, .ok, migrations.text)
            XCTAssertEqual(migrations.json["migrations"]?.arrayValue?.count, 0)
            for (query, version) in [
                ("user_id=someone", "2.79"), ("changes-before=soon", "2.81"), ("color=blue", "2.59"),
            ] {
                let refused = try await client.request(
                    .get, "/v2.1/os-migrations?\(query)", headers: [.openStackAPIVersion: .init("compute \(version)")])
                XCTAssertEqual(refused.status, .badRequest, "\(query) at \(version): \(refused.text)")
            }
        }
    }

    /// Image pre-caching (2.81) is admin-only and validates its request before any host is asked.
    func testAggregateImageCachingRequestsAreValidated() async throws {
        try await withCompute { client, _ in
            let created = try await client.request(
                .post, "/v2.1/os-aggregates", body: ["aggregate": ["name": "cache-agg"]], headers: Self.latest)
            guard let id = created.json["aggregate"]?["id"]?.intValue else {
                return XCTFail("aggregate create failed: \(created.text)")
            }
            let image = UUID().uuidString.lowercased()
            let body: JSON = ["cache": [["id": .string(image)]]]
            let tooOld = try await client.request(
                .post, "/v2.1/os-aggregates/\(id)/images", body: body, headers: [.openStackAPIVersion: "compute 2.80"])
            XCTAssertEqual(tooOld.status, .notFound, tooOld.text)
            let member = try await client.request(
                .post, "/v2.1/os-aggregates/\(id)/images", token: "alice", body: body, headers: Self.latest)
            XCTAssertEqual(member.status, .forbidden, member.text)
            let invalid: [JSON] = [
                ["cache": []], ["cache": [["id": "not-a-uuid"]]],
                ["cache": [["id": .string(image)], ["id": .string(image)]]],
                ["cache": [["id": .string(image), "name": "x"]]], ["images": [["id": .string(image)]]],
            ]
            for bad in invalid {
                let refused = try await client.request(
                    .post, "/v2.1/os-aggregates/\(id)/images", body: bad, headers: Self.latest)
                XCTAssertEqual(refused.status, .badRequest, "\(bad.serialized()): \(refused.text)")
            }
            let missing = try await client.request(
                .post, "/v2.1/os-aggregates/\(id + 1000)/images", body: body, headers: Self.latest)
            XCTAssertEqual(missing.status, .notFound, missing.text)
        }
    }
}

actor NotificationLog {
    var events: [JSON] = []
    func append(_ event: JSON) { events.append(event) }
}

final class NetworkDataTests: XCTestCase {
    /// network_data.json as Nova writes it for ports without a DHCP server: static address,
    /// netmask, default and host routes, DNS servers.
    func testStaticNetworkDataFromPortsAndSubnets() {
        let ports: [JSON] = [
            [
                "id": "0123456789abcdef", "network_id": "net-1", "mac_address": "fa:16:3e:00:00:01",
                "fixed_ips": [
                    ["subnet_id": "s4", "ip_address": "192.168.224.5"],
                    ["subnet_id": "s6", "ip_address": "2001:db8::5"],
                ],
            ]
        ]
        let subnets: [String: JSON] = [
            "s4": [
                "cidr": "192.168.224.0/20", "gateway_ip": "192.168.224.1", "dns_nameservers": ["10.0.0.53"],
                "host_routes": [["destination": "10.9.0.0/16", "nexthop": "192.168.224.9"]],
            ],
            "s6": ["cidr": "2001:db8::/64", "gateway_ip": "2001:db8::1"],
        ]
        let data = MetadataDocuments.networkData(ports: ports, subnets: subnets)
        XCTAssertEqual(data["links"]?.arrayValue?.first?["id"], "tap0123456789a")
        XCTAssertEqual(data["links"]?.arrayValue?.first?["ethernet_mac_address"], "fa:16:3e:00:00:01")
        let v4 = data["networks"]?.arrayValue?.first
        XCTAssertEqual(v4?["type"], "ipv4")
        XCTAssertEqual(v4?["netmask"], "255.255.240.0")
        XCTAssertEqual(
            v4?["routes"],
            [
                ["network": "0.0.0.0", "netmask": "0.0.0.0", "gateway": "192.168.224.1"],
                ["network": "10.9.0.0", "netmask": "255.255.0.0", "gateway": "192.168.224.9"],
            ])
        let v6 = data["networks"]?.arrayValue?.last
        XCTAssertEqual(v6?["type"], "ipv6")
        XCTAssertEqual(v6?["netmask"], "ffff:ffff:ffff:ffff::")
        XCTAssertEqual(data["services"], [["type": "dns", "address": "10.0.0.53"]])
        XCTAssertEqual(MetadataDocuments.netmask(0, v6: false), "0.0.0.0")
        XCTAssertEqual(MetadataDocuments.netmask(32, v6: false), "255.255.255.255")
    }
}

final class VirtTypeTests: XCTestCase {
    /// "auto" takes KVM only with /dev/kvm and the CPU's virtualization flag: this machine,
    /// a guest itself, has the device but no vmx, and KVM guests hang on it.
    func testAutoNeedsTheDeviceAndTheCPUFlag() {
        let nested = "processor\t: 0\nflags\t\t: fpu vme sse2 hypervisor avx2\n"
        let bare = "processor\t: 0\nflags\t\t: fpu vme sse2 vmx avx2\n"
        XCTAssertFalse(QemuDriver.usesKVM(virtType: "auto", deviceOpens: true, cpuinfo: nested))
        XCTAssertTrue(QemuDriver.usesKVM(virtType: "auto", deviceOpens: true, cpuinfo: bare))
        XCTAssertTrue(
            QemuDriver.usesKVM(
                virtType: "auto", deviceOpens: true, cpuinfo: bare.replacingOccurrences(of: "vmx", with: "svm")))
        XCTAssertFalse(QemuDriver.usesKVM(virtType: "auto", deviceOpens: false, cpuinfo: bare))
        XCTAssertTrue(QemuDriver.usesKVM(virtType: "kvm", deviceOpens: false, cpuinfo: nested))
        XCTAssertFalse(QemuDriver.usesKVM(virtType: "qemu", deviceOpens: true, cpuinfo: bare))
    }
}
