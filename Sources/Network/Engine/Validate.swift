import Foundation
import StratusCore

/// Why one attribute value was refused; the API reports it as
/// "Invalid input for <attribute>. Reason: <reason>."
struct InvalidValue: Error {
    let reason: String
    init(_ reason: String) { self.reason = reason }
}

/// Converters and validators for attribute input, after neutron-lib's validators.
enum Validate {
    static func string(_ max: Int) -> @Sendable (JSON) throws -> JSON {
        { value in
            guard case .string(let s) = value else { throw InvalidValue("'\(value.display)' is not a valid string") }
            guard s.count <= max else { throw InvalidValue("'\(s)' exceeds maximum length of \(max)") }
            return value
        }
    }

    static func stringOrNull(_ max: Int) -> @Sendable (JSON) throws -> JSON {
        { value in value.isNull ? .null : try string(max)(value) }
    }

    /// neutron-lib's convert_to_boolean: booleans, 0/1 and their string forms.
    static let bool: @Sendable (JSON) throws -> JSON = { value in
        switch value {
        case .bool: return value
        case .int(let n) where n == 0 || n == 1: return .bool(n == 1)
        case .string(let s):
            switch s.lowercased() {
            case "true", "1": return true
            case "false", "0": return false
            default: break
            }
        default: break
        }
        throw InvalidValue("'\(value.display)' cannot be converted to boolean")
    }

    static func int(min: Int? = nil, max: Int? = nil) -> @Sendable (JSON) throws -> JSON {
        { value in
            var n: Int?
            switch value {
            case .int(let i): n = i
            case .string(let s): n = Int(s)
            case .double(let d) where d == d.rounded(): n = Int(d)
            default: n = nil
            }
            guard let n else { throw InvalidValue("'\(value.display)' is not an integer") }
            if let min, n < min { throw InvalidValue("'\(n)' is too small - must be at least '\(min)'") }
            if let max, n > max { throw InvalidValue("'\(n)' is too large - must be no larger than '\(max)'") }
            return .int(n)
        }
    }

    static func intOrNull(min: Int? = nil, max: Int? = nil) -> @Sendable (JSON) throws -> JSON {
        { value in value.isNull ? .null : try int(min: min, max: max)(value) }
    }

    static let uuid: @Sendable (JSON) throws -> JSON = { value in
        guard case .string(let s) = value, isUUID(s) else { throw InvalidValue("'\(value.display)' is not a valid UUID") }
        return .string(s.lowercased())
    }

    static let uuidOrNull: @Sendable (JSON) throws -> JSON = { value in value.isNull ? .null : try uuid(value) }

    static func isUUID(_ s: String) -> Bool { UUID(uuidString: s) != nil || (s.count == 32 && UUID(uuidString: dashed(s)) != nil) }

    private static func dashed(_ s: String) -> String {
        let c = Array(s)
        return String(c[0..<8]) + "-" + String(c[8..<12]) + "-" + String(c[12..<16]) + "-" + String(c[16..<20]) + "-" + String(c[20...])
    }

    static let ip: @Sendable (JSON) throws -> JSON = { value in
        guard case .string(let s) = value, let ip = IPAddress(s) else { throw InvalidValue("'\(value.display)' is not a valid IP address") }
        return .string(ip.description)
    }

    static let ipOrNull: @Sendable (JSON) throws -> JSON = { value in value.isNull ? .null : try ip(value) }

    static let cidr: @Sendable (JSON) throws -> JSON = { value in
        guard case .string(let s) = value, s.contains("/"), let cidr = CIDR(s) else {
            throw InvalidValue("'\(value.display)' is not a valid IP subnet")
        }
        return .string(cidr.description)
    }

    static let cidrOrNull: @Sendable (JSON) throws -> JSON = { value in value.isNull ? .null : try cidr(value) }

    /// A CIDR or a single address (remote_ip_prefix, allowed address pairs).
    static let ipOrCIDR: @Sendable (JSON) throws -> JSON = { value in
        guard case .string(let s) = value else { throw InvalidValue("'\(value.display)' is not a valid IP subnet") }
        if s.contains("/") {
            guard let cidr = CIDR(s) else { throw InvalidValue("'\(s)' is not a valid IP subnet") }
            return .string(cidr.description)
        }
        guard let ip = IPAddress(s) else { throw InvalidValue("'\(s)' is not a valid IP subnet") }
        return .string("\(ip)/\(ip.bits)")
    }

