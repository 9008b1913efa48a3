import Foundation
import SQLKit
import StratusCore

/// A flavor row.
struct Flavor: Sendable {
    var id: String
    var name: String
    var memoryMB: Int
    var vcpus: Int
    var rootGB: Int
    var ephemeralGB: Int
    var swap: Int
    var rxtxFactor: Double
    var isPublic: Bool
    var description: String?
    var extraSpecs: [String: String]

    static let columns = [
        "flavorid", "name", "memory_mb", "vcpus", "root_gb", "ephemeral_gb", "swap", "rxtx_factor", "is_public", "description", "extra_specs",
    ]

    init(
        id: String, name: String, memoryMB: Int, vcpus: Int, rootGB: Int, ephemeralGB: Int = 0, swap: Int = 0, rxtxFactor: Double = 1,
        isPublic: Bool = true, description: String? = nil, extraSpecs: [String: String] = [:]
    ) {
        self.id = id
        self.name = name
        self.memoryMB = memoryMB
        self.vcpus = vcpus
        self.rootGB = rootGB
        self.ephemeralGB = ephemeralGB
        self.swap = swap
        self.rxtxFactor = rxtxFactor
        self.isPublic = isPublic
        self.description = description
        self.extraSpecs = extraSpecs
    }

    init(row: any SQLRow) throws {
        id = try row.decode(column: "flavorid", as: String.self)
        name = try row.decode(column: "name", as: String.self)
        memoryMB = try row.decode(column: "memory_mb", as: Int.self)
        vcpus = try row.decode(column: "vcpus", as: Int.self)
        rootGB = try row.decode(column: "root_gb", as: Int.self)
        ephemeralGB = try row.decode(column: "ephemeral_gb", as: Int.self)
        swap = try row.decode(column: "swap", as: Int.self)
        rxtxFactor = try row.decode(column: "rxtx_factor", as: Double.self)
        isPublic = try row.decode(column: "is_public", as: Bool.self)
        description = try row.decode(column: "description", as: String?.self)
        let specs = try JSON.parse(try row.decode(column: "extra_specs", as: String.self))
        extraSpecs = (specs.objectValue ?? [:]).compactMapValues(\.stringValue)
    }

    var values: [any Encodable & Sendable] {
        [id, name, memoryMB, vcpus, rootGB, ephemeralGB, swap, rxtxFactor, isPublic, description,
         JSON.object(extraSpecs.mapValues { .string($0) }).serialized()]
    }

    /// The copy a server keeps of its flavor (Nova embeds it from 2.47).
    var snapshot: JSON {
        [
            "id": .string(id), "name": .string(name), "ram": .int(memoryMB), "vcpus": .int(vcpus), "disk": .int(rootGB),
            "ephemeral": .int(ephemeralGB), "swap": .int(swap), "extra_specs": .object(extraSpecs.mapValues { .string($0) }),
        ]
    }

    static func get(_ id: String, in db: any SQLDatabase) async throws -> Flavor? {
        try await db.select().columns(columns.map { SQLColumn($0) }).from("flavors").where("flavorid", .equal, SQLBind(id)).first()
            .map(Flavor.init(row:))
    }

    func insert(in db: any SQLDatabase) async throws {
        try await db.insert(into: "flavors").columns(Self.columns + ["created_at"])
            .values((values + [Date().timeIntervalSince1970]).map { SQLBind($0) }).run()
    }

    /// DevStack's flavors, created by `stratus serve` on first start.
    static let defaults = [
        Flavor(id: "42", name: "m1.nano", memoryMB: 128, vcpus: 1, rootGB: 1),
        Flavor(id: "84", name: "m1.micro", memoryMB: 192, vcpus: 1, rootGB: 1),
        Flavor(id: "1", name: "m1.tiny", memoryMB: 512, vcpus: 1, rootGB: 1),
        Flavor(id: "2", name: "m1.small", memoryMB: 2048, vcpus: 1, rootGB: 20),
        Flavor(id: "3", name: "m1.medium", memoryMB: 4096, vcpus: 2, rootGB: 40),
        Flavor(id: "4", name: "m1.large", memoryMB: 8192, vcpus: 4, rootGB: 80),
        Flavor(id: "5", name: "m1.xlarge", memoryMB: 16384, vcpus: 8, rootGB: 160),
    ]
}
