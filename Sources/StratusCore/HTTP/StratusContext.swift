import Hummingbird
import Logging
import NIOCore

/// The request context every Stratus service uses: the request id and, once the auth
/// middleware has run, who is calling.
public struct StratusContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public var requestID: String = ""
    public var auth: AuthContext?
    /// Set by `MicroversionMiddleware` on services with microversions.
    public var microversion: Microversion?

    /// The peer's IP address (the metadata service identifies servers by it).
    public var remoteAddress: String?
    /// The connection, to find its `OutboundBacklog` when a large body must be paced.
    let connection: ObjectIdentifier

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.remoteAddress = source.channel.remoteAddress?.ipAddress
        self.connection = ObjectIdentifier(source.channel)
    }

    /// Allows bodies up to 64 MiB by default; streaming endpoints read the body themselves.
    public var maxUploadSize: Int { 64 * 1024 * 1024 }

    /// The caller, or 401 when the request carried no valid token.
    public func requireAuth() throws -> AuthContext {
        guard let auth else { throw APIError.unauthorized() }
        return auth
    }
}
