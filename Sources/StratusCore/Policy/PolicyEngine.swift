import Foundation
import Yams

/// Evaluates named policy rules: defaults declared in code, overridden by an operator's
/// policy file in oslo.policy format (YAML or JSON map of rule name to check string).
public struct PolicyEngine: Sendable {
    private var rules: [String: PolicyRule]

    public init(defaults: [String: String], overrides: [String: String] = [:]) throws {
        var rules: [String: PolicyRule] = [:]
        for (name, text) in defaults.merging(overrides, uniquingKeysWith: { _, override in override }) {
            rules[name] = try PolicyRule.parse(text)
        }
        self.rules = rules
    }

    /// Reads a policy file's rules; an empty path gives no overrides.
    public static func loadOverrides(path: String) throws -> [String: String] {
        guard !path.isEmpty, FileManager.default.fileExists(atPath: path) else { return [:] }
        let text = try String(contentsOfFile: path, encoding: .utf8)
        guard let map = try Yams.load(yaml: text) as? [String: Any] else { return [:] }
        var result: [String: String] = [:]
        for (key, value) in map {
            if let text = value as? String { result[key] = text }
        }
        return result
    }

    /// Whether `creds` pass rule `name` on `target`. An unknown rule is denied.
    public func check(_ name: String, creds: [String: PolicyValue], target: [String: String]) -> Bool {
        guard let rule = rules[name] else { return false }
        return evaluate(rule, creds: creds, target: target, depth: 0)
    }

    /// Throws 401 when there is no caller and 403 when the caller fails rule `name`.
    public func enforce(_ name: String, auth: AuthContext?, target: [String: String] = [:]) throws {
        guard let auth else { throw APIError.unauthorized() }
        guard check(name, creds: auth.policyCredentials, target: target) else {
            throw APIError.forbidden("You are not authorized to perform the requested action: \(name).")
        }
    }

    private func evaluate(_ rule: PolicyRule, creds: [String: PolicyValue], target: [String: String], depth: Int) -> Bool {
        guard depth < 32 else { return false }
        switch rule {
        case .always: return true
        case .never: return false
        case .rule(let name):
            guard let referenced = rules[name] else { return false }
            return evaluate(referenced, creds: creds, target: target, depth: depth + 1)
        case .role(let role):
            if case .list(let roles) = creds["roles"] { return roles.contains(role) }
            return false
        case .generic(let left, let right):
            return generic(left: left, right: right, creds: creds, target: target)
        case .not(let inner):
            return !evaluate(inner, creds: creds, target: target, depth: depth + 1)
        case .and(let terms):
            return terms.allSatisfy { evaluate($0, creds: creds, target: target, depth: depth + 1) }
        case .or(let terms):
            return terms.contains { evaluate($0, creds: creds, target: target, depth: depth + 1) }
        }
    }

    /// oslo.policy's GenericCheck: the right side is a `%(key)s` target reference or a literal;
    /// the left side is a credential name or a quoted literal.
    private func generic(left: String, right: String, creds: [String: PolicyValue], target: [String: String]) -> Bool {
        let expected: String
        if right.hasPrefix("%("), right.hasSuffix(")s") {
            let key = String(right.dropFirst(2).dropLast(2))
            guard let value = target[key] else { return false }
            expected = value
        } else {
            expected = Self.unquote(right)
        }
        if left.hasPrefix("'") || left.hasPrefix("\"") {
            return Self.unquote(left) == expected
        }
        switch creds[left] {
        case .string(let value): return value == expected
        case .list(let values): return values.contains(expected)
        case .bool(let value): return String(value).lowercased() == expected.lowercased()
        case nil: return false
        }
    }

    private static func unquote(_ s: String) -> String {
        if s.count >= 2, let first = s.first, first == "'" || first == "\"", s.last == first {
            return String(s.dropFirst().dropLast())
        }
        return s
    }
}
