import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// Object Storage as other services use it (the Image service's `swift` store): containers
/// of the calling service's own account, objects streamed in and out.
public protocol ObjectStoreClient: Sendable {
    /// Creates the container if it does not exist.
    func ensureContainer(_ container: String) async throws
    /// Stores `body` as the object (streamed) and returns its ETag, the MD5 of the bytes.
    func put<Body: AsyncSequence & Sendable>(
        container: String, object: String, body: Body
    ) async throws -> String where Body.Element == ByteBuffer
    /// Runs `body` on the object's bytes (those in `range`, when given) as they arrive.
    func get<R>(
        container: String, object: String, range: ClosedRange<Int64>?,
        _ body: (any AsyncSequence<ByteBuffer, any Error>) async throws -> R
    ) async throws -> R
    /// Deletes the object; a missing one is no error.
    func delete(container: String, object: String) async throws
    /// The names of the container's objects under `prefix` (none when the container is missing).
    func list(container: String, prefix: String) async throws -> [String]
}

/// `ObjectStoreClient` over Swift's REST API, as the service user (its project's account).
public struct RESTObjectStoreClient: ObjectStoreClient {
    let auth: ServiceAuth

    public init(auth: ServiceAuth) { self.auth = auth }

    func url(_ container: String, _ object: String? = nil) async throws -> String {
        let base = try await auth.endpoint(type: "object-store")
        var url = base + "/" + Self.encode(container)
        if let object { url += "/" + Self.encode(object) }
        return url
    }

    /// A query value: everything but unreserved characters percent-encoded.
    enum QueryValue {
        static func encode(_ text: String) -> String {
            text.addingPercentEncoding(
                withAllowedCharacters: CharacterSet(
                    charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")) ?? text
        }
    }

    static func encode(_ part: String) -> String {
        var allowed = CharacterSet.urlPathAllowed
        allowed.remove(charactersIn: "%;?#")
        return part.addingPercentEncoding(withAllowedCharacters: allowed) ?? part
    }

    func request(_ method: HTTPMethod, _ url: String) async throws -> HTTPClientRequest {
        var request = HTTPClientRequest(url: url)
        request.method = method
        request.headers.add(name: "X-Auth-Token", value: try await auth.currentToken())
        return request
    }

    func check(_ response: HTTPClientResponse, _ what: String, allow: Set<UInt> = []) throws {
        let code = response.status.code
        guard (200..<300).contains(code) || allow.contains(code) else {
            throw ServiceClientError.status(Int(code), "Object Storage answered \(code) to \(what)")
        }
    }

    public func ensureContainer(_ container: String) async throws {
        let request = try await request(.PUT, try await url(container))
        let response = try await PeerHTTP.client.execute(request, timeout: .seconds(60))
        try check(response, "PUT of container \(container)")
    }

    public func put<Body: AsyncSequence & Sendable>(
        container: String, object: String, body: Body
    ) async throws -> String where Body.Element == ByteBuffer {
        var request = try await request(.PUT, try await url(container, object))
        request.body = .stream(body, length: .unknown)
        let response = try await PeerHTTP.client.execute(request, timeout: .hours(6))
        try check(response, "PUT of \(container)/\(object)")
        return response.headers.first(name: "ETag") ?? ""
    }

    public func get<R>(
        container: String, object: String, range: ClosedRange<Int64>?,
        _ body: (any AsyncSequence<ByteBuffer, any Error>) async throws -> R
    ) async throws -> R {
        var request = try await request(.GET, try await url(container, object))
        if let range { request.headers.add(name: "Range", value: "bytes=\(range.lowerBound)-\(range.upperBound)") }
        let response = try await PeerHTTP.client.execute(request, timeout: .hours(6))
        try check(response, "GET of \(container)/\(object)")
        return try await body(response.body)
    }

    public func delete(container: String, object: String) async throws {
        let request = try await request(.DELETE, try await url(container, object))
        let response = try await PeerHTTP.client.execute(request, timeout: .seconds(60))
        try check(response, "DELETE of \(container)/\(object)", allow: [404])
    }

    public func list(container: String, prefix: String) async throws -> [String] {
        var names: [String] = []
        var marker = ""
        let query = { (marker: String) in
            "?format=plain&prefix=\(QueryValue.encode(prefix))&marker=\(QueryValue.encode(marker))"
        }
        while true {
            let request = try await request(.GET, try await url(container) + query(marker))
            let response = try await PeerHTTP.client.execute(request, timeout: .seconds(60))
            if response.status.code == 404 { return names }
            try check(response, "GET of container \(container)")
            let text = String(buffer: try await response.body.collect(upTo: 64 << 20))
            let page = text.split(separator: "\n").map(String.init)
            names += page
            guard page.count >= 10_000, let last = page.last else { return names }
            marker = last
        }
    }
}
