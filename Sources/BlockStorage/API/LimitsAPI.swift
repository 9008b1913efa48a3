import Hummingbird
import StratusCore

/// `/limits` and `/os-quota-sets`.
extension BlockStorageAPI {
    func registerLimits(on router: RouterGroup<StratusContext>) {
        router.get("/limits") { _, context -> Response in
            let auth = try self.caller(context)
            let project = auth.projectID ?? ""
            let (limits, used) = try await db.read { db in
                (try await Quotas.limits(project, in: db), try await Quotas.usage(project, in: db))
            }
            let absolute: [String: JSON] = [
                "maxTotalVolumes": .int(limits["volumes"] ?? -1), "maxTotalSnapshots": .int(limits["snapshots"] ?? -1),
                "maxTotalVolumeGigabytes": .int(limits["gigabytes"] ?? -1),
                "maxTotalBackups": .int(limits["backups"] ?? -1),
                "maxTotalBackupGigabytes": .int(limits["backup_gigabytes"] ?? -1),
                "totalVolumesUsed": .int(used.volumes), "totalSnapshotsUsed": .int(used.snapshots),
                "totalGigabytesUsed": .int(used.gigabytes), "totalBackupsUsed": 0, "totalBackupGigabytesUsed": 0,
            ]
            return .json(["limits": ["rate": [], "absolute": .object(absolute)]])
        }
        router.get("/os-quota-sets/:project/defaults") { _, context -> Response in
            let auth = try self.caller(context)
            try enforce("volume_extension:quotas:show", auth)
            let project = context.parameters.get("project") ?? ""
            let limits = try await db.read { try await Quotas.classLimits("default", in: $0) }
            return .json(["quota_set": Self.quotaView(project, limits, usage: nil)])
        }
        router.get("/os-quota-class-sets/:class") { _, context -> Response in
            let auth = try self.caller(context)
            try enforce("volume_extension:quota_classes", auth)
            let name = context.parameters.get("class") ?? ""
            let limits = try await db.read { try await Quotas.classLimits(name, in: $0) }
            return .json(["quota_class_set": Self.quotaView(name, limits, usage: nil)])
        }
        router.put("/os-quota-class-sets/:class") { request, context -> Response in
            let auth = try self.caller(context)
            try enforce("volume_extension:quota_classes", auth)
            let name = context.parameters.get("class") ?? ""
            let changes = try Self.quotaChanges(try await request.volumeBody("quota_class_set", context: context))
            let limits = try await db.transaction { db in
                try await Quotas.set(Quotas.classKey(name), changes, in: db)
                return try await Quotas.classLimits(name, in: db)
            }
            var view = Self.quotaView(name, limits, usage: nil).objectValue ?? [:]
            view["id"] = nil
            return .json(["quota_class_set": .object(view)])
        }
        router.get("/os-quota-sets/:project") { request, context -> Response in
            let auth = try self.caller(context)
            let project = context.parameters.get("project") ?? ""
            try enforce("volume_extension:quotas:show", auth, projectID: project)
            let (limits, used) = try await db.read { db in
                (try await Quotas.limits(project, in: db), try await Quotas.usage(project, in: db))
            }
            let usage = try request.boolQuery("usage") ?? false
            return .json(["quota_set": Self.quotaView(project, limits, usage: usage ? used : nil)])
        }
        router.put("/os-quota-sets/:project") { request, context -> Response in
            let auth = try self.caller(context)
            try enforce("volume_extension:quotas:update", auth)
            let project = context.parameters.get("project") ?? ""
            let given = try Self.quotaChanges(try await request.volumeBody("quota_set", context: context))
            let limits = try await db.transaction { db in
                try await Quotas.set(project, given, in: db)
                return try await Quotas.limits(project, in: db)
            }
            var view = Self.quotaView(project, limits, usage: nil).objectValue ?? [:]
            view["id"] = nil
            return .json(["quota_set": .object(view)])
        }
        router.delete("/os-quota-sets/:project") { _, context -> Response in
            let auth = try self.caller(context)
            try enforce("volume_extension:quotas:delete", auth)
            let project = context.parameters.get("project") ?? ""
            try await db.transaction { try await Quotas.reset(project, in: $0) }
            return Response(status: .ok)
        }
    }

    /// The limits a quota update sets: known resources (or per-type ones), integers of -1 or more.
    static func quotaChanges(_ body: [String: JSON]) throws -> [String: Int] {
        var changes: [String: Int] = [:]
        for (key, value) in body where key != "tenant_id" && key != "id" {
            guard Quotas.defaults[key] != nil || key.contains("_") else {
                throw BlockStorageError.invalidInput("Bad key(s) in quota set: \(key)")
            }
            guard let number = value.intValue ?? value.stringValue.flatMap({ Int($0) }), number >= -1 else {
                throw BlockStorageError.invalidInput("Quota limit for \(key) must be an integer of -1 or more")
            }
            changes[key] = number
        }
        return changes
    }

    static func quotaView(_ project: String, _ limits: [String: Int], usage: Quotas.Usage?) -> JSON {
        var view: [String: JSON] = ["id": .string(project)]
        let used = [
            "volumes": usage?.volumes ?? 0, "gigabytes": usage?.gigabytes ?? 0, "snapshots": usage?.snapshots ?? 0,
        ]
        for (key, limit) in limits {
            view[key] =
                usage == nil ? .int(limit) : ["limit": .int(limit), "in_use": .int(used[key] ?? 0), "reserved": 0]
        }
        return .object(view)
    }
}
