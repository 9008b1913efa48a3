/// ISO 9660 and UDF images: after a 32 KiB system area, 2 KiB volume descriptors whose standard
/// identifier (`CD001`, `NSR02`, `NSR03`) follows the descriptor type byte.
struct ISOFormat: InspectableFormat {
    static let name = "iso"

    private static let descriptorOffset: Int64 = 32 * 1024
    private static let descriptorLength = 2048
    private static let identifiers = ["CD001", "NSR02", "NSR03"].map { Array($0.utf8) }
    private static let primaryVolumeDescriptor: UInt8 = 1

    /// The first volume descriptor, at 0x8000.
    private let descriptor: [UInt8]

    init(reading data: some ImageDataReader) async throws {
        descriptor = try await data.read(at: Self.descriptorOffset, length: Self.descriptorLength)
    }

    var matches: Bool {
        descriptor.count == Self.descriptorLength && Self.identifiers.contains { descriptor.hasBytes($0, at: 1) }
    }

    /// Volume space size (blocks) × logical block size, from a primary volume descriptor. Both
    /// fields are stored little- then big-endian; the little-endian halves are read.
    var virtualSize: Int64 {
        guard matches, descriptor.byte(at: 0) == Self.primaryVolumeDescriptor else { return 0 }
        let blocks = UInt64(descriptor.uint32LE(at: 80))
        return blocks.sizeMultiplied(by: UInt64(descriptor.uint16LE(at: 128)))
    }

    /// An ISO names no other file: the format has no meaningful safety check.
    func safetyCheck() -> [String: String] { [:] }
}
