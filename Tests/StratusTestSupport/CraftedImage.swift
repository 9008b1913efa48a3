import Foundation

/// Minimal headers of each format, built the way their specifications lay them out.
public enum CraftedImage {
    public static func qcow2(
        size: UInt64, version: UInt64 = 3, backingFile: String? = nil, dataFile: String? = nil,
        dataFileFeature: Bool = false, incompatibleFeatures: UInt64 = 0
    ) -> [UInt8] {
        var bytes = Array(repeating: UInt8(0), count: 1024)
        bytes.replaceSubrange(0..<4, with: [0x51, 0x46, 0x49, 0xFB])
        bytes.put(version, at: 4, width: 4, bigEndian: true)
        bytes.put(16, at: 20, width: 4, bigEndian: true)  // 64 KiB clusters
        bytes.put(size, at: 24, width: 8, bigEndian: true)
        bytes.put(incompatibleFeatures | (dataFileFeature ? 1 << 2 : 0), at: 72, width: 8, bigEndian: true)
        bytes.put(4, at: 96, width: 4, bigEndian: true)
        bytes.put(104, at: 100, width: 4, bigEndian: true)
        if let dataFile {
            bytes.put(0x4441_5441, at: 104, width: 4, bigEndian: true)
            bytes.put(UInt64(dataFile.utf8.count), at: 108, width: 4, bigEndian: true)
            bytes.replaceSubrange(112..<112 + dataFile.utf8.count, with: dataFile.utf8)
        }
        if let backingFile {
            bytes.put(768, at: 8, width: 8, bigEndian: true)
            bytes.put(UInt64(backingFile.utf8.count), at: 16, width: 4, bigEndian: true)
            bytes.replaceSubrange(768..<768 + backingFile.utf8.count, with: backingFile.utf8)
        }
        return bytes
    }

    public static func vmdkDescriptor(createType: String, extent: String) -> String {
        """
        # Disk DescriptorFile
        version=1
        CID=7e5b80a7
        parentCID=ffffffff
        createType="\(createType)"

        # Extent description
        \(extent)

        # The Disk Data Base
        #DDB

        ddb.virtualHWVersion = "4"
        ddb.geometry.cylinders = "2"

        """
    }

    /// A hosted sparse extent header, its descriptor in the next sector.
    public static func vmdk(
        sectors: UInt64, extent: String, createType: String = "monolithicSparse", grainDirectory: UInt64 = 21
    ) -> [UInt8] {
        var bytes = Array(repeating: UInt8(0), count: 1024)
        bytes.replaceSubrange(0..<4, with: "KDMV".utf8)
        bytes.put(1, at: 4, width: 4)
        bytes.put(3, at: 8, width: 4)
        bytes.put(sectors, at: 12, width: 8)
        bytes.put(128, at: 20, width: 8)
        bytes.put(1, at: 28, width: 8)
        bytes.put(1, at: 36, width: 8)
        bytes.put(512, at: 44, width: 4)
        bytes.put(grainDirectory, at: 56, width: 8)
        let descriptor = Array(vmdkDescriptor(createType: createType, extent: extent).utf8)
        bytes.replaceSubrange(512..<512 + descriptor.count, with: descriptor)
        return bytes
    }

    /// A streamOptimized VMDK whose grain directory is in the footer: footer marker, footer, end of stream.
    public static func streamOptimizedVMDK(footerGrainDirectory: UInt64) -> [UInt8] {
        let extent = #"RW 2048 SPARSE "disk.vmdk""#
        var marker = Array(repeating: UInt8(0), count: 512)
        marker.put(3, at: 12, width: 4)
        let head = vmdk(sectors: 2048, extent: extent, createType: "streamOptimized", grainDirectory: .max)
        let foot = vmdk(
            sectors: 2048, extent: extent, createType: "streamOptimized", grainDirectory: footerGrainDirectory)
        return head + Array(repeating: 0, count: 512) + marker + foot.prefix(512) + Array(repeating: 0, count: 512)
    }

    public static func vhdFooter(size: UInt64) -> [UInt8] {
        var bytes = Array(repeating: UInt8(0), count: 512)
        bytes.replaceSubrange(0..<8, with: "conectix".utf8)
        bytes.put(size, at: 40, width: 8, bigEndian: true)
        bytes.put(size, at: 48, width: 8, bigEndian: true)
        return bytes
    }

