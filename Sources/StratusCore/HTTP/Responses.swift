import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

extension Response {
    /// A JSON response; HEAD requests get the headers without a body.
    public static func json(_ body: JSON, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        json(bytes: body.serializedBytes(), status: status, headers: headers)
    }

    /// A JSON response written with `JSONWriter`.
    public static func json(
        _ body: JSONWriter, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]
    ) -> Response {
        json(bytes: body.bytes, status: status, headers: headers)
    }

    private static func json(bytes: [UInt8], status: HTTPResponse.Status, headers: HTTPFields) -> Response {
        var headers = headers
        headers[.contentType] = "application/json"
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    public static func json(text: String, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        var headers = headers
        headers[.contentType] = "application/json"
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }

    public static func noContent(headers: HTTPFields = [:]) -> Response {
        Response(status: .noContent, headers: headers)
    }
}

extension Request {
    /// The body parsed as a JSON object, or a 400 naming what is wrong (413 beyond `limit`,
    /// by default the listener's `max_request_body_size`).
    public func jsonObject(context: StratusContext, limit: Int? = nil) async throws -> [String: JSON] {
        guard let object = try await jsonValue(context: context, limit: limit).objectValue else {
            throw APIError.badRequest("The request body must be a JSON object.")
        }
        return object
    }

    /// The body parsed as any JSON value (Placement's lists), with `jsonObject`'s checks.
    public func jsonValue(context: StratusContext, limit: Int? = nil) async throws -> JSON {
        let limit = limit ?? RequestLimits.current.bodySize
        if let type = headers[.contentType], !type.isEmpty, !type.lowercased().hasPrefix("application/json") {
            throw APIError.badRequest("Expecting to find application/json in Content-Type header.")
        }
        let buffer: ByteBuffer
        do {
            buffer = try await body.collect(upTo: limit)
        } catch {
            throw APIError(.contentTooLarge, "Request is too large.")
        }
        guard buffer.readableBytes > 0 else {
            throw APIError.badRequest("The request body is empty; a JSON object is required.")
        }
        do {
            return try JSON.parse(Array(buffer.readableBytesView))
        } catch {
            throw APIError.badRequest("Malformed request body: \(error)")
        }
    }

    /// A boolean query parameter: nil when absent, 400 when not a boolean word.
    public func boolQuery(_ name: String) throws -> Bool? {
        guard let value = query(name) else { return nil }
        switch value.lowercased() {
        case "1", "true", "yes", "on", "": return true
        case "0", "false", "no", "off": return false
        default:
            throw APIError.badRequest("Invalid value '\(value)' for query parameter '\(name)': expected a boolean.")
        }
    }

    /// `http://<host>` (or `https`) as the client addressed this server, for links in responses.
    public var baseURL: String {
        "\(head.scheme ?? "http")://\(head.authority ?? "localhost")"
    }

    /// A query parameter (the last one if repeated).
    public func query(_ name: String) -> String? {
        uri.queryParameters.get(name)
    }
}
