import Foundation

/// What a token carries, packed into a compact binary form before Fernet encryption.
/// Everything else (names, roles, catalog) is looked up at validation time, so role
/// and account changes take effect on existing tokens at once.
struct TokenPayload: Sendable, Equatable {
    enum Scope: Sendable, Equatable {
        case unscoped
        case project(String)
        case domain(String)
        case system

        /// The scope in a cache key (not by `String(describing:)`, which reflects and is slow).
        var cacheKey: String {
            switch self {
            case .unscoped: return "unscoped"
            case .project(let id): return "project:" + id
            case .domain(let id): return "domain:" + id
            case .system: return "system"
            }
        }
    }

    static let methodNames = ["password", "token", "application_credential"]

    var userID: String
    var methods: [String]
    var scope: Scope
    var issuedAt: Date
    var expiresAt: Date
    /// The token's own audit id, then (for tokens made from tokens) the chain's first.
    var auditIDs: [String]
    var applicationCredentialID: String?

    func encoded() -> [UInt8] {
        var out: [UInt8] = [1]
        var mask: UInt8 = 0
        for (i, name) in Self.methodNames.enumerated() where methods.contains(name) { mask |= 1 << i }
        out.append(mask)
        switch scope {
        case .unscoped: out.append(0); Self.put(string: "", into: &out)
        case .project(let id): out.append(1); Self.put(string: id, into: &out)
        case .domain(let id): out.append(2); Self.put(string: id, into: &out)
        case .system: out.append(3); Self.put(string: "", into: &out)
        }
        Self.put(string: userID, into: &out)
        Self.put(int: Int64((issuedAt.timeIntervalSince1970 * 1_000_000).rounded()), into: &out)
        Self.put(int: Int64((expiresAt.timeIntervalSince1970 * 1_000_000).rounded()), into: &out)
        out.append(UInt8(auditIDs.count))
        for audit in auditIDs { Self.put(string: audit, into: &out) }
        Self.put(string: applicationCredentialID ?? "", into: &out)
        return out
    }

    static func decode(_ bytes: Data) -> TokenPayload? {
        var reader = Reader(bytes: [UInt8](bytes))
        guard reader.byte() == 1, let mask = reader.byte(), let kind = reader.byte(), let scopeID = reader.string(),
            let userID = reader.string(), let issued = reader.int(), let expires = reader.int(), let auditCount = reader.byte()
        else { return nil }
        var audits: [String] = []
        for _ in 0..<auditCount {
            guard let audit = reader.string() else { return nil }
            audits.append(audit)
        }
        guard let appCred = reader.string(), reader.atEnd else { return nil }
        let scope: Scope
        switch kind {
        case 0: scope = .unscoped
        case 1: scope = .project(scopeID)
        case 2: scope = .domain(scopeID)
        case 3: scope = .system
        default: return nil
        }
        let methods = methodNames.enumerated().filter { mask & (1 << $0.offset) != 0 }.map(\.element)
        return TokenPayload(
            userID: userID, methods: methods, scope: scope, issuedAt: Date(timeIntervalSince1970: Double(issued) / 1_000_000),
            expiresAt: Date(timeIntervalSince1970: Double(expires) / 1_000_000), auditIDs: audits,
            applicationCredentialID: appCred.isEmpty ? nil : appCred)
    }

    /// A new audit id: 16 random bytes, base64url, as Keystone makes them.
    static func newAuditID() -> String {
        var bytes = [UInt8](repeating: 0, count: 16)
        var rng = SystemRandomNumberGenerator()
        for i in bytes.indices { bytes[i] = rng.next() }
        return Base64URL.encode(Data(bytes), padded: false)
    }

    private static func put(string: String, into out: inout [UInt8]) {
        let utf8 = Array(string.utf8.prefix(255))
        out.append(UInt8(utf8.count))
        out.append(contentsOf: utf8)
    }

    private static func put(int: Int64, into out: inout [UInt8]) {
        withUnsafeBytes(of: int.bigEndian) { out.append(contentsOf: $0) }
    }

    private struct Reader {
        let bytes: [UInt8]
        var index = 0
        var atEnd: Bool { index == bytes.count }

        mutating func byte() -> UInt8? {
            guard index < bytes.count else { return nil }
            defer { index += 1 }
            return bytes[index]
        }

        mutating func string() -> String? {
            guard let count = byte(), index + Int(count) <= bytes.count else { return nil }
            defer { index += Int(count) }
            return String(decoding: bytes[index..<index + Int(count)], as: UTF8.self)
        }

        mutating func int() -> Int64? {
            guard index + 8 <= bytes.count else { return nil }
            var value: Int64 = 0
            for b in bytes[index..<index + 8] { value = value << 8 | Int64(b) }
            index += 8
            return value
        }
    }
}
