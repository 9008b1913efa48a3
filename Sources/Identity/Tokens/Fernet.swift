import Crypto
import Foundation
import _CryptoExtras

/// The Fernet token format (github.com/fernet/spec): version 0x80, timestamp, IV,
/// AES-128-CBC ciphertext, HMAC-SHA256; base64url without padding, as Keystone emits.
struct FernetKey: Sendable {
    let signing: SymmetricKey
    let encryption: SymmetricKey

    /// A key as stored on disk: 32 bytes base64url (signing half, then encryption half).
    init?(encoded: String) {
        guard let raw = Base64URL.decode(encoded.trimmingCharacters(in: .whitespacesAndNewlines)), raw.count == 32 else { return nil }
        signing = SymmetricKey(data: raw.prefix(16))
        encryption = SymmetricKey(data: raw.suffix(16))
    }

    static func generateEncoded() -> String {
        let key = SymmetricKey(size: .bits256)
        return key.withUnsafeBytes { Base64URL.encode(Data($0), padded: true) }
    }

    func seal(_ plaintext: [UInt8], timestamp: UInt64) throws -> String {
        let iv = AES._CBC.IV()
        let ciphertext = try AES._CBC.encrypt(plaintext, using: encryption, iv: iv)
        var message = Data([0x80])
        withUnsafeBytes(of: timestamp.bigEndian) { message.append(contentsOf: $0) }
        message.append(contentsOf: Array(iv))
        message.append(ciphertext)
        let mac = HMAC<SHA256>.authenticationCode(for: message, using: signing)
        message.append(contentsOf: mac)
        return Base64URL.encode(message, padded: false)
    }

    /// The plaintext and timestamp, or nil if this key did not make the token or it was altered.
    func open(_ token: Data) -> (plaintext: Data, timestamp: UInt64)? {
        guard token.count >= 1 + 8 + 16 + 16 + 32, token.first == 0x80 else { return nil }
        let signed = token.prefix(token.count - 32)
        let mac = token.suffix(32)
        guard HMAC<SHA256>.isValidAuthenticationCode(mac, authenticating: signed, using: signing) else { return nil }
        let bytes = [UInt8](token)
        var timestamp: UInt64 = 0
        for b in bytes[1..<9] { timestamp = timestamp << 8 | UInt64(b) }
        guard let iv = try? AES._CBC.IV(ivBytes: bytes[9..<25]),
            let plaintext = try? AES._CBC.decrypt(bytes[25..<(bytes.count - 32)], using: encryption, iv: iv)
        else { return nil }
        return (plaintext, timestamp)
    }
}

enum Base64URL {
    /// Swaps the two characters that differ between the alphabets, byte by byte: Foundation's
    /// `replacingOccurrences` was an eighth of what a token issue cost.
    private static func swapping(_ text: String, _ pairs: (UInt8, UInt8), _ other: (UInt8, UInt8)) -> [UInt8] {
        text.utf8.map { byte in
            byte == pairs.0 ? pairs.1 : byte == other.0 ? other.1 : byte
        }
    }

    static func encode(_ data: Data, padded: Bool) -> String {
        var bytes = swapping(
            data.base64EncodedString(), (UInt8(ascii: "+"), UInt8(ascii: "-")), (UInt8(ascii: "/"), UInt8(ascii: "_")))
        if !padded { while bytes.last == UInt8(ascii: "=") { bytes.removeLast() } }
        return String(decoding: bytes, as: UTF8.self)
    }

    static func decode(_ text: String) -> Data? {
        var bytes = swapping(text, (UInt8(ascii: "-"), UInt8(ascii: "+")), (UInt8(ascii: "_"), UInt8(ascii: "/")))
        while bytes.count % 4 != 0 { bytes.append(UInt8(ascii: "=")) }
        return Data(base64Encoded: Data(bytes))
    }
}
