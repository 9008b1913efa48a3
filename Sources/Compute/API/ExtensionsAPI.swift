import Foundation
import Hummingbird
import StratusCore

/// `/extensions`: the legacy extension list Nova still answers, for clients that probe it.
extension ComputeAPI {
    static let extensionAliases: [(alias: String, name: String)] = [
        ("os-admin-actions", "AdminActions"), ("os-admin-password", "AdminPassword"), ("os-aggregates", "Aggregates"),
        ("os-attach-interfaces", "AttachInterfaces"), ("os-availability-zone", "AvailabilityZone"), ("os-console-output", "ConsoleOutput"),
        ("os-consoles", "Consoles"), ("os-create-backup", "CreateBackup"), ("os-deferred-delete", "DeferredDelete"),
        ("os-evacuate", "Evacuate"), ("os-extended-availability-zone", "ExtendedAvailabilityZone"),
        ("OS-EXT-SRV-ATTR", "ExtendedServerAttributes"), ("OS-EXT-STS", "ExtendedStatus"), ("os-extended-volumes", "ExtendedVolumes"),
        ("flavor-access", "FlavorAccess"), ("os-flavor-extra-specs", "FlavorExtraSpecs"), ("os-flavor-manage", "FlavorManage"),
        ("os-hosts", "Hosts"), ("os-hypervisors", "Hypervisors"), ("os-instance-actions", "InstanceActions"), ("os-keypairs", "Keypairs"),
        ("os-lock-server", "LockServer"), ("os-migrate-server", "MigrateServer"), ("os-migrations", "Migrations"),
        ("os-pause-server", "PauseServer"), ("os-quota-sets", "Quotas"), ("os-remote-consoles", "RemoteConsoles"),
        ("os-rescue", "Rescue"), ("os-scheduler-hints", "SchedulerHints"), ("os-security-groups", "SecurityGroups"),
        ("os-server-diagnostics", "ServerDiagnostics"), ("os-server-external-events", "ServerExternalEvents"),
        ("os-server-groups", "ServerGroups"), ("os-server-password", "ServerPassword"), ("os-services", "Services"),
        ("os-shelve", "Shelve"), ("os-simple-tenant-usage", "SimpleTenantUsage"), ("os-suspend-server", "SuspendServer"),
        ("servers", "Servers"), ("flavors", "Flavors"), ("images", "Images"), ("ips", "Ips"), ("limits", "Limits"),
        ("server-metadata", "ServerMetadata"), ("versions", "Versions"),
    ]

    func registerExtensions(on router: RouterGroup<StratusContext>) {
        router.get("/extensions") { _, context -> Response in
            _ = try self.caller(context)
            return .json(["extensions": .array(Self.extensionAliases.map(Self.extensionView))])
        }
        router.get("/extensions/:alias") { _, context -> Response in
            _ = try self.caller(context)
            let alias = context.parameters.get("alias") ?? ""
            guard let found = Self.extensionAliases.first(where: { $0.alias == alias }) else {
                throw APIError.notFound("The resource could not be found.")
            }
            return .json(["extension": Self.extensionView(found)])
        }
    }

    private static func extensionView(_ entry: (alias: String, name: String)) -> JSON {
        [
            "alias": .string(entry.alias), "name": .string(entry.name), "description": .string(entry.name), "links": [],
            "namespace": "http://docs.openstack.org/compute/ext/fake_xml", "updated": "2014-12-03T00:00:00Z",
        ]
    }
}
