import Foundation
import HTTPTypes
import NIOCore
import StratusCore
import StratusTestSupport
import XCTest

@testable import Image

/// The format inspector at the Image service's door: crafted images are refused on upload,
/// stage and import, and leave no data behind; clean ones get their header's virtual size.
final class ImageFormatFlowTests: XCTestCase {
    static let megabyte: UInt64 = 1 << 20
    static let noise = (0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 3) }

    func testUnsafeOrMislabelledDataIsRefused() async throws {
        let cloud = try await ImageTestCloud.make()
        try await cloud.run { client in
            let crafted: [(format: String, what: String, bytes: [UInt8])] = [
                (
                    "qcow2", "a qcow2 backed by a host file",
                    CraftedImage.qcow2(size: Self.megabyte, backingFile: "/etc/shadow")
                ),
                (
                    "qcow2", "a qcow2 with an external data file",
                    CraftedImage.qcow2(size: Self.megabyte, dataFile: "/dev/sda", dataFileFeature: true)
                ),
                ("raw", "a raw image with a qcow2 header", CraftedImage.qcow2(size: Self.megabyte)),
                (
                    "vmdk", "a vmdk with an external extent",
                    CraftedImage.vmdk(sectors: 2048, extent: #"RW 2048 FLAT "/etc/shadow" 0"#)
                ),
                ("qcow2", "a truncated qcow2", Array(CraftedImage.qcow2(size: Self.megabyte).prefix(20))),
                ("qcow2", "bytes of no format called qcow2", Self.noise),
            ]
            for image in crafted {
                let fields: JSON = ["disk_format": .string(image.format), "container_format": "bare"]
                let id = try await client.createImage(fields)
                let upload = try await client.call(.put, "/v2/images/\(id)/file", data: ByteBuffer(bytes: image.bytes))
                XCTAssertEqual(upload.status, .badRequest, "\(image.what): \(upload.text)")
                let status = try await client.image(id)["status"]
                XCTAssertEqual(status, "queued", image.what)
            }
            let staged = try await client.createImage(["disk_format": "qcow2", "container_format": "bare"])
            let backed = CraftedImage.qcow2(size: Self.megabyte, backingFile: "/etc/passwd")
            let stage = try await client.call(.put, "/v2/images/\(staged)/stage", data: ByteBuffer(bytes: backed))
            XCTAssertEqual(stage.status, .badRequest, stage.text)
            XCTAssertEqual(cloud.storedFiles(), [], "refused data is not kept")

            let good = try await client.createImage(["disk_format": "qcow2", "container_format": "bare"])
            let clean = CraftedImage.qcow2(size: 10 << 30)
            let upload = try await client.call(.put, "/v2/images/\(good)/file", data: ByteBuffer(bytes: clean))
            XCTAssertEqual(upload.status, .noContent, upload.text)
            let image = try await client.image(good)
            XCTAssertEqual(image["virtual_size"]?.intValue, 10 << 30)
            // Kernels, ramdisks and AMIs cannot be told from raw data; other containers are not inspected.
            for (disk, container) in [("ami", "bare"), ("aki", "aki"), ("qcow2", "ovf")] {
                let fields: JSON = ["disk_format": .string(disk), "container_format": .string(container)]
                let id = try await client.createImage(fields)
                let reply = try await client.call(.put, "/v2/images/\(id)/file", data: ByteBuffer(bytes: Self.noise))
                XCTAssertEqual(reply.status, .noContent, "\(disk) in \(container): \(reply.text)")
            }
        }
    }

    func testAMismatchCanBeAllowedButNeverAnUnsafeImage() async throws {
        let cloud = try await ImageTestCloud.make(settings: ["require_image_format_match": "false"])
        try await cloud.run { client in
            let id = try await client.createImage(["disk_format": "qcow2", "container_format": "bare"])
            let reply = try await client.call(.put, "/v2/images/\(id)/file", data: ByteBuffer(bytes: Self.noise))
            XCTAssertEqual(reply.status, .noContent, reply.text)
            let unsafe = try await client.createImage(["disk_format": "raw", "container_format": "bare"])
            let backed = CraftedImage.qcow2(size: Self.megabyte, backingFile: "/etc/shadow")
            let refused = try await client.call(.put, "/v2/images/\(unsafe)/file", data: ByteBuffer(bytes: backed))
            XCTAssertEqual(refused.status, .badRequest, refused.text)
        }
    }
}
