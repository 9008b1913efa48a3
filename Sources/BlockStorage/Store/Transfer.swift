import Crypto
import Foundation
import SQLKit
import StratusCore

/// An offer to give a volume to another project: whoever presents the auth key takes it.
/// Only a salted hash of the key is kept.
struct Transfer: StoredRow {
    static let table = "transfers"
    static let columns = [
        "id", "volume_id", "name", "salt", "crypt_hash", "no_snapshots", "source_project_id", "destination_project_id",
        "accepted", "created_at",
    ]

    var id: String
    var volumeID: String
    var name: String?
    var salt: String
    var cryptHash: String
    var noSnapshots: Bool
    var sourceProjectID: String
    var destinationProjectID: String?
    var accepted = false
    var createdAt: Date

    /// A new transfer and its auth key, shown to the giver once.
    static func offer(volume: Volume, name: String?, noSnapshots: Bool) -> (Transfer, authKey: String) {
        let key = randomHex(8)
        let salt = randomHex(8)
        let transfer = Transfer(
            id: UUID().uuidString.lowercased(), volumeID: volume.id, name: name, salt: salt,
            cryptHash: hash(key, salt: salt), noSnapshots: noSnapshots, sourceProjectID: volume.projectID,
            createdAt: Date())
        return (transfer, key)
    }

    init(
        id: String, volumeID: String, name: String?, salt: String, cryptHash: String, noSnapshots: Bool,
        sourceProjectID: String, createdAt: Date
    ) {
        self.id = id
        self.volumeID = volumeID
        self.name = name
        self.salt = salt
        self.cryptHash = cryptHash
        self.noSnapshots = noSnapshots
        self.sourceProjectID = sourceProjectID
        self.createdAt = createdAt
    }

    init(row: any SQLRow) throws {
        id = try row.decode(column: "id", as: String.self)
        volumeID = try row.decode(column: "volume_id", as: String.self)
        name = try row.decode(column: "name", as: String?.self)
        salt = try row.decode(column: "salt", as: String.self)
        cryptHash = try row.decode(column: "crypt_hash", as: String.self)
        noSnapshots = try row.decode(column: "no_snapshots", as: Bool.self)
        sourceProjectID = try row.decode(column: "source_project_id", as: String.self)
        destinationProjectID = try row.decode(column: "destination_project_id", as: String?.self)
        accepted = try row.decode(column: "accepted", as: Bool.self)
        createdAt = Date(timeIntervalSince1970: try row.decode(column: "created_at", as: Double.self))
    }

    var values: [any Encodable & Sendable] {
        [
            id, volumeID, name, salt, cryptHash, noSnapshots, sourceProjectID, destinationProjectID, accepted,
            createdAt.timeIntervalSince1970,
        ]
    }

    func accepts(_ key: String) -> Bool { Self.hash(key, salt: salt) == cryptHash }

    static func hash(_ key: String, salt: String) -> String {
        Data(SHA256.hash(data: Data((salt + key).utf8))).hexEncoded()
    }

    static func randomHex(_ bytes: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        return Data((0..<bytes).map { _ in UInt8.random(in: 0...255, using: &generator) }).hexEncoded()
    }
}
