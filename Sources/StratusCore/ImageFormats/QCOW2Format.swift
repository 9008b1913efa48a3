/// QEMU copy-on-write images: a big-endian header that starts `QFI\xfb`.
///
/// qemu follows a backing file or an external data file named in the header wherever it points
/// (the 2024 CVEs read host files that way), so both are refused, and so are incompatible features
/// this inspector does not know, since they change how qemu reads the image.
struct QCOW2Format: InspectableFormat {
    static let name = "qcow2"

    private static let magic: [UInt8] = [0x51, 0x46, 0x49, 0xFB]
    /// As oslo, the header counts once 512 bytes are read; a shorter file is not a qcow2.
    private static let headerLength = 512
    /// Version 2 headers stop here; version 3 ones give their length at offset 100.
    private static let version2HeaderLength = 72
    /// Incompatible feature bits 0–3 (dirty, corrupt, external data file, compression type).
    private static let knownIncompatibleFeatures: UInt64 = 0x0F
    private static let externalDataFileFeature: UInt64 = 1 << 2
    /// Header extension `DATA` holds the external data file's name.
    private static let dataFileExtension: UInt32 = 0x4441_5441

    private let header: [UInt8]
    private let extensionTypes: [UInt32]

    init(reading data: some ImageDataReader) async throws {
        header = try await data.read(at: 0, length: Self.headerLength)
        guard header.count == Self.headerLength, header.hasBytes(Self.magic, at: 0) else {
            extensionTypes = []
            return
        }
        extensionTypes = try await Self.readExtensionTypes(data, header: header)
    }

    var matches: Bool { header.count == Self.headerLength && header.hasBytes(Self.magic, at: 0) }

    var virtualSize: Int64 { matches ? Int64(clamping: header.uint64BE(at: 24)) : 0 }

    func safetyCheck() -> [String: String] {
        guard matches else { return [:] }
        var failures: [String: String] = [:]
        if header.uint64BE(at: 8) != 0 {
            failures["backing_file"] = "Image has a backing file"
        }
        if version == 3, incompatibleFeatures & Self.externalDataFileFeature != 0 {
            failures["data_file"] = "Image has data_file set"
        } else if extensionTypes.contains(Self.dataFileExtension) {
            failures["data_file"] = "Image names an external data file"
        }
        if let reason = unknownFeatures {
            failures["unknown_features"] = reason
        }
        return failures
    }

    private var version: UInt32 { header.uint32BE(at: 4) }

    /// Version 2 has no feature fields: its header extensions start where they would be.
    private var incompatibleFeatures: UInt64 { version == 3 ? header.uint64BE(at: 72) : 0 }

    private var unknownFeatures: String? {
        switch version {
        case 2: nil
        case 3: incompatibleFeatures & ~Self.knownIncompatibleFeatures == 0 ? nil : "Unknown QCOW2 features found"
        default: "Unsupported qcow2 version"
        }
    }

    /// The types of the header extensions, which run from the end of the header to the end of
    /// the first cluster as (type, length, data padded to 8 bytes), until a type of 0.
    private static func readExtensionTypes(_ data: some ImageDataReader, header: [UInt8]) async throws -> [UInt32] {
        let version = header.uint32BE(at: 4)
        let start = version >= 3 ? max(Int(header.uint32BE(at: 100)), version2HeaderLength) : version2HeaderLength
        // qemu refuses cluster sizes outside 512 bytes ... 2 MiB; stay within them.
        let clusterSize = 1 << min(max(Int(header.uint32BE(at: 20)), 9), 21)
        guard start < clusterSize else { return [] }
        let area = try await data.read(at: Int64(start), length: clusterSize - start)
        var types: [UInt32] = []
        var offset = 0
        while offset + 8 <= area.count {
            let type = area.uint32BE(at: offset)
            if type == 0 { break }
            types.append(type)
            offset += 8 + (Int(area.uint32BE(at: offset + 4)) + 7) / 8 * 8
        }
        return types
    }
}
