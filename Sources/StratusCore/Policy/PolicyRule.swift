/// A value a policy check compares: credentials are strings, lists (roles) or booleans.
public enum PolicyValue: Sendable, Equatable {
    case string(String)
    case list([String])
    case bool(Bool)
}

/// A parsed oslo.policy check string.
public indirect enum PolicyRule: Sendable, Equatable {
    case always
    case never
    case rule(String)
    case role(String)
    /// `left:right`: a credential (or quoted literal) on the left, a `%(target)s` reference
    /// or literal on the right.
    case generic(left: String, right: String)
    case not(PolicyRule)
    case and([PolicyRule])
    case or([PolicyRule])
}

public struct PolicyParseError: Error, CustomStringConvertible {
    public let description: String
}

extension PolicyRule {
    /// Parses oslo.policy syntax: `role:admin or (project_id:%(project_id)s and not rule:x)`, `@`, `!`, "" (allow).
    public static func parse(_ text: String) throws -> PolicyRule {
        var tokens = tokenize(text)
        if tokens.isEmpty { return .always }
        var parser = Parser(tokens: tokens)
        let rule = try parser.parseOr()
        guard parser.index == tokens.count else {
            throw PolicyParseError(description: "unexpected '\(tokens[parser.index])' in policy '\(text)'")
        }
        tokens.removeAll()
        return rule
    }

    static func tokenize(_ text: String) -> [String] {
        var tokens: [String] = []
        var current = ""
        var quote: Character?
        for ch in text {
            if let q = quote {
                current.append(ch)
                if ch == q { quote = nil }
            } else if ch == "'" || ch == "\"" {
                quote = ch
                current.append(ch)
            } else if ch == "(" && current.hasSuffix("%") {
                // `%(name)s` inside a check is part of the check, not grouping.
                current.append(ch)
            } else if ch == ")" && current.filter({ $0 == "(" }).count > current.filter({ $0 == ")" }).count {
                current.append(ch)
            } else if ch == "(" || ch == ")" {
                if !current.isEmpty { tokens.append(current); current = "" }
                tokens.append(String(ch))
            } else if ch.isWhitespace {
                if !current.isEmpty { tokens.append(current); current = "" }
            } else {
                current.append(ch)
            }
        }
        if !current.isEmpty { tokens.append(current) }
        return tokens
    }

    private struct Parser {
        let tokens: [String]
        var index = 0

        mutating func parseOr() throws -> PolicyRule {
            var terms = [try parseAnd()]
            while index < tokens.count, tokens[index].lowercased() == "or" {
                index += 1
                terms.append(try parseAnd())
            }
            return terms.count == 1 ? terms[0] : .or(terms)
        }

        mutating func parseAnd() throws -> PolicyRule {
            var terms = [try parseNot()]
            while index < tokens.count, tokens[index].lowercased() == "and" {
                index += 1
                terms.append(try parseNot())
            }
            return terms.count == 1 ? terms[0] : .and(terms)
        }

        mutating func parseNot() throws -> PolicyRule {
            if index < tokens.count, tokens[index].lowercased() == "not" {
                index += 1
                return .not(try parseNot())
            }
            return try parseAtom()
        }

        mutating func parseAtom() throws -> PolicyRule {
            guard index < tokens.count else { throw PolicyParseError(description: "unexpected end of policy") }
            let token = tokens[index]
            index += 1
            if token == "(" {
                let inner = try parseOr()
                guard index < tokens.count, tokens[index] == ")" else { throw PolicyParseError(description: "missing ')'") }
                index += 1
                return inner
            }
            if token == "@" { return .always }
            if token == "!" { return .never }
            guard let colon = token.firstIndex(of: ":") else {
                throw PolicyParseError(description: "invalid check '\(token)'")
            }
            let kind = String(token[..<colon])
            let value = String(token[token.index(after: colon)...])
            switch kind {
            case "rule": return .rule(value)
            case "role": return .role(value.lowercased())
            default: return .generic(left: kind, right: value)
            }
        }
    }
}
