import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import _NIOFileSystem

/// One reply from another service.
public struct ServiceReply: Sendable {
    public let status: Int
    public let body: JSON
    public let headers: [(String, String)]

    public init(status: Int, body: JSON, headers: [(String, String)] = []) {
        self.status = status
        self.body = body
        self.headers = headers
    }

    public var ok: Bool { (200..<300).contains(status) }

    /// The message of an OpenStack fault body, whatever the service's fault shape.
    public var faultMessage: String {
        if let neutron = body["NeutronError"]?["message"]?.stringValue { return neutron }
        if let placement = body["errors"]?.arrayValue?.first?["detail"]?.stringValue { return placement }
        if case .object(let object) = body, let first = object.values.first,
            let message = first["message"]?.stringValue
        {
            return message
        }
        return "HTTP \(status)"
    }

    public var placementErrorCode: String? { body["errors"]?.arrayValue?.first?["code"]?.stringValue }
}

/// REST calls to another Stratus (or OpenStack) service found through the catalog,
/// authenticated as the service user, or with the caller's own token where given.
public struct ServiceClient: Sendable {
    public let auth: ServiceAuth
    public let serviceType: String
    /// Fixed headers, e.g. `OpenStack-API-Version: placement 1.39`.
    public let headers: [(String, String)]
    /// Whether a call with the caller's token also carries the service user's as
    /// `X-Service-Token`, as Nova's calls to Cinder do.
    public let sendsServiceToken: Bool

    public init(
        auth: ServiceAuth, serviceType: String, headers: [(String, String)] = [], sendsServiceToken: Bool = false
    ) {
        self.auth = auth
        self.serviceType = serviceType
        self.headers = headers
        self.sendsServiceToken = sendsServiceToken
    }

    public func get(_ path: String, token: String? = nil) async throws -> ServiceReply {
        try await send(.GET, path, token: token)
    }

    public func send(
        _ method: HTTPMethod, _ path: String, body: JSON? = nil, token: String? = nil,
        timeout: TimeAmount = .seconds(60),
        contentType: String = "application/json"
    ) async throws -> ServiceReply {
        var reply = try await attempt(
            method, path, body: body, token: token, timeout: timeout, contentType: contentType)
        if reply.status == 401, token == nil {
            await auth.invalidate()
            reply = try await attempt(method, path, body: body, token: nil, timeout: timeout, contentType: contentType)
        }
        return reply
    }

    /// A response body streamed to `sink` in chunks (image downloads).
    public func download(_ path: String, token: String? = nil, sink: (ByteBuffer) async throws -> Void) async throws
        -> Int
    {
        let request = try await makeRequest(.GET, path, body: nil, token: token)
        let response = try await PeerHTTP.client.execute(request, timeout: .hours(6))
        guard response.status.code < 300 else {
            _ = try? await response.body.collect(upTo: 1 << 20)
            return Int(response.status.code)
        }
        for try await chunk in response.body { try await sink(chunk) }
        return Int(response.status.code)
    }

    /// A file streamed as the request body in 1 MiB chunks (snapshot uploads).
    public func upload(_ path: String, file: String, method: HTTPMethod = .PUT, token: String? = nil) async throws
        -> ServiceReply
    {
        var request = try await makeRequest(method, path, body: nil, token: token)
        request.headers.replaceOrAdd(name: "Content-Type", value: "application/octet-stream")
        let response = try await FileSystem.shared.withFileHandle(forReadingAt: FilePath(file)) { handle in
            let size = try await handle.info().size
            request.body = .stream(handle.readChunks(chunkLength: .mebibytes(1)), length: .known(size))
            return try await PeerHTTP.client.execute(request, timeout: .hours(6))
        }
        let data = try await response.body.collect(upTo: 1 << 20)
        let json = data.readableBytes == 0 ? JSON.null : ((try? JSON.parse(Array(data.readableBytesView))) ?? .null)
        return ServiceReply(
            status: Int(response.status.code), body: json, headers: response.headers.map { ($0.name, $0.value) })
    }

    private func attempt(
        _ method: HTTPMethod, _ path: String, body: JSON?, token: String?, timeout: TimeAmount, contentType: String
    ) async throws -> ServiceReply {
        let request = try await makeRequest(method, path, body: body, token: token, contentType: contentType)
        let response = try await PeerHTTP.client.execute(request, timeout: timeout)
        let data = try await response.body.collect(upTo: 64 << 20)
        let bytes = Array(data.readableBytesView)
        let json = bytes.isEmpty ? JSON.null : ((try? JSON.parse(bytes)) ?? .null)
        return ServiceReply(
            status: Int(response.status.code), body: json, headers: response.headers.map { ($0.name, $0.value) })
    }

    private func makeRequest(
        _ method: HTTPMethod, _ path: String, body: JSON?, token: String?, contentType: String = "application/json"
    ) async throws -> HTTPClientRequest {
        let base = try await auth.endpoint(type: serviceType)
        var request = HTTPClientRequest(url: base + path)
        request.method = method
        if let token {
            request.headers.add(name: "X-Auth-Token", value: token)
            if sendsServiceToken { request.headers.add(name: "X-Service-Token", value: try await auth.currentToken()) }
        } else {
            request.headers.add(name: "X-Auth-Token", value: try await auth.currentToken())
        }
        request.headers.add(name: "Accept", value: "application/json")
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body {
            request.headers.add(name: "Content-Type", value: contentType)
            request.body = .bytes(ByteBuffer(bytes: body.serializedBytes()))
        }
        return request
    }
}
