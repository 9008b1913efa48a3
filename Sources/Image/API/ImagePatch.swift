import Foundation
import Hummingbird
import StratusCore

/// One operation of an `application/openstack-images-v2.1-json-patch` document.
struct PatchOperation: Sendable {
    enum Op: String, Sendable { case add, replace, remove }
    let op: Op
    let attribute: String
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
            guard pieces.count == 1 else { throw APIError.badRequest("Nested paths are not allowed") }
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
        let image = try await db.transaction { db in
            var (image, membership) = try await visibleImage(context, in: db)
            try policy.enforce("modify_image", auth: auth, target: image.policyTarget(memberID: membership?.member))
            let previous = image
            for operation in operations {
                try apply(operation, to: &image, context: context)
            }
            try checkQuotas(image)
            if image.visibility != previous.visibility {
                try enforceVisibilityChange(to: image.visibility, auth: auth, image: image)
            }
            if image != previous {
                image.updatedAt = Date().timeIntervalSince1970
                try await repository.save(image, previous: previous, in: db)
            }
            return image
        }
        return Response.json(render(image))
    }

    func apply(_ operation: PatchOperation, to image: inout ImageRecord, context: StratusContext) throws {
        let name = operation.attribute
        if name == "locations" {
            throw APIError.forbidden("It's not allowed to update locations if locations are invisible.")
        }
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
