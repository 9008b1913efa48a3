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

extension QosSpecs {
    /// What the hypervisor is to apply to a volume of `size` GiB: the integer specs of a
    /// `front-end` or `both` consumer, each `<limit>_per_gb` as `<limit>` times the size
    /// (as Cinder's manager does). Nil for back-end specs or when none is a number.
    func frontEndLimits(size: Int) -> [String: Int]? {
        guard consumer != "back-end" else { return nil }
        var limits: [String: Int] = [:]
        for (key, text) in specs {
            guard let value = Int(text.trimmingCharacters(in: .whitespaces)), value >= 0 else { continue }
            if key.hasSuffix("_per_gb") {
                limits[String(key.dropLast("_per_gb".count))] = value * max(size, 1)
            } else if limits[key] == nil {
                limits[key] = value
            }
        }
        return limits.isEmpty ? nil : limits
    }

    /// The front-end limits of the QoS specs the volume's type points to, if any.
    static func frontEndLimits(of volume: Volume, in db: any SQLDatabase) async throws -> [String: Int]? {
        guard let type = try await VolumeType.get(volume.typeID, in: db), let qosID = type.qosSpecsID,
            let qos = try await load(qosID, in: db)
        else { return nil }
        return qos.frontEndLimits(size: volume.size)
    }
}
