import AsyncHTTPClient
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOSSL

/// The HTTP client the services call each other (and image locations) with: AsyncHTTPClient's
/// shared one, or, once `trust(caFile:)` has run for a cloud whose certificates come from its
/// own CA, one that trusts that CA beside the system's roots (as `[keystone_authtoken] cafile`).
public enum PeerHTTP {
    private static let trusting = NIOLockedValueBox<(caFile: String, client: HTTPClient)?>(nil)

    public static var client: HTTPClient { trusting.withLockedValue { $0?.client } ?? .shared }

    /// Trusts the CA certificates in `caFile` from now on. The first CA a process is given
    /// stays: a process serves one cloud.
    public static func trust(caFile: String) throws {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.additionalTrustRoots = [.certificates(try NIOSSLCertificate.fromPEMFile(caFile))]
        try trusting.withLockedValue { current in
            guard current == nil else {
                guard current?.caFile == caFile else { throw PeerTrustError(caFile: caFile) }
                return
            }
            var configuration = HTTPClient.Configuration.singletonConfiguration
            configuration.tlsConfiguration = tls
            let client = HTTPClient(
                eventLoopGroup: MultiThreadedEventLoopGroup.singleton, configuration: configuration)
            current = (caFile, client)
        }
    }
}

struct PeerTrustError: Error, CustomStringConvertible {
    let caFile: String
    var description: String { "this process already trusts another CA than \(caFile)" }
}
