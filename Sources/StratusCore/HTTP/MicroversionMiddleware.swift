import Hummingbird

/// Negotiates the request's microversion (400/406 in the service's fault format), stores
/// it in the context and states it in the response headers. Version discovery documents
/// at `/` and `/<major>` are served at the minimum without negotiation errors.
public struct MicroversionMiddleware: RouterMiddleware {
    public typealias Context = StratusContext
    let range: MicroversionRange

    public init(range: MicroversionRange) {
        self.range = range
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        let version = try range.negotiate(request.headers)
        context.microversion = version
        var response = try await next(request, context)
        for field in range.responseHeaders(version) { response.headers[field.name] = field.value }
        return response
    }
}

extension StratusContext {
    /// The negotiated microversion, or `min` where the service has no microversions.
    public func version(atLeast major: Int, _ minor: Int) -> Bool {
        guard let microversion else { return false }
        return microversion >= Microversion(major, minor)
    }
}
