import StratusCore
import XCTest

@testable import Compute

/// The `doc` column read into typed fields and written back unchanged.
final class InstanceDetailsTests: XCTestCase {
    func testStoredDocumentsRoundTrip() {
        let stored: [String: JSON] = [
            "flavor": ["id": "1", "name": "m1.tiny", "ram": 512, "extra_specs": ["hw:cpu_policy": "shared"]],
            "image": ["id": "img", "properties": ["hw_disk_bus": "virtio"]], "metadata": ["role": "web"],
            "key_name": "k", "key_data": "ssh-ed25519 AAAA", "user_data": "aGk=", "security_groups": ["default", "web"],
            "requested_networks": [["uuid": "net-1", "fixed_ip": "10.0.0.5"]], "requested_zone": "nova:host1",
            "config_drive": true, "access_ip_v4": "192.0.2.1", "access_ip_v6": "", "description": "a server",
            "launch_index": 2, "hostname": "vm-3", "disk_config": "AUTO", "block_devices": [["boot_index": 0]],
            "hints": ["group": "g"], "addresses": ["private": [["addr": "10.0.0.5", "version": 4]]],
            "request_id": "req-1", "fault": ["code": 500, "message": "boom"], "ports": ["p1", "p2"],
            "given_ports": ["p2"], "tried_hosts": ["h1"],
            "migration": "m-1", "new_flavor": ["id": "2"], "old_flavor": ["id": "1"], "old_vm_state": "active",
            "rebuild_from_state": "stopped", "password": "secret", "locked_reason": "maintenance",
            "shelved_image_id": "img-2", "shelved_at": "2026-12-06T07:00:00Z", "shelved_host": "h1",
            "volumes": [
                [
                    "volume_id": "vol-1", "device_name": "/dev/vdb", "delete_on_termination": false,
                    "source_type": "volume", "attachment_id": "att-1", "tag": "data",
                    "connection_info": [
                        "driver_volume_type": "local", "data": ["device_path": "/v/1", "format": "raw"],
                    ],
                ],
            ],
        ]
        let details = InstanceDetails(stored)
        XCTAssertEqual(details.metadata, ["role": "web"])
        XCTAssertEqual(details.givenPorts, ["p2"])
        XCTAssertEqual(details.launchIndex, 2)
        XCTAssertTrue(details.configDrive)
        XCTAssertEqual(details.document, stored, "every key the code writes is kept")
    }

    func testOlderDocumentsGetDefaults() {
        let details = InstanceDetails(["flavor": ["id": "1"], "description": .null, "fault": .null])
        XCTAssertEqual(details.securityGroups, ["default"])
        XCTAssertEqual(details.diskConfig, "MANUAL")
        XCTAssertNil(details.description)
        XCTAssertNil(details.fault)
        XCTAssertEqual(details.document["security_groups"], ["default"])
        XCTAssertNil(details.document["description"], "absent optionals are left out")
    }
}