    /// Identifier, region table at 192 KiB pointing at a metadata region at 256 KiB, whose table
    /// points at the virtual disk size 64 KiB into the region.
    public static func vhdx(size: UInt64) -> [UInt8] {
        var bytes = Array(repeating: UInt8(0), count: 320 * 1024 + 512)
        bytes.replaceSubrange(0..<8, with: "vhdxfile".utf8)
        let regions = 192 * 1024
        bytes.replaceSubrange(regions..<regions + 4, with: "regi".utf8)
        bytes.put(2, at: regions + 8, width: 4)
        bytes.replaceSubrange(regions + 16..<regions + 32, with: guid("2DC27766-F623-4200-9D64-115E9BFD4A08"))
        bytes.put(1 << 20, at: regions + 32, width: 8)
        bytes.replaceSubrange(regions + 48..<regions + 64, with: guid("8B7CA206-4790-4B9A-B8FE-575F050F886E"))
        bytes.put(256 * 1024, at: regions + 64, width: 8)
        bytes.put(1 << 20, at: regions + 72, width: 4)
        let metadata = 256 * 1024
        bytes.replaceSubrange(metadata..<metadata + 8, with: "metadata".utf8)
        bytes.put(2, at: metadata + 10, width: 2)
        bytes.replaceSubrange(metadata + 32..<metadata + 48, with: guid("CAA16737-FA36-4D43-B3B6-33F0AA44E76B"))
        bytes.put(64 * 1024 + 8, at: metadata + 48, width: 4)
        bytes.replaceSubrange(metadata + 64..<metadata + 80, with: guid("2FA54224-CD1B-4876-B211-5DBED83BF4B8"))
        bytes.put(64 * 1024, at: metadata + 80, width: 4)
        bytes.put(8, at: metadata + 84, width: 4)
        bytes.put(size, at: metadata + 64 * 1024, width: 8)
        return bytes
    }

    public static func vdi(size: UInt64) -> [UInt8] {
        var bytes = Array(repeating: UInt8(0), count: 1024)
        bytes.replaceSubrange(0..<40, with: "<<< Oracle VM VirtualBox Disk Image >>>\n".utf8)
        bytes.put(0xBEDA_107F, at: 0x40, width: 4)
        bytes.put(size, at: 0x170, width: 8)
        return bytes
    }

    /// An empty system area, then a primary volume descriptor with 2 KiB blocks.
    public static func iso(blocks: UInt64) -> [UInt8] {
        var bytes = Array(repeating: UInt8(0), count: 36 * 1024)
        let descriptor = 32 * 1024
        bytes[descriptor] = 1
        bytes.replaceSubrange(descriptor + 1..<descriptor + 6, with: "CD001".utf8)
        bytes[descriptor + 6] = 1
        bytes.put(blocks, at: descriptor + 80, width: 4)
        bytes.put(blocks, at: descriptor + 84, width: 4, bigEndian: true)
        bytes.put(2048, at: descriptor + 128, width: 2)
        bytes.put(2048, at: descriptor + 130, width: 2, bigEndian: true)
        return bytes
    }

    /// A protective MBR with one 0xEE partition from LBA 1, and the GPT header signature at LBA 1.
    public static func gpt(size: Int) -> [UInt8] {
        var bytes = Array(repeating: UInt8(0), count: size)
        let entry = 446
        bytes.replaceSubrange(entry + 1..<entry + 8, with: [0x00, 0x02, 0x00, 0xEE, 0xFF, 0xFF, 0xFF])
        bytes.put(1, at: entry + 8, width: 4)
        bytes.put(UInt64(size / 512 - 1), at: entry + 12, width: 4)
        bytes.replaceSubrange(510..<512, with: [0x55, 0xAA])
        bytes.replaceSubrange(512..<520, with: "EFI PART".utf8)
        return bytes
    }

    /// A Microsoft GUID as stored: the first three fields little-endian, the rest as written.
    public static func guid(_ text: String) -> [UInt8] {
        let groups = text.split(separator: "-").map { group in
            stride(from: 0, to: group.count, by: 2).map { offset -> UInt8 in
                let start = group.index(group.startIndex, offsetBy: offset)
                return UInt8(group[start..<group.index(start, offsetBy: 2)], radix: 16) ?? 0
            }
        }
        return groups.enumerated().flatMap { index, bytes in index < 3 ? bytes.reversed() : bytes }
    }
}

extension [UInt8] {
    /// Writes the low `width` bytes of `value` at `offset`.
    mutating func put(_ value: UInt64, at offset: Int, width: Int, bigEndian: Bool = false) {
        for index in 0..<width {
            let shift = UInt64(bigEndian ? width - 1 - index : index) * 8
            self[offset + index] = UInt8(truncatingIfNeeded: value >> shift)
        }
    }
}
