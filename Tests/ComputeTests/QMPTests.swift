import Foundation
import NIOCore
import NIOPosix
import StratusCore
import XCTest

@testable import Virt

/// The QMP client against a QEMU stand-in on a Unix socket: greeting, capability
/// negotiation, events before the answer, errors, and a QEMU that never answers.
final class QMPTests: XCTestCase {
    /// Answers as QEMU does: a greeting, `{"return": {}}` to qmp_capabilities, then for each
    /// command an event followed by its canned answer (none for commands it does not know),
    /// where `$arguments` stands for the command's arguments as they came.
    final class FakeQEMU: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer
        let answers: [String: String]

        init(answers: [String: String]) { self.answers = answers }

        func channelActive(context: ChannelHandlerContext) {
            send(#"{"QMP": {"version": {"qemu": {"major": 9}}, "capabilities": []}}"#, context)
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let line = String(buffer: unwrapInboundIn(data))
            guard let message = try? JSON.parse(line), let command = message["execute"]?.stringValue else { return }
            if command == "qmp_capabilities" { return send(#"{"return": {}}"#, context) }
            send(#"{"event": "NIC_RX_FILTER_CHANGED", "data": {}}"#, context)
            guard let answer = answers[command] else { return }
            let arguments = message["arguments"]?.serialized() ?? "{}"
            send(answer.replacingOccurrences(of: "$arguments", with: arguments), context)
        }

        private func send(_ line: String, _ context: ChannelHandlerContext) {
            context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: line + "\n")), promise: nil)
        }
    }

