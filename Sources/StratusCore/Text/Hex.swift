extension Sequence where Element == UInt8 {
    /// Lowercase hex digits, two per byte, joined by `separator` (String(format:) is slow).
    public func hexEncoded(separator: String = "") -> String {
        let separatorBytes = Array(separator.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(underestimatedCount * (2 + separatorBytes.count))
        for byte in self {
            if !separatorBytes.isEmpty, !out.isEmpty { out.append(contentsOf: separatorBytes) }
            out.append(hexDigit(byte >> 4))
            out.append(hexDigit(byte & 0x0f))
        }
        return String(decoding: out, as: UTF8.self)
    }
}

@inline(__always)
private func hexDigit(_ nibble: UInt8) -> UInt8 {
    nibble < 10 ? nibble + 0x30 : nibble + 0x57
}
