import Foundation
import SQLKit
import StratusCore

/// A volume type: extra specs choose backends and capabilities; private types are seen
/// by the projects given access.
struct VolumeType: StoredRow {
    static let table = "volume_types"
    static let columns = ["id", "name", "description", "is_public", "qos_specs_id", "created_at"]
    /// Cinder's default type, made at first start.
    static let defaultName = "__DEFAULT__"

    var id: String
    var name: String
    var description: String?
    var isPublic: Bool
    var qosSpecsID: String?
    var createdAt: Date
    var extraSpecs: [String: String] = [:]
    /// Volumes of the type may attach to several servers (`multiattach` is `<is> True`).
    var isMultiattach: Bool { extraSpecs["multiattach"] == "<is> True" }

    init(name: String, description: String?, isPublic: Bool) {
        id = UUID().uuidString.lowercased()
        self.name = name
        self.description = description
        self.isPublic = isPublic
        createdAt = Date()
    }

    init(row: any SQLRow) throws {
        id = try row.decode(column: "id", as: String.self)
        name = try row.decode(column: "name", as: String.self)
        description = try row.decode(column: "description", as: String?.self)
        isPublic = try row.decode(column: "is_public", as: Bool.self)
        qosSpecsID = try row.decode(column: "qos_specs_id", as: String?.self)
        createdAt = Date(timeIntervalSince1970: try row.decode(column: "created_at", as: Double.self))
    }

    var values: [any Encodable & Sendable] {
        [id, name, description, isPublic, qosSpecsID, createdAt.timeIntervalSince1970]
    }

    /// The backend name the type asks for, if any.
    var backendName: String? { extraSpecs["volume_backend_name"] }
}

/// Volume types with their extra specs and project access.
enum VolumeTypes {
    static func get(_ idOrName: String, in db: any SQLDatabase) async throws -> VolumeType? {
        guard
            var type = try await VolumeType.select(
                where: "id = \(bind: idOrName) OR name = \(bind: idOrName)", in: db
            ).first
        else { return nil }
        type.extraSpecs = try await extraSpecs(type.id, in: db)
        return type
    }

    static func extraSpecs(_ id: String, in db: any SQLDatabase) async throws -> [String: String] {
        var specs: [String: String] = [:]
        let rows = try await db.raw(
            "SELECT \(ident: "key"), value FROM volume_type_extra_specs WHERE type_id = \(bind: id)"
        ).all()
        for row in rows {
            specs[try row.decode(column: "key", as: String.self)] = try row.decode(column: "value", as: String.self)
        }
        return specs
    }

    static func projects(_ id: String, in db: any SQLDatabase) async throws -> [String] {
        try await db.raw("SELECT project_id FROM volume_type_projects WHERE type_id = \(bind: id) ORDER BY project_id")
            .all().map { try $0.decode(column: "project_id", as: String.self) }
    }

    /// Whether `project` may use the type.
    static func visible(
        _ type: VolumeType, to project: String?, admin: Bool, in db: any SQLDatabase
    ) async throws -> Bool {
        if type.isPublic || admin { return true }
        guard let project else { return false }
        return try await projects(type.id, in: db).contains(project)
    }

    /// The default type, made when missing.
    static func ensureDefault(in db: any SQLDatabase) async throws -> VolumeType {
        if let type = try await get(VolumeType.defaultName, in: db) { return type }
        let type = VolumeType(name: VolumeType.defaultName, description: "Default Volume Type", isPublic: true)
        try await type.insert(in: db)
        return type
    }
}
