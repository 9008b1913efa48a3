import Foundation
import SQLKit
import StratusCore

/// Named I/O limits (`total_iops_sec`, `read_bytes_sec` ...) that volume types point to;
/// `front-end` and `both` specs are the hypervisor's to apply.
struct QosSpecs: StoredRow {
    static let table = "qos_specs"
    static let columns = ["id", "name", "consumer", "created_at"]
    static let values = MetadataTable(owner: "qos")
    static let consumers: Set<String> = ["front-end", "back-end", "both"]

    var id: String
    var name: String
    var consumer: String
    var createdAt: Date
    var specs: [String: String] = [:]

    init(name: String, consumer: String) {
        id = UUID().uuidString.lowercased()
        self.name = name
        self.consumer = consumer
        createdAt = Date()
    }

    init(row: any SQLRow) throws {
        id = try row.decode(column: "id", as: String.self)
        name = try row.decode(column: "name", as: String.self)
        consumer = try row.decode(column: "consumer", as: String.self)
        createdAt = Date(timeIntervalSince1970: try row.decode(column: "created_at", as: Double.self))
    }

    var values: [any Encodable & Sendable] { [id, name, consumer, createdAt.timeIntervalSince1970] }

    static func load(_ id: String, in db: any SQLDatabase) async throws -> QosSpecs? {
        guard var qos = try await get(id, in: db) else { return nil }
        qos.specs = try await values.get(id, in: db)
        return qos
    }
}