    func withFakeQEMU(_ answers: [String: String], _ body: (String) async throws -> Void) async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent(
            "qmp-\(UUID().uuidString.prefix(8)).sock"
        ).path
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(QMP.LineDecoder()))
                    try channel.pipeline.syncOperations.addHandler(FakeQEMU(answers: answers))
                }
            }
            .bind(unixDomainSocketPath: path, cleanupExistingSocketFile: true).get()
        do {
            try await body(path)
        } catch {
            try await server.close()
            throw error
        }
        try await server.close()
    }

    func testCommandsAnswerPastEventsAndErrorsAreThrown() async throws {
        try await withFakeQEMU([
            "query-status": #"{"return": {"status": "paused", "running": false}}"#,
            "device_del": #"{"error": {"class": "DeviceNotFound", "desc": "Device 'nic-1' not found"}}"#,
        ]) { path in
            let status = try await QMP.execute(socket: path, "query-status")
            XCTAssertEqual(status["status"]?.stringValue, "paused")
            do {
                _ = try await QMP.execute(socket: path, "device_del", arguments: ["id": "nic-1"])
                XCTFail("QEMU's error is thrown")
            } catch let error as DriverError {
                XCTAssertEqual(error.description, "QMP: Device 'nic-1' not found")
            }
            do {
                _ = try await QMP.execute(socket: path, "hang", timeout: .milliseconds(200))
                XCTFail("a QEMU that never answers times out")
            } catch let error as DriverError {
                XCTAssertTrue(error.description.hasPrefix("QMP:"), error.description)
            }
        }
    }

    func testUnplugWaitsForTheGuestToLetGo() async throws {
        try await withFakeQEMU([
            "device_del": #"{"return": {}}"# + "\n" + #"{"event": "DEVICE_DELETED", "data": {"device": "disk-1"}}"#,
            "blockdev-del": #"{"return": {}}"#,
        ]) { path in
            try await QMP.execute(
                socket: path, "device_del", arguments: ["id": "disk-1"], awaiting: "DEVICE_DELETED",
                where: { $0["device"]?.stringValue == "disk-1" })
            do {
                try await QMP.execute(
                    socket: path, "blockdev-del", awaiting: "DEVICE_DELETED", where: { _ in true },
                    timeout: .milliseconds(200))
                XCTFail("an event that never comes times out")
            } catch let error as DriverError {
                XCTAssertTrue(error.description.contains("no DEVICE_DELETED"), error.description)
            }
        }
    }

    /// A swap's mirror: started, completed once ready (an event that came before the
    /// command's answer counts), and a job that ends in error is an error.
    func testMirrorPivotsOnceTheCopyIsReady() async throws {
        let old = GuestVolume(
            volumeID: "0a1b2c3d-0000-4000-8000-000000000009", device: "/dev/vdb", driverType: "local",
            path: "/v/volume-1", format: "qcow2", readOnly: false)
        var new = old
        new.nodeKey = "7f7f7f7f-0000-4000-8000-000000000001"
        new.path = "/w/volume-7f"
        let arguments = QemuVolumes.mirror(from: old, to: new)
        XCTAssertEqual(
            arguments,
            [
                "job-id": "mirror-0a1b2c3d000040008000", "device": "vol-0a1b2c3d000040008000",
                "target": "vol-7f7f7f7f000040008000", "sync": "full",
            ])
        let ready = #"{"event": "BLOCK_JOB_READY", "data": {"device": "mirror-0a1b2c3d000040008000"}}"#
        try await withFakeQEMU([
            "blockdev-mirror": ready + "\n" + #"{"return": {}}"#,
            "block-job-complete": #"{"return": {}}"# + "\n"
                + #"{"event": "BLOCK_JOB_COMPLETED", "data": {"device": "mirror-0a1b2c3d000040008000"}}"#,
        ]) { path in
            try await QMP.mirror(socket: path, arguments)
        }
        try await withFakeQEMU([
            "blockdev-mirror": #"{"return": {}}"# + "\n" + ready,
            "block-job-complete": #"{"return": {}}"# + "\n"
                + #"{"event": "BLOCK_JOB_COMPLETED", "data": {"device": "mirror-0a1b2c3d000040008000", "#
                + #""error": "No space left on device"}}"#,
            "block-job-cancel": #"{"return": {}}"#,
        ]) { path in
            do {
                try await QMP.mirror(socket: path, arguments)
                XCTFail("a mirror that ends in error is an error")
            } catch let error as DriverError {
                XCTAssertTrue(error.description.contains("No space left"), error.description)
            }
        }
    }

    /// After a swap the device keeps the volume's id and serial; its node and secret carry
    /// the target's name.
    func testSwappedVolumesKeepTheirDevice() throws {
        var volume = GuestVolume(
            volumeID: "0a1b2c3d-0000-4000-8000-000000000009", device: "/dev/vdb", driverType: "local",
            path: "/w/volume-7f", format: "raw", readOnly: false,
            encryptionKeyID: "00000000-0000-0000-0000-000000000000",
            nodeKey: "7f7f7f7f-0000-4000-8000-000000000001")
        XCTAssertEqual(QemuVolumes.blockdev(volume)["node-name"], "vol-7f7f7f7f000040008000")
        XCTAssertEqual(QemuVolumes.blockdev(volume)["key-secret"], "sec-7f7f7f7f000040008000")
        XCTAssertEqual(QemuVolumes.device(volume)["id"], "disk-0a1b2c3d000040008000")
        XCTAssertEqual(QemuVolumes.device(volume)["serial"], "0a1b2c3d-0000-4000-8000-000000000009")
        volume.nodeKey = nil
        XCTAssertEqual(QemuVolumes.blockdev(volume)["node-name"], "vol-0a1b2c3d000040008000")
    }

    func testVolumesAreNodesWithAVirtioDevice() throws {
        let volume = GuestVolume(
            volumeID: "0a1b2c3d-0000-4000-8000-000000000009", device: "/dev/vdb", driverType: "local",
            path: "/var/lib/stratus/volumes/volume-1", format: "qcow2", readOnly: true)
        XCTAssertEqual(
            QemuVolumes.blockdev(volume),
            [
                "driver": "qcow2", "node-name": "vol-0a1b2c3d000040008000", "read-only": true,
                "file": ["driver": "file", "filename": "/var/lib/stratus/volumes/volume-1", "read-only": true],
            ])
        XCTAssertEqual(
            QemuVolumes.device(volume),
            [
                "driver": "virtio-blk-pci", "drive": "vol-0a1b2c3d000040008000", "id": "disk-0a1b2c3d000040008000",
                "serial": "0a1b2c3d-0000-4000-8000-000000000009",
            ])
        XCTAssertEqual(
            QemuVolumes.arguments(volume).last,
            "virtio-blk-pci,drive=vol-0a1b2c3d000040008000,id=disk-0a1b2c3d000040008000,"
                + "serial=0a1b2c3d-0000-4000-8000-000000000009")
        var iscsi = volume
        iscsi.driverType = "iscsi"
        XCTAssertThrowsError(try QemuVolumes.check(iscsi))
    }

    /// An encrypted volume opens with its secret: LUKS inside qcow2, QEMU's `luks` over raw
    /// data; the passphrase reaches QEMU base64-encoded over QMP, or from a file at start.
    func testEncryptedVolumesOpenWithTheirSecret() throws {
        var volume = GuestVolume(
            volumeID: "0a1b2c3d-0000-4000-8000-000000000009", device: "/dev/vdb", driverType: "local",
            path: "/v/volume-1", format: "qcow2", readOnly: false, encryptionKeyID: FixedKeyManager.keyID)
        XCTAssertEqual(
            QemuVolumes.blockdev(volume),
            [
                "driver": "qcow2", "node-name": "vol-0a1b2c3d000040008000", "read-only": false,
                "file": ["driver": "file", "filename": "/v/volume-1", "read-only": false],
                "encrypt": ["format": "luks", "key-secret": "sec-0a1b2c3d000040008000"],
            ])
        XCTAssertEqual(
            QemuVolumes.secretObject(volume, passphrase: "00ff"),
            ["qom-type": "secret", "id": "sec-0a1b2c3d000040008000", "data": "MDBmZg==", "format": "base64"])
        XCTAssertEqual(
            Array(QemuVolumes.arguments(volume, secretFile: "/g/sec").prefix(2)),
            ["-object", "secret,id=sec-0a1b2c3d000040008000,file=/g/sec,format=raw"])
        volume.format = "raw"
        XCTAssertEqual(QemuVolumes.blockdev(volume)["driver"], "luks")
        XCTAssertEqual(QemuVolumes.blockdev(volume)["key-secret"], "sec-0a1b2c3d000040008000")
    }

    /// An extended volume: `block_resize` of its node to the size in bytes, the size read from
    /// `qemu-img info`'s `virtual-size`.
    func testExtendedVolumesAreResizedNodes() async throws {
        let volume = GuestVolume(
            volumeID: "0a1b2c3d-0000-4000-8000-000000000009", device: "/dev/vdb", driverType: "local",
            path: "/var/lib/stratus/volumes/volume-1", format: "qcow2", readOnly: false)
        let arguments = QemuVolumes.resize(volume, size: 2 << 30)
        XCTAssertEqual(arguments, ["node-name": "vol-0a1b2c3d000040008000", "size": 2_147_483_648])
        let info = #"{"virtual-size": 2147483648, "filename": "volume-1", "format": "qcow2", "actual-size": 200704}"#
        XCTAssertEqual(try QemuVolumes.virtualSize(info: info), 2_147_483_648)
        XCTAssertThrowsError(try QemuVolumes.virtualSize(info: #"{"format": "qcow2"}"#))
        try await withFakeQEMU(["block_resize": #"{"return": $arguments}"#]) { path in
            let received = try await QMP.execute(socket: path, "block_resize", arguments: arguments)
            XCTAssertEqual(received, arguments)
        }
    }

    /// A volume's front-end QoS specs become `block_set_io_throttle` on its device: Cinder's
    /// names mapped to QEMU's, a total limit winning over read/write ones, bursts below their
    /// base left out; no specs, no throttle.
    func testQosSpecsBecomeAnIOThrottle() {
        var volume = GuestVolume(
            volumeID: "0a1b2c3d-0000-4000-8000-000000000009", device: "/dev/vdb", driverType: "local",
            path: "/var/lib/stratus/volumes/volume-1", format: "qcow2", readOnly: false)
        XCTAssertNil(QemuVolumes.throttle(volume))
        volume.qosSpecs = ["consumer": 1, "unknown_key": 5]
        XCTAssertNil(QemuVolumes.throttle(volume))
        volume.qosSpecs = [
            "total_bytes_sec": 1_048_576, "read_bytes_sec": 10, "write_bytes_sec_max": 20, "read_iops_sec": 100,
            "read_iops_sec_max": 50, "write_iops_sec": 200, "write_iops_sec_max": 400, "size_iops_sec": 4096,
        ]
        XCTAssertEqual(
            QemuVolumes.throttle(volume),
            [
                "id": "disk-0a1b2c3d000040008000/virtio-backend", "bps": 1_048_576, "bps_rd": 0, "bps_wr": 0,
                "iops": 0,
                "iops_rd": 100, "iops_wr": 200, "iops_wr_max": 400, "iops_size": 4096,
            ])
    }

    func testNoQEMUIsAnError() async throws {
        do {
            _ = try await QMP.execute(socket: "/nonexistent/qmp.sock", "query-status")
            XCTFail("connecting to nothing fails")
        } catch let error as DriverError {
            XCTAssertTrue(error.description.contains("cannot connect"), error.description)
        }
    }
}
