import Foundation
import Hummingbird
import SQLKit
import StratusCore

/// `/types/{id}/encryption`: encryption specs of a volume type (admins manage them).
extension BlockStorageAPI {
    func registerEncryptionTypes(on router: RouterGroup<StratusContext>) {
        router.get("/types/:id/encryption") { _, context -> Response in
            let type = try await typeForEncryption(context, rule: "volume_extension:volume_type_encryption:get")
            guard let encryption = try await db.read({ try await EncryptionType.of(type: type.id, in: $0) }) else {
                return .json([:])
            }
            var view = encryption.fields
            view["deleted"] = false
            view["created_at"] = .string(Timestamp.iso8601(encryption.createdAt, fractional: true))
            view["updated_at"] = encryption.updatedAt.map { .string(Timestamp.iso8601($0, fractional: true)) } ?? .null
            view["deleted_at"] = .null
            return .json(.object(view))
        }
        router.get("/types/:id/encryption/:key") { _, context -> Response in
            let type = try await typeForEncryption(context, rule: "volume_extension:volume_type_encryption:get")
            let key = context.parameters.get("key") ?? ""
            guard let encryption = try await db.read({ try await EncryptionType.of(type: type.id, in: $0) }),
                let value = encryption.fields[key]
            else { throw APIError.notFound("Volume type encryption for type \(type.id) does not exist.") }
            return .json([key: .string(value.stringValue ?? value.serialized())])
        }
        router.post("/types/:id/encryption") { request, context -> Response in
            let type = try await typeForEncryption(context, rule: "volume_extension:volume_type_encryption:create")
            let body = try await request.volumeBody("encryption", context: context)
            guard let provider = body["provider"]?.stringValue, !provider.isEmpty else {
                throw BlockStorageError.invalidInput("provider is required")
            }
            let location = body["control_location"]?.stringValue ?? "front-end"
            guard ["front-end", "back-end"].contains(location) else {
                throw BlockStorageError.invalidInput("Valid control location are: front-end, back-end")
            }
            let encryption = EncryptionType(
                typeID: type.id, provider: provider, cipher: body["cipher"]?.stringValue,
                keySize: body["key_size"]?.intValue,
                controlLocation: location)
            try await db.transaction { db in
                if try await EncryptionType.of(type: type.id, in: db) != nil {
                    throw BlockStorageError.invalidInput("Volume type encryption for type \(type.id) already exists.")
                }
                if try await Volume.select(where: "volume_type_id = \(bind: type.id)", limit: 1, in: db).first != nil {
                    throw BlockStorageError.invalidInput("Volume type \(type.id) is in use by volumes.")
                }
                try await encryption.insert(in: db)
            }
            return .json(["encryption": .object(encryption.fields)])
        }
        router.put("/types/:id/encryption/:key") { request, context -> Response in
            let type = try await typeForEncryption(context, rule: "volume_extension:volume_type_encryption:update")
            let body = try await request.volumeBody("encryption", context: context)
            try await db.transaction { db in
                guard var encryption = try await EncryptionType.of(type: type.id, in: db) else {
                    throw APIError.notFound("Volume type encryption for type \(type.id) does not exist.")
                }
                if try await Volume.select(where: "volume_type_id = \(bind: type.id)", limit: 1, in: db).first != nil {
                    throw BlockStorageError.invalidInput("Volume type \(type.id) is in use by volumes.")
                }
                if let provider = body["provider"]?.stringValue { encryption.provider = provider }
                if let cipher = body["cipher"] { encryption.cipher = cipher.stringValue }
                if let size = body["key_size"] { encryption.keySize = size.intValue }
                if let location = body["control_location"]?.stringValue {
                    guard ["front-end", "back-end"].contains(location) else {
                        throw BlockStorageError.invalidInput("Valid control location are: front-end, back-end")
                    }
                    encryption.controlLocation = location
                }
                encryption.updatedAt = Date()
                try await encryption.save(in: db)
            }
            return .json(["encryption": .object(body)])
        }
        router.delete("/types/:id/encryption/:key") { _, context -> Response in
            let type = try await typeForEncryption(context, rule: "volume_extension:volume_type_encryption:delete")
            try await db.transaction { db in
                guard let encryption = try await EncryptionType.of(type: type.id, in: db) else {
                    throw APIError.notFound("Volume type encryption for type \(type.id) does not exist.")
                }
                if try await Volume.select(where: "volume_type_id = \(bind: type.id)", limit: 1, in: db).first != nil {
                    throw BlockStorageError.invalidInput("Volume type \(type.id) is in use by volumes.")
                }
                try await EncryptionType.delete(encryption.id, in: db)
            }
            return Response(status: .accepted)
        }
    }

    /// `/volumes/{id}/encryption`: how a volume is encrypted, as Nova asks before attaching it.
    func registerVolumeEncryptionMetadata(on router: RouterGroup<StratusContext>) {
        router.get("/volumes/:id/encryption") { _, context -> Response in
            .json(.object(try await volumeEncryptionMetadata(context)))
        }
        router.get("/volumes/:id/encryption/:key") { _, context -> Response in
            let key = context.parameters.get("key") ?? ""
            guard let value = try await volumeEncryptionMetadata(context)[key] else {
                throw APIError.notFound("Volume encryption metadata has no key \(key).")
            }
            return .json(value)
        }
    }

    private func volumeEncryptionMetadata(_ context: StratusContext) async throws -> [String: JSON] {
        let volume = try await visibleVolume(
            context, try caller(context), rule: "volume_extension:volume_encryption_metadata")
        guard let keyID = volume.encryptionKeyID else { return ["encryption_key_id": .null, "encrypted": false] }
        var metadata: [String: JSON] = ["encryption_key_id": .string(keyID), "encrypted": true]
        if let type = try await db.read({ try await EncryptionType.of(type: volume.typeID, in: $0) }) {
            for key in ["provider", "cipher", "key_size", "control_location"] { metadata[key] = type.fields[key] }
        }
        return metadata
    }

    private func typeForEncryption(_ context: StratusContext, rule: String) async throws -> VolumeType {
        let auth = try caller(context)
        try enforce(rule, auth)
        let id = context.parameters.get("id") ?? ""
        guard let type = try await db.read({ try await VolumeTypes.get(id, in: $0) }) else {
            throw BlockStorageError.typeNotFound(id)
        }
        return type
    }
}
