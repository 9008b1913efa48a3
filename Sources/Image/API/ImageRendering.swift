import Foundation
import Hummingbird
import StratusCore

/// Glance's attribute classes: what clients may set, what only the server sets, and the
/// names reserved for the server's own properties.
enum ImageAttributes {
    static let readOnly: Set = [
        "id", "status", "checksum", "os_hash_algo", "os_hash_value", "size", "virtual_size", "created_at", "updated_at",
        "self", "file", "schema", "direct_url", "stores",
    ]
    /// Core attributes a client may set on create and change with PATCH.
    static let settable: Set = ["name", "visibility", "protected", "os_hidden", "min_ram", "min_disk", "disk_format", "container_format", "tags", "owner"]
    static let core = readOnly.union(settable).union(["locations", "deleted", "deleted_at"])
    static let reservedPrefix = "os_glance"
    static let diskFormats = ["ami", "ari", "aki", "vhd", "vhdx", "vmdk", "raw", "qcow2", "vdi", "iso", "ploop"]
    static let containerFormats = ["ami", "ari", "aki", "bare", "ovf", "ova", "docker", "compressed"]

    static func isReserved(_ name: String) -> Bool { name.hasPrefix(reservedPrefix) }
}

extension ImageRecord {
    /// The API view: core attributes (null when unset), extra properties as strings, links.
    /// `stores` lists the stores holding the data in `storeOrder` (heaviest store first).
    func rendered(storeOrder: [String] = []) -> JSON {
        var out: [String: JSON] = [:]
        for (key, value) in properties { out[key] = .string(value) }
        out["id"] = .string(id)
        out["name"] = JSON(name)
        out["status"] = .string(status.rawValue)
        out["visibility"] = .string(visibility.rawValue)
        out["protected"] = .bool(protected)
        out["os_hidden"] = .bool(osHidden)
        out["owner"] = JSON(owner)
        out["checksum"] = JSON(checksum)
        out["os_hash_algo"] = JSON(osHashAlgo)
        out["os_hash_value"] = JSON(osHashValue)
        out["size"] = size.map { .int(Int($0)) } ?? .null
        out["virtual_size"] = virtualSize.map { .int(Int($0)) } ?? .null
        out["min_ram"] = .int(Int(minRAM))
        out["min_disk"] = .int(Int(minDisk))
        out["disk_format"] = JSON(diskFormat)
        out["container_format"] = JSON(containerFormat)
        out["created_at"] = .string(Timestamp.iso8601(Date(timeIntervalSince1970: createdAt)))
        out["updated_at"] = .string(Timestamp.iso8601(Date(timeIntervalSince1970: updatedAt)))
        out["tags"] = JSON(tags)
        out["self"] = .string("/v2/images/\(id)")
        out["file"] = .string("/v2/images/\(id)/file")
        out["schema"] = "/v2/schemas/image"
        if !locations.isEmpty {
            let rank = { (store: String) in storeOrder.firstIndex(of: store) ?? storeOrder.count }
            let held = storeIDs.sorted { (rank($0), $0) < (rank($1), $1) }
            out["stores"] = .string(held.joined(separator: ","))
        }
        return .object(out)
    }

    /// The policy target Glance builds for an image.
    /// `memberID` is the caller's project when it is a member of the image.
    func policyTarget(memberID: String? = nil) -> [String: String] {
        var target = ["visibility": visibility.rawValue, "id": id, "project_id": owner ?? "", "owner": owner ?? ""]
        if let memberID { target["member_id"] = memberID }
        return target
    }
}

extension ImageMember {
    func rendered() -> JSON {
        [
            "image_id": .string(imageID), "member_id": .string(member), "status": .string(status),
            "created_at": .string(Timestamp.iso8601(Date(timeIntervalSince1970: createdAt))),
            "updated_at": .string(Timestamp.iso8601(Date(timeIntervalSince1970: updatedAt))),
            "schema": "/v2/schemas/member",
        ]
    }
}

extension ImageAPI {
    /// An image as this service shows it: stores in weight order, and the data locations
    /// when the operator chose to show them (`show_multiple_locations`).
    func render(_ image: ImageRecord) -> JSON {
        guard showLocations, case .object(var out) = image.rendered(storeOrder: stores.order) else {
            return image.rendered(storeOrder: stores.order)
        }
        out["locations"] = .array(image.locations.map { location in
            ["url": .string(stores[location.store]?.url(for: location.path) ?? location.path), "metadata": .object(location.metadata)]
        })
        return .object(out)
    }
}

extension StratusContext {
    var viewer: Viewer {
        Viewer(projectID: auth?.projectID, isAdmin: auth?.hasRole("admin") ?? false)
    }
}
