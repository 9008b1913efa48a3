/// The disk size an image presents to a guest, read from the format's header (Glance's
/// `virtual_size`). Raw and ISO images are their own size; unknown layouts give nil.
enum VirtualSize {
    static func of(format: String?, size: Int64, head: [UInt8], tail: [UInt8]) -> Int64? {
        switch format {
        case "raw", "iso": return size
        case "qcow2": return qcow2(head)
        case "vmdk": return vmdk(head)
        case "vhd": return vhd(head) ?? vhd(tail)
        case "vhdx": return nil
        default: return nil
        }
    }

    /// `QFI\xfb`, then the virtual size as a big-endian UInt64 at offset 24.
    static func qcow2(_ head: [UInt8]) -> Int64? {
        guard head.count >= 32, head[0..<4] == [0x51, 0x46, 0x49, 0xFB] else { return nil }
        return Int64(bitPattern: bigEndian(head, at: 24))
    }

    /// Sparse extent header `KDMV`, capacity in 512-byte sectors as a little-endian UInt64 at 12.
    static func vmdk(_ head: [UInt8]) -> Int64? {
        guard head.count >= 20, head[0..<4] == [0x4B, 0x44, 0x4D, 0x56] else { return nil }
        var sectors: UInt64 = 0
        for i in (12..<20).reversed() { sectors = sectors << 8 | UInt64(head[i]) }
        return Int64(bitPattern: sectors &* 512)
    }

    /// The 512-byte footer (`conectix`, copied at the start of dynamic disks): current size at 48.
    static func vhd(_ bytes: [UInt8]) -> Int64? {
        guard bytes.count >= 56, Array(bytes[0..<8]) == Array("conectix".utf8) else { return nil }
        return Int64(bitPattern: bigEndian(bytes, at: 48))
    }

    private static func bigEndian(_ bytes: [UInt8], at offset: Int) -> UInt64 {
        var value: UInt64 = 0
        for i in offset..<offset + 8 { value = value << 8 | UInt64(bytes[i]) }
        return value
    }
}
