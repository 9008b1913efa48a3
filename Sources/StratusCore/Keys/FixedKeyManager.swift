import Foundation

/// Castellan's `ConfKeyManager`: one key for every encrypted volume, `[key_manager] fixed_key`
/// (hex), or a random one generated once in the data directory. Every host that opens
/// encrypted volumes needs the same key: set `fixed_key` when there is more than one.
public struct FixedKeyManager: Sendable {
    public static let fixedKey = ConfigOption(
        "key_manager", "fixed_key", default: "",
        help: "Hex key of encrypted volumes, the same on every host (default: generated in <data_dir>/fixed-key).")
    /// The id the fixed key goes by, as Castellan's.
    public static let keyID = "00000000-0000-0000-0000-000000000000"

    private let key: String

    /// `key` in hex, at least 16 bytes.
    public init(hexKey: String) throws {
        let key = hexKey.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
        guard key.count >= 32, key.count % 2 == 0, key.allSatisfy(\.isHexDigit) else {
            throw KeyManagerError("[key_manager] fixed_key must be an even number of hex digits, at least 32.")
        }
        self.key = key
    }

    public init(config: Config, dataDir: String) throws {
        let configured = config[Self.fixedKey]
        try self.init(
            hexKey: configured.isEmpty ? try DataDirSecret.load("\(dataDir)/fixed-key", bytes: 32) : configured)
    }

    /// A key id for a new encrypted volume.
    public func createKey() -> String { Self.keyID }

    /// The passphrase LUKS data of `keyID` is locked with: the key in hex, as os-brick's
    /// encryptors and Nova's libvirt driver pass it.
    public func passphrase(keyID: String) throws -> String {
        guard keyID == Self.keyID else { throw KeyManagerError("Key \(keyID) is not the fixed key.") }
        return key
    }
}

public struct KeyManagerError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// A random secret kept in a file of the data directory (mode 0600), made on first use.
public enum DataDirSecret {
    /// The file's secret, or `bytes` random bytes in hex written to it when there is no file
    /// (or an empty one). A file that cannot be read is an error, never replaced: the data
    /// locked with its secret would be lost.
    public static func load(_ path: String, bytes: Int) throws -> String {
        if FileManager.default.fileExists(atPath: path) {
            let secret = try String(contentsOfFile: path, encoding: .utf8)
                .trimmingCharacters(in: .whitespacesAndNewlines)
            if !secret.isEmpty { return secret }
        }
        let secret = (0..<bytes).map { _ in UInt8.random(in: 0...255) }.hexEncoded()
        let attributes: [FileAttributeKey: Any] = [.posixPermissions: 0o600]
        guard FileManager.default.createFile(atPath: path, contents: Data(secret.utf8), attributes: attributes) else {
            throw KeyManagerError("cannot write \(path)")
        }
        return secret
    }
}
