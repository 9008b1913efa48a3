import Crypto
import Foundation
import _CryptoExtras

/// Key pairs Nova generates: an RSA key with its OpenSSH public key, or a self-signed
/// X.509 certificate; and the fingerprints Nova shows.
enum KeyGeneration {
    struct Generated {
        let privateKey: String
        let publicKey: String
        let fingerprint: String
    }

    static func ssh() throws -> Generated {
        let key = try _RSA.Signing.PrivateKey(keySize: .bits2048)
        let blob = try sshRSABlob(pkcs1: Array(key.publicKey.pkcs1DERRepresentation))
        return Generated(
            privateKey: key.pemRepresentation, publicKey: "ssh-rsa " + Data(blob).base64EncodedString() + " Generated-by-Nova",
            fingerprint: md5Fingerprint(blob))
    }

    static func x509(commonName: String) throws -> Generated {
        let key = try _RSA.Signing.PrivateKey(keySize: .bits2048)
        let sha256WithRSA = DER.sequence([DER.oid([1, 2, 840, 113549, 1, 1, 11]), DER.null])
        let name = DER.sequence([DER.set([DER.sequence([DER.oid([2, 5, 4, 3]), DER.utf8(commonName)])])])
        let now = Date()
        let tbs = DER.sequence([
            DER.tagged(0, DER.integer([2])),
            DER.integer(Array(UUID().uuidString.utf8.prefix(8)).map { $0 & 0x7f }),
            sha256WithRSA, name,
            DER.sequence([DER.utcTime(now), DER.utcTime(now.addingTimeInterval(10 * 365 * 86400))]),
            name, Array(key.publicKey.derRepresentation),
        ])
        let signature = try key.signature(for: Data(tbs), padding: .insecurePKCS1v1_5)
        let certificate = DER.sequence([tbs, sha256WithRSA, DER.bitString(Array(signature.rawRepresentation))])
        let pem = "-----BEGIN CERTIFICATE-----\n" + Data(certificate).base64EncodedString(options: [.lineLength64Characters, .endLineWithLineFeed])
            + "\n-----END CERTIFICATE-----\n"
        return Generated(privateKey: key.pemRepresentation, publicKey: pem, fingerprint: sha1Fingerprint(certificate))
    }

    /// The fingerprint of an imported key, or nil when it is not a valid key of `type`.
    static func fingerprint(publicKey: String, type: String) -> String? {
        if type == "x509" {
            let body = publicKey.split(separator: "\n").filter { !$0.hasPrefix("-----") }.joined()
            guard publicKey.contains("BEGIN CERTIFICATE"), let der = Data(base64Encoded: body), der.count > 32 else { return nil }
            return sha1Fingerprint(Array(der))
        }
        let words = publicKey.split(separator: " ", omittingEmptySubsequences: true)
        guard words.count >= 2, let blob = Data(base64Encoded: String(words[1])), blob.count > 8 else { return nil }
        let types = ["ssh-rsa", "ssh-dss", "ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521"]
        guard types.contains(String(words[0])) else { return nil }
        // The blob starts with its own type name.
        let bytes = Array(blob)
        let length = Int(bytes[0]) << 24 | Int(bytes[1]) << 16 | Int(bytes[2]) << 8 | Int(bytes[3])
        guard length + 4 <= bytes.count, String(decoding: bytes[4..<(4 + length)], as: UTF8.self) == words[0] else { return nil }
        return md5Fingerprint(bytes)
    }

    static func md5Fingerprint(_ bytes: [UInt8]) -> String {
        Insecure.MD5.hash(data: bytes).hexEncoded(separator: ":")
    }

    static func sha1Fingerprint(_ bytes: [UInt8]) -> String {
        Insecure.SHA1.hash(data: bytes).hexEncoded(separator: ":")
    }

