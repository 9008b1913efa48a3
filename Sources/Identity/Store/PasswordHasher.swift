import Crypto
import Foundation
import _CryptoExtras

/// PBKDF2-HMAC-SHA512 password hashes in passlib's modular format
/// (`$pbkdf2-sha512$<rounds>$<salt>$<hash>`, adapted base64), so hashes are portable.
struct PasswordHasher: Sendable {
    let rounds: Int

    func hash(_ password: String) throws -> String {
        var salt = [UInt8](repeating: 0, count: 16)
        var rng = SystemRandomNumberGenerator()
        for i in salt.indices { salt[i] = rng.next() }
        let key = try derive(password, salt: salt, rounds: rounds)
        return "$pbkdf2-sha512$\(rounds)$\(Self.ab64(Data(salt)))$\(Self.ab64(key))"
    }

    func verify(_ password: String, against stored: String) -> Bool {
        let parts = stored.split(separator: "$", omittingEmptySubsequences: true)
        guard parts.count == 4, parts[0] == "pbkdf2-sha512", let rounds = Int(parts[1]),
            let salt = Self.unab64(String(parts[2])), let expected = Self.unab64(String(parts[3])),
            let actual = try? derive(password, salt: [UInt8](salt), rounds: rounds)
        else { return false }
        return Self.constantTimeEqual(actual, expected)
    }

    private func derive(_ password: String, salt: [UInt8], rounds: Int) throws -> Data {
        let key = try KDF.Insecure.PBKDF2.deriveKey(
            from: Array(password.utf8), salt: salt, using: .sha512, outputByteCount: 64, unsafeUncheckedRounds: rounds)
        return key.withUnsafeBytes { Data($0) }
    }

    static func constantTimeEqual(_ a: Data, _ b: Data) -> Bool {
        guard a.count == b.count else { return false }
        var diff: UInt8 = 0
        for (x, y) in zip(a, b) { diff |= x ^ y }
        return diff == 0
    }

    /// passlib's "adapted base64": '.' for '+', no padding.
    static func ab64(_ data: Data) -> String {
        data.base64EncodedString().replacingOccurrences(of: "+", with: ".").replacingOccurrences(of: "=", with: "")
    }

    static func unab64(_ text: String) -> Data? {
        var s = text.replacingOccurrences(of: ".", with: "+")
        while s.count % 4 != 0 { s += "=" }
        return Data(base64Encoded: s)
    }
}
