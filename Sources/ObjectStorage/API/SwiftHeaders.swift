import Foundation
import HTTPTypes
import Hummingbird
import StratusCore

extension HTTPField.Name {
    static let transID = Self("X-Trans-Id")!
    static let timestamp = Self("X-Timestamp")!
    static let acceptRanges = Self("Accept-Ranges")!
}

/// Swift's header conventions: metadata names, limits, dates.
enum SwiftHeaders {
    static let maxMetaCount = 90
    static let maxMetaNameLength = 128
    static let maxMetaValueLength = 256
    static let maxMetaOverallSize = 4096

    /// `x-object-meta-color` → `X-Object-Meta-Color`, as Swift answers header names.
    static func titleCased(_ name: String) -> String {
        var result = ""
        var upper = true
        for character in name {
            result.append(upper ? Character(character.uppercased()) : Character(character.lowercased()))
            upper = !character.isLetter
        }
        return result
    }

    /// The `X-<kind>-Meta-*` settings of a request (`kind` is account, container or object)
    /// and the removals (`X-Remove-<kind>-Meta-*`, or an empty value unless `keepEmpty`, as objects
    /// keep empty values), lower-cased; 400 past Swift's limits.
    static func metadataChanges(
        _ headers: HTTPFields, kind: String, keepEmpty: Bool = false
    ) throws -> [String: String?] {
        let prefix = "x-\(kind)-meta-"
        let removal = "x-remove-\(kind)-meta-"
        var changes: [String: String?] = [:]
        var size = 0
        for field in headers {
            let name = field.name.canonicalName
            if name.hasPrefix(prefix) {
                let key = String(name.dropFirst(prefix.count))
                guard !key.isEmpty else { throw APIError.badRequest("Metadata name cannot be empty") }
                guard key.utf8.count <= maxMetaNameLength else {
                    throw APIError.badRequest("Metadata name too long; max \(maxMetaNameLength)")
                }
                guard field.value.utf8.count <= maxMetaValueLength else {
                    throw APIError.badRequest("Metadata value longer than \(maxMetaValueLength)")
                }
                size += key.utf8.count + field.value.utf8.count
                changes[name] = field.value.isEmpty && !keepEmpty ? String?.none : field.value
            } else if name.hasPrefix(removal) {
                changes[prefix + name.dropFirst(removal.count)] = String?.none
            }
        }
        guard changes.count <= maxMetaCount else {
            throw APIError.badRequest("Too many metadata items; max \(maxMetaCount)")
        }
        guard size <= maxMetaOverallSize else {
            throw APIError.badRequest("Total metadata too large; max \(maxMetaOverallSize)")
        }
        return changes
    }

    /// Named headers a request sets (a value) or removes (`X-Remove-<name>` or an empty value).
    /// Swift's `config_true_value`: `true`, `1`, `yes`, `on`, `t`, `y` in any case.
    static func isTrue(_ value: String?) -> Bool {
        ["true", "1", "yes", "on", "t", "y"].contains(value?.lowercased() ?? "")
    }

    static func settings(_ headers: HTTPFields, names: [String]) -> [String: String?] {
        var changes: [String: String?] = [:]
        for name in names {
            if let field = HTTPField.Name(name), let value = headers[field] {
                changes[name] = value.isEmpty ? String?.none : value
            }
            if let removal = HTTPField.Name("x-remove-" + name.dropFirst(2)), headers[removal] != nil {
                changes[name] = String?.none
            }
        }
        return changes
    }

    static func add(_ metadata: [String: String], to headers: inout HTTPFields) {
        for (key, value) in metadata.sorted(by: { $0.key < $1.key }) {
            if let name = HTTPField.Name(titleCased(key)) { headers.append(HTTPField(name: name, value: value)) }
        }
    }

    /// `Sun, 06 Dec 2026 23:53:53 GMT`.
    static func httpDate(_ date: Date) -> String { httpDateFormatter.string(from: date) }

    static func parseHTTPDate(_ text: String) -> Date? { httpDateFormatter.date(from: text) }

    /// `Last-Modified` of a Swift timestamp: whole seconds, rounded up as Swift does.
    static func lastModified(_ timestamp: String) -> String {
        httpDate(Date(timeIntervalSince1970: SwiftTimestamp.seconds(timestamp).rounded(.up)))
    }

    /// Listings' `last_modified`: `2026-12-06T23:53:53.123450`.
    static func listingDate(_ timestamp: String) -> String {
        let seconds = SwiftTimestamp.seconds(timestamp)
        let whole = Timestamp.iso8601(Date(timeIntervalSince1970: seconds.rounded(.down)))
        let micros = Int(((seconds - seconds.rounded(.down)) * 1_000_000).rounded())
        return String(whole.dropLast()) + "." + String(format: "%06d", min(micros, 999_999))
    }

    nonisolated(unsafe) private static let httpDateFormatter: DateFormatter = {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        return formatter
    }()
}

/// Gives every answer Swift's common headers: `X-Trans-Id` (also as the request id), `Date`
/// and a `Content-Type`; turns errors into Swift's plain-text faults.
struct SwiftResponseMiddleware: RouterMiddleware {
    typealias Context = StratusContext

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        var context = context
        let id = Self.transactionID()
        context.requestID = id
        context.logger[metadataKey: "request_id"] = .string(id)
        var response: Response
        do {
            response = try await next(request, context)
        } catch let error as APIError {
            response = Self.fault(error, request: request)
        } catch let error as HTTPError {
            response = Self.fault(APIError(error.status, error.body ?? "", headers: error.headers), request: request)
        } catch {
            context.logger.error("\(request.method) \(request.uri.path) failed: \(error)")
            response = Self.fault(APIError(.internalServerError, "An error occurred"), request: request)
        }
        response.headers[.transID] = id
        response.headers[.openStackRequestID] = id
        response.headers[.date] = SwiftHeaders.httpDate(Date())
        if response.headers[.contentType] == nil { response.headers[.contentType] = "text/plain; charset=utf-8" }
        return response
    }

    /// `tx` + 21 random hex digits + `-` + the time in hex, as Swift's transaction ids.
    static func transactionID() -> String {
        var random = SystemRandomNumberGenerator()
        let digits = (0..<21).map { _ in String(random.next(upperBound: UInt8(16)), radix: 16) }.joined()
        return "tx\(digits)-" + String(format: "%010x", Int(Date().timeIntervalSince1970))
    }

    /// Swift's error page: `<html><h1>Not Found</h1><p>...</p></html>` (none for HEAD).
    static func fault(_ error: APIError, request: Request) -> Response {
        var headers = error.headers
        headers[.contentType] = "text/html; charset=UTF-8"
        if request.method == .head {
            headers[.contentLength] = "0"
            return Response(status: error.status, headers: headers)
        }
        let body = "<html><h1>\(error.status.reasonPhrase)</h1><p>\(ListingRenderer.escape(error.message))</p></html>"
        return Response(status: error.status, headers: headers, body: .init(byteBuffer: .init(string: body)))
    }
}
