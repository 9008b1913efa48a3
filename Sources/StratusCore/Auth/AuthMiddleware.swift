import Hummingbird

/// Validates `X-Auth-Token` when present and stores the caller in the context.
/// Handlers that need a caller use `context.requireAuth()`, so public routes
/// (version discovery, token issue) keep working without a token.
public struct AuthMiddleware: RouterMiddleware {
    public typealias Context = StratusContext
    let validator: any TokenValidator

    public init(validator: any TokenValidator) {
        self.validator = validator
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let token = request.headers[.authToken], !token.isEmpty else {
            return try await next(request, context)
        }
        var context = context
        context.auth = try await validator.validate(token: token)
        return try await next(request, context)
    }
}
