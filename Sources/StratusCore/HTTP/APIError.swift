import HTTPTypes

/// An error that reaches the client as a 4xx (or, for bugs, 5xx) in the service's fault format.
public struct APIError: Error, Sendable, CustomStringConvertible {
    public let status: HTTPResponse.Status
    public let message: String
    public var headers: HTTPFields
    /// The error's type name where the API reports one (Neutron's `NeutronError.type`).
    public var type: String?

    public init(_ status: HTTPResponse.Status, _ message: String, headers: HTTPFields = [:], type: String? = nil) {
        self.status = status
        self.message = message
        self.headers = headers
        self.type = type
    }

    public var description: String { "\(status.code) \(message)" }

    public static func badRequest(_ message: String) -> APIError { .init(.badRequest, message) }
    public static func unauthorized(_ message: String = "The request you have made requires authentication.") -> APIError {
        .init(.unauthorized, message)
    }
    public static func forbidden(_ message: String = "You are not authorized to perform the requested action.") -> APIError {
        .init(.forbidden, message)
    }
    public static func notFound(_ message: String) -> APIError { .init(.notFound, message) }
    public static func conflict(_ message: String) -> APIError { .init(.conflict, message) }
    public static func methodNotAllowed(_ message: String = "The method is not allowed for the requested URL.") -> APIError {
        .init(.methodNotAllowed, message)
    }
}
