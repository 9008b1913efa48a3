import Foundation
import StratusCore

/// Nova's volume proxy shapes (`os-volumes`, `os-snapshots`): the request bodies checked as
/// Nova's schemas do and turned into Cinder's, and Cinder's views turned into Nova's camelCase.
/// Raw JSON: this is the wire edge between the two APIs.
enum VolumesProxyViews {
    /// `{"volume": {...}}` of `POST /os-volumes` as the body of Cinder's `POST /volumes`.
    static func cinderVolume(_ body: [String: JSON]) throws -> JSON {
        try rejectUnknown(body, allowed: [
            "size", "display_name", "display_description", "volume_type", "metadata", "availability_zone",
            "snapshot_id",
        ])
        var volume: [String: JSON] = ["size": .int(try size(body["size"]))]
        let renamed = [
            ("display_name", "name"), ("display_description", "description"), ("volume_type", "volume_type"),
            ("availability_zone", "availability_zone"), ("snapshot_id", "snapshot_id"),
        ]
        for (nova, cinder) in renamed {
            if let value = try optionalText(body, nova) { volume[cinder] = .string(value) }
        }
        if let metadata = body["metadata"] {
            guard let object = metadata.objectValue else {
                throw invalid("metadata", metadata, "It is not of type 'object'")
            }
            volume["metadata"] = .object(object)
        }
        return ["volume": .object(volume)]
    }

    /// `{"snapshot": {...}}` of `POST /os-snapshots` as the body of Cinder's `POST /snapshots`.
    static func cinderSnapshot(_ body: [String: JSON]) throws -> JSON {
        try rejectUnknown(body, allowed: ["volume_id", "force", "display_name", "display_description"])
        guard let volumeID = try optionalText(body, "volume_id") else {
            throw APIError.badRequest("Invalid input for field/attribute snapshot. 'volume_id' is a required property")
        }
        var snapshot: [String: JSON] = ["volume_id": .string(volumeID), "force": .bool(try force(body["force"]))]
        if let name = try optionalText(body, "display_name") { snapshot["name"] = .string(name) }
        if let description = try optionalText(body, "display_description") {
            snapshot["description"] = .string(description)
        }
        return ["snapshot": .object(snapshot)]
    }

    /// Nova's `_translate_volume_summary_view`: the first attachment when attached, else `[{}]`.
    static func volume(_ cinder: JSON) -> JSON {
        let id = cinder["id"] ?? .null
        var attachment: [String: JSON] = [:]
        if let first = cinder["attachments"]?.arrayValue?.first {
            attachment = ["id": id, "volumeId": id]
            if let server = first["server_id"]?.stringValue { attachment["serverId"] = .string(server) }
            if let device = first["device"]?.stringValue, !device.isEmpty { attachment["device"] = .string(device) }
        }
        return [
            "id": id, "status": cinder["status"] ?? .null, "size": cinder["size"] ?? 0,
            "availabilityZone": cinder["availability_zone"] ?? "", "createdAt": cinder["created_at"] ?? .null,
            "displayName": cinder["name"] ?? .null, "displayDescription": cinder["description"] ?? .null,
            "volumeType": cinder["volume_type"] ?? .null, "snapshotId": cinder["snapshot_id"] ?? .null,
            "metadata": cinder["metadata"]?.objectValue.map(JSON.object) ?? [:], "attachments": [.object(attachment)],
        ]
    }

    /// Nova's `_translate_snapshot_summary_view`.
    static func snapshot(_ cinder: JSON) -> JSON {
        [
            "id": cinder["id"] ?? .null, "volumeId": cinder["volume_id"] ?? .null, "status": cinder["status"] ?? .null,
            "size": cinder["size"] ?? 0, "createdAt": cinder["created_at"] ?? .null,
            "displayName": cinder["name"] ?? .null, "displayDescription": cinder["description"] ?? .null,
        ]
    }

    /// A positive integer, or a string of digits naming one (Nova's `positive_integer`).
    static func size(_ value: JSON?) throws -> Int {
        guard let value else {
            throw APIError.badRequest("Invalid input for field/attribute volume. 'size' is a required property")
        }
        let number: Int?
        switch value {
        case .int(let int): number = int
        case .string(let text) where !text.isEmpty && text.allSatisfy(\.isASCII) && text.allSatisfy(\.isNumber):
            number = Int(text)
        case .string(let text): throw invalid("size", value, "'\(text)' does not match '^[0-9]*$'")
        default: throw invalid("size", value, "It is not of type 'integer', 'string'")
        }
        guard let number, number >= 1 else { throw invalid("size", value, "It is less than the minimum of 1") }
        return number
    }

    /// Nova's `parameter_types.boolean`: a JSON boolean or one of oslo's boolean words.
    private static func force(_ value: JSON?) throws -> Bool {
        guard let value else { return false }
        if let bool = value.boolValue { return bool }
        switch value.stringValue?.lowercased() {
        case "true", "1", "t", "y", "yes", "on": return true
        case "false", "0", "f", "n", "no", "off": return false
        default: throw invalid("force", value, "It is not a valid boolean")
        }
    }

    private static func optionalText(_ body: [String: JSON], _ key: String) throws -> String? {
        guard let value = body[key], !value.isNull else { return nil }
        guard let text = value.stringValue else { throw invalid(key, value, "It is not of type 'string'") }
        return text
    }

    private static func rejectUnknown(_ body: [String: JSON], allowed: Set<String>) throws {
        if let extra = body.keys.sorted().first(where: { !allowed.contains($0) }) {
            throw APIError.badRequest("Additional properties are not allowed ('\(extra)' was unexpected)")
        }
    }

    private static func invalid(_ field: String, _ value: JSON, _ reason: String) -> APIError {
        let shown = value.stringValue ?? value.serialized()
        return .badRequest("Invalid input for field/attribute \(field). Value: \(shown). \(reason)")
    }
}
