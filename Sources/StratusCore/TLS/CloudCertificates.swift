import Crypto
import Foundation
import SwiftASN1
import X509

/// `stratus serve --tls`: a CA and a server certificate of the cloud's own, made on first
/// start under `<data-dir>/tls` and kept (clients trust `ca.pem` once). The server certificate
/// names `localhost`, 127.0.0.1, ::1 and the public host; when the public host changes, the
/// server certificate is made again by the same CA.
public struct CloudCertificates: Sendable {
    public let directory: String

    public init(dataDir: String) {
        directory = "\(dataDir)/tls"
    }

    public var caFile: String { "\(directory)/ca.pem" }
    public var certificateFile: String { "\(directory)/server.pem" }
    public var keyFile: String { "\(directory)/server-key.pem" }
    private var caKeyFile: String { "\(directory)/ca-key.pem" }
    private var hostsFile: String { "\(directory)/server-hosts" }

    /// Makes whatever of the CA and the server certificate for `publicHost` is missing.
    public func ensure(publicHost: String) throws {
        try FileManager.default.createDirectory(
            atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let (caKey, ca) = try loadOrMakeCA()
        let hosts = Self.serverHosts(publicHost)
        let madeFor = try? String(contentsOfFile: hostsFile, encoding: .utf8)
        let exists =
            FileManager.default.fileExists(atPath: certificateFile)
            && FileManager.default.fileExists(atPath: keyFile)
        if exists, madeFor == hosts.joined(separator: " ") { return }
        let key = P256.Signing.PrivateKey()
        let certificate = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: .init(key.publicKey),
            notValidBefore: Date().addingTimeInterval(-3600), notValidAfter: Date().addingTimeInterval(825 * 86_400),
            issuer: ca.subject, subject: try DistinguishedName { CommonName(publicHost) },
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true))
                try ExtendedKeyUsage([.serverAuth])
                SubjectAlternativeNames(hosts.map(Self.generalName))
                SubjectKeyIdentifier(hash: .init(key.publicKey))
                AuthorityKeyIdentifier(keyIdentifier: try ca.extensions.subjectKeyIdentifier?.keyIdentifier)
            },
            issuerPrivateKey: .init(caKey))
        try write(key.pemRepresentation, to: keyFile, secret: true)
        try write(try certificate.serializeAsPEM().pemString + "\n", to: certificateFile, secret: false)
        try write(hosts.joined(separator: " "), to: hostsFile, secret: false)
    }

    private func loadOrMakeCA() throws -> (P256.Signing.PrivateKey, Certificate) {
        if FileManager.default.fileExists(atPath: caKeyFile) {
            // A CA clients already trust is kept: one that cannot be read is an error, not replaced.
            let keyPEM = try String(contentsOfFile: caKeyFile, encoding: .utf8)
            let caPEM = try String(contentsOfFile: caFile, encoding: .utf8)
            return (try P256.Signing.PrivateKey(pemRepresentation: keyPEM), try Certificate(pemEncoded: caPEM))
        }
        let key = P256.Signing.PrivateKey()
        let name = try DistinguishedName {
            OrganizationName("Stratus")
            CommonName("Stratus cloud CA \(UUID().uuidString.prefix(8).lowercased())")
        }
        let ca = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: .init(key.publicKey),
            notValidBefore: Date().addingTimeInterval(-3600), notValidAfter: Date().addingTimeInterval(3650 * 86_400),
            issuer: name, subject: name, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
                SubjectKeyIdentifier(hash: .init(key.publicKey))
            },
            issuerPrivateKey: .init(key))
        try write(key.pemRepresentation, to: caKeyFile, secret: true)
        try write(try ca.serializeAsPEM().pemString + "\n", to: caFile, secret: false)
        return (key, ca)
    }

    /// The names the server certificate carries: loopback, and the host the catalog names.
    static func serverHosts(_ publicHost: String) -> [String] {
        var hosts = ["localhost", "127.0.0.1", "::1"]
        if !hosts.contains(publicHost) { hosts.append(publicHost) }
        return hosts
    }

    static func generalName(_ host: String) -> GeneralName {
        if let bytes = addressBytes(host) { return .ipAddress(ASN1OctetString(contentBytes: bytes[...])) }
        return .dnsName(host)
    }

    /// The 4 or 16 bytes of an IP address in text, nil for a host name.
    static func addressBytes(_ text: String) -> [UInt8]? {
        for (family, count) in [(AF_INET, 4), (AF_INET6, 16)] {
            var bytes = [UInt8](repeating: 0, count: count)
            if inet_pton(family, text, &bytes) == 1 { return bytes }
        }
        return nil
    }

    private func write(_ text: String, to path: String, secret: Bool) throws {
        try FileManager.default.removeItemIfPresent(atPath: path)
        let attributes: [FileAttributeKey: Any] = [.posixPermissions: secret ? 0o600 : 0o644]
        guard FileManager.default.createFile(atPath: path, contents: Data(text.utf8), attributes: attributes) else {
            throw CertificateFileError(path: path)
        }
    }
}

struct CertificateFileError: Error, CustomStringConvertible {
    let path: String
    var description: String { "cannot write \(path)" }
}
