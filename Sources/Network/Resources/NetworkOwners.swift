import SQLKit
import StratusCore

/// Subnets and ports are also governed by their network's owner (`network:tenant_id` in
/// policy rules such as `admin_or_network_owner`).
enum NetworkOwners {
    static func annotate(_ records: inout [Record], db: any SQLDatabase) async throws {
        let ids = Array(Set(records.compactMap { $0.string("network_id") }))
        guard !ids.isEmpty else { return }
        let rows = try await db.raw("SELECT id, project_id, shared FROM networks WHERE id IN " + RecordStore.inList(ids)).all()
        var owners: [String: (String, Bool)] = [:]
        for row in rows {
            owners[try row.decode(column: "id", as: String.self)] = (
                try row.decode(column: "project_id", as: String?.self) ?? "", try row.decode(column: "shared", as: Bool?.self) ?? false
            )
        }
        for i in records.indices {
            guard let (owner, shared) = records[i].string("network_id").flatMap({ owners[$0] }) else { continue }
            records[i]["network:tenant_id"] = .string(owner)
            if shared { records[i]["network:shared"] = true }
        }
    }
}
