import Foundation
import SQLKit
import StratusCore

/// One image as stored: core attributes, extra properties, tags and data locations.
struct ImageRecord: Sendable, Equatable {
    var id: String
    var name: String?
    var status: ImageStatus
    var visibility: Visibility
    var protected: Bool = false
    var osHidden: Bool = false
    var owner: String?
    var checksum: String?
    var osHashAlgo: String?
    var osHashValue: String?
    var size: Int64?
    var virtualSize: Int64?
    var minRAM: Int64 = 0
    var minDisk: Int64 = 0
    var diskFormat: String?
    var containerFormat: String?
    var createdAt: Double
    var updatedAt: Double
    var properties: [String: String] = [:]
    var tags: [String] = []
    /// Where the data is, in order: one entry per copy.
    var locations: [ImageLocation] = []

    /// Columns of `images`, in the order `row(from:)` and the insert use.
    static let columns = [
        "id", "name", "status", "visibility", "protected", "os_hidden", "owner", "checksum", "os_hash_algo", "os_hash_value",
        "size", "virtual_size", "min_ram", "min_disk", "disk_format", "container_format", "created_at", "updated_at",
    ]

    var columnValues: [any Encodable & Sendable] {
        [
            id, name, status.rawValue, visibility.rawValue, protected, osHidden, owner, checksum, osHashAlgo, osHashValue,
            size, virtualSize, minRAM, minDisk, diskFormat, containerFormat, createdAt, updatedAt,
        ]
    }

    init(id: String, status: ImageStatus = .queued, visibility: Visibility = .shared, owner: String?, now: Double) {
        self.id = id
        self.status = status
        self.visibility = visibility
        self.owner = owner
        self.createdAt = now
        self.updatedAt = now
    }

    init(row: any SQLRow) throws {
        id = try row.decode(column: "id", as: String.self)
        name = try row.decode(column: "name", as: String?.self)
        status = ImageStatus(rawValue: try row.decode(column: "status", as: String.self)) ?? .killed
        visibility = Visibility(rawValue: try row.decode(column: "visibility", as: String.self)) ?? .private
        protected = try row.decode(column: "protected", as: Bool.self)
        osHidden = try row.decode(column: "os_hidden", as: Bool.self)
        owner = try row.decode(column: "owner", as: String?.self)
        checksum = try row.decode(column: "checksum", as: String?.self)
        osHashAlgo = try row.decode(column: "os_hash_algo", as: String?.self)
        osHashValue = try row.decode(column: "os_hash_value", as: String?.self)
        size = try row.decode(column: "size", as: Int64?.self)
        virtualSize = try row.decode(column: "virtual_size", as: Int64?.self)
        minRAM = try row.decode(column: "min_ram", as: Int64.self)
        minDisk = try row.decode(column: "min_disk", as: Int64.self)
        diskFormat = try row.decode(column: "disk_format", as: String?.self)
        containerFormat = try row.decode(column: "container_format", as: String?.self)
        createdAt = try row.decode(column: "created_at", as: Double.self)
        updatedAt = try row.decode(column: "updated_at", as: Double.self)
    }
}

/// One copy of an image's data: the store holding it, its path there (a file path, or the
/// URL for an http store) and the metadata clients gave it.
struct ImageLocation: Sendable, Equatable {
    var store: String
    var path: String
    var metadata: [String: JSON] = [:]
}

extension ImageRecord {
    func location(in store: String) -> ImageLocation? { locations.first { $0.store == store } }

    /// The stores holding data, each once, in location order.
    var storeIDs: [String] {
        var seen: [String] = []
        for location in locations where !seen.contains(location.store) { seen.append(location.store) }
        return seen
    }

    /// Records data written to `store` at `path`, replacing that store's earlier copy.
    mutating func setLocation(store: String, path: String) {
        if let index = locations.firstIndex(where: { $0.store == store }) {
            locations[index].path = path
        } else {
            locations.append(ImageLocation(store: store, path: path, metadata: ["store": .string(store)]))
        }
    }
}

enum ImageStatus: String, Sendable, CaseIterable {
    case queued, saving, uploading, importing, active, deactivated, killed, deleted
    case pendingDelete = "pending_delete"
}

enum Visibility: String, Sendable, CaseIterable {
    case `public`, `private`, shared, community
}

/// An image member: a project an image is shared with.
struct ImageMember: Sendable, Equatable {
    var imageID: String
    var member: String
    var status: String
    var createdAt: Double
    var updatedAt: Double

    static let statuses = ["pending", "accepted", "rejected"]

    init(imageID: String, member: String, status: String, createdAt: Double, updatedAt: Double) {
        self.imageID = imageID
        self.member = member
        self.status = status
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    init(row: any SQLRow) throws {
        imageID = try row.decode(column: "image_id", as: String.self)
        member = try row.decode(column: "member", as: String.self)
        status = try row.decode(column: "status", as: String.self)
        createdAt = try row.decode(column: "created_at", as: Double.self)
        updatedAt = try row.decode(column: "updated_at", as: Double.self)
    }
}
