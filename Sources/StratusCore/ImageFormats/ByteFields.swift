/// The fixed-width fields of on-disk headers, read out of captured bytes.
///
/// A field that runs past the end of the bytes reads as zero, so a truncated header never traps;
/// each format checks that it captured its whole region before trusting the fields in it.
extension [UInt8] {
    func byte(at offset: Int) -> UInt8 { indices.contains(offset) ? self[offset] : 0 }
    func uint16LE(at offset: Int) -> UInt16 { unsigned(at: offset, bigEndian: false) }
    func uint32LE(at offset: Int) -> UInt32 { unsigned(at: offset, bigEndian: false) }
    func uint64LE(at offset: Int) -> UInt64 { unsigned(at: offset, bigEndian: false) }
    func uint32BE(at offset: Int) -> UInt32 { unsigned(at: offset, bigEndian: true) }
    func uint64BE(at offset: Int) -> UInt64 { unsigned(at: offset, bigEndian: true) }

    /// Whether the bytes at `offset` are exactly `expected`.
    func hasBytes(_ expected: [UInt8], at offset: Int) -> Bool {
        guard offset >= 0, offset <= count - expected.count else { return false }
        return self[offset..<offset + expected.count].elementsEqual(expected)
    }

    /// The bytes of `offset..<offset + length` that were captured.
    func bytes(at offset: Int, length: Int) -> [UInt8] {
        let start = Swift.min(Swift.max(offset, 0), count)
        let end = Swift.min(start + Swift.max(length, 0), count)
        return Array(self[start..<end])
    }

    private func unsigned<Value: FixedWidthInteger & UnsignedInteger>(at offset: Int, bigEndian: Bool) -> Value {
        let width = Value.bitWidth / 8
        guard offset >= 0, offset <= count - width else { return 0 }
        var value: Value = 0
        for index in 0..<width {
            value = value << 8 | Value(self[bigEndian ? offset + index : offset + width - 1 - index])
        }
        return value
    }
}

extension UInt64 {
    /// `self × factor` as a size in bytes; `Int64.max` when a hostile header makes it overflow.
    func sizeMultiplied(by factor: UInt64) -> Int64 {
        let (product, overflow) = multipliedReportingOverflow(by: factor)
        return overflow ? .max : Int64(clamping: product)
    }
}
