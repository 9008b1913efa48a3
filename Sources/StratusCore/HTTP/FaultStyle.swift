import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOSSL

/// How a service renders errors: each OpenStack API has its own fault body.
public enum FaultStyle: Sendable {
    /// Keystone: `{"error": {"code": 404, "message": "...", "title": "Not Found"}}`
    case identity
    /// Nova and Cinder: `{"itemNotFound": {"code": 404, "message": "..."}}`
    case compute
    /// Neutron: `{"NeutronError": {"type": "...", "message": "...", "detail": ""}}`
    case network
    /// Glance and Swift: a plain-text body.
    case plain
    /// Placement: `{"errors": [{"status": 409, "title": "Conflict", "detail": "...", "code": "placement.concurrent_update"}]}`
    case placement

    public func body(for error: APIError) -> (contentType: String, text: String) {
        let code = Int(error.status.code)
        switch self {
        case .identity:
            let body: JSON = [
                "error": [
                    "code": .int(code), "message": .string(error.message), "title": .string(error.status.reasonPhrase),
                ]
            ]
            return ("application/json", body.serialized())
        case .compute:
            let body: JSON = [Self.computeFaultName(code): ["code": .int(code), "message": .string(error.message)]]
            return ("application/json", body.serialized())
        case .network:
            let type = error.type ?? "HTTP" + error.status.reasonPhrase.replacingOccurrences(of: " ", with: "")
            let body: JSON = [
                "NeutronError": ["type": .string(type), "message": .string(error.message), "detail": ""]
            ]
            return ("application/json", body.serialized())
        case .plain:
            return ("text/plain; charset=UTF-8", "\(code) \(error.status.reasonPhrase)\n\n\(error.message)\n")
        case .placement:
            let item: JSON = [
                "status": .int(code), "title": .string(error.status.reasonPhrase), "detail": .string(error.message),
                "code": .string(error.type ?? "placement.undefined_code"),
            ]
            return ("application/json", JSON.object(["errors": [item]]).serialized())
        }
    }

    static func computeFaultName(_ code: Int) -> String {
        switch code {
        case 400: return "badRequest"
        case 401: return "unauthorized"
        case 403: return "forbidden"
        case 404: return "itemNotFound"
        case 405: return "badMethod"
        case 409: return "conflictingRequest"
        case 413: return "overLimit"
        case 415: return "badMediaType"
        case 501: return "notImplemented"
        default: return code >= 500 ? "computeFault" : "badRequest"
        }
    }
}

/// Turns every thrown error into the service's fault response. Unknown errors are bugs:
/// they are logged with the request id and answered 500 without internals.
public struct FaultMiddleware: RouterMiddleware {
    public typealias Context = StratusContext
    let style: FaultStyle
    /// Extra headers on 401 responses (Keystone's `WWW-Authenticate`).
    let unauthorizedHeaders: HTTPFields

    public init(style: FaultStyle, unauthorizedHeaders: HTTPFields = [:]) {
        self.style = style
        self.unauthorizedHeaders = unauthorizedHeaders
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response)
        async throws -> Response
    {
        do {
            try RequestLimits.current.check(request)
            return try await next(request, context)
        } catch let error as APIError {
            return render(error, request: request)
        } catch let error as HTTPError {
            let message = error.body ?? Self.defaultMessage(error.status)
            return render(APIError(error.status, message, headers: error.headers), request: request)
        } catch  where Self.clientWentAway(error) {
            // Its request body ended early: nobody reads this answer, and no bug is behind it.
            context.logger.info("the client closed the connection during its request: \(error)")
            return render(APIError.badRequest("The request body ended early."), request: request)
        } catch {
            context.logger.error("unhandled error: \(String(reflecting: error))")
            return render(
                APIError(
                    .internalServerError, "An unexpected error prevented the server from fulfilling your request."),
                request: request)
        }
    }

    func render(_ error: APIError, request: Request) -> Response {
        var headers = error.headers
        let (contentType, text) = style.body(for: error)
        headers[.contentType] = contentType
        if error.status == .unauthorized {
            for field in unauthorizedHeaders where headers[field.name] == nil { headers.append(field) }
        }
        let body = request.method == .head ? ResponseBody() : ResponseBody(byteBuffer: ByteBuffer(string: text))
        return Response(status: error.status, headers: headers, body: body)
    }

    /// A TLS connection closed without its close_notify, or a connection closed, mid-request.
    static func clientWentAway(_ error: any Error) -> Bool {
        if let error = error as? NIOSSLError, case .uncleanShutdown = error { return true }
        if let error = error as? ChannelError, error == .ioOnClosedChannel || error == .eof { return true }
        return false
    }

    static func defaultMessage(_ status: HTTPResponse.Status) -> String {
        switch status.code {
        case 404: return "The resource could not be found."
        case 405: return "The method is not allowed for the requested URL."
        case 413: return "The request is too large."
        default: return status.reasonPhrase
        }
    }
}
