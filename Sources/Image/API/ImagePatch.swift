import Foundation
import Hummingbird
import StratusCore

/// One operation of an `application/openstack-images-v2.1-json-patch` document.
struct PatchOperation: Sendable {
    enum Op: String, Sendable { case add, replace, remove }
    let op: Op
    let attribute: String
    /// The second path level, only for `/locations/-` and `/locations/N`.
    var index: String? = nil
    let value: JSON?

    static let mediaTypes = ["application/openstack-images-v2.1-json-patch", "application/openstack-images-v2.0-json-patch"]

    /// Parses the document: a list of `{"op", "path", "value"}` objects with one-level paths.
    static func parse(_ body: JSON) throws -> [PatchOperation] {
        guard let items = body.arrayValue else {
            throw APIError.badRequest("Request body must be a JSON array of operation objects.")
        }
        return try items.map { item in
            guard let object = item.objectValue else { throw APIError.badRequest("Operations must be JSON objects.") }
            // RFC 6902 (`{"op": "replace", "path": "/name"}`, v2.1) or Glance's older draft
            // dialect with the operation as the key (`{"replace": "/name"}`, v2.0).
            let op: Op
            let path: String
            if let name = object["op"]?.stringValue {
                guard let parsed = Op(rawValue: name) else {
                    throw APIError.badRequest("Unable to find `op` in JSON Schema change. It must be one of the following: add, remove, replace.")
                }
                guard let given = object["path"]?.stringValue else { throw APIError.badRequest("Unable to find 'path' in JSON Schema change") }
                (op, path) = (parsed, given)
            } else {
                let found = [Op.add, .replace, .remove].filter { object[$0.rawValue] != nil }
                guard found.count == 1, let parsed = found.first else {
                    throw APIError.badRequest("Unable to find `op` in JSON Schema change. It must be one of the following: add, remove, replace.")
                }
                guard let given = object[parsed.rawValue]?.stringValue else { throw APIError.badRequest("Unable to find 'path' in JSON Schema change") }
                (op, path) = (parsed, given)
            }
            guard path.hasPrefix("/"), path.count > 1 else {
                throw APIError.badRequest("Pointer `\(path)` does not start with \"/\".")
            }
            let pieces = path.dropFirst().split(separator: "/", omittingEmptySubsequences: false)
            if pieces.count == 2, pieces[0] == "locations", op != .replace {
                let value = object["value"]
                if op == .add && value == nil { throw APIError.badRequest("Operation objects must contain exactly one member named \"value\".") }
                return PatchOperation(op: op, attribute: "locations", index: String(pieces[1]), value: value)
            }
            guard pieces.count == 1 else { throw APIError.badRequest("Invalid JSON pointer for this resource: '\(path)'") }
            let raw = String(pieces[0])
            if raw.contains("~"), raw.replacingOccurrences(of: "~0", with: "").replacingOccurrences(of: "~1", with: "").contains("~") {
                throw APIError.badRequest("Pointer `\(path)` contains \"~\" not part of a recognized escape sequence.")
            }
            let attribute = raw.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
            let value = object["value"]
            if op != .remove && value == nil {
                throw APIError.badRequest("Operation objects must contain exactly one member named \"value\".")
            }
            return PatchOperation(op: op, attribute: attribute, value: value)
        }
    }
}

extension ImageAPI {
    func patchImage(_ request: Request, _ context: StratusContext) async throws -> Response {
        let auth = try context.requireAuth()
        let type = request.headers[.contentType]?.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        guard let type, PatchOperation.mediaTypes.contains(type) else {
            throw APIError(.unsupportedMediaType, "Unsupported Content-Type")
        }
        let buffer = try await request.body.collect(upTo: 1 << 20)
        let document: JSON
        do {
            document = try JSON.parse(Array(buffer.readableBytesView))
        } catch {
            throw APIError.badRequest("Malformed JSON in request body.")
        }
        let operations = try PatchOperation.parse(document)
        let sizes = try await locationSizes(operations)
        let removed = try await db.transaction { db -> (ImageRecord, [ImageLocation]) in
            var (image, membership) = try await visibleImage(context, in: db)
            try policy.enforce("modify_image", auth: auth, target: image.policyTarget(memberID: membership?.member))
            let previous = image
            for operation in operations {
                if operation.attribute == "locations" {
                    try applyLocation(operation, to: &image, sizes: sizes, auth: auth)
                } else {
                    try apply(operation, to: &image, context: context)
                }
            }
            try checkQuotas(image)
            if image.visibility != previous.visibility {
                try enforceVisibilityChange(to: image.visibility, auth: auth, image: image)
            }
            if image != previous {
                image.updatedAt = Date().timeIntervalSince1970
                try await repository.save(image, previous: previous, in: db)
            }
            return (image, previous.locations.filter { !image.locations.contains($0) })
        }
        let image = removed.0
        for location in removed.1 { await discard(location.path, from: stores[location.store]) }
        return Response.json(view(image))
    }

    func apply(_ operation: PatchOperation, to image: inout ImageRecord, context: StratusContext) throws {
        let name = operation.attribute
        try checkWritable(name)
        let isCore = ImageAttributes.settable.contains(name)
        switch operation.op {
        case .add, .replace:
            if operation.op == .replace, !isCore, image.properties[name] == nil {
                throw APIError.conflict("Property \(name) does not exist.")
            }
            try setAttribute(name, operation.value ?? .null, on: &image, context: context)
        case .remove:
            if isCore {
                throw APIError.forbidden("Properties \(name) must be set prior to removal; core attributes cannot be removed.")
            }
            guard image.properties.removeValue(forKey: name) != nil else {
                throw APIError.conflict("Property \(name) does not exist.")
            }
        }
    }
}