    static let mac: @Sendable (JSON) throws -> JSON = { value in
        guard case .string(let s) = value else { throw InvalidValue("'\(value.display)' is not a valid MAC address") }
        let parts = s.split(separator: s.contains("-") ? "-" : ":", omittingEmptySubsequences: false)
        guard parts.count == 6, parts.allSatisfy({ $0.count == 2 && UInt8($0, radix: 16) != nil }) else {
            throw InvalidValue("'\(s)' is not a valid MAC address")
        }
        let normalized = parts.map { $0.lowercased() }.joined(separator: ":")
        guard normalized != "00:00:00:00:00:00", normalized != "ff:ff:ff:ff:ff:ff" else {
            throw InvalidValue("'\(s)' is not a valid MAC address")
        }
        return .string(normalized)
    }

    static func oneOf(_ allowed: [String], nullable: Bool = false) -> @Sendable (JSON) throws -> JSON {
        { value in
            if nullable && value.isNull { return .null }
            guard case .string(let s) = value, allowed.contains(s) else {
                throw InvalidValue("'\(value.display)' is not in \(allowed.map { "'\($0)'" }.joined(separator: ", "))")
            }
            return value
        }
    }

    static let object: @Sendable (JSON) throws -> JSON = { value in
        if value.isNull { return [:] }
        guard value.objectValue != nil else { throw InvalidValue("'\(value.display)' is not a dictionary") }
        return value
    }

    static func list(_ item: @escaping @Sendable (JSON) throws -> JSON, unique: Bool = false) -> @Sendable (JSON) throws -> JSON {
        { value in
            if value.isNull { return [] }
            guard case .array(let items) = value else { throw InvalidValue("'\(value.display)' is not a list") }
            let converted = try items.map(item)
            if unique {
                var seen: [JSON] = []
                for v in converted {
                    if seen.contains(v) { throw InvalidValue("Duplicate items in the list: '\(v.display)'") }
                    seen.append(v)
                }
            }
            return .array(converted)
        }
    }

    static let stringList = list(string(255))

    /// Checks with `validator` but keeps the client's spelling (Neutron echoes some values as given).
    static func checked(_ validator: @escaping @Sendable (JSON) throws -> JSON) -> @Sendable (JSON) throws -> JSON {
        { value in
            _ = try validator(value)
            return value
        }
    }
    static let uuidList = list(uuid, unique: true)

    static let tags: @Sendable (JSON) throws -> JSON = { value in
        guard case .array(let items) = value else { throw InvalidValue("'\(value.display)' is not a list") }
        for item in items {
            guard case .string(let s) = item, !s.isEmpty, s.count <= 255, !s.contains(",") else {
                throw InvalidValue("'\(item.display)' is not a valid tag")
            }
        }
        return value
    }

    /// A sub-resource (allocation pool, host route, ...): an object with exactly the known keys.
    static func dict(required: [String], optional: [String] = [], _ fields: [String: @Sendable (JSON) throws -> JSON] = [:])
        -> @Sendable (JSON) throws -> JSON
    {
        { value in
            guard case .object(var o) = value else { throw InvalidValue("'\(value.display)' is not a dictionary") }
            for key in required where o[key] == nil { throw InvalidValue("Validation of dictionary's keys failed. Expected keys: \(Set(required)) Provided keys: \(Set(o.keys))") }
            for key in o.keys where !required.contains(key) && !optional.contains(key) {
                throw InvalidValue("Validation of dictionary's keys failed. Expected keys: \(Set(required + optional)) Provided keys: \(Set(o.keys))")
            }
            for (key, check) in fields {
                if let v = o[key] { o[key] = try check(v) }
            }
            return .object(o)
        }
    }
}

extension JSON {
    /// The value as Python would print it in a Neutron error message.
    var display: String {
        switch self {
        case .string(let s): return s
        case .null: return "None"
        case .bool(let b): return b ? "True" : "False"
        default: return serialized()
        }
    }
}
