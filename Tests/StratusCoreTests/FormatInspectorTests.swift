import StratusTestSupport
import XCTest

@testable import StratusCore

final class FormatInspectorTests: XCTestCase {
    func testRawBlobIsRaw() async throws {
        let blob = (0..<5000).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 3) }
        let result = try await inspect(blob)
        XCTAssertEqual(result, clean("raw", size: 5000))
    }

    func testCleanQCOW2() async throws {
        let result = try await inspect(CraftedImage.qcow2(size: 1 << 30))
        XCTAssertEqual(result, clean("qcow2", size: 1 << 30))
    }

    func testQCOW2BackingFileIsRefused() async throws {
        let result = try await inspect(CraftedImage.qcow2(size: 1 << 20, backingFile: "/etc/shadow"))
        XCTAssertEqual(result.format, "qcow2")
        XCTAssertEqual(result.failures["backing_file"], "Image has a backing file")
    }

    func testQCOW2ExternalDataFileIsRefused() async throws {
        let flagged = try await inspect(
            CraftedImage.qcow2(size: 1 << 20, dataFile: "/etc/shadow", dataFileFeature: true))
        XCTAssertEqual(flagged.failures["data_file"], "Image has data_file set")
        let extensionOnly = try await inspect(CraftedImage.qcow2(size: 1 << 20, dataFile: "/etc/shadow"))
        XCTAssertNotNil(extensionOnly.failures["data_file"])
    }

    func testQCOW2UnknownFeaturesAndVersionsAreRefused() async throws {
        let features = try await inspect(CraftedImage.qcow2(size: 1 << 20, incompatibleFeatures: 1 << 8))
        XCTAssertEqual(features.failures["unknown_features"], "Unknown QCOW2 features found")
        let version = try await inspect(CraftedImage.qcow2(size: 1 << 20, version: 1))
        XCTAssertEqual(version.failures["unknown_features"], "Unsupported qcow2 version")
    }

    func testTruncatedQCOW2IsNotACleanQCOW2() async throws {
        let result = try await inspect(Array(CraftedImage.qcow2(size: 1 << 20).prefix(20)))
        XCTAssertFalse(result.format == "qcow2" && result.failures.isEmpty, "\(result)")
    }

    func testCleanMonolithicSparseVMDK() async throws {
        let result = try await inspect(CraftedImage.vmdk(sectors: 2048, extent: #"RW 2048 SPARSE "disk.vmdk""#))
        XCTAssertEqual(result, clean("vmdk", size: 2048 * 512))
    }

    func testVMDKExtentNamingAnotherFileIsRefused() async throws {
        let result = try await inspect(CraftedImage.vmdk(sectors: 2048, extent: #"RW 2048 FLAT "/etc/shadow" 0"#))
        XCTAssertEqual(result.format, "vmdk")
        XCTAssertEqual(result.failures["descriptor"], "Invalid extent filenames found")
    }

    func testVMDKTextDescriptorOfAnotherSubformatIsRefused() async throws {
        let text = CraftedImage.vmdkDescriptor(createType: "monolithicFlat", extent: #"RW 2048 FLAT "/etc/shadow" 0"#)
        let result = try await inspect(Array(text.utf8))
        XCTAssertEqual(result.format, "vmdk")
        XCTAssertEqual(result.failures["descriptor"], "Unsupported subformat")
    }

    func testStreamOptimizedVMDKFooterIsChecked() async throws {
        let clean = try await inspect(CraftedImage.streamOptimizedVMDK(footerGrainDirectory: 128))
        XCTAssertEqual(clean.failures, [:])
        let chained = try await inspect(CraftedImage.streamOptimizedVMDK(footerGrainDirectory: .max))
        XCTAssertEqual(chained.failures["footer"], "Footer indicates another footer")
    }

    func testVHD() async throws {
        let dynamic = try await inspect(CraftedImage.vhdFooter(size: 1 << 30) + Array(repeating: 0, count: 1024))
        XCTAssertEqual(dynamic, clean("vhd", size: 1 << 30))
        let fixed = try await inspect(Array(repeating: 1, count: 4096) + CraftedImage.vhdFooter(size: 4096))
        XCTAssertEqual(fixed.format, "vhd")
        XCTAssertEqual(fixed.virtualSize, 4096)
    }

    func testVHDX() async throws {
        let result = try await inspect(CraftedImage.vhdx(size: 3 << 30))
        XCTAssertEqual(result, clean("vhdx", size: 3 << 30))
    }

    func testVHDXWithoutRegionTableCannotBeChecked() async throws {
        let result = try await inspect(Array(CraftedImage.vhdx(size: 1 << 30).prefix(4096)))
        XCTAssertEqual(result.format, "vhdx")
        XCTAssertNotNil(result.failures["format"])
    }

    func testVDI() async throws {
        let result = try await inspect(CraftedImage.vdi(size: 5 << 20))
        XCTAssertEqual(result, clean("vdi", size: 5 << 20))
    }

    func testISO() async throws {
        let result = try await inspect(CraftedImage.iso(blocks: 100))
        XCTAssertEqual(result, clean("iso", size: 100 * 2048))
    }

    func testGPT() async throws {
        let result = try await inspect(CraftedImage.gpt(size: 1 << 20))
        XCTAssertEqual(result, clean("gpt", size: 1 << 20))
    }

    func testGPTWithExtraPartitionsIsRefused() async throws {
        var disk = CraftedImage.gpt(size: 1 << 20)
        disk[446 + 16 + 4] = 0x83
        let result = try await inspect(disk)
        XCTAssertEqual(result.failures["mbr"], "GPT MBR defines invalid extra partitions")
    }

    func testBootableISOWithGPTIsAnISO() async throws {
        var disk = CraftedImage.iso(blocks: 100)
        disk.replaceSubrange(0..<1024, with: CraftedImage.gpt(size: 1 << 20).prefix(1024))
        let result = try await inspect(disk)
        XCTAssertEqual(result.matched, ["iso", "gpt"])
        XCTAssertEqual(result.format, "iso")
        XCTAssertEqual(result.virtualSize, 100 * 2048)
        XCTAssertFalse(result.isAmbiguous)
    }

    func testQCOW2HiddenInISOMatchesBoth() async throws {
        var disk = CraftedImage.iso(blocks: 100)
        disk.replaceSubrange(0..<512, with: CraftedImage.qcow2(size: 1 << 20).prefix(512))
        let result = try await inspect(disk)
        XCTAssertEqual(result.matched.count, 2)
        XCTAssertEqual(result.matched, ["qcow2", "iso"])
        XCTAssertTrue(result.isAmbiguous)
    }

    /// A single-format verdict with no failures.
    private func clean(_ format: String, size: Int64) -> ImageInspection {
        ImageInspection(format: format, virtualSize: size, matched: [format], failures: [:])
    }

    private func inspect(_ bytes: [UInt8]) async throws -> ImageInspection {
        try await FormatInspector.inspect(MemoryImageData(bytes: bytes))
    }
}