extension ImageAPI {
    /// The sizes of the http locations a patch adds, fetched before its transaction.
    func locationSizes(_ operations: [PatchOperation]) async throws -> [String: Int64] {
        var sizes: [String: Int64] = [:]
        for operation in operations where operation.attribute == "locations" && operation.op != .remove {
            let values = operation.op == .add ? [operation.value ?? .null] : operation.value?.arrayValue ?? []
            for value in values {
                guard let url = value["url"]?.stringValue, sizes[url] == nil, Self.isHTTP(url), stores.httpStore != nil else { continue }
                sizes[url] = try await HTTPStore.size(of: url) ?? -1
            }
        }
        return sizes
    }

    static func isHTTP(_ url: String) -> Bool {
        guard let scheme = URL(string: url)?.scheme?.lowercased() else { return false }
        return scheme == "http" || scheme == "https"
    }

    /// Location changes (Glance's `show_multiple_locations`): add http(s) locations, change the
    /// metadata of the existing ones, and (admins) remove copies while one remains.
    func applyLocation(_ operation: PatchOperation, to image: inout ImageRecord, sizes: [String: Int64], auth: AuthContext) throws {
        guard showLocations else {
            throw APIError.forbidden("It's not allowed to \(operation.op.rawValue) locations if locations are invisible.")
        }
        switch operation.op {
        case .add:
            try addLocation(operation.value ?? .null, at: operation.index ?? "-", to: &image, sizes: sizes)
        case .replace:
            guard let items = operation.value?.arrayValue else { throw APIError.badRequest("Locations must be a list.") }
            guard !items.isEmpty else { throw APIError.forbidden("Cannot set locations to empty list.") }
            if image.locations.isEmpty {
                for item in items { try addLocation(item, at: "-", to: &image, sizes: sizes) }
                return
            }
            let urls = items.map { $0["url"]?.stringValue ?? "" }
            let current = image.locations.map { stores[$0.store]?.url(for: $0.path) ?? $0.path }
            guard urls == current else {
                throw APIError.badRequest("Invalid locations: replacing locations may only change their metadata.")
            }
            for (index, item) in items.enumerated() {
                guard let metadata = item["metadata"]?.objectValue else { throw APIError.badRequest("Each location needs a 'metadata' object.") }
                image.locations[index].metadata = metadata
            }
        case .remove:
            guard policy.check("delete_image_location", creds: auth.policyCredentials, target: image.policyTarget()) else {
                throw APIError.forbidden("You are not authorized to complete delete_image_location action.")
            }
            guard let index = Int(operation.index ?? ""), image.locations.indices.contains(index) else {
                throw APIError.badRequest("Invalid location index '\(operation.index ?? "")'.")
            }
            guard image.locations.count > 1 else { throw APIError.forbidden("Cannot remove last location in the image.") }
            image.locations.remove(at: index)
        }
    }

    private func addLocation(_ value: JSON, at index: String, to image: inout ImageRecord, sizes: [String: Int64]) throws {
        guard let url = value["url"]?.stringValue, let metadata = value["metadata"]?.objectValue else {
            throw APIError.badRequest("A location needs a 'url' string and a 'metadata' object.")
        }
        guard Self.isHTTP(url), let store = stores.httpStore else {
            throw APIError.badRequest("Invalid location: \(url) (only http and https URLs can be added).")
        }
        guard [.queued, .active].contains(image.status) else {
            throw APIError.conflict("Locations can only be added to queued or active images, not \(image.status.rawValue) ones.")
        }
        guard image.locations.count < 10 else { throw APIError(.contentTooLarge, "Maximum number of locations (10) reached.") }
        if let validation = value["validation_data"] { try applyValidationData(validation, to: &image) }
        var location = ImageLocation(store: store.id, path: url, metadata: metadata)
        if location.metadata["store"] == nil { location.metadata["store"] = .string(store.id) }
        if index == "-" {
            image.locations.append(location)
        } else if let position = Int(index), (0...image.locations.count).contains(position) {
            image.locations.insert(location, at: position)
        } else {
            throw APIError.badRequest("Invalid location index '\(index)'.")
        }
        if image.status == .queued {
            image.status = .active
            if let size = sizes[url], size >= 0 { image.size = size }
        }
    }

    static let hashLengths = ["md5": 32, "sha1": 40, "sha224": 56, "sha256": 64, "sha384": 96, "sha512": 128]

    /// Checksums a client vouches for with a location: taken when the image has none, and
    /// otherwise they must match (409).
    private func applyValidationData(_ value: JSON, to image: inout ImageRecord) throws {
        let data = value.objectValue ?? [:]
        let algo = data["os_hash_algo"]?.stringValue
        let hash = data["os_hash_value"]?.stringValue
        let checksum = data["checksum"]?.stringValue
        if image.osHashValue != nil || image.checksum != nil {
            guard image.osHashAlgo == algo, image.osHashValue == hash, checksum == nil || checksum == image.checksum else {
                throw APIError.conflict("The validation data of the new location does not match the image's checksums.")
            }
            return
        }
        guard let algo, let hash else { throw APIError.badRequest("validation_data requires 'os_hash_algo' and 'os_hash_value'.") }
        guard let length = Self.hashLengths[algo] else { throw APIError.badRequest("Unknown os_hash_algo '\(algo)'.") }
        guard hash.count == length else { throw APIError.badRequest("os_hash_value is not a valid \(algo) hex digest.") }
        if let checksum, checksum.count != 32 { throw APIError.badRequest("checksum is not a valid MD5 hex digest.") }
        image.osHashAlgo = algo
        image.osHashValue = hash
        image.checksum = checksum
    }
}
