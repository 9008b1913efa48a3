import Foundation

/// Settings from an INI file (oslo.config style: `[section]`, `key = value`, `#`/`;` comments),
/// overridden by environment variables named `STRATUS_<SECTION>_<OPTION>`.
public struct Config: Sendable {
    private var values: [String: [String: String]]
    private let environment: [String: String]

    public init(values: [String: [String: String]] = [:], environment: [String: String] = [:]) {
        self.values = values
        self.environment = environment
    }

    /// Loads `path` if given (a missing file is an error) and the process environment.
    public static func load(path: String?, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> Config {
        var values: [String: [String: String]] = [:]
        if let path {
            guard let text = FileManager.default.contents(atPath: path).flatMap({ String(data: $0, encoding: .utf8) }) else {
                throw ConfigError(message: "cannot read config file \(path)")
            }
            values = try parseINI(text)
        }
        return Config(values: values, environment: environment)
    }

    public static func parseINI(_ text: String) throws -> [String: [String: String]] {
        var values: [String: [String: String]] = [:]
        var section = "DEFAULT"
        for (number, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasPrefix("[") {
                guard line.hasSuffix("]") else { throw ConfigError(message: "line \(number + 1): bad section header") }
                section = String(line.dropFirst().dropLast()).trimmingCharacters(in: .whitespaces)
                continue
            }
            guard let eq = line.firstIndex(where: { $0 == "=" || $0 == ":" }) else {
                throw ConfigError(message: "line \(number + 1): expected 'key = value'")
            }
            let key = line[..<eq].trimmingCharacters(in: .whitespaces)
            let value = line[line.index(after: eq)...].trimmingCharacters(in: .whitespaces)
            values[section.lowercased() == "default" ? "DEFAULT" : section, default: [:]][key] = value
        }
        return values
    }

    /// Sets a value, as a command-line flag does (flags beat the file and the environment).
    public mutating func set(_ section: String, _ option: String, _ value: String) {
        values[section, default: [:]][option] = value
        overrides.insert("\(section).\(option)")
    }

    private var overrides: Set<String> = []

    /// The raw value of an option: flag, then environment, then file, then nil.
    public func raw(_ section: String, _ option: String) -> String? {
        if overrides.contains("\(section).\(option)") { return values[section]?[option] }
        let envName = "STRATUS_\(section.uppercased())_\(option.uppercased())"
        if let env = environment[envName] { return env }
        return values[section]?[option]
    }

    public subscript(option: ConfigOption<String>) -> String {
        raw(option.section, option.name) ?? option.defaultValue
    }

    public subscript(option: ConfigOption<Int>) -> Int {
        raw(option.section, option.name).flatMap { Int($0) } ?? option.defaultValue
    }

    public subscript(option: ConfigOption<Double>) -> Double {
        raw(option.section, option.name).flatMap { Double($0) } ?? option.defaultValue
    }

    public subscript(option: ConfigOption<Bool>) -> Bool {
        guard let value = raw(option.section, option.name)?.lowercased() else { return option.defaultValue }
        return ["1", "true", "yes", "on"].contains(value)
    }
}

public struct ConfigError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }

    public init(message: String) { self.message = message }
}

/// A documented option with its default. Services declare theirs as static constants.
public struct ConfigOption<Value: Sendable>: Sendable {
    public let section: String
    public let name: String
    public let defaultValue: Value
    public let help: String

    public init(_ section: String, _ name: String, default defaultValue: Value, help: String) {
        self.section = section
        self.name = name
        self.defaultValue = defaultValue
        self.help = help
    }
}
