import ArgumentParser
import Foundation
import Identity
import Logging
import StratusCore

@main
struct Stratus: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stratus",
        abstract: "An OpenStack-compatible cloud in one binary.",
        subcommands: [Serve.self, Manage.self, Version.self]
    )
}

/// Options every command shares: the config file and the data directory.
struct CommonOptions: ParsableArguments {
    @Option(help: "INI config file (oslo.config style). Environment variables STRATUS_<SECTION>_<OPTION> override it.")
    var config: String?

    @Option(help: "Data directory for databases, keys and client files (default: $STRATUS_DEFAULT_DATA_DIR or ~/.stratus).")
    var dataDir: String?

    func load() throws -> (Config, String) {
        var config = try Config.load(path: self.config)
        if let dataDir { config.set("DEFAULT", "data_dir", dataDir) }
        var dir = config[CoreOptions.dataDir]
        if dir.isEmpty {
            let home = ProcessInfo.processInfo.environment["HOME"] ?? FileManager.default.homeDirectoryForCurrentUser.path
            dir = home + "/.stratus"
        }
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        return (config, dir)
    }

    func logger(_ config: Config) -> Logger {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = Logger.Level(rawValue: config[CoreOptions.logLevel]) ?? .info
            return handler
        }
        return Logger(label: "stratus")
    }
}

struct Version: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the version.")
    func run() {
        print("stratus \(StratusCoreVersion.string)")
    }
}
