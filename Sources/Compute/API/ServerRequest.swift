import Foundation
import StratusCore

/// A validated `POST /servers` body.
struct ServerRequest: Sendable {
    var name: String
    var imageRef: String
    var flavorRef: String
    /// nil: not given (2.1 picks the project's only network); "auto"/"none"; else the list.
    var networks: JSON?
    var metadata: [String: JSON] = [:]
    var securityGroups: [String] = []
    var keyName: String?
    var userData: String?
    var availabilityZone: String?
    var minCount = 1
    var maxCount = 1
    var returnReservationID = false
    var configDrive = false
    var accessIPv4 = ""
    var accessIPv6 = ""
    var adminPass: String?
    var description: JSON = .null
    var tags: [String] = []
    var hostname: String?
    var diskConfig = "MANUAL"
    var blockDevices: [JSON] = []
    var hints: JSON = [:]
    /// Injected files (before 2.57): `{path, contents}` with base64 contents.
    var personality: [JSON] = []

    static func parse(_ body: [String: JSON], hints: JSON?, context: StratusContext) throws -> ServerRequest {
        func bad(_ field: String, _ reason: String) -> APIError {
            .badRequest("Invalid input for field/attribute \(field). Value: \(body[field]?.serialized() ?? "None"). \(reason)")
        }
        guard let nameValue = body["name"] else { throw APIError.badRequest("Invalid input for field/attribute server. 'name' is a required property") }
        guard let name = nameValue.stringValue else { throw bad("name", "\(nameValue.serialized()) is not of type 'string'") }
        guard !name.isEmpty, name.count <= 255 else { throw bad("name", name.isEmpty ? "'' is too short" : "is too long") }
        guard name.trimmingCharacters(in: .whitespaces) == name, !name.contains(where: { $0.isNewline }) else {
            throw bad("name", "'\(name)' does not match the name format (no leading or trailing whitespace)")
        }
        var imageRef = ""
        if let raw = body["imageRef"], !raw.isNull {
            guard let text = raw.stringValue else { throw bad("imageRef", "is not of type 'string'") }
            imageRef = text.split(separator: "/").last.map(String.init) ?? ""
        }
        guard let flavorValue = body["flavorRef"] else { throw APIError.badRequest("Invalid input for field/attribute server. 'flavorRef' is a required property") }
        guard let flavorText = flavorValue.stringValue ?? flavorValue.intValue.map(String.init), !flavorText.isEmpty else {
            throw bad("flavorRef", "is not a valid flavor reference")
        }
        var request = ServerRequest(name: name, imageRef: imageRef, flavorRef: flavorText.split(separator: "/").last.map(String.init) ?? flavorText)
        if let networks = body["networks"] {
            switch networks {
            case .string(let word) where context.version(atLeast: 2, 37) && ["auto", "none"].contains(word): break
            case .array(let items):
                for item in items {
                    guard case .object(let network) = item else { throw bad("networks", "is not of type 'object'") }
                    if let uuid = network["uuid"] {
                        guard let text = uuid.stringValue, UUID(uuidString: text) != nil else {
                            throw APIError.badRequest("Bad networks format: network uuid is not in proper format (\(uuid.stringValue ?? uuid.serialized()))")
                        }
                    }
                    if let port = network["port"], !port.isNull, port.stringValue.flatMap({ UUID(uuidString: $0) }) == nil {
                        throw bad("port", "is not a 'uuid'")
                    }
                    if let ip = network["fixed_ip"], !(ip.stringValue.map(IPText.isAddress) ?? false) {
                        throw APIError.badRequest("Invalid fixed IP address (\(ip.stringValue ?? ip.serialized()))")
                    }
                    if network["uuid"] == nil, network["port"] == nil {
                        throw APIError.badRequest("Bad network format: missing 'uuid' or 'port'")
                    }
                }
            default: throw bad("networks", "is not valid under any of the given schemas")
            }
            request.networks = networks
        } else if context.version(atLeast: 2, 37) {
            throw APIError.badRequest("Invalid input for field/attribute server. 'networks' is a required property")
        }
        if let metadata = body["metadata"] {
            guard case .object(let items) = metadata else { throw bad("metadata", "is not of type 'object'") }
            try ServerMetadataRules.validate(items)
            request.metadata = items
        }
        if let groups = body["security_groups"] {
            guard case .array(let items) = groups else { throw bad("security_groups", "is not of type 'array'") }
            request.securityGroups = try items.map {
                guard let name = $0["name"]?.stringValue, !name.isEmpty else { throw bad("security_groups", "each item needs a 'name'") }
                return name
            }
        }
        if let key = body["key_name"], !key.isNull {
            guard let text = key.stringValue, !text.isEmpty, text.count <= 255 else { throw bad("key_name", "is not a valid key name") }
            request.keyName = text
        }
        if let data = body["user_data"], !data.isNull {
            guard let text = data.stringValue, text.count <= 65535, Data(base64Encoded: text, options: .ignoreUnknownCharacters) != nil else {
                throw bad("user_data", "is not a base64-encoded string of at most 65535 characters")
            }
            request.userData = text
        }
        if let zone = body["availability_zone"], !zone.isNull {
            guard let text = zone.stringValue, !text.isEmpty, text.count <= 255 else { throw bad("availability_zone", "is not a valid zone") }
            request.availabilityZone = text
        }
        func count(_ key: String) throws -> Int? {
            guard let raw = body[key] else { return nil }
            guard let value = raw.intValue ?? raw.stringValue.flatMap({ Int($0) }), value >= 1 else {
                throw bad(key, "\(raw.serialized()) is less than the minimum of 1")
            }
            return value
        }
        let minCount = try count("min_count")
        let maxCount = try count("max_count")
        request.minCount = minCount ?? 1
        request.maxCount = maxCount ?? max(request.minCount, 1)
        guard request.minCount <= request.maxCount else {
            throw APIError.badRequest("min_count must be <= max_count")
        }
        if let flag = body["return_reservation_id"] { request.returnReservationID = flag.boolValue ?? (flag.stringValue?.lowercased() == "true") }
        if let drive = body["config_drive"], !drive.isNull {
            request.configDrive = drive.boolValue ?? ["true", "1", "yes"].contains(drive.stringValue?.lowercased() ?? "")
        }
        for (key, version) in [("accessIPv4", 4), ("accessIPv6", 6)] {
            guard let raw = body[key], !raw.isNull else { continue }
            guard let text = raw.stringValue, text.isEmpty || IPText.version(text) == version else {
                throw bad(key, "is not a valid IPv\(version) address")
            }
            if version == 4 { request.accessIPv4 = text } else { request.accessIPv6 = IPText.canonical(text) }
        }
        if let pass = body["adminPass"] {
            guard let text = pass.stringValue else { throw bad("adminPass", "is not of type 'string'") }
            request.adminPass = text
        }
        if let description = body["description"] {
            guard context.version(atLeast: 2, 19) else { throw APIError.badRequest("Additional properties are not allowed ('description' was unexpected)") }
            guard description.isNull || (description.stringValue?.count ?? 256) <= 255 else { throw bad("description", "is too long") }
            request.description = description
        }
        if let tags = body["tags"] {
            guard context.version(atLeast: 2, 52) else { throw APIError.badRequest("Additional properties are not allowed ('tags' was unexpected)") }
            request.tags = try ServerMetadataRules.tags(tags)
        }
        if let hostname = body["hostname"] {
            guard context.version(atLeast: 2, 90), let text = hostname.stringValue else {
                throw APIError.badRequest("Additional properties are not allowed ('hostname' was unexpected)")
            }
            request.hostname = text
        }
        if let disk = body["OS-DCF:diskConfig"] {
            guard let text = disk.stringValue, ["AUTO", "MANUAL"].contains(text) else { throw bad("OS-DCF:diskConfig", "is not one of ['AUTO', 'MANUAL']") }
            request.diskConfig = text
        }
        if let files = body["personality"] {
            guard !context.version(atLeast: 2, 57) else {
                throw APIError.badRequest("Additional properties are not allowed ('personality' was unexpected)")
            }
            guard case .array(let items) = files, items.allSatisfy({ $0["path"]?.stringValue != nil && $0["contents"]?.stringValue != nil }) else {
                throw bad("personality", "must be a list of {path, contents}")
            }
            request.personality = items
        }
        if let mappings = body["block_device_mapping_v2"] {
            guard case .array(let items) = mappings else { throw bad("block_device_mapping_v2", "is not of type 'array'") }
            for item in items { try BlockDeviceRules.validate(item) }
            request.blockDevices = items
        }
        if request.imageRef.isEmpty, !request.blockDevices.contains(where: { $0["boot_index"]?.intValue == 0 || $0["boot_index"]?.stringValue == "0" }) {
            throw APIError.badRequest("Block Device Mapping is Invalid: Boot sequence for the instance and image/block device mapping combination is not valid.")
        }
        if let hints { request.hints = hints }
        return request
    }
}
