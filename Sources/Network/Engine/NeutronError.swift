import HTTPTypes
import StratusCore

/// Neutron's typed errors: `{"NeutronError": {"type": ..., "message": ..., "detail": ""}}`.
enum NeutronError {
    static func make(_ status: HTTPResponse.Status, _ type: String, _ message: String) -> APIError {
        APIError(status, message, type: type)
    }

    static func badRequest(_ message: String) -> APIError { make(.badRequest, "HTTPBadRequest", message) }
    static func invalidInput(_ message: String) -> APIError { make(.badRequest, "InvalidInput", "Invalid input for operation: \(message).") }
    static func conflict(_ type: String, _ message: String) -> APIError { make(.conflict, type, message) }
    static func notFound(_ type: String, _ message: String) -> APIError { make(.notFound, type, message) }

    /// `NetworkNotFound: Network <id> could not be found.` for a resource kind.
    static func notFound(_ kind: ResourceKind, id: String) -> APIError {
        make(.notFound, kind.notFoundType, "\(kind.displayName) \(id) could not be found.")
    }

    static func inUse(_ type: String, _ message: String) -> APIError { make(.conflict, type, message) }

    static func ipGenerationFailure(network: String) -> APIError {
        conflict("IpAddressGenerationFailure", "No more IP addresses available on network \(network).")
    }

    static func overQuota(_ resource: String) -> APIError {
        conflict("OverQuota", "Quota exceeded for resources: ['\(resource)'].")
    }

    static func policy(_ action: String) -> APIError {
        make(.forbidden, "PolicyNotAuthorized", "(rule:\(action)) is disallowed by policy")
    }
}
