import NIOSSL

/// TLS on the API listeners: `[DEFAULT] ssl_cert_file` and `ssl_key_file` (PEM), or a
/// service's own `[<service>] ssl_cert_file`/`ssl_key_file`; `[DEFAULT] ssl_ca_file` is the CA
/// clients and the services' calls to each other trust. The instance metadata service stays
/// plain HTTP, as Nova's: guests reach it at http://169.254.169.254.
public struct ListenerTLS: Sendable {
    public static let certificateFile = ConfigOption(
        "DEFAULT", "ssl_cert_file", default: "",
        help: "PEM certificate (chain) every API serves HTTPS with; empty: plain HTTP.")
    public static let keyFile = ConfigOption(
        "DEFAULT", "ssl_key_file", default: "", help: "PEM private key of ssl_cert_file.")
    public static let caFile = ConfigOption(
        "DEFAULT", "ssl_ca_file", default: "",
        help: "PEM CA certificates clients and the services trust (written into clouds.yaml as cacert).")

    let config: Config

    public init(config: Config) {
        self.config = config
    }

    /// The certificate and key `service` serves with, its own before the shared ones.
    public func files(service: String) -> (certificate: String, key: String)? {
        let own = config[ConfigOption(service, Self.certificateFile.name, default: "", help: "")]
        let certificate = own.isEmpty ? config[Self.certificateFile] : own
        let ownKey = config[ConfigOption(service, Self.keyFile.name, default: "", help: "")]
        let key = ownKey.isEmpty ? config[Self.keyFile] : ownKey
        guard !certificate.isEmpty else { return nil }
        return (certificate, key.isEmpty ? certificate : key)
    }

    /// The scheme of `service`'s catalog URLs.
    public func scheme(service: String) -> String { files(service: service) == nil ? "http" : "https" }

    /// The CA clients should trust, if the cloud names one.
    public var caFile: String? {
        let file = config[Self.caFile]
        return file.isEmpty ? nil : file
    }

    func serverConfiguration(service: String) throws -> TLSConfiguration? {
        guard let (certificate, key) = files(service: service) else { return nil }
        let chain = try NIOSSLCertificate.fromPEMFile(certificate).map { NIOSSLCertificateSource.certificate($0) }
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain, privateKey: .privateKey(try NIOSSLPrivateKey(file: key, format: .pem)))
        // A closing connection waits this long for the peer's close_notify (NIOSSL's default is 5 s):
        // idle pooled clients never send one, and a stopping server closes every connection.
        configuration.shutdownTimeout = .milliseconds(500)
        return configuration
    }
}