    /// `ssh-rsa` wire format from a PKCS#1 RSAPublicKey (SEQUENCE { n, e }).
    static func sshRSABlob(pkcs1: [UInt8]) throws -> [UInt8] {
        var reader = DER.Reader(pkcs1)
        var sequence = DER.Reader(try reader.read(tag: 0x30))
        let modulus = try sequence.read(tag: 0x02)
        let exponent = try sequence.read(tag: 0x02)
        func string(_ bytes: [UInt8]) -> [UInt8] {
            let n = UInt32(bytes.count)
            return [UInt8(n >> 24), UInt8(n >> 16 & 0xff), UInt8(n >> 8 & 0xff), UInt8(n & 0xff)] + bytes
        }
        func mpint(_ bytes: [UInt8]) -> [UInt8] { (bytes.first ?? 0) & 0x80 != 0 ? [0] + bytes : bytes }
        return string(Array("ssh-rsa".utf8)) + string(mpint(exponent)) + string(mpint(modulus))
    }
}

/// Just enough DER to write a self-signed certificate and read an RSA public key.
enum DER {
    static func element(_ tag: UInt8, _ content: [UInt8]) -> [UInt8] {
        var length: [UInt8]
        if content.count < 128 {
            length = [UInt8(content.count)]
        } else {
            var n = content.count
            var bytes: [UInt8] = []
            while n > 0 { bytes.insert(UInt8(n & 0xff), at: 0); n >>= 8 }
            length = [0x80 | UInt8(bytes.count)] + bytes
        }
        return [tag] + length + content
    }

    static func sequence(_ items: [[UInt8]]) -> [UInt8] { element(0x30, items.flatMap { $0 }) }
    static func set(_ items: [[UInt8]]) -> [UInt8] { element(0x31, items.flatMap { $0 }) }
    static func tagged(_ number: UInt8, _ content: [UInt8]) -> [UInt8] { element(0xa0 | number, content) }
    static func integer(_ bytes: [UInt8]) -> [UInt8] { element(0x02, bytes.first.map { $0 & 0x80 != 0 } == true ? [0] + bytes : bytes) }
    static let null: [UInt8] = [0x05, 0x00]
    static func utf8(_ text: String) -> [UInt8] { element(0x0c, Array(text.utf8)) }
    static func bitString(_ bytes: [UInt8]) -> [UInt8] { element(0x03, [0] + bytes) }

    static func utcTime(_ date: Date) -> [UInt8] {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyMMddHHmmss"
        return element(0x17, Array((formatter.string(from: date) + "Z").utf8))
    }

    static func oid(_ parts: [UInt]) -> [UInt8] {
        var bytes: [UInt8] = [UInt8(parts[0] * 40 + parts[1])]
        for part in parts.dropFirst(2) {
            var chunk: [UInt8] = [UInt8(part & 0x7f)]
            var rest = part >> 7
            while rest > 0 { chunk.insert(UInt8(rest & 0x7f) | 0x80, at: 0); rest >>= 7 }
            bytes += chunk
        }
        return element(0x06, bytes)
    }

    struct Reader {
        var bytes: [UInt8]
        var offset = 0

        init(_ bytes: [UInt8]) { self.bytes = bytes }

        mutating func read(tag: UInt8) throws -> [UInt8] {
            guard offset + 2 <= bytes.count, bytes[offset] == tag else { throw Malformed() }
            offset += 1
            var length = Int(bytes[offset])
            offset += 1
            if length & 0x80 != 0 {
                let count = length & 0x7f
                guard offset + count <= bytes.count else { throw Malformed() }
                length = bytes[offset..<(offset + count)].reduce(0) { $0 << 8 | Int($1) }
                offset += count
            }
            guard offset + length <= bytes.count else { throw Malformed() }
            var content = Array(bytes[offset..<(offset + length)])
            offset += length
            if tag == 0x02, content.count > 1, content[0] == 0 { content.removeFirst() }
            return content
        }
    }

    struct Malformed: Error {}
}
