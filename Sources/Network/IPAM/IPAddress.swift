/// An IPv4 or IPv6 address as a 128-bit number, parsed and printed the way netaddr does
/// (IPv6 in RFC 5952 compressed form), so addresses compare and sort numerically.
struct IPAddress: Hashable, Comparable, Sendable, CustomStringConvertible {
    let value: UInt128
    let version: Int

    init(value: UInt128, version: Int) {
        self.value = value
        self.version = version
    }

    init?(_ text: some StringProtocol) {
        if text.contains(":") {
            guard let v = Self.parseV6(Substring(text)) else { return nil }
            self.init(value: v, version: 6)
        } else {
            guard let v = Self.parseV4(Substring(text)) else { return nil }
            self.init(value: UInt128(v), version: 4)
        }
    }

    var bits: Int { version == 4 ? 32 : 128 }

    static func < (a: IPAddress, b: IPAddress) -> Bool { (a.version, a.value) < (b.version, b.value) }

    func adding(_ n: UInt128) -> IPAddress { IPAddress(value: value &+ n, version: version) }

    var description: String {
        version == 4 ? Self.formatV4(UInt32(truncatingIfNeeded: value)) : Self.formatV6(value)
    }

    private static func parseV4(_ text: Substring) -> UInt32? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var result: UInt32 = 0
        for part in parts {
            let digits = part.allSatisfy { $0.isASCII && $0.isNumber }
            guard !part.isEmpty, part.count <= 3, digits, let n = UInt32(part), n <= 255 else { return nil }
            if part.count > 1 && part.first == "0" { return nil }  // no octal-looking octets
            result = result << 8 | n
        }
        return result
    }

    private static func parseV6(_ text: Substring) -> UInt128? {
        var text = text
        if let percent = text.firstIndex(of: "%") { text = text[..<percent] }  // zone id
        let halves = text.components(separatedBy: "::")
        guard halves.count <= 2 else { return nil }
        func groups(_ s: String) -> [UInt16]? {
            if s.isEmpty { return [] }
            var out: [UInt16] = []
            let parts = s.split(separator: ":", omittingEmptySubsequences: false)
            for (i, part) in parts.enumerated() {
                if i == parts.count - 1, part.contains(".") {
                    guard let v4 = parseV4(part) else { return nil }
                    out.append(UInt16(v4 >> 16))
                    out.append(UInt16(v4 & 0xffff))
                } else {
                    let hex = part.allSatisfy(\.isHexDigit)
                    guard !part.isEmpty, part.count <= 4, hex, let g = UInt16(part, radix: 16) else { return nil }
                    out.append(g)
                }
            }
            return out
        }
        guard let head = groups(halves[0]) else { return nil }
        var all: [UInt16]
        if halves.count == 2 {
            guard let tail = groups(halves[1]), head.count + tail.count <= 7 else { return nil }
            all = head + Array(repeating: 0, count: 8 - head.count - tail.count) + tail
        } else {
            guard head.count == 8 else { return nil }
            all = head
        }
        return all.reduce(UInt128(0)) { $0 << 16 | UInt128($1) }
    }

    static func formatV4(_ v: UInt32) -> String {
        "\(v >> 24).\(v >> 16 & 0xff).\(v >> 8 & 0xff).\(v & 0xff)"
    }

    static func formatV6(_ v: UInt128) -> String {
        let groups = (0..<8).map { UInt16(truncatingIfNeeded: v >> (112 - 16 * $0)) }
        // the longest run of two or more zero groups, leftmost on ties, becomes "::"
        var bestStart = -1, bestLen = 0, i = 0
        while i < 8 {
            if groups[i] == 0 {
                var j = i
                while j < 8 && groups[j] == 0 { j += 1 }
                if j - i > bestLen && j - i >= 2 { bestStart = i; bestLen = j - i }
                i = j
            } else {
                i += 1
            }
        }
        let hex = groups.map { String($0, radix: 16) }
        if bestStart < 0 { return hex.joined(separator: ":") }
        let left = hex[0..<bestStart].joined(separator: ":")
        let right = hex[(bestStart + bestLen)...].joined(separator: ":")
        return left + "::" + right
    }
}

/// A network prefix such as `10.0.0.0/24` or `2001:db8::/64`.
struct CIDR: Hashable, Sendable, CustomStringConvertible {
    /// The network address (host bits zero).
    let network: IPAddress
    let prefixLength: Int

    init(network: IPAddress, prefixLength: Int) {
        self.network = IPAddress(value: network.value & Self.mask(prefixLength, bits: network.bits), version: network.version)
        self.prefixLength = prefixLength
    }

    /// Parses `addr/len`; `strict` refuses host bits set (Neutron normalizes instead).
    init?(_ text: some StringProtocol) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count <= 2, let address = IPAddress(parts[0]) else { return nil }
        let length: Int
        if parts.count == 2 {
            guard let n = Int(parts[1]), n >= 0, n <= address.bits else { return nil }
            length = n
        } else {
            length = address.bits
        }
        self.init(network: address, prefixLength: length)
    }

    var version: Int { network.version }
    var bits: Int { network.bits }
    var size: UInt128 { prefixLength == 0 && bits == 128 ? UInt128.max : UInt128(1) << UInt128(bits - prefixLength) }
    var first: IPAddress { network }
    /// The prefix's host bits, all set (`size - 1`, but exact for `::/0` too).
    var hostMask: UInt128 { ~Self.mask(prefixLength, bits: bits) & Self.mask(bits, bits: bits) }
    var last: IPAddress { IPAddress(value: network.value | hostMask, version: version) }

    func contains(_ ip: IPAddress) -> Bool {
        ip.version == version && ip.value & Self.mask(prefixLength, bits: bits) == network.value
    }

    func overlaps(_ other: CIDR) -> Bool {
        version == other.version && (contains(other.network) || other.contains(network))
    }

    var description: String { "\(network)/\(prefixLength)" }

    static func mask(_ length: Int, bits: Int) -> UInt128 {
        let all: UInt128 = bits == 128 ? .max : (UInt128(1) << UInt128(bits)) - 1
        if length == 0 { return 0 }
        return all & ~((UInt128(1) << UInt128(bits - length)) &- 1)
    }
}

/// An inclusive range of addresses, e.g. an allocation pool.
struct IPRange: Hashable, Sendable {
    var start: IPAddress
    var end: IPAddress

    func contains(_ ip: IPAddress) -> Bool { ip.version == start.version && start <= ip && ip <= end }
    func overlaps(_ other: IPRange) -> Bool { start <= other.end && other.start <= end }
    var count: UInt128 { end.value - start.value + 1 }
}

extension IPAddress {
    /// The modified EUI-64 SLAAC address of `mac` in a /64 `prefix`.
    static func eui64(prefix: CIDR, mac: String) -> IPAddress? {
        let bytes = mac.split(separator: ":").compactMap { UInt8($0, radix: 16) }
        guard bytes.count == 6 else { return nil }
        let eui: [UInt8] = [bytes[0] ^ 0x02, bytes[1], bytes[2], 0xff, 0xfe, bytes[3], bytes[4], bytes[5]]
        let iid = eui.reduce(UInt128(0)) { $0 << 8 | UInt128($1) }
        return IPAddress(value: prefix.network.value | iid, version: 6)
    }
}
