import StratusCore
import XCTest

@testable import Compute

/// Compute's bus methods keep oslo's snake_case wire names.
final class ComputeRPCTests: XCTestCase {
    func testArgumentsUseTheWireNames() async throws {
        var handlers = RPCHandlers(topic: ComputeRPC.topic)
        let seen = Seen()
        handlers.on(ComputeRPC.snapshot) { await seen.add($0); return NoReply() }
        _ = try await handlers.handle(BusMessage(method: "snapshot_instance", args: [
            "instance_uuid": "i-1", "image_id": "img-1", "backup_type": "daily", "rotation": 2,
        ]))
        let args = await seen.snapshots
        XCTAssertEqual(args, [SnapshotArgs(instance: "i-1", image: "img-1", backupType: "daily", rotation: 2)])

        let bus = InProcessBus()
        let recorder = Recorder()
        await bus.listen(topic: SchedulerRPC.topic, server: "scheduler") { message in
            await recorder.record(message)
            return ["host": "h1", "node": "h1", "zone": "nova", "alternates": ["h2"]]
        }
        let request = DestinationRequest(instance: "i-1", excludedHosts: ["h0"], forcedHost: "h1")
        let destination = try await bus.call(SchedulerRPC.selectDestinations, request)
        XCTAssertEqual(destination, Destination(host: "h1", node: "h1", zone: "nova", alternates: ["h2"]))
        let message = await recorder.messages.first
        XCTAssertEqual(message?.method, "select_destinations")
        XCTAssertEqual(message?.args["instance_uuid"], "i-1")
        XCTAssertEqual(message?.args["excluded_hosts"], ["h0"])
        XCTAssertEqual(message?.args["forced_host"], "h1")
    }

    actor Seen {
        var snapshots: [SnapshotArgs] = []
        func add(_ args: SnapshotArgs) { snapshots.append(args) }
    }

    actor Recorder {
        var messages: [BusMessage] = []
        func record(_ message: BusMessage) { messages.append(message) }
    }
}
