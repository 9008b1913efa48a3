import Foundation
import StratusCore

/// How a volume's data is encrypted: LUKS, locked with the key manager's passphrase; new
/// LUKS headers get the volume type's cipher.
struct VolumeEncryption: Sendable, Equatable {
    var passphrase: String
    var cipher: LuksCipher

    /// How `volume` is encrypted, by its type's spec and its key; nil when it is not.
    static func of(_ volume: Volume, keys: FixedKeyManager, in db: Database) async throws -> VolumeEncryption? {
        guard let keyID = volume.encryptionKeyID else { return nil }
        let type = try await db.read { try await EncryptionType.of(type: volume.typeID, in: $0) }
        let cipher = try type?.luksCipher() ?? LuksCipher(cipher: nil, keySize: nil)
        return VolumeEncryption(passphrase: try keys.passphrase(keyID: keyID), cipher: cipher)
    }
}

/// A Cinder encryption type's `cipher` and `key_size` as QEMU's LUKS options. As with
/// dm-crypt, an XTS key holds two AES keys: 256 bits is AES-128, 512 is AES-256.
struct LuksCipher: Sendable, Equatable {
    var algorithm: String
    var mode: String
    var ivgen: String
    var ivgenHash: String?

    static let providers: Set<String> = [
        "luks", "LuksEncryptor", "nova.volume.encryptors.luks.LuksEncryptor",
        "os_brick.encryptors.luks.LuksEncryptor",
    ]

    /// `cipher` is dm-crypt's `aes-<mode>-<ivgen>[:<hash>]` (default `aes-xts-plain64`),
    /// `keySize` its bits (default 256).
    init(cipher: String?, keySize: Int?) throws {
        let spec = cipher ?? "aes-xts-plain64"
        let parts = spec.split(separator: "-", maxSplits: 2).map(String.init)
        guard parts.count == 3, parts[0] == "aes", ["xts", "cbc", "ecb"].contains(parts[1]) else {
            throw BlockStorageError.invalidInput(
                "Cipher \(spec) is not supported; use aes-xts-plain64 or aes-cbc-essiv.")
        }
        let ivgen = parts[2].split(separator: ":", maxSplits: 1).map(String.init)
        guard ["plain", "plain64", "essiv"].contains(ivgen[0]), ivgen[0] == "essiv" || ivgen.count == 1 else {
            throw BlockStorageError.invalidInput("Cipher \(spec) has an IV generator QEMU does not know.")
        }
        let bits = keySize ?? 256
        let aesBits = parts[1] == "xts" ? bits / 2 : bits
        guard [128, 192, 256].contains(aesBits), parts[1] != "xts" || bits % 2 == 0 else {
            throw BlockStorageError.invalidInput("Key size \(bits) does not fit cipher \(spec).")
        }
        algorithm = "aes-\(aesBits)"
        mode = parts[1]
        self.ivgen = ivgen[0]
        ivgenHash = ivgen[0] == "essiv" ? (ivgen.count > 1 ? ivgen[1] : "sha256") : nil
    }

    /// The creation options of a `luks` image (`prefix` empty) or of LUKS inside qcow2
    /// (`encrypt.`). The passphrase is a random key, so a short PBKDF2 time loses nothing.
    func options(prefix: String) -> String {
        var options = [
            "format=luks", "key-secret=\(LuksImage.secretID)", "cipher-alg=\(algorithm)", "cipher-mode=\(mode)",
            "ivgen-alg=\(ivgen)", "iter-time=100",
        ]
        if prefix.isEmpty { options.removeFirst() }
        if let ivgenHash { options.append("ivgen-hash-alg=\(ivgenHash)") }
        return options.map { prefix + $0 }.joined(separator: ",")
    }
}
