import HTTPTypes
import Hummingbird

/// What one request may carry on a service's listener, as oslo.middleware's sizelimit and
/// eventlet's header limits give OpenStack's APIs: `[oslo_middleware] max_request_body_size`
/// for JSON bodies (streamed image and object data are not JSON and are bounded by quotas),
/// `[DEFAULT] max_header_line` per header field and `max_header_count` fields. Checked by
/// `FaultMiddleware`, so each service answers in its own fault format.
public struct RequestLimits: Sendable {
    public static let maxBodySize = ConfigOption(
        "oslo_middleware", "max_request_body_size", default: 114_688,
        help: "Largest JSON request body in bytes (Nova's 112 KiB); larger ones get 413.")
    public static let maxHeaderLine = ConfigOption(
        "DEFAULT", "max_header_line", default: 16_384, help: "Longest header field (name and value) in bytes.")
    public static let maxHeaderCount = ConfigOption(
        "DEFAULT", "max_header_count", default: 100, help: "Most header fields one request may have.")

    public var bodySize: Int
    public var headerLine: Int
    public var headerCount: Int

    public init(bodySize: Int = 114_688, headerLine: Int = 16_384, headerCount: Int = 100) {
        self.bodySize = bodySize
        self.headerLine = headerLine
        self.headerCount = headerCount
    }

    public init(config: Config) {
        self.init(
            bodySize: config[Self.maxBodySize], headerLine: config[Self.maxHeaderLine],
            headerCount: config[Self.maxHeaderCount])
    }

    /// The limits of the listener handling the current request (ServiceHost sets them).
    @TaskLocal public static var current = RequestLimits()

    /// 400 for too many or too long header fields, 413 for a JSON body declared too large.
    public func check(_ request: Request) throws {
        guard request.headers.count <= headerCount else {
            throw APIError.badRequest("The request has more than \(headerCount) header fields.")
        }
        for field in request.headers where field.name.rawName.utf8.count + field.value.utf8.count > headerLine {
            throw APIError.badRequest("Header field \(field.name) is longer than \(headerLine) bytes.")
        }
        if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > bodySize,
            Self.isJSON(request.headers[.contentType])
        {
            throw APIError(.contentTooLarge, "Request is too large.")
        }
    }

    /// JSON bodies (and bodies of no declared type, which the JSON routes read as JSON).
    static func isJSON(_ contentType: String?) -> Bool {
        guard let type = contentType?.lowercased(), !type.isEmpty else { return true }
        return type.contains("json")
    }
}

/// Runs a service's router with its listener's `RequestLimits` in reach, and paces large
/// response bodies by their connection's `OutboundBacklog`.
struct LimitedResponder<Base: HTTPResponder>: HTTPResponder where Base.Context == StratusContext {
    let base: Base
    let limits: RequestLimits

    func respond(to request: Request, context: StratusContext) async throws -> Response {
        var response = try await RequestLimits.$current.withValue(limits) {
            try await base.respond(to: request, context: context)
        }
        if let length = response.body.contentLength { FreedMemory.shared.noteResponse(bytes: length) }
        if OutboundBacklog.needsPacing(response.body), let backlog = ConnectionBacklogs.backlog(of: context.connection) {
            response.body = backlog.pace(response.body)
        }
        return response
    }
}
