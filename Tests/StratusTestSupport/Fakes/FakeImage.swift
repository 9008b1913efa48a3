import NIOCore
import StratusCore

/// Glance in memory: the images given at creation (active, with their data) and the
/// snapshots Compute creates and uploads.
public actor FakeImage: ImageClient {
    public private(set) var images: [String: JSON]
    /// Data of the images given at creation; immutable, so downloads need no isolation.
    private let data: [String: [UInt8]]
    private var next = 0

    /// `images`: id to data; each becomes an active image of that size in `diskFormat`.
    public init(images: [String: [UInt8]], diskFormat: String = "raw") {
        data = images
        self.images = Dictionary(uniqueKeysWithValues: images.map { id, bytes in
            (id, [
                "id": .string(id), "name": .string(id), "status": "active", "size": .int(bytes.count),
                "disk_format": .string(diskFormat), "container_format": "bare", "min_ram": 0, "min_disk": 0,
                "visibility": "public",
            ] as JSON)
        })
    }

    public func image(_ id: String, token: String?) -> JSON? { images[id] }

    public func createImage(_ properties: [String: JSON], token: String?) -> String {
        next += 1
        let id = "snapshot-\(next)"
        var image = properties
        image["id"] = .string(id)
        image["status"] = "queued"
        images[id] = .object(image)
        return id
    }

    public nonisolated func download(_ id: String, sink: (ByteBuffer) async throws -> Void) async throws {
        guard let bytes = data[id] else {
            let message = "Image \(id) could not be downloaded (HTTP 404)."
            throw ServiceFault(service: "image", status: 404, message: message)
        }
        try await sink(ByteBuffer(bytes: bytes))
    }

    public func upload(_ id: String, file: String) throws {
        guard case .object(var image)? = images[id] else {
            throw ServiceFault(service: "image", status: 404, message: "No image found with ID \(id)")
        }
        image["status"] = "active"
        images[id] = .object(image)
    }

    public func deleteImage(_ id: String) { images[id] = nil }

    public func backups(of instance: String, type: String) -> [String] {
        images.values.filter { $0["instance_uuid"]?.stringValue == instance && $0["backup_type"]?.stringValue == type }
            .compactMap { $0["id"]?.stringValue }.sorted().reversed()
    }
}
