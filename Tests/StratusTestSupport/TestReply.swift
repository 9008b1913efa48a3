import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import StratusCore

/// A response as service tests read it.
public struct TestReply: Sendable {
    public let status: HTTPResponse.Status
    public let text: String
    public let headers: HTTPFields

    public init(status: HTTPResponse.Status, text: String, headers: HTTPFields) {
        self.status = status
        self.text = text
        self.headers = headers
    }

    public var json: JSON { (try? JSON.parse(text)) ?? .null }
}

extension TestClientProtocol {
    /// One JSON request with a static token (see `StaticTokens`) and extra headers.
    public func request(
        _ method: HTTPRequest.Method, _ path: String, token: String = "admin", body: JSON? = nil, headers extra: HTTPFields = [:]
    ) async throws -> TestReply {
        var headers = extra
        headers[.authToken] = token
        headers[.contentType] = "application/json"
        return try await execute(uri: path, method: method, headers: headers, body: body.map { ByteBuffer(string: $0.serialized()) }) { response in
            TestReply(status: response.status, text: String(buffer: response.body), headers: response.headers)
        }
    }
}
