/// Hyper-V VHDX disks: the identifier `vhdxfile`, a region table at 192 KiB locating the metadata
/// region, and in the metadata table an item holding the virtual disk size (little-endian).
struct VHDXFormat: InspectableFormat {
    static let name = "vhdx"

    private static let identifier = Array("vhdxfile".utf8)
    private static let regionTableOffset: Int64 = 192 * 1024
    private static let regionTableLength = 64 * 1024
    private static let regionTableSignature: UInt32 = 0x6967_6572  // "regi"
    private static let metadataSignature = Array("metadata".utf8)
    private static let metadataRegionGUID = "8B7CA206-4790-4B9A-B8FE-575F050F886E"
    private static let virtualDiskSizeGUID = "2FA54224-CD1B-4876-B211-5DBED83BF4B8"
    /// Table headers and entries are 32 bytes; both tables hold at most 2047 entries.
    private static let entryLength = 32
    private static let maxEntries = 2047
    private static let metadataTableLength = 2048 * 32

    private let matchesIdentifier: Bool
    private var diskSize: Int64 = 0
    /// Why the virtual disk size could not be found.
    private var malformation: String?

    init(reading data: some ImageDataReader) async throws {
        matchesIdentifier = try await data.read(at: 0, length: 32).hasBytes(Self.identifier, at: 0)
        guard matchesIdentifier else { return }
        do {
            diskSize = try await Self.readVirtualDiskSize(data)
        } catch let error as Malformation {
            malformation = error.reason
        }
    }

    var matches: Bool { matchesIdentifier }

    var virtualSize: Int64 { diskSize }

    /// Nothing in a VHDX names another file: there is no meaningful safety check beyond finding
    /// the size where the region and metadata tables say it is.
    func safetyCheck() -> [String: String] {
        guard matches, let malformation else { return [:] }
        return [Self.formatCheck: malformation]
    }

    private struct Malformation: Error {
        let reason: String
    }

    private static func readVirtualDiskSize(_ data: some ImageDataReader) async throws -> Int64 {
        let metadataOffset = try await metadataRegionOffset(data)
        guard metadataOffset < data.size else { throw Malformation(reason: "Metadata region is missing") }
        let table = try await data.read(at: metadataOffset, length: metadataTableLength)
        guard table.count >= entryLength else { throw Malformation(reason: "Metadata region is incomplete") }
        guard table.hasBytes(metadataSignature, at: 0) else {
            throw Malformation(reason: "Invalid signature for metadata region")
        }
        let count = Int(table.uint16LE(at: 10))
        guard table.count >= entryLength * (count + 1) else {
            throw Malformation(reason: "Metadata table is incomplete")
        }
        guard count <= maxEntries else { throw Malformation(reason: "Metadata item count is \(count) (limit 2047)") }
        guard let entry = entryOffset(in: table, count: count, guid: virtualDiskSizeGUID) else {
            throw Malformation(reason: "Virtual disk size not found in metadata")
        }
        // Item offsets count from the start of the metadata region, not of the file.
        let item = try await data.read(at: metadataOffset + Int64(table.uint32LE(at: entry + 16)), length: 8)
        guard item.count == 8 else { throw Malformation(reason: "Virtual disk size is incomplete") }
        return Int64(clamping: item.uint64LE(at: 0))
    }

    private static func metadataRegionOffset(_ data: some ImageDataReader) async throws -> Int64 {
        let table = try await data.read(at: regionTableOffset, length: regionTableLength)
        guard table.count == regionTableLength else { throw Malformation(reason: "Region table is incomplete") }
        guard table.uint32LE(at: 0) == regionTableSignature else {
            throw Malformation(reason: "Region signature not found at 30000")
        }
        let count = Int(table.uint32LE(at: 8))
        guard count <= maxEntries else { throw Malformation(reason: "Region count is \(count) (limit 2047)") }
        // Region table entries follow a 16-byte table header.
        guard let entry = entryOffset(in: table, first: 16, count: count, guid: metadataRegionGUID) else {
            throw Malformation(reason: "Metadata region not found")
        }
        return Int64(clamping: table.uint64LE(at: entry + 16))
    }

    /// The offset of the first 32-byte table entry starting with `guid`.
    private static func entryOffset(in table: [UInt8], first: Int = 32, count: Int, guid: String) -> Int? {
        (0..<count).lazy.map { first + $0 * entryLength }.first { msGUID(in: table, at: $0) == guid }
    }

    /// A Microsoft GUID as text: three little-endian fields, then eight bytes as stored.
    private static func msGUID(in bytes: [UInt8], at offset: Int) -> String {
        let fields = [
            hex(UInt64(bytes.uint32LE(at: offset)), digits: 8),
            hex(UInt64(bytes.uint16LE(at: offset + 4)), digits: 4),
            hex(UInt64(bytes.uint16LE(at: offset + 6)), digits: 4),
            bytes.bytes(at: offset + 8, length: 2).map { hex(UInt64($0), digits: 2) }.joined(),
            bytes.bytes(at: offset + 10, length: 6).map { hex(UInt64($0), digits: 2) }.joined(),
        ]
        return fields.joined(separator: "-")
    }

    private static func hex(_ value: UInt64, digits: Int) -> String {
        let text = String(value, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, digits - text.count)) + text
    }
}
