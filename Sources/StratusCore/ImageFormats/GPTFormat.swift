/// Partitioned disks: an MBR (boot signature 0x55AA at 510), usually the protective MBR of a GPT
/// whose `EFI PART` header follows at LBA 1. As in oslo, plain MBR disks count as "gpt" too.
struct GPTFormat: InspectableFormat {
    static let name = "gpt"

    private static let bootSignature: UInt16 = 0xAA55
    private static let partitionTableOffset = 446
    private static let partitionEntryLength = 16
    private static let protectivePartitionType: UInt8 = 0xEE
    private static let fixedDiskMedia: UInt8 = 0xF8
    private static let gptSignature = Array("EFI PART".utf8)
    /// LBA 1 on disks with 512-byte and with 4 KiB sectors.
    private static let gptHeaderOffsets: [Int64] = [512, 4096]

    private let mbr: [UInt8]
    private let entries: [PartitionEntry]
    private let dataSize: Int64
    private let hasGPTHeader: Bool

    init(reading data: some ImageDataReader) async throws {
        mbr = try await data.read(at: 0, length: 512)
        entries = (0..<4).map { [mbr] index in
            PartitionEntry(
                mbr.bytes(
                    at: Self.partitionTableOffset + index * Self.partitionEntryLength,
                    length: Self.partitionEntryLength))
        }
        dataSize = data.size
        var found = false
        for offset in Self.gptHeaderOffsets where !found {
            found = try await data.read(at: offset, length: 8) == Self.gptSignature
        }
        hasGPTHeader = found
    }

    var matches: Bool { mbr.count == 512 && mbr.uint16LE(at: 510) == Self.bootSignature && !isFATBootSector }

    /// A partitioned disk is its own size.
    var virtualSize: Int64 { matches ? dataSize : 0 }

    func safetyCheck() -> [String: String] {
        guard matches else { return [:] }
        var failures: [String: String] = [:]
        failures["mbr"] = partitionTableViolation
        if entries.contains(where: { $0.type == Self.protectivePartitionType }), !hasGPTHeader {
            failures["gpt"] = "GPT header not found at LBA 1"
        }
        return failures
    }

    /// A FAT volume boot record carries the same signature; two FATs on fixed-disk media give it away.
    private var isFATBootSector: Bool { mbr.byte(at: 0x10) == 2 && mbr.byte(at: 0x15) == Self.fixedDiskMedia }

    /// A protective MBR holds exactly one 0xEE partition from LBA 1; a plain MBR at least one partition.
    private var partitionTableViolation: String? {
        var used: [Int] = []
        for (index, entry) in entries.enumerated() {
            if entry.bootFlag != 0x00 && entry.bootFlag != 0x80 { return "MBR PTE \(index) has invalid boot flag" }
            if entry.type != 0 { used.append(index) }
            if entry.type == Self.protectivePartitionType {
                if entry.startCHS != [0x00, 0x02, 0x00] { return "GPT MBR has invalid start CHS" }
                if entry.startLBA != 1 { return "GPT MBR has invalid start LBA" }
            }
        }
        if entries.contains(where: { $0.type == Self.protectivePartitionType }), used != [0] {
            return "GPT MBR defines invalid extra partitions"
        }
        return used.isEmpty ? "GPT MBR has no partitions defined" : nil
    }
}

/// One of the four 16-byte entries of an MBR partition table.
private struct PartitionEntry {
    let bootFlag: UInt8
    let startCHS: [UInt8]
    let type: UInt8
    let startLBA: UInt32

    init(_ bytes: [UInt8]) {
        bootFlag = bytes.byte(at: 0)
        startCHS = bytes.bytes(at: 1, length: 3)
        type = bytes.byte(at: 4)
        startLBA = bytes.uint32LE(at: 8)
    }
}
