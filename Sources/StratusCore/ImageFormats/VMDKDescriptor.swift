/// The text descriptor of a VMDK, read as cautiously as oslo does: every line must be a comment,
/// a `ddb` entry, a `key=value` header field or an extent, and no extent may name a path.
struct VMDKDescriptor: Sendable {
    /// The sub-formats whose descriptor describes the file it is in; the others name extent files.
    static let supportedTypes: Set<String> = ["monolithicsparse", "streamoptimized"]

    private static let extentAccessModes: Set<String> = ["rw", "rdonly", "noaccess"]
    private static let createTypeKey = Array(#"createtype=""#.utf8)
    /// A longer `createType` value is no type anyone knows, only a way to bloat the logs.
    private static let longestCreateType = 63

    /// The descriptor, lowercased: its keywords are case-insensitive ASCII.
    let text: String
    /// The lowercased `createType` value; nil when the descriptor has none.
    let createType: String?

    /// The descriptor in `bytes` (NUL-padded when embedded); nil when it is not ASCII text.
    init?(_ bytes: [UInt8]) {
        let content = bytes.prefix { $0 != 0 }
        guard content.allSatisfy({ $0 < 0x80 }) else { return nil }
        let lowercased = content.map { (0x41...0x5A).contains($0) ? $0 | 0x20 : $0 }
        text = String(decoding: lowercased, as: UTF8.self)
        createType = Self.createType(in: lowercased)
    }

    /// Why qemu may not be given this descriptor, or nil when it may.
    var violation: String? {
        if text.isEmpty { return "No descriptor found" }
        guard let createType, Self.supportedTypes.contains(createType) else { return "Unsupported subformat" }
        var extents: [String] = []
        for line in lines {
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix("ddb") { continue }
            if let equals = line.firstIndex(of: "="), !line[..<equals].contains(" ") { continue }
            let access = line.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            guard Self.extentAccessModes.contains(String(access)) else { return "Invalid VMDK descriptor data" }
            extents.append(line)
        }
        // A path reaches outside the image (`RW 2048 FLAT "/etc/shadow" 0`).
        if extents.contains(where: { $0.contains("/") }) { return "Invalid extent filenames found" }
        if extents.isEmpty { return "No extents found" }
        return nil
    }

    /// Lines split at `\n` only (a `\r\n` pair would be one Swift Character), then trimmed.
    private var lines: [String] {
        text.utf8.split(separator: 0x0A, omittingEmptySubsequences: false).map { line in
            var trimmed = line
            while let first = trimmed.first, Self.isSpace(first) { trimmed.removeFirst() }
            while let last = trimmed.last, Self.isSpace(last) { trimmed.removeLast() }
            return String(decoding: trimmed, as: UTF8.self)
        }
    }

    /// ASCII whitespace as Python's `str.strip` knows it.
    private static func isSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || (0x09...0x0D).contains(byte) || (0x1C...0x1F).contains(byte)
    }

    private static func createType(in text: [UInt8]) -> String? {
        guard let key = text.firstRange(of: createTypeKey) else { return nil }
        let value = text[key.upperBound...].prefix { $0 != 0x22 }
        guard value.endIndex < text.endIndex, value.count <= longestCreateType else { return nil }
        return String(decoding: value, as: UTF8.self)
    }
}
