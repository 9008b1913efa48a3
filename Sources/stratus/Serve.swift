import ArgumentParser
import BlockStorage
import Compute
import Foundation
import Identity
import Image
import Logging
import Networking
import ObjectStorage
import Placement
import StratusCore

/// `stratus serve`: every service in one process on SQLite, bootstrapped on first start.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the all-in-one cloud (no configuration needed).")

    @OptionGroup var common: CommonOptions

    @Option(
        help:
            "Password for the admin user on first start (default: generated, printed once, saved in <data-dir>/admin-password)."
    )
    var adminPassword: String?

    @Option(
        help:
            "Simulate this many compute hosts on the fake driver instead of the local one (same as [compute] fake_hosts)."
    )
    var fakeHosts: Int?

    @Flag(
        help:
            "Serve every API over HTTPS with a CA and certificate made on first start in <data-dir>/tls (unless ssl_cert_file is set)."
    )
    var tls = false

    func run() async throws {
        var (config, dataDir) = try common.load()
        if let fakeHosts { config.set("compute", "fake_hosts", String(fakeHosts)) }
        let logger = common.logger(config)
        if tls, config[ListenerTLS.certificateFile].isEmpty {
            let certificates = CloudCertificates(dataDir: dataDir)
            try certificates.ensure(publicHost: config[CoreOptions.publicHost])
            config.set("DEFAULT", ListenerTLS.certificateFile.name, certificates.certificateFile)
            config.set("DEFAULT", ListenerTLS.keyFile.name, certificates.keyFile)
            if config[ListenerTLS.caFile].isEmpty {
                config.set("DEFAULT", ListenerTLS.caFile.name, certificates.caFile)
            }
        }
        let listenerTLS = ListenerTLS(config: config)
        if let caFile = listenerTLS.caFile { try PeerHTTP.trust(caFile: caFile) }
        /// The root URL of a service in the catalog, on https when it serves TLS.
        func root(_ service: any StratusService) -> String {
            "\(listenerTLS.scheme(service: service.name))://\(config[CoreOptions.publicHost]):\(service.port)"
        }
        // Every service opened is closed again, also when a later one fails to open.
        var closers: [() async -> Void] = []
        var failure: (any Error)?
        do {
            let identity = try await IdentityService.open(config: config, dataDir: dataDir, logger: logger)
            closers.append { await identity.close() }
            let identityURL = root(identity) + "/v3"

            // The admin password: --admin-password sets (or resets) it; otherwise the first start
            // generates one and later starts keep whatever the admin user has now.
            let passwordFile = "\(dataDir)/admin-password"
            let saved = (try? String(contentsOfFile: passwordFile, encoding: .utf8))?.trimmingCharacters(
                in: .whitespacesAndNewlines)
            let generated = adminPassword == nil && saved == nil
            let password = adminPassword ?? saved ?? Self.generatePassword()
            var options = BootstrapOptions()
            options.adminPassword = adminPassword != nil || generated ? password : nil
            options.publicURL = identityURL
            let adminProjectID = try await identity.bootstrap(options)
            // Services call each other as service users, as OpenStack's do.
            let servicePassword = try Self.servicePassword(dataDir: dataDir)
            for user in ["nova", "neutron", "placement", "cinder", "glance"] {
                try await identity.ensureServiceUser(name: user, password: servicePassword)
            }
            func serviceAuth(_ user: String) -> ServiceAuth {
                ServiceAuth(.init(authURL: identityURL, username: user, password: servicePassword))
            }
            let image = try await ImageService.open(
                config: config, dataDir: dataDir, validator: identity.validator, identityURL: identityURL,
                objectStore: RESTObjectStoreClient(auth: serviceAuth("glance")), logger: logger)
            closers.append { await image.close() }
            let imageURL = root(image)
            try await identity.registerEndpoint(type: "image", name: "glance", url: imageURL)
            let bus = InProcessBus()
            let network = try await NetworkService.open(
                config: config, dataDir: dataDir, validator: identity.validator, bus: bus, logger: logger,
                serviceAuth: serviceAuth("neutron"),
                localGuests: ComputeService.runsLocalGuests(config: config, dataDir: dataDir))
            closers.append { await network.close() }
            try await network.bootstrap(adminProjectID: adminProjectID)
            let networkURL = root(network)
            try await identity.registerEndpoint(type: "network", name: "neutron", url: networkURL)
            let placement = try await PlacementService.open(
                config: config, dataDir: dataDir, validator: identity.validator, logger: logger)
            closers.append { await placement.close() }
            let placementURL = root(placement)
            try await identity.registerEndpoint(type: "placement", name: "placement", url: placementURL)
            let blockStorage = try await BlockStorageService.open(
                config: config, dataDir: dataDir, validator: identity.validator, bus: bus,
                images: RESTImageClient(auth: serviceAuth("cinder")),
                compute: RESTComputeClient(auth: serviceAuth("cinder")),
                objectStore: RESTObjectStoreClient(auth: serviceAuth("cinder")), logger: logger)
            closers.append { await blockStorage.close() }
            let volumeURL = root(blockStorage) + "/v3"
            try await identity.registerEndpoint(type: "block-storage", name: "cinderv3", url: volumeURL)
            try await identity.registerEndpoint(type: "volumev3", name: "cinder", url: volumeURL)
            let objectStorage = try await ObjectStorageService.open(
                config: config, dataDir: dataDir, validator: identity.validator, s3Credentials: identity.s3Credentials,
                logger: logger)
            closers.append { await objectStorage.close() }
            let objectURL = root(objectStorage) + "/v1/AUTH_%(project_id)s"
            try await identity.registerEndpoint(type: "object-store", name: "swift", url: objectURL)
            try await identity.registerEndpoint(type: "s3", name: "s3", url: root(objectStorage))
            let compute = try await ComputeService.open(
                config: config, dataDir: dataDir, validator: identity.validator, bus: bus,
                serviceAuth: serviceAuth("nova"), logger: logger)
            closers.append { await compute.close() }
            try await compute.bootstrap()
            let computeURL = root(compute) + "/v2.1"
            try await identity.registerEndpoint(type: "compute", name: "nova", url: computeURL)
            try ClientFiles(dataDir: dataDir, authURL: identityURL, password: password, caFile: listenerTLS.caFile)
                .write()
            try FileManager.default.removeItemIfPresent(atPath: passwordFile)
            _ = FileManager.default.createFile(
                atPath: passwordFile, contents: Data((password + "\n").utf8), attributes: [.posixPermissions: 0o600])

            let host_ = config[CoreOptions.bindHost]
            let banner = """
                Stratus is running.
                  Identity:  \(identityURL)
                  Image:     \(imageURL)
                  Network:   \(networkURL)
                  Placement: \(placementURL)
                  Volume:    \(volumeURL)
                  Object:    \(objectURL) (S3 at \(root(objectStorage)))
                  Compute:   \(computeURL) (metadata on port \(compute.metadata.port))
                  Data:      \(dataDir)
                  Admin:     user 'admin', project 'admin', domain 'Default'\(generated ? ", password \(password) (saved in \(passwordFile))" : " (password in \(passwordFile))")
                Use it with:
                  export OS_CLIENT_CONFIG_FILE=\(dataDir)/clouds.yaml OS_CLOUD=stratus
                  openstack token issue
                or: source \(dataDir)/openrc
                """
            let services: [any StratusService] = [
                identity, image, network, placement, blockStorage, objectStorage, compute, compute.metadata,
            ]
            try await ServiceHost(
                services: services, bindHost: host_, tls: listenerTLS,
                requestLimits: RequestLimits(config: config), connectionLimits: ConnectionLimits(config: config),
                routesFile: "\(dataDir)/routes",
                logger: logger
            ).run {
                print(banner)
                fflush(nil)  // flush stdout when it is a file or pipe
            }
        } catch {
            failure = error
        }
        for close in closers.reversed() { await close() }
        if let failure { throw failure }
    }

    /// The service users' password, generated once and kept in the data directory.
    static func servicePassword(dataDir: String) throws -> String {
        let path = "\(dataDir)/service-password"
        if let saved = try? String(contentsOfFile: path, encoding: .utf8), !saved.isEmpty {
            return saved.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let password = generatePassword() + generatePassword()
        guard
            FileManager.default.createFile(
                atPath: path, contents: Data(password.utf8), attributes: [.posixPermissions: 0o600])
        else {
            throw ValidationError("Cannot write \(path)")
        }
        return password
    }

    static func generatePassword() -> String {
        let alphabet = Array("abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789")
        var rng = SystemRandomNumberGenerator()
        return String((0..<20).map { _ in alphabet[Int(rng.next(upperBound: UInt(alphabet.count)))] })
    }
}

