import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import StratusCore

/// The metadata service (port 8775): OpenStack and EC2 documents for the server that
/// asks, identified by `X-Instance-ID` with its HMAC signature (Neutron's metadata proxy)
/// or by its fixed IP through the Network service. The config drive carries the same documents.
public struct MetadataService: StratusService {
    public let name = "metadata"
    public let port: Int
    /// Guests reach it over plain HTTP (through the metadata proxy), as Nova's.
    public let servesTLS = false
    let db: Database
    let instances: InstanceStore
    let clients: ServiceClients
    let settings: ComputeSettings
    let logger: Logger
    let rateLimit: MetadataRateLimit

    init(
        db: Database, instances: InstanceStore, clients: ServiceClients, settings: ComputeSettings, port: Int,
        logger: Logger
    ) {
        self.db = db
        self.instances = instances
        self.clients = clients
        self.settings = settings
        self.port = port
        self.logger = logger
        self.rateLimit = MetadataRateLimit(rate: settings.metadataRateLimit)
    }

    static let openstackVersions = [
        "2012-08-10", "2013-04-04", "2013-10-17", "2015-10-15", "2016-06-30", "2016-10-06", "2017-02-22", "2018-08-27",
        "2020-10-14", "latest",
    ]
    static let ec2Versions = [
        "1.0", "2007-01-19", "2007-03-01", "2007-08-29", "2007-10-10", "2007-12-15", "2008-02-01", "2008-09-01",
        "2009-04-04", "latest",
    ]

    public func makeRouter() -> Router<StratusContext> {
        let router = Router(context: StratusContext.self)
        router.add(middleware: RequestIDMiddleware())
        router.add(middleware: FaultMiddleware(style: .plain))
        router.get("/") { _, _ in Self.text(Self.ec2Versions.joined(separator: "\n")) }
        router.get("/openstack") { _, _ in Self.text(Self.openstackVersions.joined(separator: "\n")) }
        router.get("/openstack/:version") { _, context -> Response in
            try Self.checkVersion(context, Self.openstackVersions)
            return Self.text(
                [
                    "meta_data.json", "password", "vendor_data.json", "network_data.json", "vendor_data2.json",
                    "user_data",
                ].joined(separator: "\n"))
        }
        router.get("/openstack/:version/:document") { request, context -> Response in
            try Self.checkVersion(context, Self.openstackVersions)
            let instance = try await self.caller(request, context)
            switch context.parameters.get("document") ?? "" {
            case "meta_data.json": return .json(MetadataDocuments.metaData(instance))
            case "network_data.json":
                return .json(try await MetadataDocuments.networkData(instance: instance.uuid, clients: self.clients))
            case "vendor_data.json", "vendor_data2.json": return .json([:])
            case "password": return Self.text(instance.password ?? "")
            case "user_data": return try Self.userData(instance)
            default: throw APIError.notFound("The resource could not be found.")
            }
        }
        router.post("/openstack/:version/password") { request, context -> Response in
            let instance = try await self.caller(request, context)
            let body = try await request.body.collect(upTo: 256)
            guard instance.password?.isEmpty ?? true else { throw APIError.conflict("Password already set.") }
            let text = String(buffer: body)
            try await self.instances.update(instance.uuid) { $0.password = text }
            return Response(status: .ok)
        }
        for version in Self.ec2Versions {
            router.get(RouterPath("/\(version)")) { _, _ in Self.text("meta-data/\nuser-data") }
            router.get(RouterPath("/\(version)/user-data")) { request, context in
                try Self.userData(try await self.caller(request, context))
            }
            router.get(RouterPath("/\(version)/meta-data")) { request, context in
                try await self.ec2(request, context, path: "")
            }
            router.get(RouterPath("/\(version)/meta-data/**")) { request, context in
                try await self.ec2(request, context, path: context.parameters.getCatchAll().joined(separator: "/"))
            }
        }
        return router
    }

