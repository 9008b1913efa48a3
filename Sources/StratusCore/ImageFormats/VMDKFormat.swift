/// VMware disks: a little-endian sparse extent header `KDMV` followed by a text descriptor, or a
/// file that is only a text descriptor.
///
/// Only the single-file sub-formats (monolithicSparse, streamOptimized) are accepted: the others
/// are descriptors naming extent files, which qemu would open wherever they are.
struct VMDKFormat: InspectableFormat {
    static let name = "vmdk"

    private static let sparseMagic = Array("KDMV".utf8)
    /// qemu expects the embedded descriptor right after the header and no longer than 1 MiB - 1.
    private static let descriptorSector: UInt64 = 1
    private static let descriptorMaxSize = (1 << 20) - 1
    private static let minSparseHeader = 64
    /// streamOptimized writers that put the grain directory at the end repeat the header in a footer.
    private static let grainDirectoryAtEnd = UInt64.max
    /// Footer marker, footer and end-of-stream marker, 512 bytes each.
    private static let footerLength = 1536

    private let isSparse: Bool
    private let header: [UInt8]
    private var descriptor: VMDKDescriptor?
    private var footer: [UInt8]?
    /// Why a sparse header could not be followed to its descriptor.
    private var malformation: String?

    init(reading data: some ImageDataReader) async throws {
        header = try await data.read(at: 0, length: 512)
        isSparse = header.hasBytes(Self.sparseMagic, at: 0)
        if isSparse {
            try await readSparse(data)
        } else if header.count >= Self.minSparseHeader, header.allSatisfy(Self.isText) {
            descriptor = VMDKDescriptor(try await data.read(at: 0, length: Self.descriptorMaxSize))
        }
    }

    /// A text-only file is a VMDK when it declares a `createType`, as oslo decides.
    var matches: Bool { isSparse || descriptor?.createType != nil }

    var virtualSize: Int64 {
        guard isSparse, malformation == nil, let type = descriptor?.createType,
            VMDKDescriptor.supportedTypes.contains(type)
        else { return 0 }
        return SparseHeader(header).sectors.sizeMultiplied(by: 512)
    }

    func safetyCheck() -> [String: String] {
        guard matches else { return [:] }
        if let malformation { return [Self.formatCheck: malformation] }
        var failures: [String: String] = [:]
        if let descriptor {
            failures["descriptor"] = descriptor.violation
        } else {
            failures["descriptor"] = "No descriptor found"
        }
        if let footer {
            failures["footer"] = footerViolation(footer)
        }
        return failures
    }

    private mutating func readSparse(_ data: some ImageDataReader) async throws {
        guard header.count >= Self.minSparseHeader else {
            malformation = "Incomplete sparse header"
            return
        }
        let sparse = SparseHeader(header)
        guard (1...3).contains(sparse.version) else {
            malformation = "Unsupported format version \(sparse.version)"
            return
        }
        guard sparse.descriptorSector == Self.descriptorSector else {
            malformation = "Wrong descriptor location"
            return
        }
        let length = Int(min(sparse.descriptorSectors.sizeMultiplied(by: 512), Int64(Self.descriptorMaxSize)))
        let bytes = try await data.read(at: 512, length: length)
        guard bytes.count == length else {
            malformation = "Incomplete descriptor"
            return
        }
        descriptor = VMDKDescriptor(bytes)
        if sparse.grainDirectory == Self.grainDirectoryAtEnd {
            footer = try await data.readLast(Self.footerLength)
        }
    }

    /// The footer repeats the header (its grain directory now known) between a footer marker and
    /// an end-of-stream marker; anything else is data qemu would read differently than we did.
    private func footerViolation(_ footer: [UInt8]) -> String? {
        guard footer.count == Self.footerLength else { return "Footer is incomplete" }
        let head = SparseHeader(header)
        let foot = SparseHeader(footer.bytes(at: 512, length: 512))
        if head.signature != foot.signature { return "Header and footer signature do not match" }
        if head.version != foot.version { return "Header and footer versions do not match" }
        if head.descriptorSector != foot.descriptorSector || head.descriptorSectors != foot.descriptorSectors {
            return "Footer specifies a different descriptor than header"
        }
        if foot.grainDirectory == Self.grainDirectoryAtEnd { return "Footer indicates another footer" }
        let marker = footer.bytes(at: 0, length: 512)
        if marker.uint32LE(at: 8) != 0 || marker.uint32LE(at: 12) != 3 || marker[16...].contains(where: { $0 != 0 }) {
            return "Footer marker is invalid"
        }
        if footer[1024...].contains(where: { $0 != 0 }) { return "End-of-stream marker is invalid" }
        return nil
    }

    /// What oslo takes for text: printable ASCII and whitespace.
    private static func isText(_ byte: UInt8) -> Bool {
        (0x20...0x7E).contains(byte) || (0x09...0x0D).contains(byte) || (0x1C...0x1F).contains(byte)
    }
}

/// The fields of a hosted sparse extent header that the inspector compares.
private struct SparseHeader {
    let signature: [UInt8]
    let version: UInt32
    let sectors: UInt64
    let descriptorSector: UInt64
    let descriptorSectors: UInt64
    let grainDirectory: UInt64

    init(_ bytes: [UInt8]) {
        signature = bytes.bytes(at: 0, length: 4)
        version = bytes.uint32LE(at: 4)
        sectors = bytes.uint64LE(at: 12)
        descriptorSector = bytes.uint64LE(at: 28)
        descriptorSectors = bytes.uint64LE(at: 36)
        grainDirectory = bytes.uint64LE(at: 56)
    }
}
