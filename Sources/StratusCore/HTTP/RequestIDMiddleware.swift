import Foundation
import HTTPTypes
import Hummingbird

extension HTTPField.Name {
    public static let openStackRequestID = Self("X-OpenStack-Request-ID")!
    public static let authToken = Self("X-Auth-Token")!
    /// The token of the service acting for a user (keystonemiddleware's service token).
    public static let serviceToken = Self("X-Service-Token")!
    public static let subjectToken = Self("X-Subject-Token")!
    public static let openStackAPIVersion = Self("OpenStack-API-Version")!
}

/// Gives every request an id (`req-<uuid>`), logs it, and returns it in `X-OpenStack-Request-ID`.
public struct RequestIDMiddleware: RouterMiddleware {
    public typealias Context = StratusContext

    public init() {}

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        let id = "req-" + UUID().uuidString.lowercased()
        context.requestID = id
        context.logger[metadataKey: "request_id"] = .string(id)
        var response = try await next(request, context)
        response.headers[.openStackRequestID] = id
        return response
    }
}
