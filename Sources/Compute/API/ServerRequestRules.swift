import Foundation
import StratusCore

/// Nova's limits on injected files: how many, how long a path, how big.
enum PersonalityRules {
    static func check(_ files: [JSON], limits: [String: Int]) throws {
        if let limit = limits["injected_files"], limit >= 0, files.count > limit {
            throw APIError.forbidden("Personality file limit exceeded")
        }
        for file in files {
            let path = file["path"]?.stringValue ?? ""
            let contents = Data(base64Encoded: file["contents"]?.stringValue ?? "", options: .ignoreUnknownCharacters)
            if let limit = limits["injected_file_path_bytes"], limit >= 0, path.utf8.count > limit {
                throw APIError.forbidden("Personality file path exceeds maximum \(limit)")
            }
            guard let contents else { throw APIError.badRequest("Personality content for \(path) cannot be decoded") }
            if let limit = limits["injected_file_content_bytes"], limit >= 0, contents.count > limit {
                throw APIError.forbidden("Personality content exceeds maximum \(limit)")
            }
        }
    }
}

/// `block_device_mapping_v2` shapes Nova accepts.
enum BlockDeviceRules {
    static func validate(_ item: JSON) throws {
        guard case .object(let bdm) = item else { throw APIError.badRequest("Block Device Mapping is Invalid: each mapping must be an object.") }
        let source = bdm["source_type"]?.stringValue ?? ""
        let destination = bdm["destination_type"]?.stringValue ?? "volume"
        guard ["image", "volume", "snapshot", "blank"].contains(source) else {
            throw APIError.badRequest("Block Device Mapping is Invalid: source_type '\(source)' is not one of image, volume, snapshot, blank.")
        }
        guard ["local", "volume"].contains(destination) else {
            throw APIError.badRequest("Block Device Mapping is Invalid: destination_type '\(destination)' is not one of local, volume.")
        }
        if ["image", "volume", "snapshot"].contains(source), bdm["uuid"]?.stringValue.flatMap({ UUID(uuidString: $0) }) == nil {
            throw APIError.badRequest("Block Device Mapping is Invalid: a \(source) source needs a uuid.")
        }
        if let size = bdm["volume_size"], !size.isNull, (size.intValue ?? Int(size.stringValue ?? "") ?? 0) < 1 {
            throw APIError.badRequest("Block Device Mapping is Invalid: volume_size must be a positive integer.")
        }
        if let index = bdm["boot_index"], !index.isNull, index.intValue == nil, Int(index.stringValue ?? "") == nil {
            throw APIError.badRequest("Block Device Mapping is Invalid: boot_index must be an integer.")
        }
    }
}

/// Metadata and tag limits of Nova.
enum ServerMetadataRules {
    static func validate(_ items: [String: JSON]) throws {
        for (key, value) in items {
            guard !key.isEmpty, key.count <= 255 else {
                throw APIError.badRequest("Invalid input for field/attribute metadata. Value: \(key). metadata keys must be 1 to 255 characters")
            }
            guard let text = value.stringValue, text.count <= 255 else {
                throw APIError.badRequest("Invalid input for field/attribute metadata. Value: \(value.serialized()). metadata values must be strings of at most 255 characters")
            }
        }
    }

    static func tags(_ value: JSON) throws -> [String] {
        guard case .array(let items) = value else { throw APIError.badRequest("Invalid input for field/attribute tags. must be a list") }
        let tags = try items.map { item -> String in
            guard let tag = item.stringValue, !tag.isEmpty, tag.count <= 60, !tag.contains(","), !tag.contains("/") else {
                throw APIError.badRequest("Invalid input for field/attribute tags. Value: \(item.serialized()). Tags are 1 to 60 characters without ',' or '/'")
            }
            return tag
        }
        guard tags.count <= 50 else { throw APIError.badRequest("The number of tags exceeded the per-server limit 50") }
        return Array(NSOrderedSet(array: tags).compactMap { $0 as? String })
    }
}