/// `clouds.yaml` and `openrc` for the admin user, readable only by the owner.
struct ClientFiles {
    let dataDir: String
    let authURL: String
    let password: String
    /// The CA of a cloud on TLS whose certificate clients cannot verify otherwise.
    var caFile: String?

    func write() throws {
        let clouds = """
            clouds:
              stratus:
                auth:
                  auth_url: \(authURL)
                  username: admin
                  password: "\(password)"
                  project_name: admin
                  user_domain_name: Default
                  project_domain_name: Default
                region_name: RegionOne
                interface: public
                identity_api_version: 3
            \(caFile.map { "    cacert: \($0)\n" } ?? "")
            """
        let openrc = """
            export OS_AUTH_URL=\(authURL)
            export OS_USERNAME=admin
            export OS_PASSWORD='\(password)'
            export OS_PROJECT_NAME=admin
            export OS_USER_DOMAIN_NAME=Default
            export OS_PROJECT_DOMAIN_NAME=Default
            export OS_REGION_NAME=RegionOne
            export OS_IDENTITY_API_VERSION=3
            \(caFile.map { "export OS_CACERT=\($0)\n" } ?? "")
            """
        for (name, text) in [("clouds.yaml", clouds), ("openrc", openrc)] {
            let path = "\(dataDir)/\(name)"
            try FileManager.default.removeItemIfPresent(atPath: path)
            _ = FileManager.default.createFile(
                atPath: path, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600])
        }
    }
}
