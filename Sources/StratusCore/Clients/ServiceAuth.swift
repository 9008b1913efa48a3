import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// A service user's project-scoped token and the catalog that came with it, renewed a
/// few minutes before it expires (or at once when a service answers 401).
public actor ServiceAuth {
    public struct Credentials: Sendable {
        public var authURL: String
        public var username: String
        public var password: String
        public var projectName = "service"
        public var domain = "Default"
        public var interface = "public"

        public init(authURL: String, username: String, password: String) {
            self.authURL = authURL
            self.username = username
            self.password = password
        }
    }

    let credentials: Credentials
    private var token: String?
    private var expiresAt = Date.distantPast
    private var endpoints: [String: String] = [:]

    public init(_ credentials: Credentials) {
        self.credentials = credentials
    }

    public func currentToken() async throws -> String {
        if let token, expiresAt.timeIntervalSinceNow > 300 { return token }
        return try await authenticate()
    }

    public func invalidate() {
        token = nil
    }

    /// The catalog URL of a service type (e.g. `placement`), without a trailing slash.
    public func endpoint(type: String) async throws -> String {
        // A service registered after our last token shows up in a fresh catalog.
        if token == nil || endpoints[type] == nil { _ = try await authenticate() }
        guard let url = endpoints[type] else { throw ServiceClientError.noEndpoint(type) }
        return url
    }

    private func authenticate() async throws -> String {
        let body: JSON = [
            "auth": [
                "identity": [
                    "methods": ["password"],
                    "password": [
                        "user": [
                            "name": .string(credentials.username), "domain": ["name": .string(credentials.domain)],
                            "password": .string(credentials.password),
                        ]
                    ],
                ],
                "scope": [
                    "project": [
                        "name": .string(credentials.projectName), "domain": ["name": .string(credentials.domain)],
                    ]
                ],
            ]
        ]
        var request = HTTPClientRequest(url: credentials.authURL.trimmingSuffix("/") + "/auth/tokens")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(bytes: body.serializedBytes()))
        let response = try await PeerHTTP.client.execute(request, timeout: .seconds(30))
        let data = try await response.body.collect(upTo: 16 << 20)
        guard response.status == .created, let token = response.headers.first(name: "X-Subject-Token") else {
            throw ServiceClientError.status(
                Int(response.status.code), "Identity refused the service credentials of \(credentials.username)")
        }
        let reply = try JSON.parse(Array(data.readableBytesView))
        var endpoints: [String: String] = [:]
        for service in reply["token"]?["catalog"]?.arrayValue ?? [] {
            guard let type = service["type"]?.stringValue else { continue }
            for endpoint in service["endpoints"]?.arrayValue ?? []
            where endpoint["interface"]?.stringValue == credentials.interface {
                if let url = endpoint["url"]?.stringValue { endpoints[type] = url.trimmingSuffix("/") }
            }
        }
        self.token = token
        self.endpoints = endpoints
        self.expiresAt =
            reply["token"]?["expires_at"]?.stringValue.flatMap(Timestamp.parse) ?? Date().addingTimeInterval(3600)
        return token
    }
}

public enum ServiceClientError: Error, CustomStringConvertible {
    case noEndpoint(String)
    case status(Int, String)

    public var description: String {
        switch self {
        case .noEndpoint(let type): return "no \(type) endpoint in the catalog"
        case .status(let code, let message): return "\(code): \(message)"
        }
    }
}

extension String {
    func trimmingSuffix(_ suffix: String) -> String {
        var text = self
        while text.hasSuffix(suffix) { text.removeLast(suffix.count) }
        return text
    }
}
