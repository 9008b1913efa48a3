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
    /// The members the view writes itself; a stored property of the same name is not shown.
    private static let viewKeys: Set = ImageAttributes.readOnly.union(ImageAttributes.settable).union(["locations"])

    /// The API view: extra properties as strings, core attributes (null when unset), links.
    /// `stores` lists the stores holding the data in `storeOrder` (heaviest store first);
    /// `locations` is written when given.
    func write(to out: inout JSONWriter, storeOrder: [String], locations: JSON?) {
        out.object { image in
            for (key, value) in properties where !Self.viewKeys.contains(key) { image.field(key, value) }
            image.field("id", id)
            image.field("name", name)
            image.field("status", status.rawValue)
            image.field("visibility", visibility.rawValue)
            image.field("protected", protected)
            image.field("os_hidden", osHidden)
            image.field("owner", owner)
            image.field("checksum", checksum)
            image.field("os_hash_algo", osHashAlgo)
            image.field("os_hash_value", osHashValue)
            image.field("size", size.map { JSON.int(Int($0)) } ?? .null)
            image.field("virtual_size", virtualSize.map { JSON.int(Int($0)) } ?? .null)
            image.field("min_ram", Int(minRAM))
            image.field("min_disk", Int(minDisk))
            image.field("disk_format", diskFormat)
            image.field("container_format", containerFormat)
            image.field("created_at", Timestamp.iso8601(Date(timeIntervalSince1970: createdAt)))
            image.field("updated_at", Timestamp.iso8601(Date(timeIntervalSince1970: updatedAt)))
            image.field("tags", JSON(tags))
            image.field("self", "/v2/images/\(id)")
            image.field("file", "/v2/images/\(id)/file")
            image.field("schema", "/v2/schemas/image")
            if !self.locations.isEmpty {
                let rank = { (store: String) in storeOrder.firstIndex(of: store) ?? storeOrder.count }
                let held = storeIDs.sorted { (rank($0), $0) < (rank($1), $1) }
                image.field("stores", held.joined(separator: ","))
            }
            if let locations { image.field("locations", locations) }
        }
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
    func write(_ image: ImageRecord, to out: inout JSONWriter) {
        let locations: JSON? =
            showLocations
            ? .array(
                image.locations.map { location in
                    [
                        "url": .string(stores[location.store]?.url(for: location.path) ?? location.path),
                        "metadata": .object(location.metadata),
                    ]
                }) : nil
        image.write(to: &out, storeOrder: stores.order, locations: locations)
    }

    func view(_ image: ImageRecord) -> JSONWriter {
        var out = JSONWriter()
        write(image, to: &out)
        return out
    }
}

extension StratusContext {
    var viewer: Viewer {
        Viewer(projectID: auth?.projectID, isAdmin: auth?.hasRole("admin") ?? false)
    }
}