    static func text(_ body: String) -> Response {
        Response(
            status: .ok, headers: [.contentType: "text/plain; charset=UTF-8"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: body)))
    }

    static func checkVersion(_ context: StratusContext, _ versions: [String]) throws {
        guard versions.contains(context.parameters.get("version") ?? "") else {
            throw APIError.notFound("The resource could not be found.")
        }
    }

    static func userData(_ instance: Instance) throws -> Response {
        guard let encoded = instance.userData,
            let data = Data(base64Encoded: encoded, options: .ignoreUnknownCharacters)
        else {
            throw APIError.notFound("The resource could not be found.")
        }
        return Response(
            status: .ok, headers: [.contentType: "text/plain; charset=UTF-8"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// The signature Neutron's proxy sends with `X-Instance-ID`.
    static func signature(_ instanceID: String, secret: String) -> String {
        HMAC<SHA256>.authenticationCode(for: Data(instanceID.utf8), using: SymmetricKey(data: Data(secret.utf8)))
            .hexEncoded()
    }

    /// The server asking: a signed instance id (Neutron's proxy), or the fixed IP it connects from.
    func caller(_ request: Request, _ context: StratusContext) async throws -> Instance {
        let instance = try await identify(request, context)
        try rateLimit.take(instance.uuid)
        return instance
    }

    private func identify(_ request: Request, _ context: StratusContext) async throws -> Instance {
        if let id = request.headers[.instanceID] {
            let given = Array((request.headers[.instanceIDSignature] ?? "").utf8)
            let expected = Array(Self.signature(id, secret: settings.metadataSecret).utf8)
            // Compared in constant time: a guest must not learn the signature byte by byte.
            guard given.count == expected.count, zip(given, expected).reduce(0, { $0 | ($1.0 ^ $1.1) }) == 0 else {
                throw APIError.forbidden("Invalid proxy request signature.")
            }
            guard let instance = try await instances.get(id) else {
                throw APIError.notFound("Instance \(id) could not be found.")
            }
            return instance
        }
        // The peer's own address only: an unsigned X-Forwarded-For could name any server.
        guard let address = context.remoteAddress else {
            throw APIError.notFound("The instance could not be identified.")
        }
        let ports = try await clients.network.ports(.address(address, network: request.headers[.neutronNetworkID]))
        for port in ports where port.ownedByServer {
            if let instance = try await instances.get(port.deviceID) { return instance }
        }
        throw APIError.notFound("No server has the address \(address).")
    }

    func ec2(_ request: Request, _ context: StratusContext, path: String) async throws -> Response {
        let instance = try await caller(request, context)
        let tree = MetadataDocuments.ec2(instance)
        var node: JSON = tree
        for part in path.split(separator: "/") {
            guard let next = node[String(part)] else { throw APIError.notFound("The resource could not be found.") }
            node = next
        }
        switch node {
        case .object(let items):
            return Self.text(
                items.keys.sorted().map { items[$0]?.objectValue != nil ? $0 + "/" : $0 }.joined(separator: "\n"))
        case .string(let text): return Self.text(text)
        default: return Self.text(node.serialized())
        }
    }
}

/// The metadata documents of a server.
enum MetadataDocuments {
    static func metaData(_ instance: Instance) -> JSON {
        var keys: [JSON] = []
        var publicKeys: [String: JSON] = [:]
        if let name = instance.keyName, let data = instance.keyData {
            keys.append([
                "name": .string(name), "type": .string(data.contains("CERTIFICATE") ? "x509" : "ssh"),
                "data": .string(data),
            ])
            publicKeys[name] = .string(data)
        }
        return [
            "uuid": .string(instance.uuid), "name": .string(instance.name),
            "hostname": .string(instance.hostname ?? instance.name),
            "launch_index": .int(instance.launchIndex), "availability_zone": JSON(instance.availabilityZone),
            "project_id": .string(instance.projectID), "meta": .object(instance.metadata.mapValues { .string($0) }),
            "public_keys": .object(publicKeys),
            "keys": .array(keys), "devices": [],
            "random_seed": .string(Data((0..<512).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()),
        ]
    }

    static func ec2(_ instance: Instance) -> JSON {
        let addresses = (instance.addresses.objectValue ?? [:]).values.flatMap { $0.arrayValue ?? [] }
        let v4 = addresses.first { $0["version"]?.intValue == 4 }?["addr"]?.stringValue ?? ""
        let hostname = instance.hostname ?? instance.name
        var keys: JSON = [:]
        if let name = instance.keyName, let data = instance.keyData {
            keys = ["0=\(name)": ["openssh-key": .string(data)]]
        }
        return [
            "ami-id": .string(instance.imageRef), "ami-launch-index": .string(String(instance.launchIndex)),
            "ami-manifest-path": "FIXME", "hostname": .string(hostname), "instance-action": "none",
            "instance-id": .string("i-" + instance.uuid.prefix(8)), "instance-type": instance.flavor["name"] ?? "",
            "local-hostname": .string(hostname), "local-ipv4": .string(v4), "public-hostname": .string(hostname),
            "public-ipv4": "",
            "placement": ["availability-zone": .string(instance.availabilityZone ?? "nova")], "public-keys": keys,
            "reservation-id": .string(instance.reservationID),
            "security-groups": .string(instance.securityGroups.joined(separator: "\n")),
        ]
    }
}
