import ArgumentParser
import Foundation
import Identity
import StratusCore

/// `stratus manage`: keystone-manage's operator commands.
struct Manage: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Operator commands: bootstrap, db-sync, fernet-rotate.",
        subcommands: [BootstrapCommand.self, DBSync.self, FernetRotate.self])
}

struct BootstrapCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bootstrap", abstract: "Create the admin user, project, roles and identity endpoints (idempotent).")

    @OptionGroup var common: CommonOptions
    @Option(name: .customLong("bootstrap-username")) var username = "admin"
    @Option(name: .customLong("bootstrap-password")) var password: String?
    @Option(name: .customLong("bootstrap-project-name")) var projectName = "admin"
    @Option(name: .customLong("bootstrap-role-name")) var roleName = "admin"
    @Option(name: .customLong("bootstrap-service-name")) var serviceName = "keystone"
    @Option(name: .customLong("bootstrap-region-id")) var regionID = "RegionOne"
    @Option(name: .customLong("bootstrap-public-url")) var publicURL: String?
    @Option(name: .customLong("bootstrap-internal-url")) var internalURL: String?
    @Option(name: .customLong("bootstrap-admin-url")) var adminURL: String?

    func run() async throws {
        let (config, dataDir) = try common.load()
        let identity = try await IdentityService.open(config: config, dataDir: dataDir, logger: common.logger(config))
        var options = BootstrapOptions()
        options.adminUsername = username
        options.adminPassword = password ?? ProcessInfo.processInfo.environment["OS_BOOTSTRAP_PASSWORD"]
        options.adminProjectName = projectName
        options.adminRoleName = roleName
        options.regionID = regionID
        options.publicURL = publicURL
        options.internalURL = internalURL
        options.adminURL = adminURL
        try await identity.bootstrap(options)
        await identity.close()
    }
}

struct DBSync: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "db-sync", abstract: "Apply database migrations.")
    @OptionGroup var common: CommonOptions

    func run() async throws {
        let (config, dataDir) = try common.load()
        let identity = try await IdentityService.open(config: config, dataDir: dataDir, logger: common.logger(config))
        await identity.close()
    }
}

struct FernetRotate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "fernet-rotate", abstract: "Rotate the Fernet token keys.")
    @OptionGroup var common: CommonOptions

    func run() async throws {
        let (config, dataDir) = try common.load()
        let identity = try await IdentityService.open(config: config, dataDir: dataDir, logger: common.logger(config))
        try identity.rotateKeys()
        await identity.close()
    }
}
