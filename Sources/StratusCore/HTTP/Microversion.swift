import HTTPTypes
import Hummingbird

/// An API microversion such as compute 2.79.
public struct Microversion: Comparable, Sendable, CustomStringConvertible {
    public let major: Int
    public let minor: Int

    public init(_ major: Int, _ minor: Int) {
        self.major = major
        self.minor = minor
    }

    public init?(_ text: some StringProtocol) {
        let parts = text.split(separator: ".")
        guard parts.count == 2, let major = Int(parts[0]), let minor = Int(parts[1]) else { return nil }
        self.init(major, minor)
    }

    public var description: String { "\(major).\(minor)" }

    public static func < (a: Microversion, b: Microversion) -> Bool {
        (a.major, a.minor) < (b.major, b.minor)
    }
}

/// The microversion range of one API and the negotiation OpenStack clients expect.
public struct MicroversionRange: Sendable {
    public let service: String
    public let min: Microversion
    public let max: Microversion
    /// A legacy header such as `X-OpenStack-Nova-API-Version`.
    public let legacyHeader: HTTPField.Name?

    public init(service: String, min: Microversion, max: Microversion, legacyHeader: HTTPField.Name? = nil) {
        self.service = service
        self.min = min
        self.max = max
        self.legacyHeader = legacyHeader
    }

    /// The version a request asked for: absent means the minimum, `latest` the maximum,
    /// anything outside the range is 406 Not Acceptable, garbage is 400.
    public func negotiate(_ headers: HTTPFields) throws -> Microversion {
        var requested: String?
        for value in headers[values: .openStackAPIVersion] {
            for item in value.split(separator: ",") {
                let words = item.split(separator: " ", omittingEmptySubsequences: true)
                if words.count == 2, words[0].lowercased() == service { requested = String(words[1]) }
            }
        }
        if requested == nil, let legacyHeader { requested = headers[legacyHeader] }
        guard let requested else { return min }
        if requested.lowercased() == "latest" { return max }
        guard let version = Microversion(requested) else {
            throw APIError.badRequest("API Version String \(requested) is of invalid format. Must be of format MajorNum.MinorNum.")
        }
        guard version >= min, version <= max else {
            throw APIError(.notAcceptable, "Version \(version) is not supported by the API. Minimum is \(min) and maximum is \(max).")
        }
        return version
    }

    /// The response headers that state the version used.
    public func responseHeaders(_ version: Microversion) -> HTTPFields {
        var headers = HTTPFields()
        headers[.openStackAPIVersion] = "\(service) \(version)"
        if let legacyHeader { headers[legacyHeader] = version.description }
        headers[HTTPField.Name("Vary")!] = ([HTTPField.Name.openStackAPIVersion.rawName] + (legacyHeader.map { [$0.rawName] } ?? []))
            .joined(separator: ", ")
        return headers
    }
}
