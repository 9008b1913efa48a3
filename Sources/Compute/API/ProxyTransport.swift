import StratusCore

/// The raw REST calls a proxy API forwards with the caller's token: a `ServiceClient` to the
/// peer found in the catalog, or a scripted peer in tests.
protocol ProxyTransport: Sendable {
    func forward(_ method: ProxyMethod, _ path: String, body: JSON?, token: String) async throws -> ServiceReply
}

enum ProxyMethod: Sendable {
    case get, post, delete
}

extension ServiceClient: ProxyTransport {
    func forward(_ method: ProxyMethod, _ path: String, body: JSON?, token: String) async throws -> ServiceReply {
        switch method {
        case .get: return try await send(.GET, path, body: body, token: token)
        case .post: return try await send(.POST, path, body: body, token: token)
        case .delete: return try await send(.DELETE, path, body: body, token: token)
        }
    }
}
