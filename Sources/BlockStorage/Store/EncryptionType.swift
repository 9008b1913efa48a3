import Foundation
import SQLKit
import StratusCore

/// How volumes of a type are to be encrypted (Cinder's encryption types).
struct EncryptionType: StoredRow {
    static let table = "encryption_types"
    static let columns = [
        "id", "type_id", "provider", "cipher", "key_size", "control_location", "created_at", "updated_at",
    ]

    var id: String
    var typeID: String
    var provider: String
    var cipher: String?
    var keySize: Int?
    var controlLocation: String
    var createdAt: Date
    var updatedAt: Date?

    init(typeID: String, provider: String, cipher: String?, keySize: Int?, controlLocation: String) {
        id = UUID().uuidString.lowercased()
        self.typeID = typeID
        self.provider = provider
        self.cipher = cipher
        self.keySize = keySize
        self.controlLocation = controlLocation
        createdAt = Date()
    }

    init(row: any SQLRow) throws {
        id = try row.decode(column: "id", as: String.self)
        typeID = try row.decode(column: "type_id", as: String.self)
        provider = try row.decode(column: "provider", as: String.self)
        cipher = try row.decode(column: "cipher", as: String?.self)
        keySize = try row.decode(column: "key_size", as: Int?.self)
        controlLocation = try row.decode(column: "control_location", as: String.self)
        createdAt = Date(timeIntervalSince1970: try row.decode(column: "created_at", as: Double.self))
        updatedAt = try row.decode(column: "updated_at", as: Double?.self).map(Date.init(timeIntervalSince1970:))
    }

    var values: [any Encodable & Sendable] {
        [
            id, typeID, provider, cipher, keySize, controlLocation, createdAt.timeIntervalSince1970,
            updatedAt?.timeIntervalSince1970,
        ]
    }

    static func of(type id: String, in db: any SQLDatabase) async throws -> EncryptionType? {
        try await select(where: "type_id = \(bind: id)", in: db).first
    }

    /// The LUKS cipher new volumes of the type get; other providers (`plain`) are refused.
    func luksCipher() throws -> LuksCipher {
        guard LuksCipher.providers.contains(provider) else {
            throw BlockStorageError.invalidInput("Encryption provider \(provider) is not supported; use luks.")
        }
        return try LuksCipher(cipher: cipher, keySize: keySize)
    }

    var fields: [String: JSON] {
        [
            "volume_type_id": .string(typeID), "encryption_id": .string(id), "provider": .string(provider),
            "cipher": cipher.map(JSON.string) ?? .null, "key_size": keySize.map(JSON.int) ?? .null,
            "control_location": .string(controlLocation),
        ]
    }
}
