/// VirtualBox disks: a 512-byte little-endian header, signature `0xbeda107f` at 0x40.
struct VDIFormat: InspectableFormat {
    static let name = "vdi"

    private static let signature: UInt32 = 0xBEDA_107F
    private static let headerLength = 512

    private let header: [UInt8]

    init(reading data: some ImageDataReader) async throws {
        header = try await data.read(at: 0, length: Self.headerLength)
    }

    var matches: Bool { header.count == Self.headerLength && header.uint32LE(at: 0x40) == Self.signature }

    /// The disk size in bytes at 0x170.
    var virtualSize: Int64 { matches ? Int64(clamping: header.uint64LE(at: 0x170)) : 0 }

    /// Nothing in a VDI header names another file: the format has no meaningful safety check.
    func safetyCheck() -> [String: String] { [:] }
}
